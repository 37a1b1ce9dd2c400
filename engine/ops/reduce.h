// reduce.h — sum, mean, max, argmax and L2 norm over all elements or over one dim, and
// bincount (a histogram of class labels).
//
// Every reduction views its input as [outer, r, inner] (r the reduced dim; a full reduction
// is [1, numel, 1]) and writes [outer, inner]. Shapes follow PyTorch: a full reduction
// gives shape []; a per-dim one drops the dim, or keeps it as 1 with keepdim = true.
// Negative dims count from the end. One dim at a time.
//
// Gradients: sum/mean broadcast the gradient back (mean scaled by 1/r); max sends it to the
// argmax element (the first index among equal maxima; NaN counts as the largest); norm gives
// g * x / norm, and 0 where norm is 0 (PyTorch's subgradient).
//
// Determinism: the CPU reference accumulates in double in index order; the CUDA kernels use a
// fixed block-tree reduction (two passes when r is long), never float atomics, so a result
// does not change from run to run. max over an empty dim throws; sum over one gives 0.
//
// bincount(x, minlength): x i32 [n] of values in [0, minlength) -> i32 [minlength] counts
// (torch.bincount with exactly minlength bins). The CUDA kernel counts with integer atomics,
// which commute, so the counts are exact and reproducible. Validation follows index_select:
// on the CPU a value outside [0, minlength) throws naming bincount, the value and its
// position; on the GPU values are not checked (that needs a host sync) and an out-of-range
// value is not counted anywhere. Not differentiable.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor sum(const Tensor& x);                                       // -> []
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);                                      // -> []
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);                                       // -> [], differentiable
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);    // values, differentiable
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // i32, first max
Tensor norm(const Tensor& x);                                      // L2 over all -> []
Tensor norm(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor bincount(const Tensor& x, int64_t minlength);                // i32 [n] -> i32 [minlength]

// The [outer, r, inner] view of reducing `dim` (already normalized) of `shape`.
struct ReduceGeometry {
  int64_t outer = 1, r = 1, inner = 1;
};
ReduceGeometry reduce_geometry(const Shape& shape, int64_t dim);

}  // namespace nanofed

// Raw kernels on [outer, r, inner] -> [outer, inner], same names on both devices.
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_REDUCE_KERNELS                                                                       \
/* y = scale * sum_r (square ? x^2 : x) */                                                      \
void reduce_sum_f32(const float* x, float* y, int64_t outer, int64_t r, int64_t inner,          \
                    bool square, float scale);                                                  \
/* values = max_r x, indices = first r attaining it (r >= 1) */                                 \
void reduce_max_f32(const float* x, float* values, int32_t* indices, int64_t outer, int64_t r,  \
                    int64_t inner);                                                             \
/* gx = 0 everywhere, then gx[o, indices[o, i], i] = g[o, i] */                                 \
void max_backward_f32(const float* g, const int32_t* indices, float* gx, int64_t outer,         \
                      int64_t r, int64_t inner);                                                \
/* gx[o, k, i] = norm[o, i] == 0 ? 0 : g[o, i] * x[o, k, i] / norm[o, i] */                     \
void norm_backward_f32(const float* x, const float* g, const float* norm, float* gx,            \
                       int64_t outer, int64_t r, int64_t inner);                                \
/* counts[0..bins) = 0, then counts[x[i]] += 1 for every i < n with 0 <= x[i] < bins */         \
void bincount_i32(const int32_t* x, int32_t* counts, int64_t n, int64_t bins);                  \

NF_DECLARE_KERNELS(NF_REDUCE_KERNELS)
