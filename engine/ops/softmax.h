// softmax.h — softmax, log_softmax, and the fused softmax + cross-entropy loss (+ nll_loss).
//
// softmax(x, dim) / log_softmax(x, dim): any rank, any dim (negative counts from the end).
//   The tensor is viewed as [outer, D, inner] with D = x.size(dim); each of the outer*inner
//   columns of length D is normalised independently and max-subtracted (numerically stable).
//   Gradients (y = the saved output):
//     softmax:      dx = y * (dy - sum_D(dy * y))
//     log_softmax:  dx = dy - exp(y) * sum_D(dy)
//
// cross_entropy(logits [N, C], target, options) — torch.nn.functional.cross_entropy:
//   target i32 [N]      hard labels in [0, C)
//   target f32 [N, C]   soft targets (class probabilities)
//   options.weight         per-class weights w [C] (optional)
//   options.reduction      mean (default) | sum | none ([N] per-sample losses)
//   options.label_smoothing  eps in [0, 1] (PyTorch semantics: the target becomes
//                           (1 - eps) * target + eps / C)
//   options.sample_weight  per-sample weights s [N] (optional; not in PyTorch)
// All cases reduce to one form. With t_nc the (smoothed) target distribution and
//   a_nc = w_c * t_nc (w = 1 without class weights), p = softmax(logits):
//     l_n = s_n * (-sum_c a_nc log p_nc) = s_n * (A_n * lse_n - sum_c a_nc x_nc),
//     A_n = sum_c a_nc,  lse_n = log sum_c exp(x_nc).
//   none: l_n.  sum: sum_n l_n.
//   mean: sum_n l_n / den, where den is what PyTorch divides by WITHOUT sample weights:
//     hard labels:  den = sum_n w_{y_n}  (= N without class weights) — exactly PyTorch,
//                   including label smoothing (the smoothing term is divided by the same den);
//     soft targets: den = N (PyTorch does not normalise soft targets by the weights).
//   So sample weights only multiply each sample's loss: mean = sum_n s_n l_n / N without
//   class weights. (They are not renormalised; divide by their sum yourself if you want.)
//   Gradient w.r.t. logits only (targets and weights are not differentiable):
//     dlogits_nc = g_n * s_n * (A_n * p_nc - a_nc),  g_n = dL/dl_n (grad/den for mean),
//   computed from the saved per-row log-sum-exp, so backward needs no separate softmax pass.
//   Fused: one forward kernel per row computes max, log-sum-exp and the loss in a single
//   (online-softmax) read of the logits; one backward kernel writes dlogits in one pass.
//   Label validation: on the CPU an out-of-range label throws Error naming the label and C.
//   On the GPU labels are NOT checked against C with an error (that would need a host sync);
//   an out-of-range label makes that row's loss (and its gradient row) NaN instead, which the
//   training loop's NaN check reports. No out-of-bounds memory is ever read.
//   Classes with zero target weight contribute nothing (0 * log 0 = 0), so a masked -inf
//   logit is harmless wherever its target weight is 0 (PyTorch gives NaN for soft targets).
//   Not supported (vs PyTorch): ignore_index, inputs of rank > 2 ([N, C, d1, ...]).
//
// nll_loss(log_probs [N, C], target i32 [N], options) — torch.nn.functional.nll_loss:
//   l_n = -w_{y_n} * log_probs[n, y_n]; mean divides by sum_n w_{y_n}. Only options.weight
//   and options.reduction are used (label_smoothing / sample_weight must be unset).
//   Gradient: dlog_probs[n, c] = -g_n * w_{y_n} if c == y_n else 0.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

enum class Reduction { none, mean, sum };
const char* reduction_name(Reduction r);

struct CrossEntropyOptions {
  Tensor weight;                        // per-class [C], optional
  Reduction reduction = Reduction::mean;
  float label_smoothing = 0.0f;         // in [0, 1]
  Tensor sample_weight;                 // per-sample [N], optional (nanofed extension)
};

Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options = CrossEntropyOptions());
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                const CrossEntropyOptions& options = CrossEntropyOptions());

}  // namespace nanofed

// ---- raw kernels (same names and signatures on both devices) ----
// x is viewed as [outer, D, inner]. Pointers marked "or null" are optional.
// Cross-entropy: exactly one of `labels` (i32 [N]) and `soft` (f32 [N, C]) is non-null.
//   Forward writes row_loss[n] = l_n (sample weight included) and the per-row statistics the
//   backward needs, stats = [3, N]: stats[0] = lse_n (log-sum-exp of the logits),
//   stats[1] = A_n (target mass sum_c a_nc), stats[2] = the row's share of the mean
//   denominator (w_{y_n} for hard labels, 1 for soft targets).
// loss_reduce: out[0] = sum_n row_loss[n] (mean = false) or that sum / sum_n row_den[n]
//   (mean = true); den[0] = the divisor (1 for sum). Deterministic fixed-order reduction.
// Backward: grad_out is one scalar (grad_stride 0, reduced losses) or [N] (grad_stride 1,
//   reduction none); den (device scalar from loss_reduce) divides it for mean, else null.
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_SOFTMAX_KERNELS                                                                          \
void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner, bool log);  \
void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,         \
                      int64_t inner, bool log);                                                     \
void cross_entropy_forward(const float* logits, const int32_t* labels, const float* soft,           \
                           const float* class_weight, const float* sample_weight,                   \
                           float label_smoothing, int64_t N, int64_t C, float* row_loss,            \
                           float* stats);                                                           \
void cross_entropy_backward(const float* logits, const int32_t* labels, const float* soft,          \
                            const float* class_weight, const float* sample_weight,                  \
                            float label_smoothing, const float* stats, const float* grad_out,       \
                            int64_t grad_stride, const float* den, int64_t N, int64_t C,            \
                            float* grad_logits);                                                    \
void nll_loss_forward(const float* log_probs, const int32_t* labels, const float* class_weight,     \
                      int64_t N, int64_t C, float* row_loss, float* row_den);                       \
void nll_loss_backward(const int32_t* labels, const float* class_weight, const float* grad_out,     \
                       int64_t grad_stride, const float* den, int64_t N, int64_t C,                 \
                       float* grad_log_probs);                                                      \
void loss_reduce(const float* row_loss, const float* row_den, int64_t N, bool mean, float* out,     \
                 float* den);                                                                       \

NF_DECLARE_KERNELS(NF_SOFTMAX_KERNELS)
