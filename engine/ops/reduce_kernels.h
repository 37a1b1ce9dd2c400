// reduce_kernels.h — the raw reduction kernels and their [outer, r, inner] geometry, apart
// from the Tensor-level ops in reduce.h: elementwise's sum_to_shape sums with the same block
// reduction, and reduce.h's backward closures use elementwise ops, so the kernels sit below
// both and the dependency points one way (reduce -> elementwise -> reduce_kernels).
#pragma once
#include <cstdint>

#include "engine/dispatch.h"

namespace nanofed {

// A reduction's view of its input: [outer, r, inner], r the reduced dim.
struct ReduceGeometry {
  int64_t outer = 1, r = 1, inner = 1;
};

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
