// layers.h — the standard layers, with torch.nn's names, parameter names, defaults and
// repr() strings. Each wraps one engine op (engine/ops/*), so autograd comes for free.
//
// Initialisation: a layer with weights takes an optional Generator* (nullptr means
// nn::default_generator()) and draws from it at construction, weight first then bias, with
// PyTorch's default distributions (nn/init.h). Init::glorot_uniform gives TF1's defaults
// (Glorot-uniform weight, zero bias); Init::zeros gives all zeros.
//
// Deviations from PyTorch (also in the class comments):
//   * BatchNorm has no "num_batches_tracked" buffer and no momentum=None (cumulative average):
//     state_dicts from PyTorch carry that extra key, which loading ignores (strict or not).
//   * Conv2d: dilation 1, groups 1, zero padding only (what engine/ops/conv2d supports).
//   * Pooling: ceil_mode = false, dilation 1; AdaptiveAvgPool2d supports output size 1 only.
//   * Flatten: end_dim = -1 only.
//   * Dropout draws from a Generator it owns (PyTorch uses the global RNG): it is seeded at
//     construction from the given / default generator, so a seeded model is reproducible.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/ops/pool.h"
#include "engine/random.h"
#include "nn/init.h"
#include "nn/module.h"

namespace nanofed::nn {

// A (height, width) pair; an integer means both (Conv2d(1, 32, 5)), as in PyTorch.
using Size2d = PoolSize;

// Python's repr() of a float given as a C++ float: shortest digits that round-trip in f32,
// "1e-05" style exponents, a ".0" on integral values ("0.1", "1e-05", "1.0").
std::string python_float(float v);

// y = x W^T + b. weight [out, in], bias [out]. Input [..., in].
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, Generator* gen = nullptr,
         Init init = Init::pytorch);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "Linear(in_features=784, out_features=10, bias=True)"
  const int64_t in_features, out_features;
  Tensor weight, bias;  // bias undefined when bias = false
};

// weight [out, in, kh, kw], bias [out]. Input [N, in, H, W]. Deviation: dilation 1, groups 1.
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, Size2d kernel_size, Size2d stride = 1,
         Size2d padding = 0, bool bias = true, Generator* gen = nullptr, Init init = Init::pytorch);
  Tensor forward(const Tensor& x) override;
  // "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)"
  std::string repr() const override;
  const int64_t in_channels, out_channels;
  const Size2d kernel_size, stride, padding;
  Tensor weight, bias;
};

// Shared by BatchNorm1d / BatchNorm2d. Parameters "weight" (1) and "bias" (0) when affine;
// buffers "running_mean" (0) and "running_var" (1) when track_running_stats. Training uses
// the batch statistics and updates the running ones (momentum, unbiased variance); eval uses
// the running ones (or the batch ones without track_running_stats), like PyTorch.
// Deviation: no num_batches_tracked buffer, no momentum = None.
class BatchNorm : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
  const int64_t num_features;
  const float eps, momentum;
  const bool affine, track_running_stats;
  Tensor weight, bias, running_mean, running_var;

 protected:
  BatchNorm(const char* name, int64_t num_features, float eps, float momentum, bool affine,
            bool track_running_stats);
  // Checks the rank for this flavour and returns x in the op's [N, C] / [N, C, H, W] form.
  virtual Tensor to_op_layout(const Tensor& x) const = 0;
  const char* name_;
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, float eps = 1e-5f, float momentum = 0.1f,
                       bool affine = true, bool track_running_stats = true);

 protected:
  Tensor to_op_layout(const Tensor& x) const override;
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, float eps = 1e-5f, float momentum = 0.1f,
                       bool affine = true, bool track_running_stats = true);

 protected:
  Tensor to_op_layout(const Tensor& x) const override;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "ReLU()"; }
};

class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(float negative_slope = 0.01f) : negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "LeakyReLU(negative_slope=0.2)"
  const float negative_slope;
};

// stride 0 means "equal to kernel_size" (PyTorch's stride=None). Deviation: ceil_mode false,
// dilation 1.
class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(Size2d kernel_size, Size2d stride = 0, Size2d padding = 0);
  Tensor forward(const Tensor& x) override;
  // "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
  std::string repr() const override;
  const Size2d kernel_size, stride, padding;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(Size2d kernel_size, Size2d stride = 0, Size2d padding = 0,
                     bool count_include_pad = true);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "AvgPool2d(kernel_size=2, stride=2, padding=0)"
  const Size2d kernel_size, stride, padding;
  const bool count_include_pad;
};

// [N, C, H, W] -> [N, C, 1, 1]. Deviation: output size 1 only (what global pooling needs).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(int64_t output_size = 1);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "AdaptiveAvgPool2d(output_size=1)"; }
};

// Collapses dims start_dim..end into one. Deviation: end_dim = -1 only.
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1) : start_dim(start_dim) {}
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "Flatten(start_dim=1, end_dim=-1)"
  const int64_t start_dim;
};

// Zeroes each element with probability p in training (survivors scaled by 1/(1-p)); the
// identity in eval. The mask comes from the module's own generator, seeded at construction
// from `gen` (or the default generator), so two Dropouts draw different masks and a seeded
// model replays the same masks.
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.5f, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override;  // "Dropout(p=0.5, inplace=False)"
  Generator& generator() { return gen_; }
  const float p;

 private:
  Generator gen_;
};

class Identity : public Module {
 public:
  Tensor forward(const Tensor& x) override { return x; }
  std::string repr() const override { return "Identity()"; }
};

// Children named "0", "1", ... in order; forward chains them (empty: the identity).
class Sequential : public Module {
 public:
  Sequential() = default;
  template <typename M, typename... Ms>
  explicit Sequential(std::shared_ptr<M> first, std::shared_ptr<Ms>... rest) {
    push_back(std::move(first));
    (push_back(std::move(rest)), ...);
  }
  void push_back(std::shared_ptr<Module> module);
  size_t size() const { return children().size(); }
  const std::shared_ptr<Module>& operator[](size_t i) const;
  Tensor forward(const Tensor& x) override;
  // "Sequential" (str() then lists the children), or "Sequential()" when empty, as PyTorch.
  std::string repr() const override { return size() ? "Sequential" : "Sequential()"; }
};

}  // namespace nanofed::nn
