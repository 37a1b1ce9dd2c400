// conv2d_cpu.cpp — im2col / col2im / permute loops, and the forward convolution as one packed
// GEMM per image whose B operand is packed straight from the image (no column matrix).
#include <algorithm>
#include <cstring>

#include "engine/ops/conv2d.h"
#include "engine/ops/gemm_cpu.h"
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

// dst[0..n) = src[0..n): 8-float blocks of fixed size (inlined vector moves; these runs are
// one output row, often 8-32 floats, where a memmove call costs more than the copy).
inline void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) std::memcpy(dst + i, src + i, 8 * sizeof(float));
  for (; i < n; ++i) dst[i] = src[i];
}

// out[0..len) = the column-matrix row (c, r, s) at output positions (ho, wo0 .. wo0+len) of
// one image (plane = x[img, c]; in = inside_columns(g, s)): zeros left of the image, a copy,
// zeros right of it.
void im2col_run(const float* plane, const ConvGeometry& g, int64_t r, int64_t s, Span in,
                int64_t ho, int64_t wo0, int64_t len, float* out) {
  const int64_t h = ho * g.sh - g.ph + r, wo1 = wo0 + len;
  if (h < 0 || h >= g.H) return std::fill(out, out + len, 0.0f);
  const int64_t lo = std::clamp(in.lo, wo0, wo1), hi = std::clamp(in.hi, lo, wo1);
  std::fill(out, out + (lo - wo0), 0.0f);
  if (hi > lo) {
    const float* src = plane + h * g.W + lo * g.sw - g.pw + s;  // x at (h, w(lo))
    if (g.sw == 1)
      copy_floats(out + (lo - wo0), src, hi - lo);
    else
      for (int64_t wo = lo; wo < hi; ++wo) out[wo - wo0] = src[(wo - lo) * g.sw];
  }
  std::fill(out + (hi - wo0), out + len, 0.0f);
}

// The packing callback of sgemm_packed_b (gemm_cpu.h) for B = im2col(x_img): rows [p0, p0+kc)
// (c, r, s) and columns [j0, j0+nc) (output positions) as nr-column panels, read straight
// from the image. Each row walks the positions as runs that stay inside one output row and
// one panel; (c, r, s), (ho, wo) and the panel lane advance without divisions.
void pack_im2col(const float* x_img, const ConvGeometry& g, int64_t p0, int64_t kc, int64_t j0,
                 int64_t nc, int nr, float* dst) {
  int64_t c = p0 / (g.R * g.S), r = (p0 / g.S) % g.R, s = p0 % g.S;
  const int64_t ho0 = j0 / g.Wo, wo_start = j0 % g.Wo;
  for (int64_t k = 0; k < kc; ++k) {
    const float* plane = x_img + c * g.H * g.W;
    const Span in = inside_columns(g, s);
    float* panel = dst + k * nr;  // row k of panel 0
    int64_t ho = ho0, wo = wo_start, lane = 0;
    for (int64_t j = 0; j < nc;) {
      const int64_t len = std::min({g.Wo - wo, nr - lane, nc - j});
      im2col_run(plane, g, r, s, in, ho, wo, len, panel + lane);
      j += len, wo += len, lane += len;
      if (wo == g.Wo) wo = 0, ++ho;
      if (lane == nr) lane = 0, panel += kc * nr;
    }
    if (lane > 0) std::fill(panel + lane, panel + nr, 0.0f);  // columns past nc
    if (++s == g.S) s = 0, ++r;
    if (r == g.R) r = 0, ++c;
  }
}

// Output positions per task of conv2d_forward: one task per image for the usual sizes (P up to
// 27 x 27), a multiple of every micro-kernel's NR.
constexpr int64_t kOutputBlock = 768;

}  // namespace

void im2col(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  parallel_for(g.crs(), n * P, [&](int64_t row) {  // one (c, r, s) per row: independent outputs
    const int64_t c = row / (g.R * g.S), r = (row / g.S) % g.R, s = row % g.S;
    const Span in = inside_columns(g, s);
    for (int64_t img = 0; img < n; ++img) {
      const float* plane = x + (img * g.C + c) * g.H * g.W;
      float* dst = col + row * row_len + img * P;
      for (int64_t ho = 0; ho < g.Ho; ++ho)
        im2col_run(plane, g, r, s, in, ho, 0, g.Wo, dst + ho * g.Wo);
    }
  });
}

void conv2d_forward(const float* x, const float* w, float* y, float* /*scratch*/, ConvGeometry g,
                    int64_t n) {
  const int64_t P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  const int64_t blocks = NF_CEIL_DIV(P, kOutputBlock);
  parallel_for(n * blocks, g.K * CRS * kOutputBlock / kMacsPerWork, [&](int64_t task) {
    const int64_t img = task / blocks, at = task % blocks * kOutputBlock;
    const float* x_img = x + img * image;
    // y_img[:, at..] [K, len] = W [K, CRS] im2col(x_img)[:, at..]: B packed from the image.
    sgemm_packed_b(
        false, g.K, std::min(kOutputBlock, P - at), CRS, 1.0f, w, CRS,
        [&](int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
          pack_im2col(x_img, g, p0, kc, at + j0, nc, nr, dst);
        },
        0.0f, y + img * g.K * P + at, P);
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
