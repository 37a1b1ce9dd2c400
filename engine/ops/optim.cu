// optim.cu — CUDA kernels for the fused optimizer updates (same names and math as
// optim_cpu.cpp). One grid-stride launch per tensor or per [P] arena.
#include "engine/cuda/runtime.h"
#include "engine/ops/optim.h"

namespace nanofed::cuda {

namespace {

// Memory-bound: per element 12 B read (p, g, buf), 8 B written, ~5 FLOP.
__global__ void sgd_step_kernel(float* __restrict__ p, const float* __restrict__ g,
                                float* __restrict__ momentum_buf, int64_t n, float lr,
                                float momentum, float one_minus_dampening, float weight_decay,
                                bool nesterov, bool first_step) {
  NF_KERNEL_LOOP(i, n) {
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

// Memory-bound: per element 16-20 B read (p, g, m, v[, vmax]), 12-16 B written, ~15 FLOP.
// Plain sqrtf and division (IEEE-rounded under nvcc's defaults), so results match the CPU
// reference to an ulp or two (no fast-math here).
__global__ void adam_step_kernel(float* __restrict__ p, const float* __restrict__ g,
                                 float* __restrict__ exp_avg, float* __restrict__ exp_avg_sq,
                                 float* __restrict__ max_exp_avg_sq, int64_t n, float beta1,
                                 float one_minus_beta1, float beta2, float one_minus_beta2,
                                 float eps, float weight_decay, bool decoupled, float decay,
                                 float step_size, float bc2_sqrt) {
  NF_KERNEL_LOOP(i, n) {
    float w = p[i], d = g[i];
    if (decoupled) w *= decay;
    else if (weight_decay != 0.0f) d += weight_decay * w;
    float m = beta1 * exp_avg[i] + one_minus_beta1 * d;
    float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * d * d;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    if (max_exp_avg_sq) {
      v = fmaxf(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v;
    }
    p[i] = w - step_size * (m / (sqrtf(v) / bc2_sqrt + eps));
  }
}

}  // namespace

void sgd_step_f32(float* p, const float* g, float* momentum_buf, int64_t n, float lr,
                  float momentum, float one_minus_dampening, float weight_decay, bool nesterov,
                  bool first_step) {
  if (n == 0) return;
  sgd_step_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(
      p, g, momentum_buf, n, lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step);
  NF_KERNEL_CHECK();
}

void adam_step_f32(float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                   float* max_exp_avg_sq, int64_t n, float beta1, float one_minus_beta1,
                   float beta2, float one_minus_beta2, float eps, float weight_decay,
                   bool decoupled, float decay, float step_size, float bc2_sqrt) {
  if (n == 0) return;
  adam_step_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(
      p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, n, beta1, one_minus_beta1, beta2,
      one_minus_beta2, eps, weight_decay, decoupled, decay, step_size, bc2_sqrt);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
