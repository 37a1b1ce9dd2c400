// optim.h — torch.optim's SGD, Adam and AdamW over a list of parameter tensors.
//
//   nn::SGD opt(model.parameters(), nn::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
//   nn::Adam adam(model.parameters());                        // lr 1e-3, betas (0.9, 0.999)
//   nn::AdamW adamw(model.parameters(), nn::AdamWOptions().lr(3e-4).weight_decay(0.05));
//   loss.backward(); opt.step(); opt.zero_grad();
//
// Options are libtorch-style chained setters (C++17 has no designated initialisers): `o.lr(v)`
// sets and returns o, `o.lr()` reads. Defaults are torch.optim's. step() follows the documented
// algorithms exactly (see engine/ops/optim.h for the per-element math): SGD's momentum buffer
// is initialised to the first gradient, nesterov needs momentum > 0 and dampening == 0, Adam's
// weight_decay is L2 added to the gradient and AdamW's is decoupled (p *= 1 - lr * wd).
// A parameter whose .grad() is undefined is skipped (its state and step count stay as they are).
//
// Speed: when every parameter has a gradient and all step counts are equal, the update is ONE
// launch over the whole [P] arena: the first such step() puts the parameters back to back in
// one storage and their gradients in another (flatten_into_arena, re-binding them in place as
// Module::flat_parameters/flat_gradients do; a model whose arenas exist is not copied), and
// backward() then accumulates into that gradient arena. That is arranged once: a caller that
// replaces the gradient tensors every step gets one fused kernel per parameter instead of a
// copy per step. State buffers live in arenas of their own (one per kind: momentum_buffer,
// exp_avg, ...), allocated on the first step() on the parameters' device and moved with them.
//
// state_dict(): PyTorch's nested {state, param_groups} flattened into NamedTensors:
//   "state.<i>.momentum_buffer"                    SGD, once parameter i has stepped (momentum != 0)
//   "state.<i>.step" (f32 []), "state.<i>.exp_avg", "state.<i>.exp_avg_sq"
//   [, "state.<i>.max_exp_avg_sq"]                Adam/AdamW, once parameter i has stepped
//   "param_groups.0.<hyper-parameter>" (f32 [])     lr, momentum, dampening, weight_decay,
//                                                   nesterov, eps, amsgrad; betas is f32 [2]
// load_state_dict() checks every key, shape and parameter index, restores the state and the
// numeric hyper-parameters (like PyTorch, lr included).
//
// Deviations from torch.optim (on purpose):
//   * One parameter group (no per-group options); lr()/set_lr() act on it.
//   * zero_grad() fills the existing gradients with 0 and keeps the buffers (PyTorch's
//     set_to_none=False), because gradients may be views into a model's gradient arena.
//   * All parameters must be f32 and on one device; no maximize/foreach/fused/capturable/
//     differentiable flags.
//   * Hyper-parameters are saved as f32. On load, a saved value equal to the float rounding of
//     the current (double) one keeps the current value, so save/load continues bit-identically;
//     other values replace it. The flags (nesterov, amsgrad) must match the optimizer's
//     (PyTorch would overwrite them); a mismatch is an error.
//   * SGD's internal "has stepped" flag is restored from the presence of momentum_buffer.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "nn/module.h"

namespace nanofed::nn {

// A chained option: `T name() const` reads, `Self& name(T)` sets. The field name##_ stays
// public so that the optimizer can save and restore it by name.
#define NF_OPTION(T, name, init)      \
  auto& name(T v) {                   \
    name##_ = v;                      \
    return *this;                     \
  }                                   \
  T name() const { return name##_; }  \
  T name##_ = init;

using Betas = std::pair<double, double>;

struct SGDOptions {
  explicit SGDOptions(double lr = 1e-3) : lr_(lr) {}  // torch.optim.SGD's default lr is 1e-3
  NF_OPTION(double, lr, 1e-3)
  NF_OPTION(double, momentum, 0.0)
  NF_OPTION(double, dampening, 0.0)
  NF_OPTION(double, weight_decay, 0.0)
  NF_OPTION(bool, nesterov, false)
};

struct AdamOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  NF_OPTION(double, lr, 1e-3)
  NF_OPTION(Betas, betas, Betas(0.9, 0.999))
  NF_OPTION(double, eps, 1e-8)
  NF_OPTION(double, weight_decay, 0.0)  // L2: added to the gradient
  NF_OPTION(bool, amsgrad, false)
};

// AdamW differs from Adam only in the default weight decay (1e-2) and in decoupling it.
struct AdamWOptions {
  explicit AdamWOptions(double lr = 1e-3) : lr_(lr) {}
  NF_OPTION(double, lr, 1e-3)
  NF_OPTION(Betas, betas, Betas(0.9, 0.999))
  NF_OPTION(double, eps, 1e-8)
  NF_OPTION(double, weight_decay, 1e-2)  // decoupled: p *= 1 - lr * weight_decay
  NF_OPTION(bool, amsgrad, false)
};
#undef NF_OPTION

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void step();
  void zero_grad();  // fills existing gradients with 0 (see the deviations above)
  virtual double lr() const = 0;
  virtual void set_lr(double lr) = 0;
  const std::vector<Tensor>& parameters() const { return params_; }
  virtual const char* name() const = 0;  // "SGD", "Adam", "AdamW"

  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);

  // Steps taken by parameter i (0 until its first step with a gradient).
  int64_t step_count(size_t i) const { return steps_.at(i); }
  // Whether the latest step() was one launch over the whole arena (the fast path).
  bool last_step_fused() const { return last_step_fused_; }

 protected:
  // `buffer_names`: the per-parameter state kinds, e.g. {"exp_avg", "exp_avg_sq"}.
  Optimizer(std::vector<Tensor> params, std::vector<std::string> buffer_names, bool saves_step);

  // One fused update of `param` (a parameter or the whole arena) whose state is `buffers`
  // (one per kind, same element count), `step` counted after this update (1 the first time).
  virtual void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& buffers,
                      int64_t step) = 0;
  // Hyper-parameters by PyTorch name (scalars) and the flags that must match on load.
  struct Hyper {
    std::string name;
    std::vector<double*> values;  // one for a scalar, two for betas
    bool* flag = nullptr;         // nesterov/amsgrad instead: saved as 0/1, must match on load
  };
  virtual std::vector<Hyper> hyper_parameters() = 0;
  virtual void validate() const = 0;  // throws on invalid hyper-parameters

  std::vector<Tensor> params_;

 private:
  void ensure_state(Device device);
  void arrange_arenas(const std::vector<Tensor>& grads, Device device);
  std::vector<std::string> buffer_names_;
  bool saves_step_;
  std::vector<int64_t> steps_;
  std::vector<std::vector<Tensor>> buffers_;  // [kind][param], views into arenas_[kind]
  std::vector<Tensor> arenas_;                // [kind] -> [P]
  bool last_step_fused_ = false;
  bool arranged_ = false;  // arrange_arenas ran (it runs once)
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  double lr() const override { return options_.lr(); }
  void set_lr(double lr) override { options_.lr(lr); }
  const char* name() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }

 protected:
  void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& buffers,
              int64_t step) override;
  std::vector<Hyper> hyper_parameters() override;
  void validate() const override;

 private:
  SGDOptions options_;
  bool has_momentum_buffer_;
};

class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = AdamOptions());
  double lr() const override { return options_.lr(); }
  void set_lr(double lr) override { options_.lr(lr); }
  const char* name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::vector<Tensor> params, AdamOptions options, bool decoupled);
  void update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& buffers,
              int64_t step) override;
  std::vector<Hyper> hyper_parameters() override;
  void validate() const override;

 private:
  AdamOptions options_;
  bool decoupled_;
};

class AdamW : public Adam {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = AdamWOptions());
};

}  // namespace nanofed::nn
