// idx.h — the IDX format of MNIST / Fashion-MNIST (LeCun's ubyte files), plain or gzip.
//
// Layout: a 4-byte big-endian magic 0x000008DD (0x08 = unsigned byte data, DD = number of
// dims), then DD big-endian u32 sizes, then the data row-major. We read exactly two kinds:
//   images  magic 0x00000803, sizes N, H, W  -> f32 [N, 1, H, W], pixel / 255 (like
//           torchvision's MNIST + ToTensor()),
//   labels  magic 0x00000801, size  N        -> i32 [N] (torchvision gives int64).
// Files ending in ".gz" are gzip; any other name is read as-is (zlib passes plain files
// through). Every check failure names the file, the byte offset and what was expected:
// magic, nonzero dims, file length (truncated / trailing bytes), label range, and that the
// images and labels files hold the same number of samples. The header is read first: a file
// promising more than kMaxInputBytes (4 GiB, file_io.h) is refused before its data is read, and
// at most 1 MiB beyond the promise is inflated, to count it for the message (a .gz bomb costs
// neither memory nor time).
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace nanofed::datasets {

Tensor read_idx_images(const std::string& path);
Tensor read_idx_labels(const std::string& path, int64_t num_classes = 10);
// The same from the bytes of a file in memory (gzip or plain); `source` names them in errors.
Tensor parse_idx_images(const std::string& bytes, const std::string& source);
Tensor parse_idx_labels(const std::string& bytes, const std::string& source, int64_t num_classes = 10);
// Both files as one Dataset; `name` defaults to the images path.
Dataset read_idx(const std::string& images_path, const std::string& labels_path, int64_t num_classes = 10,
                 const std::string& name = "");

// Writers (gzip when the name ends in ".gz"). Images: f32 [N, 1, H, W] or [N, H, W] with
// values in [0, 1], stored as round(x * 255). Labels: i32 [N] in [0, 255].
void write_idx_images(const std::string& path, const Tensor& images);
void write_idx_labels(const std::string& path, const Tensor& labels);
void write_idx(const Dataset& data, const std::string& images_path, const std::string& labels_path);

}  // namespace nanofed::datasets
