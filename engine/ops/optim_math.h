// optim_math.h — the per-element SGD and Adam(W) updates, written once for the CPU reference
// (optim_cpu.cpp) and the CUDA kernels (optim.cu). PyTorch's torch.optim algorithms; the
// scalar factors (bias corrections, decay) are folded by the caller (engine/ops/optim.cpp).
#pragma once
#include <math.h>

#include <cstdint>

#include "engine/hd.h"

namespace nanofed::optim_math {

// SGD with weight decay, momentum (buffer = grad on the first step), dampening, Nesterov.
NF_HD void sgd_update(int64_t i, float* p, const float* g, float* momentum_buf, float lr, float momentum,
                      float one_minus_dampening, float weight_decay, bool nesterov, bool first_step) {
  float d = g[i];
  if (weight_decay != 0.0f) d += weight_decay * p[i];
  if (momentum_buf) {
    const float b = first_step ? d : momentum * momentum_buf[i] + one_minus_dampening * d;
    momentum_buf[i] = b;
    d = nesterov ? d + momentum * b : b;
  }
  p[i] -= lr * d;
}

// Adam (L2 weight decay added to the gradient) or AdamW (decoupled: w *= decay), optional
// AMSGrad. step_size = lr / bias_correction1, bc2_sqrt = sqrt(bias_correction2).
NF_HD void adam_update(int64_t i, float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                       float* max_exp_avg_sq, float beta1, float one_minus_beta1, float beta2,
                       float one_minus_beta2, float eps, float weight_decay, bool decoupled, float decay,
                       float step_size, float bc2_sqrt) {
  float w = p[i], d = g[i];
  if (decoupled) w *= decay;
  else if (weight_decay != 0.0f) d += weight_decay * w;
  const float m = beta1 * exp_avg[i] + one_minus_beta1 * d;
  float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * d * d;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  if (max_exp_avg_sq) {
    v = fmaxf(max_exp_avg_sq[i], v);
    max_exp_avg_sq[i] = v;
  }
  p[i] = w - step_size * (m / (sqrtf(v) / bc2_sqrt + eps));
}

}  // namespace nanofed::optim_math
