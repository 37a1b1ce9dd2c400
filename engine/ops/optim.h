// optim.h — fused optimizer updates: one kernel per parameter tensor (or per [P] arena).
//
// The math is torch.optim's single-tensor algorithm, element by element:
//
//   sgd_step_:  g = grad + weight_decay * p
//               if momentum != 0:
//                 buf = first_step ? g : momentum * buf + (1 - dampening) * g
//                 g   = nesterov ? g + momentum * buf : buf
//               p -= lr * g
//
//   adam_step_ (step t >= 1, counted before the call by the caller):
//               decoupled (AdamW): p *= 1 - lr * weight_decay      else g = grad + weight_decay * p
//               m = beta1 * m + (1 - beta1) * g
//               v = beta2 * v + (1 - beta2) * g * g
//               amsgrad: vmax = max(vmax, v), v_hat = vmax     else v_hat = v
//               p -= (lr / (1 - beta1^t)) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)
//
// Like PyTorch, the scalars (1 - beta1, lr / bias_correction1, sqrt(bias_correction2), ...)
// are computed in double on the host and rounded to float once; the per-element math is f32.
// The tensors are f32, on one device, and have the same number of elements (shapes may differ:
// an arena is [P]); they are updated in place. Not differentiable (the caller's parameters are
// leaves; the update is never recorded on the tape).
#pragma once
#include <cstdint>

#include "engine/dispatch.h"
#include "engine/tensor.h"

namespace nanofed {

// momentum_buffer: undefined iff momentum == 0. first_step: the buffer is initialised to g
// (PyTorch's "momentum_buffer is None" case) instead of being blended.
void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
               double momentum, double dampening, double weight_decay, bool nesterov,
               bool first_step);

// max_exp_avg_sq: defined iff amsgrad. step: the step number after this update (1 the first time).
void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, int64_t step, double lr,
                double beta1, double beta2, double eps, double weight_decay, bool decoupled);

}  // namespace nanofed

// Kernels: the same list on both devices (see engine/dispatch.h). Scalars already rounded to
// float by the launcher: one_minus_dampening = 1 - dampening; one_minus_beta1/2 = 1 - beta1/2;
// decay = 1 - lr * weight_decay (decoupled only); step_size = lr / (1 - beta1^t);
// bc2_sqrt = sqrt(1 - beta2^t). momentum_buf is null iff momentum == 0; max_exp_avg_sq is null
// iff not amsgrad.
#define NF_OPTIM_KERNELS                                                                         \
void sgd_step_f32(float* p, const float* g, float* momentum_buf, int64_t n, float lr,            \
                  float momentum, float one_minus_dampening, float weight_decay, bool nesterov,  \
                  bool first_step);                                                              \
void adam_step_f32(float* p, const float* g, float* exp_avg, float* exp_avg_sq,                  \
                   float* max_exp_avg_sq, int64_t n, float beta1, float one_minus_beta1,         \
                   float beta2, float one_minus_beta2, float eps, float weight_decay,            \
                   bool decoupled, float decay, float step_size, float bc2_sqrt);                \

NF_DECLARE_KERNELS(NF_OPTIM_KERNELS)
