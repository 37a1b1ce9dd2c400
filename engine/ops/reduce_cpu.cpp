// reduce_cpu.cpp — CPU reference reductions on [outer, r, inner]: double accumulation in index
// order, parallel only over independent outputs (results do not depend on thread count).
#include <cmath>

#include "engine/ops/reduce_kernels.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void reduce_sum_f32(const float* x, float* y, int64_t outer, int64_t r, int64_t inner,
                    bool square, float scale) {
  parallel_for(outer * inner, r, [&](int64_t oi) {
    int64_t o = oi / inner, i = oi % inner;
    const float* p = x + o * r * inner + i;
    double acc = 0.0;
    for (int64_t k = 0; k < r; ++k) {
      double v = p[k * inner];
      acc += square ? v * v : v;
    }
    y[oi] = (float)(acc * scale);
  });
}

void reduce_max_f32(const float* x, float* values, int32_t* indices, int64_t outer, int64_t r,
                    int64_t inner) {
  parallel_for(outer * inner, r, [&](int64_t oi) {
    int64_t o = oi / inner, i = oi % inner;
    const float* p = x + o * r * inner + i;
    float best = p[0];
    int64_t best_k = 0;
    for (int64_t k = 1; k < r && !std::isnan(best); ++k) {  // first NaN wins, like torch.max
      float v = p[k * inner];
      if (v > best || std::isnan(v)) {
        best = v;
        best_k = k;
      }
    }
    values[oi] = best;
    indices[oi] = (int32_t)best_k;
  });
}

void max_backward_f32(const float* g, const int32_t* indices, float* gx, int64_t outer,
                      int64_t r, int64_t inner) {
  parallel_for(outer * inner, r, [&](int64_t oi) {
    int64_t o = oi / inner, i = oi % inner;
    float* p = gx + o * r * inner + i;
    for (int64_t k = 0; k < r; ++k) p[k * inner] = 0.f;
    p[(int64_t)indices[oi] * inner] = g[oi];
  });
}

void norm_backward_f32(const float* x, const float* g, const float* norm, float* gx,
                       int64_t outer, int64_t r, int64_t inner) {
  parallel_for(outer * r * inner, 1, [&](int64_t j) {
    int64_t o = j / (r * inner), i = j % inner, oi = o * inner + i;
    gx[j] = norm[oi] == 0.f ? 0.f : g[oi] * x[j] / norm[oi];
  });
}

void bincount_i32(const int32_t* x, int32_t* counts, int64_t n, int64_t bins) {
  for (int64_t b = 0; b < bins; ++b) counts[b] = 0;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] >= 0 && x[i] < bins) ++counts[x[i]];
}

}  // namespace nanofed::cpu
