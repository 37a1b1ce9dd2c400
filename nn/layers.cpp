#include "nn/layers.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/ops/batchnorm.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/text.h"

namespace nanofed::nn {

// ---------------------------------------------------------------- helpers

std::string python_float(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  for (int prec = 1; prec <= 9; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
    if (std::strtof(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

namespace {

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }
const char* py_bool(bool b) { return b ? "True" : "False"; }
std::string pair_str(Size2d s) { return ::nanofed::pair_str(s.h, s.w); }
// PyTorch prints a pooling size given as an int as that int, a pair as a tuple.
std::string pool_str(Size2d s) { return s.h == s.w ? std::to_string(s.h) : pair_str(s); }

// A weight + bias pair initialised per `init` (weight first, as PyTorch draws them).
void init_weight_bias(Tensor& weight, Tensor* bias, Init init, Generator& gen) {
  const auto [fan_in, fan_out] = compute_fans(weight.shape());
  switch (init) {
    case Init::pytorch:
      kaiming_uniform_(weight, std::sqrt(5.0f), fan_in, gen);
      if (bias) {
        const float bound = 1.0f / std::sqrt((float)fan_in);
        uniform_(*bias, -bound, bound, gen);
      }
      break;
    case Init::glorot_uniform:
      xavier_uniform_(weight, fan_in, fan_out, gen);
      if (bias) zeros_(*bias);
      break;
    case Init::zeros:
      zeros_(weight);
      if (bias) zeros_(*bias);
      break;
  }
}

void check_positive(int64_t v, const char* layer, const char* arg) {
  NF_CHECK(v > 0, layer << ": " << arg << " must be positive, got " << v);
}

}  // namespace

// ---------------------------------------------------------------- Linear

Linear::Linear(int64_t in, int64_t out, bool has_bias, Generator* gen, Init init)
    : in_features(in), out_features(out) {
  check_positive(in, "Linear", "in_features");
  check_positive(out, "Linear", "out_features");
  Tensor w = empty({out, in}), b;
  if (has_bias) b = empty({out});
  init_weight_bias(w, has_bias ? &b : nullptr, init, pick(gen));
  weight = register_parameter("weight", w);
  if (has_bias) bias = register_parameter("bias", b);
}

Tensor Linear::forward(const Tensor& x) {
  NF_CHECK(x.dim() >= 1 && x.size(-1) == in_features,
           "Linear: expected input [..., " << in_features << "], got " << shape_str(x.shape()));
  return linear(x, weight, bias);
}

std::string Linear::repr() const {
  return "Linear(in_features=" + std::to_string(in_features) + ", out_features=" +
         std::to_string(out_features) + ", bias=" + py_bool(bias.defined()) + ")";
}

// ---------------------------------------------------------------- Conv2d

Conv2d::Conv2d(int64_t in, int64_t out, Size2d k, Size2d s, Size2d p, bool has_bias, Generator* gen,
               Init init)
    : in_channels(in), out_channels(out), kernel_size(k), stride(s), padding(p) {
  check_positive(in, "Conv2d", "in_channels");
  check_positive(out, "Conv2d", "out_channels");
  NF_CHECK(k.h > 0 && k.w > 0, "Conv2d: kernel_size must be positive, got " << pair_str(k));
  NF_CHECK(s.h > 0 && s.w > 0, "Conv2d: stride must be positive, got " << pair_str(s));
  NF_CHECK(p.h >= 0 && p.w >= 0, "Conv2d: padding must be >= 0, got " << pair_str(p));
  Tensor w = empty({out, in, k.h, k.w}), b;
  if (has_bias) b = empty({out});
  init_weight_bias(w, has_bias ? &b : nullptr, init, pick(gen));
  weight = register_parameter("weight", w);
  if (has_bias) bias = register_parameter("bias", b);
}

Tensor Conv2d::forward(const Tensor& x) {
  NF_CHECK(x.dim() == 4 && x.size(1) == in_channels,
           "Conv2d: expected input [N, " << in_channels << ", H, W], got " << shape_str(x.shape()));
  return conv2d(x, weight, bias, {stride.h, stride.w}, {padding.h, padding.w});
}

std::string Conv2d::repr() const {
  std::string s = "Conv2d(" + std::to_string(in_channels) + ", " + std::to_string(out_channels) +
                  ", kernel_size=" + pair_str(kernel_size) + ", stride=" + pair_str(stride);
  if (padding.h || padding.w) s += ", padding=" + pair_str(padding);
  if (!bias.defined()) s += ", bias=False";
  return s + ")";
}

// ---------------------------------------------------------------- BatchNorm

BatchNorm::BatchNorm(const char* name, int64_t c, float eps_, float momentum_, bool affine_,
                     bool track)
    : num_features(c), eps(eps_), momentum(momentum_), affine(affine_), track_running_stats(track),
      name_(name) {
  check_positive(c, name, "num_features");
  NF_CHECK(eps > 0, name << ": eps must be positive, got " << eps);
  NF_CHECK(momentum >= 0 && momentum <= 1, name << ": momentum must be in [0, 1], got " << momentum);
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (track) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  const Tensor y = to_op_layout(x);
  NF_CHECK(y.size(1) == num_features, name_ << ": expected " << num_features
                                            << " channels (dim 1), got input " << shape_str(x.shape()));
  // Batch statistics in training, and always when no running statistics are kept.
  const bool use_batch = is_training() || !track_running_stats;
  return batch_norm(y, running_mean, running_var, weight, bias, use_batch, momentum, eps)
      .reshape(x.shape());
}

std::string BatchNorm::repr() const {
  return std::string(name_) + "(" + std::to_string(num_features) + ", eps=" + python_float(eps) +
         ", momentum=" + python_float(momentum) + ", affine=" + py_bool(affine) +
         ", track_running_stats=" + py_bool(track_running_stats) + ")";
}

BatchNorm1d::BatchNorm1d(int64_t c, float eps, float momentum, bool affine, bool track)
    : BatchNorm("BatchNorm1d", c, eps, momentum, affine, track) {}

Tensor BatchNorm1d::to_op_layout(const Tensor& x) const {
  NF_CHECK(x.dim() == 2 || x.dim() == 3,
           "BatchNorm1d: expected a 2-D [N, C] or 3-D [N, C, L] input, got " << shape_str(x.shape()));
  return x.dim() == 2 ? x : x.reshape({x.size(0), x.size(1), x.size(2), 1});
}

BatchNorm2d::BatchNorm2d(int64_t c, float eps, float momentum, bool affine, bool track)
    : BatchNorm("BatchNorm2d", c, eps, momentum, affine, track) {}

Tensor BatchNorm2d::to_op_layout(const Tensor& x) const {
  NF_CHECK(x.dim() == 4, "BatchNorm2d: expected a 4-D [N, C, H, W] input, got " << shape_str(x.shape()));
  return x;
}

// ---------------------------------------------------------------- activations

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, negative_slope); }
std::string LeakyReLU::repr() const { return "LeakyReLU(negative_slope=" + python_float(negative_slope) + ")"; }

// ---------------------------------------------------------------- pooling

MaxPool2d::MaxPool2d(Size2d k, Size2d s, Size2d p)
    : kernel_size(k), stride(s.h == 0 && s.w == 0 ? k : s), padding(p) {}

Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding); }

std::string MaxPool2d::repr() const {
  return "MaxPool2d(kernel_size=" + pool_str(kernel_size) + ", stride=" + pool_str(stride) +
         ", padding=" + pool_str(padding) + ", dilation=1, ceil_mode=False)";
}

AvgPool2d::AvgPool2d(Size2d k, Size2d s, Size2d p, bool include)
    : kernel_size(k), stride(s.h == 0 && s.w == 0 ? k : s), padding(p), count_include_pad(include) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, stride, padding, count_include_pad);
}

std::string AvgPool2d::repr() const {
  std::string s = "AvgPool2d(kernel_size=" + pool_str(kernel_size) + ", stride=" + pool_str(stride) +
                  ", padding=" + pool_str(padding);
  if (!count_include_pad) s += ", count_include_pad=False";
  return s + ")";
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t output_size) {
  NF_CHECK(output_size == 1, "AdaptiveAvgPool2d: only output_size=1 is supported, got " << output_size);
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  NF_CHECK(x.dim() == 4, "AdaptiveAvgPool2d: expected a 4-D [N, C, H, W] input, got " << shape_str(x.shape()));
  return global_avg_pool2d(x).reshape({x.size(0), x.size(1), 1, 1});
}

// ---------------------------------------------------------------- shape, dropout

Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim); }
std::string Flatten::repr() const { return "Flatten(start_dim=" + std::to_string(start_dim) + ", end_dim=-1)"; }

Dropout::Dropout(float p_, Generator* gen) : p(p_) {
  NF_CHECK(p >= 0.0f && p <= 1.0f, "Dropout: p must be in [0, 1], got " << p);
  // A fresh stream per Dropout: keyed by the parent's seed and a slot reserved in its sequence.
  Generator& parent = pick(gen);
  gen_ = parent.derive({parent.advance(4)});
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p, is_training(), gen_); }
std::string Dropout::repr() const { return "Dropout(p=" + python_float(p) + ", inplace=False)"; }

// ---------------------------------------------------------------- Sequential

void Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(children().size()), std::move(module));
}

const std::shared_ptr<Module>& Sequential::operator[](size_t i) const {
  NF_CHECK(i < size(), "Sequential: index " << i << " out of range (size " << size() << ")");
  return children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& [name, child] : children()) y = child->forward(y);
  return y;
}

}  // namespace nanofed::nn
