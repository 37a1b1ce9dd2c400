// optim_cpu.cpp — CPU reference for the fused optimizer updates (see optim.h).
#include <algorithm>
#include <cmath>

#include "engine/ops/optim.h"

namespace nanofed::cpu {

void sgd_step_f32(float* p, const float* g, float* momentum_buf, int64_t n, float lr,
                  float momentum, float one_minus_dampening, float weight_decay, bool nesterov,
                  bool first_step) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if (weight_decay != 0.0f) d += weight_decay * p[i];
    if (momentum_buf) {
      float b = first_step ? d : momentum * momentum_buf[i] + one_minus_dampening * d;
      momentum_buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    p[i] -= lr * d;
  }
}

void adam_step_f32(float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                   float* max_exp_avg_sq, int64_t n, float beta1, float one_minus_beta1,
                   float beta2, float one_minus_beta2, float eps, float weight_decay,
                   bool decoupled, float decay, float step_size, float bc2_sqrt) {
#pragma omp parallel for
  for (int64_t i = 0; i < n; ++i) {
    float w = p[i], d = g[i];
    if (decoupled) w *= decay;
    else if (weight_decay != 0.0f) d += weight_decay * w;
    float m = beta1 * exp_avg[i] + one_minus_beta1 * d;
    float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * d * d;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    if (max_exp_avg_sq) {
      v = std::max(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v;
    }
    p[i] = w - step_size * (m / (std::sqrt(v) / bc2_sqrt + eps));
  }
}

}  // namespace nanofed::cpu
