// checkpoint.cpp — model + optimizer state in one safetensors file (see checkpoint.h).
#include "nn/checkpoint.h"

#include <map>

namespace nanofed::nn {

namespace {
const std::string kOptimizerPrefix = "optimizer.";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer,
                     const Metadata& metadata) {
  NamedTensors tensors = model.state_dict();
  for (auto& [name, t] : tensors)
    NF_CHECK(name.compare(0, kOptimizerPrefix.size(), kOptimizerPrefix) != 0,
             "save_checkpoint: " << path << ": model key '" << name << "' clashes with the optimizer prefix");
  if (optimizer)
    for (auto& [name, t] : optimizer->state_dict()) tensors.push_back({kOptimizerPrefix + name, t});
  write_safetensors(path, tensors, metadata);
}

Metadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer) {
  SafetensorsFile file = read_safetensors(path);
  std::map<std::string, Tensor> own;
  for (auto& [name, t] : model.state_dict()) own[name] = t;

  NamedTensors model_state, optimizer_state;
  for (auto& [name, t] : file.tensors) {
    if (name.compare(0, kOptimizerPrefix.size(), kOptimizerPrefix) == 0) {
      optimizer_state.push_back({name.substr(kOptimizerPrefix.size()), t});
    } else if (own.count(name) || !ends_with(name, "num_batches_tracked")) {
      model_state.push_back({name, t});
    }
  }
  // Everything is checked before anything is copied, so a failed load leaves the model and
  // the optimizer as they were: the model's keys, shapes and dtypes here, then the optimizer
  // (whose load checks all before changing anything), then the model copy, which cannot fail.
  try {
    model.check_state_dict(model_state, /*strict=*/true);
    if (optimizer) {
      NF_CHECK(!optimizer_state.empty(), "the file holds no optimizer state ('optimizer.*' keys)");
      optimizer->load_state_dict(optimizer_state);
    }
    model.load_state_dict(model_state, /*strict=*/true);
  } catch (const Error& e) {
    throw Error("load_checkpoint: " + path + ": " + e.what());
  }
  return file.metadata;
}

}  // namespace nanofed::nn
