// conv2d_cpu.cpp — reference im2col / col2im / permute loops (the GEMMs are in matmul_cpu.cpp).
#include <algorithm>

#include "engine/ops/conv2d.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {

// The output columns wo whose input column w = wo*sw - pw + s lies inside [0, W): [lo, hi).
// Hoisting this bound out of the loops leaves plain copies (the loops were bound-checked
// element by element, which cost more than the GEMM).
struct Span {
  int64_t lo, hi;
};
Span inside_columns(const ConvGeometry& g, int64_t s) {
  const int64_t first = g.pw - s, last = g.W - 1 + g.pw - s;  // first <= wo*sw <= last
  const int64_t hi = last < 0 ? 0 : std::min(g.Wo, last / g.sw + 1);
  const int64_t lo = first <= 0 ? 0 : std::min(hi, (first + g.sw - 1) / g.sw);
  return {lo, hi};
}

}  // namespace

void im2col(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  parallel_for(g.crs(), n * P, [&](int64_t row) {  // one (c, r, s) per row: independent outputs
    const int64_t c = row / (g.R * g.S), r = (row / g.S) % g.R, s = row % g.S;
    const Span in = inside_columns(g, s);
    for (int64_t img = 0; img < n; ++img) {
      const float* plane = x + (img * g.C + c) * g.H * g.W;
      float* dst = col + row * row_len + img * P;
      for (int64_t ho = 0; ho < g.Ho; ++ho, dst += g.Wo) {
        const int64_t h = ho * g.sh - g.ph + r;
        if (h < 0 || h >= g.H) {
          std::fill(dst, dst + g.Wo, 0.0f);
          continue;
        }
        const float* src = plane + h * g.W + in.lo * g.sw - g.pw + s;  // x at (h, w(in.lo))
        std::fill(dst, dst + in.lo, 0.0f);
        if (g.sw == 1)
          std::copy(src, src + (in.hi - in.lo), dst + in.lo);
        else
          for (int64_t wo = in.lo; wo < in.hi; ++wo) dst[wo] = src[(wo - in.lo) * g.sw];
        std::fill(dst + in.hi, dst + g.Wo, 0.0f);
      }
    }
  });
}

void col2im(const float* col, float* x, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  parallel_for(n * g.C, g.H * g.W + g.R * g.S * P, [&](int64_t plane_idx) {  // one (img, c) plane each
    const int64_t img = plane_idx / g.C, c = plane_idx % g.C;
    float* plane = x + plane_idx * g.H * g.W;
    std::fill(plane, plane + g.H * g.W, 0.0f);
    for (int64_t r = 0; r < g.R; ++r)
      for (int64_t s = 0; s < g.S; ++s) {
        const Span in = inside_columns(g, s);
        const float* src = col + ((c * g.R + r) * g.S + s) * row_len + img * P;
        for (int64_t ho = 0; ho < g.Ho; ++ho) {
          const int64_t h = ho * g.sh - g.ph + r;
          if (h < 0 || h >= g.H) continue;
          float* dst = plane + h * g.W + in.lo * g.sw - g.pw + s;  // x at (h, w(in.lo))
          const float* src_row = src + ho * g.Wo + in.lo;
          const int64_t len = in.hi - in.lo;
          if (g.sw == 1)
            for (int64_t i = 0; i < len; ++i) dst[i] += src_row[i];
          else
            for (int64_t i = 0; i < len; ++i) dst[i * g.sw] += src_row[i];
        }
      }
  });
}

void swap_leading_axes(const float* x, float* y, int64_t A, int64_t B, int64_t hw) {
  parallel_for(B, A * hw, [&](int64_t b) {
    for (int64_t a = 0; a < A; ++a) {
      const float* src = x + (a * B + b) * hw;
      float* dst = y + (b * A + a) * hw;
      for (int64_t i = 0; i < hw; ++i) dst[i] = src[i];
    }
  });
}

}  // namespace nanofed::cpu
