// model_io.h — checkpoints that rebuild their own model: make_model's name and options and the
// input normalization travel in the safetensors metadata, so a command given only a path
// (`nanofed attack --model CKPT`, `nanofed certify --model CKPT`) gets the trained model back.
//
//   nn::save_checkpoint(path, *model, &opt, nn::model_metadata("cnn", options, *model));
//   std::shared_ptr<nn::Module> m = nn::load_model(path, Device::cuda());
//
// Metadata keys (strings, like every safetensors metadata value):
//   model            make_model's name ("cnn", "resnet18", ...)
//   in_channels, image_size, num_classes, width, fc_hidden   integers as ModelOptions holds them
//                    (0 = the model's reference default, resolved again by make_model)
//   hidden           MLP hidden widths, a comma list ("200" or "256,128")
//   negative_slope   cnn28/cnn64 LeakyReLU slope (%.9g)
//   input_mean, input_std, input_norm_shape   only when the model has an input normalization:
//                    the values as comma lists (%.9g: f32 round-trips exactly) and their shape
//                    ("3,1,1" per channel)
//   params_tensor, buffers_tensor   only in files that hold several models (fl checkpoints):
//                    the names of the tensors that hold this model's parameters / f32 buffers
//                    as flat arenas in Module order (Module::flat_parameters()); load_model loads
//                    those and ignores the file's other tensors. Without them the file's keys are
//                    the model's state_dict() names (nn/checkpoint.h).
// Other keys (epoch, dataset, seed, ...) are left to the caller and ignored here.
#pragma once
#include <memory>
#include <string>

#include "engine/device.h"
#include "nn/models.h"
#include "nn/safetensors.h"

namespace nanofed::nn {

// The keys above for a model built by make_model(name, o).
Metadata model_metadata(const std::string& name, const ModelOptions& o, const Module& model);

// Sets the model's input normalization from checkpoint metadata (on the model's device); false
// (and nothing changed) when the metadata have none. `path` names the file in errors.
bool restore_input_normalization(const std::string& path, const Metadata& meta, Module& model);

// Reads the metadata, builds the model with make_model, loads the weights strictly
// (nn::load_checkpoint), restores the input normalization and moves the model to `device`
// (in eval mode: it is loaded to be used, not trained). A missing or malformed key is one Error
// naming the file and the key. `meta`, if given, receives the whole metadata.
std::shared_ptr<Module> load_model(const std::string& path, Device device, Metadata* meta = nullptr);

}  // namespace nanofed::nn
