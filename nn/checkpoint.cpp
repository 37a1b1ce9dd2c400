// checkpoint.cpp — the model's state_dict in one file, the optimizer's beside it (see checkpoint.h).
#include "nn/checkpoint.h"

#include <filesystem>
#include <set>

#include "engine/file_io.h"
#include "engine/text.h"

namespace nanofed::nn {

namespace {
const std::string kLegacyOptimizerPrefix = "optimizer.";  // optimizer state inside the model file
const std::string kExtension = ".safetensors";
}  // namespace

std::string optimizer_path(const std::string& path) {
  const std::string stem = ends_with(path, kExtension) ? path.substr(0, path.size() - kExtension.size()) : path;
  return stem + ".optimizer" + kExtension;
}

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const Metadata& metadata, const Metadata& optimizer_metadata) {
  if (optimizer) write_safetensors(optimizer_path(path), optimizer->state_dict(), optimizer_metadata);
  write_safetensors(path, model.state_dict(), metadata);
  if (!optimizer) std::filesystem::remove(optimizer_path(path));  // stale: it belongs to the model just replaced
}

Metadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer, Metadata* optimizer_metadata) {
  SafetensorsFile file = read_safetensors(path);
  std::set<std::string> own;
  for (auto& [name, t] : model.state_dict()) own.insert(name);

  NamedTensors model_state;  // num_batches_tracked: Module::load_state_dict's rule
  for (auto& [name, t] : file.tensors)
    if (own.count(name) || !starts_with(name, kLegacyOptimizerPrefix)) model_state.push_back({name, t});
  // Everything is checked before anything is copied, so a failed load leaves the model and
  // the optimizer as they were: the model's keys, shapes and dtypes here, then the optimizer
  // (whose load checks all before changing anything), then the model copy, which cannot fail.
  try {
    model.check_state_dict(model_state, /*strict=*/true);
    if (optimizer) {
      const std::string side = optimizer_path(path);
      NF_CHECK(nanofed::file_exists(side), "no optimizer state beside it (" << side << " is missing)");
      SafetensorsFile state = read_safetensors(side);
      optimizer->load_state_dict(state.tensors);
      if (optimizer_metadata) *optimizer_metadata = state.metadata;
    }
    model.load_state_dict(model_state, /*strict=*/true);
  } catch (const Error& e) {
    throw Error("load_checkpoint: " + path + ": " + e.what());
  }
  return file.metadata;
}

}  // namespace nanofed::nn
