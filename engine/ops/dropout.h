// dropout.h — dropout like torch.nn.functional.dropout.
//
// dropout(x, p, training, gen): in training, each element is zeroed with probability p and the
// survivors are scaled by 1/(1-p), so E[y] = x.
//   * p == 0 or !training: returns x itself (same handle, no copy, no draw from gen).
//   * p == 1: returns zeros (gradient zero); draws nothing from gen.
//   * otherwise: u = nanofed::rand(x.shape(), gen, x.device()) is drawn (advancing gen by
//     numel draws), keep = (u >= p), and one fused kernel writes y = keep ? x * scale : 0 and
//     the u8 keep mask, with scale = 1.0f / (1.0f - p) computed in float. The mask (1 byte per
//     element) is saved for the backward: dx = keep ? dy * scale : 0.
// Reproducibility: the same seed (and generator offset) gives the same mask on the same device.
// CPU draws come from our Philox and CUDA draws from cuRAND, so the masks differ across devices.
// p outside [0, 1] (or NaN) throws.
#pragma once
#include <cstdint>

#include "engine/random.h"
#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

}  // namespace nanofed

// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_DROPOUT_KERNELS                                                                       \
/* u: uniform draws in [0, 1); mask[i] = u[i] >= p; y[i] = mask[i] ? x[i] * scale : 0. */        \
void dropout_forward(const float* x, const float* u, float* y, uint8_t* mask, float p,           \
                     float scale, int64_t n);                                                    \
/* dx[i] = mask[i] ? dy[i] * scale : 0. */                                                       \
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, float scale, int64_t n);  \

NF_DECLARE_KERNELS(NF_DROPOUT_KERNELS)
