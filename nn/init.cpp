#include "nn/init.h"

#include <cmath>

namespace nanofed::nn {

namespace {
void check_target(const Tensor& t, const char* what) {
  NF_CHECK(t.defined(), what << ": tensor is undefined");
  NF_CHECK(t.dtype() == DType::f32, what << ": expected an f32 tensor, got " << t.str());
}
void check_fan(int64_t fan, const char* what, const char* name) {
  NF_CHECK(fan > 0, what << ": " << name << " must be positive, got " << fan);
}
// Draws on the CPU (device-independent values), then copies into t.
Tensor& fill_from(Tensor& t, const Tensor& cpu_values) {
  t.copy_(cpu_values);
  return t;
}
}  // namespace

std::pair<int64_t, int64_t> compute_fans(const Shape& shape) {
  NF_CHECK(shape.size() >= 2, "compute_fans: fan in and fan out need a tensor of rank >= 2, got shape "
                                  << shape_str(shape));
  int64_t receptive = 1;
  for (size_t d = 2; d < shape.size(); ++d) receptive *= shape[d];
  return {shape[1] * receptive, shape[0] * receptive};
}

float leaky_relu_gain(float a) { return std::sqrt(2.0f / (1.0f + a * a)); }

Tensor& uniform_(Tensor& t, float low, float high, Generator& gen) {
  check_target(t, "uniform_");
  return fill_from(t, uniform(t.shape(), low, high, gen));
}

Tensor& normal_(Tensor& t, float mean, float std, Generator& gen) {
  check_target(t, "normal_");
  NF_CHECK(std >= 0, "normal_: std must be >= 0, got " << std);
  return fill_from(t, normal(t.shape(), mean, std, gen));
}

Tensor& constant_(Tensor& t, float value) {
  check_target(t, "constant_");
  t.fill_(value);
  return t;
}
Tensor& zeros_(Tensor& t) { return constant_(t, 0.0f); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0f); }

Tensor& kaiming_uniform_(Tensor& t, float a, int64_t fan_in, Generator& gen) {
  check_fan(fan_in, "kaiming_uniform_", "fan_in");
  const float bound = leaky_relu_gain(a) * std::sqrt(3.0f / (float)fan_in);
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, float a, int64_t fan_in, Generator& gen) {
  check_fan(fan_in, "kaiming_normal_", "fan_in");
  return normal_(t, 0.0f, leaky_relu_gain(a) / std::sqrt((float)fan_in), gen);
}

Tensor& xavier_uniform_(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& gen, float gain) {
  check_fan(fan_in, "xavier_uniform_", "fan_in");
  check_fan(fan_out, "xavier_uniform_", "fan_out");
  const float bound = gain * std::sqrt(6.0f / (float)(fan_in + fan_out));
  return uniform_(t, -bound, bound, gen);
}

Tensor& xavier_normal_(Tensor& t, int64_t fan_in, int64_t fan_out, Generator& gen, float gain) {
  check_fan(fan_in, "xavier_normal_", "fan_in");
  check_fan(fan_out, "xavier_normal_", "fan_out");
  return normal_(t, 0.0f, gain * std::sqrt(2.0f / (float)(fan_in + fan_out)), gen);
}

const char* init_name(Init init) {
  switch (init) {
    case Init::pytorch: return "pytorch";
    case Init::glorot_uniform: return "glorot_uniform";
    case Init::zeros: return "zeros";
  }
  return "?";
}

}  // namespace nanofed::nn
