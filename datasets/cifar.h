// cifar.h — the CIFAR-10 binary format (cifar-10-batches-bin).
//
// A batch file is a sequence of 3073-byte records: 1 label byte (0..9), then 3072 pixel bytes,
// the 32x32 R plane, then G, then B, each row-major. data_batch_1..5.bin are the 50,000
// training images, test_batch.bin the 10,000 test images. Read as f32 [N, 3, 32, 32] / 255
// (torchvision's CIFAR10 + ToTensor()) and i32 labels (torchvision gives int64). A file
// whose size is not a whole number of records, or a label >= 10, is an error naming the
// file, the byte offset and what was expected. Names ending in ".gz" are read as gzip.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace nanofed::datasets {

constexpr int64_t kCifarRecordBytes = 1 + 3 * 32 * 32;

Dataset read_cifar10_batch(const std::string& path);
// The same from the bytes of a batch file in memory (gzip or plain); `source` names them.
Dataset parse_cifar10_batch(const std::string& bytes, const std::string& source);
// Several batch files concatenated in the given order; `name` labels the result.
Dataset read_cifar10_batches(const std::vector<std::string>& paths, const std::string& name);

// Writes `data` (images f32 [N, 3, 32, 32] in [0, 1], labels in [0, 10)) as one batch file;
// pixels stored as round(x * 255).
void write_cifar10_batch(const std::string& path, const Dataset& data);

}  // namespace nanofed::datasets
