// `nanofed train` end to end on small files of the real formats: a CIFAR-10 binary set
// written here, ResNet18 at a small width; the CSV, the checkpoint (the model's state_dict
// alone, loadable in PyTorch, the optimizer beside it), --resume (exact continuation or new
// settings, said which; rows and checkpoint agree), --augment, --epochs 0 and bad input.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/cifar.h"
#include "datasets/synthetic.h"
#include "engine/autograd.h"
#include "fl/config.h"
#include "nn/checkpoint.h"
#include "nn/model_io.h"
#include "nn/models.h"
#include "tests/command_util.h"
#include "tests/test_util.h"

using nanofed::test::TempDir;
#include "tools/train_command.h"

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

// `nanofed train` on test::synthetic_data_flags() (1x8x8, 3 classes) into `out`, batch 30, with
// `extra` flags; returns what it printed.
std::string train(const std::string& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args = test::synthetic_data_flags();
  args.insert(args.end(), {"--batch-size", "30", "--out", out});
  args.insert(args.end(), extra.begin(), extra.end());
  return test::capture_stdout([&] { BOOST_TEST(cli::train_command(args) == 0); });
}

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<float> first_weight(const std::string& ckpt) {
  return nn::load_model(ckpt, Device::cpu())->state_dict().front().second.to_vector();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool imports_torch(const std::string& python) {
  return std::system((python + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
}

// The interpreter the PyTorch check runs with: $NANOFED_PYTHON, else python3, else Debian's
// /usr/bin/python3 (where python3-torch installs, and which a pyenv python3 on PATH hides).
std::string python() {
  const char* p = std::getenv("NANOFED_PYTHON");
  if (p && *p) return p;
  static const std::string found = imports_torch("python3") || !imports_torch("/usr/bin/python3") ? "python3"
                                                                                                   : "/usr/bin/python3";
  return found;
}

// The PyTorch check runs where `python()` imports torch and is reported skipped elsewhere.
struct TorchPresent {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    const bool ok = imports_torch(python());
    boost::test_tools::assertion_result r(ok);
    if (!ok) r.message() << python() << " cannot import torch (install python3-torch, or set NANOFED_PYTHON)";
    return r;
  }
};
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

BOOST_AUTO_TEST_CASE(the_checkpoint_is_the_state_dict_alone_and_the_optimizer_lies_beside_it) {
  TempDir tmp;
  train(tmp / "run", {"--model", "mlp", "--epochs", "1"});
  const std::string ckpt = tmp / "run/model.safetensors";
  std::vector<std::string> keys, state_dict;
  for (auto& [k, t] : nn::read_safetensors(ckpt).tensors) keys.push_back(k);
  for (auto& [k, t] : nn::load_model(ckpt, Device::cpu())->state_dict()) state_dict.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::sort(state_dict.begin(), state_dict.end());
  BOOST_TEST(keys == state_dict, boost::test_tools::per_element());

  BOOST_TEST(nn::optimizer_path(ckpt) == tmp / "run/model.optimizer.safetensors");
  const nn::SafetensorsFile side = nn::read_safetensors(tmp / "run/model.optimizer.safetensors");
  std::vector<std::string> side_keys;
  for (auto& [k, t] : side.tensors) side_keys.push_back(k);
  BOOST_TEST(std::count(side_keys.begin(), side_keys.end(), "state.0.momentum_buffer") == 1);
  BOOST_TEST(std::count(side_keys.begin(), side_keys.end(), "param_groups.0.lr") == 1);
  BOOST_TEST(side.metadata.at("epoch") == "1");
  BOOST_TEST(side.metadata.at("optimizer") == "sgd");
  BOOST_TEST(side.metadata.at("schedule") == "none");
}

// The README's promise: safetensors.torch.load_file + load_state_dict(strict=True) in PyTorch,
// with the same logits as nanofed.
BOOST_AUTO_TEST_CASE(the_checkpoint_loads_in_pytorch_with_a_strict_load_state_dict,
                     *boost::unit_test::precondition(TorchPresent())) {
  TempDir tmp;
  train(tmp / "run", {"--model", "cnn", "--epochs", "1", "--synthetic-size", "60"});
  const std::string ckpt = tmp / "run/model.safetensors";
  const Tensor x = test::random_uniform({4, 1, 8, 8}, 5, 0.0f, 1.0f);
  Tensor logits;
  {
    NoGrad no_grad;
    logits = (*nn::load_model(ckpt, Device::cpu()))(x);
  }
  nn::write_safetensors(tmp / "expected.safetensors", {{"x", x}, {"logits", logits}});
  const std::string script = (fs::path(__FILE__).parent_path() / "torch_load_state_dict.py").string();
  BOOST_TEST(std::system((python() + " " + script + " " + ckpt + " " + tmp / "expected.safetensors").c_str()) == 0);
}

// A finished cosine schedule ends at lr 0; --lr on resume must train at it, not at 0.
BOOST_AUTO_TEST_CASE(resume_with_a_new_lr_after_a_finished_cosine_schedule_applies_it_and_says_so) {
  TempDir tmp;
  const std::string ckpt = tmp / "run/model.safetensors";
  train(tmp / "run", {"--model", "mlp", "--schedule", "cosine", "--lr", "0.05", "--epochs", "2"});
  const std::vector<float> before = first_weight(ckpt);
  const std::string said =
      train(tmp / "run", {"--model", "mlp", "--schedule", "cosine", "--lr", "0.02", "--epochs", "4", "--resume", ckpt});
  BOOST_TEST(contains(said, "new settings from epoch 3 (--lr 0.02 (was 0.05), --epochs 4"), said);
  BOOST_TEST(contains(said, "cosine over epochs 3-4"), said);
  const auto rows = read_csv(tmp / "run/epochs.csv");
  BOOST_REQUIRE(rows.size() == 4u);
  const std::vector<double> lr = {rows[0][1], rows[1][1], rows[2][1], rows[3][1]};
  const std::vector<double> expected = {0.05, 0.025, 0.02, 0.01};  // cosine over 1-2, then anew over 3-4
  for (size_t i = 0; i < lr.size(); ++i) BOOST_TEST(lr[i] == expected[i], boost::test_tools::tolerance(1e-6));
  BOOST_TEST(first_weight(ckpt) != before);
}

BOOST_AUTO_TEST_CASE(resume_without_new_settings_continues_bit_identically_and_says_so) {
  TempDir tmp;
  const std::vector<std::string> run = {"--model", "mlp", "--lr", "0.1", "--optimizer", "adam"};
  train(tmp / "whole", plus(run, {"--epochs", "3"}));
  train(tmp / "parts", plus(run, {"--epochs", "1"}));
  const std::string said = train(tmp / "parts", plus(run, {"--epochs", "3", "--resume", tmp / "parts/model.safetensors"}));
  BOOST_TEST(contains(said, "after epoch 1: the saved schedule continues exactly (adam, lr 0.1"), said);
  for (const char* file : {"model.safetensors", "model.optimizer.safetensors"})
    BOOST_TEST(test::read_text(tmp / (std::string("whole/") + file)) == test::read_text(tmp / (std::string("parts/") + file)), file);
}

// A run stopped between its CSV row and its checkpoint: the row of the epoch the checkpoint
// lacks is dropped, the epoch trained again, and every epoch has one row.
BOOST_AUTO_TEST_CASE(resume_keeps_the_rows_up_to_the_checkpoints_epoch) {
  TempDir tmp;
  train(tmp / "run", {"--model", "mlp", "--epochs", "2"});
  std::ofstream(tmp / "run/epochs.csv", std::ios::app) << "3,0.05,9,9,0.1,1,1\n";
  train(tmp / "run", {"--model", "mlp", "--epochs", "3", "--resume", tmp / "run/model.safetensors"});
  const auto rows = read_csv(tmp / "run/epochs.csv");
  BOOST_REQUIRE(rows.size() == 3u);
  for (size_t i = 0; i < rows.size(); ++i) BOOST_TEST(rows[i][0] == double(i + 1));
  BOOST_TEST(rows[2][2] != 9.0);  // this run's row, not the stale one
}

BOOST_AUTO_TEST_CASE(augment_pixel_trains_with_the_certification_noise) {
  TempDir tmp;
  const std::vector<std::string> noisy = {"--model", "mlp", "--epochs", "1", "--augment", "pixel", "--augment-sigma", "0.5"};
  train(tmp / "a", noisy);
  train(tmp / "b", noisy);
  train(tmp / "plain", {"--model", "mlp", "--epochs", "1"});
  BOOST_TEST(test::read_text(tmp / "a/model.safetensors") == test::read_text(tmp / "b/model.safetensors"));  // same seed
  BOOST_TEST(first_weight(tmp / "a/model.safetensors") != first_weight(tmp / "plain/model.safetensors"));
  nn::Metadata meta;
  nn::load_model(tmp / "a/model.safetensors", Device::cpu(), &meta);
  BOOST_TEST(meta["augment"] == "pixel");
  BOOST_TEST(meta["augment_sigma"] == "0.5");
  expect_error([&] { train(tmp / "r", {"--augment", "gaussian"}); }, {"--augment 'gaussian'", "crop-flip", "pixel"});
  expect_error([&] { train(tmp / "r", {"--augment", "pixel", "--augment-sigma", "0"}); },
               {"--augment-sigma", "sigma must be > 0"});
  BOOST_TEST(!fs::exists(tmp / "r"));
}

// The ranges nn/train_settings.h shares: the flag and the fl config key reject the same value,
// and a rejected run creates nothing (nor does one whose --resume is missing).
BOOST_AUTO_TEST_CASE(out_of_range_flags_are_rejected_like_the_fl_config_and_create_nothing) {
  TempDir tmp;
  struct Case {
    std::string flag, value, fl_key;
  };
  const Case cases[] = {{"momentum", "2", "momentum"},          {"lr", "0", "lr"},
                        {"classes", "1", "synthetic_classes"},  {"batch-size", "0", "batch_size"},
                        {"weight-decay", "-1", "weight_decay"}, {"seed", "-5", ""},
                        {"limit", "-1", ""}};
  for (const Case& c : cases) {
    expect_error([&] { cli::train_command(plus(test::synthetic_data_flags(), {"--out", tmp / "r", "--" + c.flag, c.value})); },
                 {"--" + c.flag + " " + c.value + " must be"});
    if (!c.fl_key.empty())
      expect_error([&] { fl::parse_config(fl::json::parse("{\"" + c.fl_key + "\": " + c.value + "}")); }, {c.fl_key, "must be"});
  }
  expect_error([&] {
    cli::train_command(plus(test::synthetic_data_flags(), {"--out", tmp / "r", "--resume", tmp / "missing.safetensors"}));
  }, {"missing.safetensors"});
  BOOST_TEST(!fs::exists(tmp / "r"));
}

BOOST_AUTO_TEST_SUITE_END()
