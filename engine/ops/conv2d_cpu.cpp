// conv2d_cpu.cpp — reference im2col / col2im / permute loops (the GEMMs are in matmul_cpu.cpp).
#include "engine/ops/conv2d.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void im2col(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  parallel_for(g.crs(), n * P, [&](int64_t row) {  // one (c, r, s) per row: independent outputs
    const int64_t c = row / (g.R * g.S), r = (row / g.S) % g.R, s = row % g.S;
    for (int64_t img = 0; img < n; ++img) {
      const float* plane = x + (img * g.C + c) * g.H * g.W;
      float* dst = col + row * row_len + img * P;
      for (int64_t ho = 0; ho < g.Ho; ++ho) {
        const int64_t h = ho * g.sh - g.ph + r;
        for (int64_t wo = 0; wo < g.Wo; ++wo) {
          const int64_t w = wo * g.sw - g.pw + s;
          const bool inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
          dst[ho * g.Wo + wo] = inside ? plane[h * g.W + w] : 0.0f;
        }
      }
    }
  });
}

void col2im(const float* col, float* x, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  parallel_for(n * g.C, g.H * g.W + g.R * g.S * P, [&](int64_t plane_idx) {  // one (img, c) plane each
    const int64_t img = plane_idx / g.C, c = plane_idx % g.C;
    float* plane = x + plane_idx * g.H * g.W;
    for (int64_t i = 0; i < g.H * g.W; ++i) plane[i] = 0.0f;
    for (int64_t r = 0; r < g.R; ++r)
      for (int64_t s = 0; s < g.S; ++s) {
        const float* src = col + ((c * g.R + r) * g.S + s) * row_len + img * P;
        for (int64_t ho = 0; ho < g.Ho; ++ho) {
          const int64_t h = ho * g.sh - g.ph + r;
          if (h < 0 || h >= g.H) continue;
          for (int64_t wo = 0; wo < g.Wo; ++wo) {
            const int64_t w = wo * g.sw - g.pw + s;
            if (w >= 0 && w < g.W) plane[h * g.W + w] += src[ho * g.Wo + wo];
          }
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
