// channel_bias.h — the per-channel bias of linear and conv2d layers, forward and backward:
// y[o, c, i] += bias[c] over y viewed as [outer, channels, inner] (linear: inner = 1; conv:
// outer = N, inner = H'*W'), and its gradient, the per-channel sum of dy. A family of its own
// because both matmul (linear) and conv2d use it and neither depends on the other.
#pragma once
#include <cstdint>

#include "engine/dispatch.h"

// add_channel_bias: y[o, c, i] += bias[c].
// sum_channels: out[c] = sum over o, i of x[o, c, i] (fixed order: deterministic).
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_CHANNEL_BIAS_KERNELS                                                                 \
void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels,             \
                      int64_t inner);                                                           \
void sum_channels(const float* x, float* out, int64_t outer, int64_t channels, int64_t inner);  \

NF_DECLARE_KERNELS(NF_CHANNEL_BIAS_KERNELS)
