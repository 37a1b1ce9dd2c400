#include "datasets/cifar.h"

#include <cmath>
#include <cstring>

#include "engine/file_io.h"

namespace nanofed::datasets {

namespace {
constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int kClasses = 10;

const char* kWho = "read_cifar10_batch";

// Appends the records of one file (or buffer) to images/labels.
void append_batch(ByteReader& in, std::vector<float>& images, std::vector<int32_t>& labels) {
  const std::vector<uint8_t> b = read_all(in);
  const size_t rec = (size_t)kCifarRecordBytes, n = b.size() / rec, extra = b.size() % rec;
  NF_CHECK(!b.empty(), in.where() << ": empty file; expected " << rec << "-byte records");
  NF_CHECK(extra == 0, in.where() << ": wrong size " << b.size() << " bytes: expected a multiple of "
                                  << rec << " (1 label + 3072 pixels per record); truncated record at byte "
                                  << n * rec << " (" << extra << " bytes of record " << n << ")");
  const size_t base = images.size();
  images.resize(base + n * kPixels);
  labels.reserve(labels.size() + n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* r = b.data() + i * rec;
    NF_CHECK(r[0] < kClasses, in.where() << ": label " << (int)r[0] << " at byte " << i * rec << " (record " << i
                                         << ") is outside [0, " << kClasses << ")");
    labels.push_back(r[0]);
    float* dst = images.data() + base + i * kPixels;
    for (int64_t p = 0; p < kPixels; ++p) dst[p] = (float)r[1 + p] / 255.0f;
  }
}

Dataset make_dataset(const std::vector<float>& images, const std::vector<int32_t>& labels, const std::string& name) {
  const int64_t n = (int64_t)labels.size();
  return {from_vector(images, {n, 3, 32, 32}), from_vector(labels, {n}), kClasses, name};
}
}  // namespace

Dataset read_cifar10_batches(const std::vector<std::string>& paths, const std::string& name) {
  NF_CHECK(!paths.empty(), "read_cifar10_batches: no files given for '" << name << "'");
  std::vector<float> images;
  std::vector<int32_t> labels;
  for (const std::string& p : paths) {
    ByteReader in(p, kWho);
    append_batch(in, images, labels);
  }
  return make_dataset(images, labels, name);
}

Dataset read_cifar10_batch(const std::string& path) { return read_cifar10_batches({path}, path); }

Dataset parse_cifar10_batch(const std::string& bytes, const std::string& source) {
  ByteReader in(bytes.data(), bytes.size(), source, kWho);
  std::vector<float> images;
  std::vector<int32_t> labels;
  append_batch(in, images, labels);
  return make_dataset(images, labels, source);
}

void write_cifar10_batch(const std::string& path, const Dataset& data) {
  const char* who = "write_cifar10_batch";
  NF_CHECK(data.images.defined() && data.images.dtype() == DType::f32 && data.images.dim() == 4 &&
               data.images.size(1) == 3 && data.images.size(2) == 32 && data.images.size(3) == 32,
           who << ": '" << path << "': expected f32 images [N, 3, 32, 32], got "
               << (data.images.defined() ? data.images.str() : std::string("undefined")));
  NF_CHECK(data.labels.defined() && data.labels.dtype() == DType::i32 && data.labels.dim() == 1 &&
               data.labels.size(0) == data.images.size(0),
           who << ": '" << path << "': expected i32 labels [" << data.images.size(0) << "], got "
               << (data.labels.defined() ? data.labels.str() : std::string("undefined")));
  const std::vector<float> px = data.images.to_vector<float>();
  const std::vector<int32_t> ys = data.labels.to_vector<int32_t>();
  std::vector<uint8_t> b;
  b.reserve(ys.size() * (size_t)kCifarRecordBytes);
  for (size_t i = 0; i < ys.size(); ++i) {
    NF_CHECK(ys[i] >= 0 && ys[i] < kClasses, who << ": '" << path << "': label " << ys[i] << " of sample " << i
                                                 << " is outside [0, " << kClasses << ")");
    b.push_back((uint8_t)ys[i]);
    for (int64_t p = 0; p < kPixels; ++p) {
      const float v = px[i * kPixels + p];
      NF_CHECK(v >= 0.0f && v <= 1.0f, who << ": '" << path << "': pixel " << p << " of sample " << i << " is " << v
                                           << ", expected a value in [0, 1]");
      b.push_back((uint8_t)std::lround(v * 255.0f));
    }
  }
  write_file_bytes(path, b, who);
}

}  // namespace nanofed::datasets
