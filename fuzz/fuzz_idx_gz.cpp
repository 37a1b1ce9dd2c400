// fuzz_idx_gz — IDX images and labels inside a gzip stream. The custom mutator inflates the
// input, lets libFuzzer mutate the IDX bytes and deflates them again, so the mutations reach
// the header checks behind the decompression (promised sizes against what the stream holds)
// instead of stopping at the gzip CRC. Corrupt gzip streams are fuzz_idx's part.
#include <zlib.h>

#include <cstring>

#include "engine/file_io.h"
#include "datasets/idx.h"
#include "fuzz/fuzz_idx_common.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

constexpr size_t kMaxPlain = 1 << 16;  // IDX bytes a mutation may grow to

std::string gzip(const std::vector<uint8_t>& plain) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&zs, plain.size()), '\0');
  zs.next_in = const_cast<Bytef*>(plain.data());
  zs.avail_in = (uInt)plain.size();
  zs.next_out = (Bytef*)out.data();
  zs.avail_out = (uInt)out.size();
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The input's IDX bytes: inflated when it is a valid gzip stream, else taken as they are.
std::vector<uint8_t> plain_of(const uint8_t* data, size_t size) {
  try {
    nanofed::ByteReader in(data, size, "<fuzz>", "fuzz_idx_gz");
    return nanofed::read_all(in, kMaxPlain);
  } catch (const nanofed::Error&) {
    return std::vector<uint8_t>(data, data + std::min(size, kMaxPlain));
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned) {
  std::vector<uint8_t> plain = plain_of(data, size);
  const size_t n = plain.size();
  plain.resize(kMaxPlain);
  plain.resize(LLVMFuzzerMutate(plain.data(), n, kMaxPlain));
  const std::string gz = gzip(plain);
  if (gz.size() > max_size) return size;  // keep the input as it was
  std::memcpy(data, gz.data(), gz.size());
  return gz.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nanofed::fuzz::parse_idx_both(data, size);
  return 0;
}
