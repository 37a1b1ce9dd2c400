// checkpoint.h — a model (and optionally its optimizer) in one safetensors file.
//
//   nn::save_checkpoint("run/epoch3.safetensors", model, &opt, {{"epoch", "3"}});
//   nn::Metadata meta = nn::load_checkpoint("run/epoch3.safetensors", model, &opt);
//
// Keys: the model's state_dict() names ("conv1.weight", "bn1.running_mean", ...), so a file
// written from a PyTorch model with safetensors.torch.save_file(model.state_dict(), path)
// loads directly (and ours loads in PyTorch with load_file + load_state_dict); the optimizer's
// state_dict() under "optimizer." ("optimizer.state.0.exp_avg", "optimizer.param_groups.0.lr").
// The file is written atomically (PATH.tmp, then rename).
//
// Loading is strict for the model: every model key must be in the file with its shape and
// dtype, and every non-optimizer key of the file must belong to the model, with one exception:
// "<...>num_batches_tracked" (BatchNorm's I64 counter in PyTorch) is ignored when the model has
// no such buffer (and loaded, converted to i32, when it has). With an optimizer, the file must
// hold optimizer state; without one, the file's optimizer state is ignored. Any problem is an
// Error naming the file, raised before anything is changed (a failed load leaves the model
// and optimizer as they were). Values are copied into the model's existing tensors (on its device),
// so arenas and the optimizer's references stay valid. Returns the file's metadata.
#pragma once
#include <string>

#include "nn/module.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace nanofed::nn {

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const Metadata& metadata = {});
Metadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr);

}  // namespace nanofed::nn
