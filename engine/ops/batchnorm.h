// batchnorm.h — batch normalization, like torch.nn.functional.batch_norm.
//
//   batch_norm(x [N, C, H, W] or [N, C], running_mean [C], running_var [C],
//              weight [C] or undefined, bias [C] or undefined,
//              training = false, momentum = 0.1, eps = 1e-5) -> same shape as x
//
// Per channel c, over the M = N*H*W values of that channel (H*W = 1 for the [N, C] form):
//   training: mean = batch mean, var = biased batch variance (divide by M);
//             y = (x - mean) / sqrt(var + eps) * weight + bias;
//             running stats (when defined) are updated in place, exactly as PyTorch:
//               running_mean = (1 - momentum) * running_mean + momentum * mean
//               running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
//             M must be > 1 (PyTorch's "Expected more than 1 value per channel").
//             Running stats may be undefined in training (track_running_stats=False).
//   eval:     y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
// An undefined weight means 1, an undefined bias means 0.
//
// Gradients: x, weight and bias are differentiable; running stats are buffers (never). With
// xhat = (x - mean) * invstd, per channel:
//   dbeta = sum(dy),  dgamma = sum(dy * xhat)
//   training: dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma)   (batch stats depend on x)
//   eval:     dx = gamma * invstd * dy                                      (stats are constants)
// Only the wanted gradients are computed (in eval, dx alone needs no reduction).
//
// Kernels: statistics are a deterministic per-channel reduction (one CUDA block per channel,
// two-pass mean then centred variance: numerically safe, no float atomics); the normalisation
// and dx are elementwise. Not fused with ReLU / residual add (yet).
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  bool training = false, float momentum = 0.1f, float eps = 1e-5f);

}  // namespace nanofed

// Raw kernels. Layout: x[(n*C + c)*HW + i]; per-channel arrays have C entries. Optional
// per-channel pointers (gamma, beta, running stats) may be null.
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_BATCHNORM_KERNELS                                                                            \
/* Batch statistics: mean[c] and invstd[c] = 1/sqrt(biased_var + eps); if running_mean / */             \
/* running_var are non-null they are updated with `momentum` and the unbiased variance. */              \
void batch_norm_stats(const float* x, int64_t N, int64_t C, int64_t HW, float eps,                      \
                      float momentum, float* mean, float* invstd, float* running_mean,                  \
                      float* running_var);                                                              \
/* invstd[c] = 1 / sqrt(var[c] + eps) (eval mode: from the running variance). */                        \
void batch_norm_invstd(const float* var, float* invstd, int64_t C, float eps);                          \
/* y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]. */                                               \
void batch_norm_apply(const float* x, const float* mean, const float* invstd, const float* gamma,       \
                      const float* beta, float* y, int64_t N, int64_t C, int64_t HW);                   \
/* sum_dy[c] = sum(dy), sum_dy_xhat[c] = sum(dy * (x - mean[c]) * invstd[c]). */                        \
void batch_norm_backward_reduce(const float* dy, const float* x, const float* mean,                     \
                                const float* invstd, float* sum_dy, float* sum_dy_xhat,                 \
                                int64_t N, int64_t C, int64_t HW);                                      \
/* training: dx = gamma*invstd/M * (M*dy - sum_dy - xhat*sum_dy_xhat)  (sums must be given); */         \
/* eval:     dx = gamma*invstd*dy                                       (sums unused, may be null). */  \
void batch_norm_backward_dx(const float* dy, const float* x, const float* mean,                         \
                            const float* invstd, const float* gamma, const float* sum_dy,               \
                            const float* sum_dy_xhat, float* dx, int64_t N, int64_t C,                  \
                            int64_t HW, bool training);                                                 \

NF_DECLARE_KERNELS(NF_BATCHNORM_KERNELS)
