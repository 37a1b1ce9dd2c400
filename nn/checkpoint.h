// checkpoint.h — a model's state_dict in one safetensors file, its optimizer's state in a
// second file beside it.
//
//   nn::save_checkpoint("run/model.safetensors", model, &opt, {{"epoch", "3"}}, {{"epoch", "3"}});
//   nn::Metadata meta = nn::load_checkpoint("run/model.safetensors", model, &opt);
//
// PATH holds the model's state_dict() alone ("conv1.weight", "bn1.running_mean", ...), so it
// loads in PyTorch with safetensors.torch.load_file + load_state_dict(strict=True), and a file
// written from PyTorch with save_file(model.state_dict(), path) loads here. The optimizer's
// state_dict() ("state.0.exp_avg", "param_groups.0.lr": PyTorch's nested dict flattened, see
// nn/optim.h) goes to optimizer_path(PATH) with metadata of its own (a trainer's schedule
// state), as Hugging Face's trainer keeps optimizer.pt beside the model. Both files are written
// atomically (FILE.tmp, then rename), the optimizer file first; a model-only save removes an
// optimizer file left beside PATH by an earlier save, so the pair never mixes two models.
//
// Loading is strict for the model: every model key must be in the file with its shape and
// dtype, and every key of the file must belong to the model, with two exceptions:
// "<...>.num_batches_tracked" (BatchNorm's I64 counter in PyTorch) is ignored when the model has
// no such buffer (Module::load_state_dict's rule), and "optimizer.*" keys (files from
// before the optimizer state moved beside the model) are ignored. With an optimizer,
// optimizer_path(PATH) must exist; without one, it is not read. Any problem is an Error naming
// the file, raised before anything is changed (a failed load leaves the model and optimizer as
// they were). Values are copied into the model's existing tensors (on its device), so arenas and
// the optimizer's references stay valid. Returns the model file's metadata; the optimizer
// file's goes to *optimizer_metadata when given.
#pragma once
#include <string>

#include "nn/module.h"
#include "nn/optim.h"
#include "nn/safetensors.h"

namespace nanofed::nn {

// "run/model.safetensors" -> "run/model.optimizer.safetensors" (other names: PATH.optimizer.safetensors).
std::string optimizer_path(const std::string& path);

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer = nullptr,
                     const Metadata& metadata = {}, const Metadata& optimizer_metadata = {});
Metadata load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer = nullptr,
                         Metadata* optimizer_metadata = nullptr);

}  // namespace nanofed::nn
