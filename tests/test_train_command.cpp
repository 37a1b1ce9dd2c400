// `nanofed train` end to end on small files of the real formats: a CIFAR-10 binary set
// written here, ResNet18 at a small width; the CSV, the checkpoint, --resume, --epochs 0
// and bad input.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/cifar.h"
#include "datasets/synthetic.h"
#include "engine/autograd.h"
#include "nn/checkpoint.h"
#include "nn/model_io.h"
#include "nn/models.h"
#include "tests/test_util.h"

using nanofed::test::TempDir;
#include "tools/train.h"

using namespace nanofed;
using nanofed::test::expect_error;
namespace fs = std::filesystem;

namespace {
// Five training batches of 40 images and a test batch of 40, in the CIFAR-10 binary format.
void write_small_cifar(const std::string& dir) {
  fs::create_directories(dir);
  Generator gen(11);
  datasets::Dataset all = datasets::synthetic_images(240, {3, 32, 32}, 10, gen);
  for (int b = 0; b < 5; ++b)
    datasets::write_cifar10_batch(dir + "/data_batch_" + std::to_string(b + 1) + ".bin", all.slice(b * 40, b * 40 + 40));
  datasets::write_cifar10_batch(dir + "/test_batch.bin", all.slice(200, 240));
}

std::vector<std::vector<double>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(train_command)

BOOST_AUTO_TEST_CASE(resnet18_on_a_cifar_format_file_learns_and_checkpoints) {
  TempDir tmp;
  write_small_cifar(tmp / "data/cifar-10-batches-bin");
  const std::vector<std::string> common = {"--dataset", "cifar10", "--data-dir", tmp / "data", "--model", "resnet18",
                                           "--width", "8", "--batch-size", "20", "--lr", "0.05", "--seed", "3",
                                           "--out", tmp / "run"};
  std::vector<std::string> args = common;
  args.insert(args.end(), {"--epochs", "3"});
  BOOST_TEST(cli::train_command(args) == 0);
  const auto rows = read_csv(tmp / "run/epochs.csv");
  BOOST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[0][0] == 1.0);
  BOOST_TEST(rows[2][2] < rows[0][2] * 0.8);  // training loss falls by at least 20% over 3 epochs
  for (const auto& r : rows) BOOST_TEST((r[4] >= 0.0 && r[4] <= 1.0));

  // The checkpoint restores a model with identical outputs (eval mode, running statistics too).
  nn::ModelOptions mo;
  mo.in_channels = 3;
  mo.image_size = 32;
  mo.width = 8;
  auto a = nn::make_model("resnet18", mo), b = nn::make_model("resnet18", mo);
  nn::Metadata meta = nn::load_checkpoint(tmp / "run/model.safetensors", *a);
  BOOST_TEST(meta["epoch"] == "3");
  BOOST_TEST(meta["model"] == "resnet18");
  nn::save_checkpoint(tmp / "copy.safetensors", *a);
  nn::load_checkpoint(tmp / "copy.safetensors", *b);
  a->eval();
  b->eval();
  {
    NoGrad no_grad;
    Tensor x = test::random_tensor({4, 3, 32, 32}, 5);
    BOOST_TEST((*a)(x).to_vector() == (*b)(x).to_vector(), boost::test_tools::per_element());
  }

  // --resume continues after epoch 3 and appends epoch 4 to the same CSV.
  args = common;
  args.insert(args.end(), {"--epochs", "4", "--resume", tmp / "run/model.safetensors"});
  BOOST_TEST(cli::train_command(args) == 0);
  const auto resumed = read_csv(tmp / "run/epochs.csv");
  BOOST_REQUIRE(resumed.size() == 4u);
  BOOST_TEST(resumed[3][0] == 4.0);
}

BOOST_AUTO_TEST_CASE(epochs_zero_saves_the_initialized_model) {
  TempDir tmp;
  BOOST_TEST(cli::train_command({"--dataset", "synthetic", "--shape", "1x28x28", "--model", "mlp", "--epochs", "0",
                                 "--synthetic-size", "20", "--save", tmp / "init.safetensors", "--out", tmp / "run"}) == 0);
  BOOST_TEST(fs::exists(tmp / "init.safetensors"));
  BOOST_TEST(!fs::exists(tmp / "run/epochs.csv"));
}

BOOST_AUTO_TEST_CASE(normalize_is_saved_and_load_model_rebuilds_the_model) {
  TempDir tmp;
  BOOST_TEST(cli::train_command({"--dataset", "synthetic", "--shape", "3x8x8", "--classes", "3", "--model", "mlp",
                                 "--epochs", "0", "--synthetic-size", "20", "--normalize", "0.5,0.4,0.3,0.25,0.2,0.1",
                                 "--out", tmp / "run"}) == 0);
  nn::Metadata meta;
  auto model = nn::load_model(tmp / "run/model.safetensors", Device::cpu(), &meta);
  BOOST_TEST(meta["dataset"] == "synthetic");
  BOOST_TEST(meta["num_classes"] == "3");
  BOOST_REQUIRE(model->has_input_normalization());
  test::expect_values(model->input_mean(), {0.5f, 0.4f, 0.3f}, "input mean");
  test::expect_values(model->input_std(), {0.25f, 0.2f, 0.1f}, "input std");
  BOOST_TEST(model->input_std().shape() == Shape({3, 1, 1}), boost::test_tools::per_element());
  expect_error([&] {
    cli::train_command({"--dataset", "synthetic", "--shape", "3x8x8", "--model", "mlp", "--epochs", "0",
                        "--synthetic-size", "20", "--normalize", "0.5,0.4,0.3", "--out", tmp / "r"});
  }, {"--normalize", "3 channel means"});
}

BOOST_AUTO_TEST_CASE(bad_input_gets_one_clear_line) {
  TempDir tmp;
  expect_error([&] { cli::train_command({"--dataset", "fmnist", "--data-dir", tmp / "none", "--out", tmp / "r"}); },
               {"make data"});
  expect_error([] { cli::train_command({"--epoch", "3"}); }, {"unknown flag '--epoch'"});
  expect_error([&] { cli::train_command({"--dataset", "imagenet", "--out", tmp / "r"}); }, {"--dataset 'imagenet'"});
  expect_error([&] { cli::train_command({"--dataset", "synthetic", "--shape", "3x32", "--out", tmp / "r"}); },
               {"--shape", "CxHxW"});
  expect_error([&] { cli::train_command({"--dataset", "synthetic", "--model", "vgg", "--out", tmp / "r"}); },
               {"vgg", "resnet18"});
  expect_error([&] { cli::train_command({"--dataset", "synthetic", "--optimizer", "rmsprop", "--out", tmp / "r"}); },
               {"--optimizer 'rmsprop'"});
  expect_error([&] { cli::train_command({"--dataset", "synthetic", "--device", "gpu", "--out", tmp / "r"}); },
               {"--device", "'gpu'"});
  expect_error([&] {
    cli::train_command({"--dataset", "synthetic", "--synthetic-size", "20", "--model", "mlp", "--out", tmp / "r",
                        "--resume", tmp / "missing.safetensors"});
  }, {"missing.safetensors"});
}

BOOST_AUTO_TEST_SUITE_END()
