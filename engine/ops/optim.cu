// optim.cu — CUDA kernels for the fused optimizer updates (same names and math as
// optim_cpu.cpp). One grid-stride launch per tensor or per [P] arena.
#include "engine/cuda/runtime.h"
#include "engine/ops/optim.h"
#include "engine/ops/optim_math.h"

namespace nanofed::cuda {

namespace {

// Memory-bound: per element 12 B read (p, g, buf), 8 B written, ~5 FLOP.
__global__ void sgd_step_kernel(float* __restrict__ p, const float* __restrict__ g,
                                float* __restrict__ momentum_buf, int64_t n, float lr,
                                float momentum, float one_minus_dampening, float weight_decay,
                                bool nesterov, bool first_step) {
  NF_KERNEL_LOOP(i, n)
  optim_math::sgd_update(i, p, g, momentum_buf, lr, momentum, one_minus_dampening, weight_decay, nesterov, first_step);
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
  NF_KERNEL_LOOP(i, n)
  optim_math::adam_update(i, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, one_minus_beta1, beta2,
                          one_minus_beta2, eps, weight_decay, decoupled, decay, step_size, bc2_sqrt);
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
