// init.h — parameter initializers, like torch.nn.init.
//
// Each fills an existing tensor in place (no autograd) and returns it. Formulas (PyTorch):
//   gain(leaky_relu, a)      = sqrt(2 / (1 + a^2))
//   kaiming_uniform_(t, a)   U(-b, b),   b = gain * sqrt(3 / fan_in)
//   kaiming_normal_(t, a)    N(0, s^2),  s = gain / sqrt(fan_in)
//   xavier_uniform_(t, g)    U(-b, b),   b = g * sqrt(6 / (fan_in + fan_out))   (= glorot_uniform_)
//   xavier_normal_(t, g)     N(0, s^2),  s = g * sqrt(2 / (fan_in + fan_out))
//   uniform_(t, lo, hi), normal_(t, mean, std), zeros_, ones_, constant_
// PyTorch's Linear / Conv2d default is kaiming_uniform_(a = sqrt(5)), i.e. b = 1/sqrt(fan_in),
// and a bias drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
//
// Fans: the caller passes them (PyTorch derives them from the shape with mode="fan_in");
// compute_fans(shape) gives PyTorch's _calculate_fan_in_and_fan_out: for a weight
// [out, in, k...], fan_in = in * prod(k), fan_out = out * prod(k).
//
// Devices: values are always drawn on the CPU from `gen` and then copied to the tensor's
// device, so a seeded model is initialised identically on every device (the engine's CUDA
// random numbers differ from its CPU ones). The random stream is not PyTorch's (different
// generator), only the distributions match.
#pragma once
#include <cstdint>
#include <utility>

#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::nn {

// {fan_in, fan_out}; needs rank >= 2 (like PyTorch).
std::pair<int64_t, int64_t> compute_fans(const Shape& shape);
// PyTorch's calculate_gain for "leaky_relu" with negative slope a (a = 0: relu, sqrt(2)).
float leaky_relu_gain(float a);

Tensor& uniform_(Tensor& t, float low, float high, Generator& gen);
Tensor& normal_(Tensor& t, float mean, float std, Generator& gen);
Tensor& constant_(Tensor& t, float value);
Tensor& zeros_(Tensor& t);
Tensor& ones_(Tensor& t);
Tensor& kaiming_uniform_(Tensor& t, float a, int64_t fan_in, Generator& gen);
Tensor& kaiming_normal_(Tensor& t, float a, int64_t fan_in, Generator& gen);
Tensor& xavier_uniform_(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& gen, float gain = 1.0f);
Tensor& xavier_normal_(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& gen, float gain = 1.0f);
// TensorFlow's name for xavier_uniform_ (the Ditto reference code's TF1 default).
inline Tensor& glorot_uniform_(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& gen) {
  return xavier_uniform_(t, fan_in, fan_out, gen);
}

// How a layer with a weight and a bias (Linear, Conv2d) initialises itself.
enum class Init {
  pytorch,         // PyTorch's default: kaiming_uniform_(a = sqrt(5)), bias U(+-1/sqrt(fan_in))
  glorot_uniform,  // TF1 tf.layers default: xavier_uniform_ weight, zero bias
  zeros,           // everything 0 (the Ditto linear SVM)
};
const char* init_name(Init init);

}  // namespace nanofed::nn
