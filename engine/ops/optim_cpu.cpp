// optim_cpu.cpp — CPU reference for the fused optimizer updates (see optim.h).
#include "engine/ops/optim.h"
#include "engine/ops/optim_math.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void sgd_step_f32(float* p, const float* g, float* momentum_buf, int64_t n, float lr,
                  float momentum, float one_minus_dampening, float weight_decay, bool nesterov,
                  bool first_step) {
  parallel_for(n, 4, [=](int64_t i) {
    optim_math::sgd_update(i, p, g, momentum_buf, lr, momentum, one_minus_dampening, weight_decay, nesterov,
                           first_step);
  });
}

void adam_step_f32(float* p, const float* g, float* exp_avg, float* exp_avg_sq,
                   float* max_exp_avg_sq, int64_t n, float beta1, float one_minus_beta1,
                   float beta2, float one_minus_beta2, float eps, float weight_decay,
                   bool decoupled, float decay, float step_size, float bc2_sqrt) {
  parallel_for(n, 8, [=](int64_t i) {
    optim_math::adam_update(i, p, g, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, one_minus_beta1, beta2,
                            one_minus_beta2, eps, weight_decay, decoupled, decay, step_size, bc2_sqrt);
  });
}

}  // namespace nanofed::cpu
