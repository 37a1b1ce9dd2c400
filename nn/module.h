// module.h — nn::Module: named parameters, buffers and children, train/eval, devices, and
// the flat arenas.
//
// Names follow PyTorch's state_dict: a module's own parameters, then its own buffers, then
// each child's under "<child>." in registration order ("conv1.weight", "bn1.running_mean",
// "layer1.0.conv1.weight").
//
// Flat arena: flat_parameters() moves every parameter of the module (and its descendants)
// into one contiguous buffer, in state_dict order, and re-points each parameter tensor at
// its slice (the Tensor handles the layers hold stay valid: their storage is re-bound in
// place). flat_gradients() does the same for the gradients (each parameter's .grad() becomes a
// view into one [P] buffer, where backward() accumulates), and flat_buffers() for the f32
// buffers (BatchNorm statistics). FedAvg is then one weighted sum of [P] vectors, Ditto's
// pull one axpy, checkpoints one write. Calling them again is free when nothing moved.
//
// Input normalization: attacks budget eps in pixel space and randomized smoothing adds noise
// in pixel space, so inputs stay in [0, 1] and the data set's (x - mean) / std is the model's
// own first step (Cohen's Sequential(NormalizeLayer, net); torchattacks' "a layer inside the
// model"). set_input_normalization(mean, std) makes operator()(x) return
// forward((x - mean) / std), differentiable in x. Only the module it is set on applies it (a
// child called by its parent does not). It is not part of state_dict() (checkpoints keep
// PyTorch's keys; nn/model_io.h stores it in the metadata), to() moves it, str() shows it.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x);  // forward(x), after the input normalization if set
  // One line describing this module alone, e.g. "Conv2d(1, 32, kernel_size=(5, 5))".
  virtual std::string repr() const = 0;
  std::string str() const;  // the whole tree, indented like PyTorch's print(model)

  // ---- tree ----
  NamedTensors named_parameters() const;
  std::vector<Tensor> parameters() const;
  NamedTensors named_buffers() const;
  NamedTensors state_dict() const;  // parameters and buffers, PyTorch order
  // Copies values in (moving them to this module's device). strict: every key must match
  // both ways; otherwise unknown keys are ignored and missing ones keep their values.
  // "<...>.num_batches_tracked" (PyTorch's BatchNorm counter) the module does not have is
  // ignored either way, so a PyTorch-written state_dict loads strictly. A shape
  // or dtype mismatch is always an error naming the key. Everything is checked (by
  // check_state_dict) before anything is copied, so a failed load leaves the module as it was.
  void load_state_dict(const NamedTensors& state, bool strict = true);
  void check_state_dict(const NamedTensors& state, bool strict = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  int64_t num_parameters() const;

  // ---- mode ----
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // ---- gradients and devices ----
  void zero_grad();  // fills existing gradients with 0 (keeps the arena)
  void to(Device device);
  Device device() const;  // of the first parameter or buffer (cpu if none)

  // ---- flat arenas ----
  Tensor flat_parameters();
  Tensor flat_gradients();
  Tensor flat_buffers();

  // ---- input normalization (see the top of this file) ----
  // mean and std: f32, the same shape, broadcastable against one sample (e.g. [C, 1, 1] per
  // channel, [C, H, W] per pixel); std > 0 everywhere. Stored as copies (no history) on
  // this module's device. Two undefined tensors clear it.
  void set_input_normalization(Tensor mean, Tensor std);
  bool has_input_normalization() const { return input_mean_.defined(); }
  const Tensor& input_mean() const { return input_mean_; }
  const Tensor& input_std() const { return input_std_; }

 protected:
  // Called from constructors. The parameter is made a leaf requiring grad.
  Tensor register_parameter(const std::string& name, Tensor value);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers) const;
  std::string str_indented(int indent) const;

  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
  Tensor input_mean_, input_std_;  // undefined: no input normalization
};

// The [total] view over `tensors` if they are f32 on `device` and lie back to back, in order,
// in one storage (an arena); else an undefined tensor. Never copies or re-binds. Optimizers
// use it to step a whole arena in one launch.
Tensor contiguous_span(const std::vector<Tensor>& tensors, Device device);

// Makes `tensors` share one contiguous buffer (in order) unless they already do, re-binding
// each tensor's storage in place; returns the [total] view over it. Used for parameter,
// gradient and buffer arenas, and by optimizers for their state.
Tensor flatten_into_arena(const std::vector<Tensor>& tensors, Device device);

// The generator layer constructors draw their initial weights from when none is given, like
// PyTorch's global RNG: manual_seed(s) makes model construction reproducible.
Generator& default_generator();
void manual_seed(uint64_t seed);

// Eval mode for a scope (evaluation, attacks, certification): on exit every module of the tree
// gets its own previous mode back (restored parents first, since train() recurses), so a model
// with e.g. a frozen BatchNorm child in eval mode stays that way.
class EvalMode {
 public:
  explicit EvalMode(Module& model);
  ~EvalMode();
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  std::vector<std::pair<Module*, bool>> modes_;  // every module of the tree, parents first
};

// For gradients w.r.t. the input only (attacks, saliency, certification probes): eval mode
// (EvalMode) and the parameters' requires_grad off (RequiresGradOff) for a scope; both
// restored on exit, the parameters' .grad() buffers untouched.
class InputGradientScope {
 public:
  explicit InputGradientScope(Module& model);
 private:
  EvalMode eval_mode_;         // set first, restored last (members unwind in reverse)
  RequiresGradOff frozen_;
};

}  // namespace nanofed::nn
