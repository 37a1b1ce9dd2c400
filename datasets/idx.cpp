#include "datasets/idx.h"

#include <cmath>
#include <cstdio>

#include "engine/file_io.h"

namespace nanofed::datasets {

namespace {

constexpr uint32_t kImagesMagic = 0x00000803, kLabelsMagic = 0x00000801;

uint32_t read_be32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t)b[at] << 24 | (uint32_t)b[at + 1] << 16 | (uint32_t)b[at + 2] << 8 | (uint32_t)b[at + 3];
}
void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back((uint8_t)(v >> s));
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

// Reads and checks the header of an IDX file whose magic is `magic` (its low byte is the number
// of sizes that follow); returns the sizes.
std::vector<uint64_t> read_header(ByteReader& in, uint32_t magic, const char* kind) {
  const size_t ndims = magic & 0xFF, header = 4 + 4 * ndims;
  std::vector<uint8_t> b;
  in.read(b, 4);
  NF_CHECK(b.size() == 4, in.where() << ": truncated at byte " << b.size()
                                     << ": expected a 4-byte IDX magic number, the file has only " << b.size()
                                     << " bytes");
  const uint32_t got = read_be32(b, 0);
  NF_CHECK(got == magic, in.where() << ": wrong magic number " << hex32(got) << " at byte 0: expected "
                                    << hex32(magic) << " (IDX " << kind << ")");
  in.read(b, header - 4);
  NF_CHECK(b.size() == header, in.where() << ": truncated at byte " << b.size() << ": expected a " << header
                                          << "-byte header (magic + " << ndims << " sizes)");
  std::vector<uint64_t> dims(ndims);
  for (size_t d = 0; d < ndims; ++d) dims[d] = read_be32(b, 4 + 4 * d);
  return dims;
}

std::string total_bytes(uint64_t header, uint64_t n, uint64_t row) {
  if (n > (UINT64_MAX - header) / row) return "more than 2^64 bytes";
  return std::to_string(header + n * row) + " bytes";
}

// Bytes after the promised data that are counted for the message; inflating stops past them.
constexpr uint64_t kExtraCounted = 1 << 20;

// The data section after a `header`-byte header: `n` rows of `row` bytes, exactly what the stream
// holds. The promise is checked against kMaxInputBytes before anything is read, and at most
// kExtraCounted bytes after it are inflated, counted and dropped: a small .gz that inflates to
// gigabytes is refused in the memory and time of what its header promised.
std::vector<uint8_t> read_data(ByteReader& in, size_t header, uint64_t n, uint64_t row, const std::string& what) {
  NF_CHECK(n <= (kMaxInputBytes - header) / row,
           in.where() << ": the header promises " << what << " (" << total_bytes(header, n, row)
                      << " in all), more than the " << kMaxInputBytes << "-byte limit of a reader");
  const uint64_t count = n * row, expected = header + count;
  std::vector<uint8_t> data;
  in.read(data, count);
  NF_CHECK(data.size() == count, in.where() << ": truncated at byte " << header + data.size()
                                            << ": the header promises " << what << " (" << expected
                                            << " bytes in all)");
  const uint64_t extra = in.skip_rest(kExtraCounted);
  NF_CHECK(extra == 0, in.where() << ": wrong size: the header promises " << what << " (" << expected
                                  << " bytes) but the file has "
                                  << (extra > kExtraCounted ? "more than " + std::to_string(kExtraCounted)
                                                            : std::to_string(extra))
                                  << " extra bytes from byte " << expected);
  return data;
}

Tensor images_from(ByteReader& in) {
  const std::vector<uint64_t> d = read_header(in, kImagesMagic, "images: u8, 3 dims N, H, W");
  const uint64_t n = d[0], h = d[1], w = d[2];
  NF_CHECK(h > 0 && w > 0, in.where() << ": image size " << h << "x" << w << " (bytes 8..15) must be nonzero");
  const std::string what = std::to_string(n) + " images of " + std::to_string(h) + "x" + std::to_string(w);
  const std::vector<uint8_t> px = read_data(in, 16, n, h * w, what);
  Tensor out = empty({(int64_t)n, 1, (int64_t)h, (int64_t)w});
  float* dst = out.data<float>();
  for (size_t i = 0; i < px.size(); ++i) dst[i] = (float)px[i] / 255.0f;
  return out;
}

Tensor labels_from(ByteReader& in, int64_t num_classes) {
  NF_CHECK(num_classes > 0 && num_classes <= 256,
           in.where() << ": num_classes must be in [1, 256], got " << num_classes);
  const uint64_t n = read_header(in, kLabelsMagic, "labels: u8, 1 dim N")[0];
  const std::vector<uint8_t> b = read_data(in, 8, n, 1, std::to_string(n) + " labels");
  std::vector<int32_t> labels(n);
  for (uint64_t i = 0; i < n; ++i) {
    NF_CHECK(b[i] < num_classes, in.where() << ": label " << (int)b[i] << " at byte " << 8 + i << " (sample " << i
                                            << ") is outside [0, " << num_classes << ")");
    labels[i] = b[i];
  }
  return from_vector(labels, {(int64_t)n});
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  ByteReader in(path, "read_idx_images");
  return images_from(in);
}

Tensor parse_idx_images(const std::string& bytes, const std::string& source) {
  ByteReader in(bytes.data(), bytes.size(), source, "read_idx_images");
  return images_from(in);
}

Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  ByteReader in(path, "read_idx_labels");
  return labels_from(in, num_classes);
}

Tensor parse_idx_labels(const std::string& bytes, const std::string& source, int64_t num_classes) {
  ByteReader in(bytes.data(), bytes.size(), source, "read_idx_labels");
  return labels_from(in, num_classes);
}

Dataset read_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes,
                 const std::string& name) {
  Dataset d;
  d.images = read_idx_images(images_path);
  d.labels = read_idx_labels(labels_path, num_classes);
  NF_CHECK(d.images.size(0) == d.labels.size(0), "read_idx: '" << images_path << "' holds " << d.images.size(0)
                                                   << " images but '" << labels_path << "' holds " << d.labels.size(0)
                                                   << " labels; expected the same count");
  d.num_classes = num_classes;
  d.name = name.empty() ? images_path : name;
  return d;
}

void write_idx_images(const std::string& path, const Tensor& images) {
  const char* who = "write_idx_images";
  NF_CHECK(images.defined() && images.dtype() == DType::f32 &&
               (images.dim() == 3 || (images.dim() == 4 && images.size(1) == 1)),
           who << ": '" << path << "': expected f32 images [N, 1, H, W] or [N, H, W], got "
               << (images.defined() ? images.str() : std::string("undefined")));
  const int64_t n = images.size(0), h = images.size(-2), w = images.size(-1);
  std::vector<uint8_t> b;
  b.reserve(16 + (size_t)images.numel());
  put_be32(b, kImagesMagic);
  put_be32(b, (uint32_t)n);
  put_be32(b, (uint32_t)h);
  put_be32(b, (uint32_t)w);
  const std::vector<float> px = images.to_vector<float>();
  for (size_t i = 0; i < px.size(); ++i) {
    NF_CHECK(px[i] >= 0.0f && px[i] <= 1.0f, who << ": '" << path << "': pixel " << i << " is " << px[i]
                                                 << ", expected a value in [0, 1]");
    b.push_back((uint8_t)std::lround(px[i] * 255.0f));
  }
  write_file_bytes(path, b, who);
}

void write_idx_labels(const std::string& path, const Tensor& labels) {
  const char* who = "write_idx_labels";
  NF_CHECK(labels.defined() && labels.dtype() == DType::i32 && labels.dim() == 1,
           who << ": '" << path << "': expected i32 labels [N], got "
               << (labels.defined() ? labels.str() : std::string("undefined")));
  std::vector<uint8_t> b;
  put_be32(b, kLabelsMagic);
  put_be32(b, (uint32_t)labels.size(0));
  const std::vector<int32_t> ys = labels.to_vector<int32_t>();
  for (size_t i = 0; i < ys.size(); ++i) {
    NF_CHECK(ys[i] >= 0 && ys[i] <= 255, who << ": '" << path << "': label " << ys[i] << " of sample " << i
                                             << " does not fit a byte [0, 255]");
    b.push_back((uint8_t)ys[i]);
  }
  write_file_bytes(path, b, who);
}

void write_idx(const Dataset& data, const std::string& images_path, const std::string& labels_path) {
  write_idx_images(images_path, data.images);
  write_idx_labels(labels_path, data.labels);
}

}  // namespace nanofed::datasets
