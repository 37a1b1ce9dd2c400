// nn::model_metadata / nn::load_model: a checkpoint rebuilds its own model (architecture and
// input normalization from the metadata), with outputs equal to the saved model's.
#include <filesystem>

#include "engine/autograd.h"
#include "nn/checkpoint.h"
#include "nn/model_io.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;
using nanofed::test::TempDir;
namespace fs = std::filesystem;

namespace {
// Saves make_model(name, o) (normalized per channel if asked), reloads it with load_model and
// compares the outputs on random images in eval mode.
void round_trip(const std::string& name, nn::ModelOptions o, bool normalized) {
  TempDir tmp;
  Generator gen(7);
  o.gen = &gen;
  std::shared_ptr<nn::Module> saved = nn::make_model(name, o);
  const int64_t c = o.in_channels, side = o.image_size;
  if (normalized)
    saved->set_input_normalization(test::random_uniform({c, 1, 1}, 1, 0.2f, 0.6f),
                                   test::random_uniform({c, 1, 1}, 2, 0.2f, 0.4f));
  nn::Metadata meta = nn::model_metadata(name, o, *saved);
  meta["epoch"] = "1";  // the caller's own keys ride along
  nn::save_checkpoint(tmp / "m.safetensors", *saved, nullptr, meta);

  nn::Metadata read;
  std::shared_ptr<nn::Module> loaded = nn::load_model(tmp / "m.safetensors", Device::cpu(), &read);
  BOOST_TEST(read["epoch"] == "1");
  BOOST_TEST(read["model"] == name);
  BOOST_TEST(loaded->has_input_normalization() == normalized);
  BOOST_TEST(!loaded->is_training());
  saved->eval();
  NoGrad no_grad;
  Tensor x = test::random_uniform({3, c, side, side}, 3, 0.0f, 1.0f);
  BOOST_TEST((*loaded)(x).to_vector() == (*saved)(x).to_vector(), boost::test_tools::per_element());
  if (normalized) {
    BOOST_TEST(loaded->input_mean().to_vector() == saved->input_mean().to_vector(), boost::test_tools::per_element());
    BOOST_TEST(loaded->input_std().shape() == Shape({c, 1, 1}), boost::test_tools::per_element());
    BOOST_TEST((*loaded)(x).to_vector() != loaded->forward(x).to_vector());  // it does apply
  }
}

nn::ModelOptions image_model(int64_t in_channels, int64_t image_size, int64_t num_classes) {
  nn::ModelOptions o;
  o.in_channels = in_channels;
  o.image_size = image_size;
  o.num_classes = num_classes;
  return o;
}

// A small MLP: 4x4 images, one hidden layer of 3.
nn::ModelOptions tiny_mlp() {
  nn::ModelOptions o;
  o.image_size = 4;
  o.hidden = {3};
  return o;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(model_io)

BOOST_AUTO_TEST_CASE(mlp_round_trips_with_its_hidden_widths) {
  nn::ModelOptions o = image_model(1, 6, 4);
  o.hidden = {12, 5};
  for (bool normalized : {false, true}) round_trip("mlp", o, normalized);
}

BOOST_AUTO_TEST_CASE(cnn_round_trips) {
  const nn::ModelOptions o = image_model(3, 12, 3);
  for (bool normalized : {false, true}) round_trip("cnn", o, normalized);
}

BOOST_AUTO_TEST_CASE(a_narrower_cnn_round_trips_with_its_widths) {
  nn::ModelOptions o = image_model(1, 12, 3);
  o.channels = {4, 6};
  o.fc_hidden = 10;
  round_trip("cnn", o, false);  // a load that ignored the widths would not fit the tensors
}

BOOST_AUTO_TEST_CASE(resnet18_round_trips_with_batchnorm_statistics) {
  nn::ModelOptions o = image_model(3, 8, 5);
  o.width = 4;
  for (bool normalized : {false, true}) round_trip("resnet18", o, normalized);
}

BOOST_AUTO_TEST_CASE(a_missing_key_names_the_file_and_the_key) {
  TempDir tmp;
  const nn::ModelOptions o = tiny_mlp();
  auto model = nn::make_model("mlp", o);
  nn::Metadata meta = nn::model_metadata("mlp", o, *model);
  meta.erase("image_size");
  nn::save_checkpoint(tmp / "old.safetensors", *model, nullptr, meta);
  expect_error([&] { nn::load_model(tmp / "old.safetensors", Device::cpu()); },
               {"load_model", "old.safetensors", "'image_size'"});
  meta = nn::model_metadata("mlp", o, *model);
  meta["num_classes"] = "ten";
  nn::save_checkpoint(tmp / "bad.safetensors", *model, nullptr, meta);
  expect_error([&] { nn::load_model(tmp / "bad.safetensors", Device::cpu()); }, {"bad.safetensors", "'num_classes'", "ten"});
}

// Checkpoints from before the optimizer state moved beside the model carry it as "optimizer.*"
// keys in the model file: they still load (the keys ignored), and a model-only save over a
// file with an optimizer file beside it removes that stale file.
BOOST_AUTO_TEST_CASE(the_earlier_layout_still_loads_and_a_model_only_save_drops_a_stale_optimizer_file) {
  TempDir tmp;
  const nn::ModelOptions o = tiny_mlp();
  auto model = nn::make_model("mlp", o);
  nn::NamedTensors tensors = model->state_dict();
  tensors.push_back({"optimizer.param_groups.0.lr", scalar_tensor(0.1f)});
  nn::write_safetensors(tmp / "old.safetensors", tensors, nn::model_metadata("mlp", o, *model));
  BOOST_TEST(nn::load_model(tmp / "old.safetensors", Device::cpu())->num_parameters() == model->num_parameters());

  nn::SGD opt(model->parameters(), nn::SGDOptions(0.1));
  nn::save_checkpoint(tmp / "m.safetensors", *model, &opt);
  BOOST_TEST(fs::exists(tmp / "m.optimizer.safetensors"));
  nn::save_checkpoint(tmp / "m.safetensors", *model);
  BOOST_TEST(!fs::exists(tmp / "m.optimizer.safetensors"));
}

BOOST_AUTO_TEST_SUITE_END()
