// federation.cpp — a config's data, partition, corrupted clients and model factory.
#include "fl/federation.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "datasets/catalog.h"
#include "datasets/transforms.h"
#include "engine/common.h"
#include "nn/model_io.h"
#include "nn/models.h"

namespace nanofed::fl {

namespace {

// Generator(partition_seed).derive({kValidationSplit, client}) draws a client's validation share.
constexpr uint64_t kValidationSplit = 0x76616c;  // "val"
// Generator(partition_seed).derive({kEnvironments}) deals the colored environments.
constexpr uint64_t kEnvironments = 0x656e76;  // "env"

// Ditto's FMNIST preprocessing (001 §5): per-pixel z-score with the train pool's statistics,
// x <- (x - mean) / (std + 0.001). It runs inside the model (Module::set_input_normalization),
// so the data stay in [0, 1]: PGD budgets, smoothing noise and warps act in pixel space and the
// normalization follows them (CertFL's smoothing acts on [0, 1] images). Returns {mean, std + 0.001}, each [C, H, W].
std::pair<Tensor, Tensor> per_pixel_statistics(const datasets::Dataset& train) {
  const int64_t N = train.size(), D = train.images.numel() / std::max<int64_t>(1, N);
  const Shape sample = train.sample_shape();
  std::vector<float> mean_f(D, 0.0f), std_f(D, 1.0f);
  if (N > 0) {
    const std::vector<float> x = train.images.to_vector<float>();
    std::vector<double> mean(D, 0.0), var(D, 0.0);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < D; ++j) mean[j] += x[i * D + j];
    for (double& m : mean) m /= N;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < D; ++j) var[j] += (x[i * D + j] - mean[j]) * (x[i * D + j] - mean[j]);
    for (int64_t j = 0; j < D; ++j) {
      mean_f[j] = (float)mean[j];
      std_f[j] = (float)(std::sqrt(var[j] / N) + 0.001);
    }
  }
  return {from_vector(mean_f, sample), from_vector(std_f, sample)};
}

datasets::TrainTest load_data(const FlConfig& c) {
  try {
    const std::string gray = gray_dataset(c);
    if (gray == "fmnist") return c.data_dir.empty() ? datasets::fashion_mnist() : datasets::fashion_mnist(c.data_dir);
    if (gray == "mnist") return c.data_dir.empty() ? datasets::mnist() : datasets::mnist(c.data_dir);
    return datasets::synthetic({1, c.synthetic_size, c.synthetic_size}, c.synthetic_classes, c.synthetic_train,
                               c.synthetic_test, c.partition_seed);
  } catch (const Error& e) {
    NF_CHECK(false, "config: dataset = '" << c.dataset << "': " << e.what());
  }
  return {};
}

std::vector<int32_t> labels_of(const datasets::Dataset& d) { return d.labels.to_vector<int32_t>(); }

// What load_model needs besides the architecture (nn/model_io.h): the data set and its seed
// (synthetic data are drawn from partition_seed).
nn::Metadata data_metadata(const FlConfig& c) {
  std::string name = c.dataset;  // the CLI's name of what the model was trained on
  if (colored_environments(c) && (name == "mnist" || name == "fmnist")) name = "c" + name;
  return {{"dataset", name}, {"seed", std::to_string(c.partition_seed)}};
}

// Half of the clients (rounded down) in environment 0, the rest in 1, dealt by a permutation
// (balanced, so that the global mixture carries no color-label correlation; the paper lets each
// client pick at random, Spurious §6.1).
std::vector<int64_t> deal_environments(const FlConfig& c) {
  Generator g = Generator(c.partition_seed).derive({kEnvironments});
  const std::vector<int64_t> order = randperm(c.num_clients, g);
  std::vector<int64_t> env(c.num_clients, 1);
  for (int64_t i = 0; i < c.num_clients / 2; ++i) env[order[i]] = 0;
  return env;
}

// A client's data in its environment: train, validation and test colored by env, and the same
// test images in the other environment (paired, so avg = (Acc + Acc') / 2 holds exactly).
void color_client(ClientData& cd, int64_t env) {
  cd.train = datasets::colorize(cd.train, env);
  if (cd.val.size() > 0) cd.val = datasets::colorize(cd.val, env);
  cd.other_env = datasets::colorize(cd.test, 1 - env);
  cd.test = datasets::colorize(cd.test, env);
}

// The clients' sample indices: Ditto's generator draws train and test shares from both pools;
// the other schemes split the train pool, then each client's share into train and test.
FederatedSplit partition_clients(const FlConfig& c, const datasets::TrainTest& data, Generator& gen) {
  const std::vector<int32_t> labels = labels_of(data.train);
  if (c.partition == "ditto")
    return ditto_partition(labels, labels_of(data.test), c.num_clients, data.train.num_classes, c.ditto_scale, gen);
  Partition parts;
  if (c.partition == "iid") parts = iid_partition(data.train.size(), c.num_clients, gen);
  else if (c.partition == "dirichlet")
    parts = dirichlet_partition(labels, c.num_clients, c.alpha, c.min_partition_size, gen);
  else parts = shards_partition(labels, c.num_clients, c.classes_per_client, gen);
  Generator split_gen = gen.derive({1});
  return split_train_test(parts, c.test_fraction, split_gen);
}

// The model factory: every model it builds has the same initial weights (Generator(seed) for
// kInit) and, with `normalize`, the train pool's per-pixel statistics inside.
ModelFactory model_factory(const FlConfig& c, const nn::ModelOptions& mo, std::pair<Tensor, Tensor> normalization) {
  const std::string name = c.model;
  const uint64_t seed = c.seed;
  return [mo, name, seed, normalization]() {
    Generator g = Generator(seed).derive({kInit});
    nn::ModelOptions o = mo;
    o.gen = &g;
    std::shared_ptr<nn::Module> model = nn::make_model(name, o);
    if (normalization.first.defined()) model->set_input_normalization(normalization.first, normalization.second);
    return model;
  };
}

nn::ModelOptions model_options(const FlConfig& c, const datasets::Dataset& train) {
  nn::ModelOptions mo;
  Shape shape = train.sample_shape();
  if (colored_environments(c)) shape[0] = 3;  // RGB after datasets::colorize
  mo.in_channels = shape.size() == 3 ? shape[0] : 1;
  mo.image_size = shape.size() == 3 ? shape[2] : 0;
  mo.num_classes = train.num_classes;
  mo.hidden = c.hidden;
  mo.channels = c.channels;
  mo.fc_hidden = c.fc_hidden;
  mo.init = c.init == "glorot_uniform" ? nn::Init::glorot_uniform : nn::Init::pytorch;
  return mo;
}

}  // namespace

Federation build_federation(const FlConfig& c) {
  datasets::TrainTest data = load_data(c);
  std::pair<Tensor, Tensor> normalization;
  if (c.normalize) normalization = per_pixel_statistics(data.train);
  Federation fed;
  fed.num_classes = data.train.num_classes;
  Generator gen(c.partition_seed);
  fed.split = partition_clients(c, data, gen);
  if (colored_environments(c)) fed.environments = deal_environments(c);
  // Ditto's clients test on the test pool; the others on their own share of the train pool.
  const datasets::Dataset& test_pool = c.partition == "ditto" ? data.test : data.train;
  for (int64_t k = 0; k < c.num_clients; ++k) {
    ClientData cd;
    if (c.validation_fraction > 0) {
      Generator g = Generator(c.partition_seed).derive({kValidationSplit, (uint64_t)k});
      const TrainValidation tv = split_validation(fed.split[k].train, c.validation_fraction, g);
      cd.train = data.train.subset(tv.train);
      cd.val = data.train.subset(tv.val);
      cd.val.name = "client " + std::to_string(k) + " validation";
    } else {
      cd.train = data.train.subset(fed.split[k].train);
    }
    cd.test = test_pool.subset(fed.split[k].test);
    if (!fed.environments.empty()) color_client(cd, fed.environments[k]);
    cd.train.name = "client " + std::to_string(k) + " train";
    cd.test.name = "client " + std::to_string(k) + " test";
    if (cd.other_env.size() > 0) cd.other_env.name = "client " + std::to_string(k) + " test, other environment";
    fed.clients.push_back(std::move(cd));
  }
  fed.byzantine = choose_corrupted(c.num_clients, byzantine_count(c), c.seed);
  const nn::ModelOptions mo = model_options(c, data.train);
  fed.make_model = model_factory(c, mo, normalization);
  fed.model_metadata = nn::model_metadata(c.model, mo, *fed.make_model());
  for (const auto& [key, value] : data_metadata(c)) fed.model_metadata[key] = value;
  return fed;
}

}  // namespace nanofed::fl
