// conv2d_cpu.cpp — im2col / col2im / permute loops, and the forward convolution as one packed
// GEMM per image whose B operand is packed straight from the image (no column matrix).
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/ops/conv2d.h"
#include "engine/ops/gemm_cpu.h"
#include "engine/ops/matmul.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {

// The output columns wo whose input column w = wo*sw - pw + s lies inside [0, W): [lo, hi).
// Hoisting this bound out of the loops leaves plain copies (the loops were bound-checked
// element by element, which cost more than the GEMM).
struct Span {
  int64_t lo, hi;
};
inline Span inside_columns(const ConvGeometry& g, int64_t s) {
  const int64_t first = g.pw - s, last = g.W - 1 + g.pw - s;  // first <= wo*sw <= last
  const int64_t hi = last < 0 ? 0 : std::min(g.Wo, last / g.sw + 1);
  const int64_t lo = first <= 0 ? 0 : std::min(hi, (first + g.sw - 1) / g.sw);
  return {lo, hi};
}

// dst[0..n) = src[0..n) (not overlapping) for the short runs of im2col (one output row, often
// 7-32 floats, where a memmove call costs more than the copy): fixed-size blocks of 8 or 4
// floats (inlined vector moves), the last block overlapping the one before.
inline void copy_floats(float* dst, const float* src, int64_t n) {
  if (n >= 8) {
    for (int64_t i = 0; i + 8 <= n; i += 8) std::memcpy(dst + i, src + i, 8 * sizeof(float));
    if (n % 8) std::memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
  } else if (n >= 4) {
    std::memcpy(dst, src, 4 * sizeof(float));
    std::memcpy(dst + n - 4, src + n - 4, 4 * sizeof(float));
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
}

// dst[0..n) = 0 the same way (std::fill calls memset, whose call costs more than these runs).
inline void zero_floats(float* dst, int64_t n) {
  static const float zeros[8] = {};
  if (n >= 8) {
    for (int64_t i = 0; i + 8 <= n; i += 8) std::memcpy(dst + i, zeros, sizeof zeros);
    if (n % 8) std::memcpy(dst + n - 8, zeros, sizeof zeros);
  } else if (n >= 4) {
    std::memcpy(dst, zeros, 4 * sizeof(float));
    std::memcpy(dst + n - 4, zeros, 4 * sizeof(float));
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
  }
}

// dst[0..n) += src[0..n) (not overlapping) for col2im's short runs: blocks of 8 the compiler
// turns into vector adds (each element still gets one add, in the same order as before).
inline void add_floats(float* __restrict dst, const float* __restrict src, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int t = 0; t < 8; ++t) dst[i + t] += src[i + t];
  for (; i < n; ++i) dst[i] += src[i];
}

// out[0..len) = the column-matrix row (c, r, s) at output positions (ho, wo0 .. wo0+len) of
// one image (plane = x[img, c]; in = inside_columns(g, s)): zeros left of the image, a copy,
// zeros right of it.
__attribute__((always_inline)) inline void im2col_run(const float* plane, const ConvGeometry& g,
                                                     int64_t r, int64_t s, Span in, int64_t ho,
                                                     int64_t wo0, int64_t len, float* out) {
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

// Stride 1 with Wo == W ("same" padding, the usual 3x3 pad 1): output position j reads
// plane[j + off], off = (r - ph)*W + (s - pw), wherever that is inside the image; the rest is
// zero: positions past the plane's ends (rows above / below) and the wo outside `in` of each
// output row (the shift would wrap them into the next row). So a row of the column matrix is
// one shifted copy with a few zeros written over it, not a run per output row.
bool shifted_rows(const ConvGeometry& g) { return g.sh == 1 && g.sw == 1 && g.Wo == g.W; }

// Zeros over the positions j in [ja, jb) whose wo is outside `in` (out[j - ja]); row0: the
// position of wo = 0 in the output row holding ja.
inline void zero_outside_columns(const ConvGeometry& g, Span in, int64_t ja, int64_t jb,
                                 int64_t row0, float* out) {
  if (in.lo == 0 && in.hi == g.Wo) return;
  for (int64_t row = row0; row < jb; row += g.Wo) {
    for (int64_t j = std::max(ja, row); j < std::min(jb, row + in.lo); ++j) out[j - ja] = 0.0f;
    for (int64_t j = std::max(ja, row + in.hi); j < std::min(jb, row + g.Wo); ++j)
      out[j - ja] = 0.0f;
  }
}

// out[j - ja] for output positions j in [ja, jb) of the column-matrix row (c, r, s) (plane =
// x[img, c], in = inside_columns(g, s)), when shifted_rows(g). row0: the position of wo = 0
// in the output row holding ja (the caller knows it without a division).
void im2col_shifted(const float* plane, const ConvGeometry& g, int64_t r, int64_t s, Span in,
                    int64_t ja, int64_t jb, int64_t row0, float* out) {
  const int64_t off = (r - g.ph) * g.W + (s - g.pw);
  const int64_t a = std::clamp(-off, ja, jb), b = std::clamp(g.H * g.W - off, a, jb);
  zero_floats(out, a - ja);
  copy_floats(out + (a - ja), plane + a + off, b - a);
  zero_floats(out + (b - ja), jb - b);
  zero_outside_columns(g, in, ja, jb, row0, out);
}

// The packing callback of sgemm_packed_b (gemm_cpu.h) for B = im2col(x_img): rows [p0, p0+kc)
// (c, r, s) and columns [j0, j0+nc) (output positions) as nr-column panels, read straight
// from the image. Each row walks the positions as runs that stay inside one output row and
// one panel; (c, r, s), (ho, wo) and the panel lane advance without divisions.
void pack_im2col(const float* x_img, const ConvGeometry& g, int64_t p0, int64_t kc, int64_t j0,
                 int64_t nc, int nr, float* dst) {
  int64_t c = p0 / (g.R * g.S), r = (p0 / g.S) % g.R, s = p0 % g.S;
  const int64_t ho0 = j0 / g.Wo, wo_start = j0 % g.Wo;
  const bool shifted = shifted_rows(g);
  for (int64_t k = 0; k < kc; ++k) {
    const float* plane = x_img + c * g.H * g.W;
    const Span in = inside_columns(g, s);
    float* panel = dst + k * nr;  // row k of panel 0
    if (shifted) {
      int64_t row0 = ho0 * g.Wo;  // the output row holding the panel's first position
      for (int64_t q = 0; q < nc; q += nr, panel += kc * nr) {
        const int64_t cols = std::min<int64_t>(nr, nc - q);
        const int64_t ja = j0 + q, off = (r - g.ph) * g.W + (s - g.pw);
        while (row0 + g.Wo <= ja) row0 += g.Wo;
        if (cols == nr && ja + off >= 0 && ja + nr + off <= g.H * g.W) {  // inside the plane
          copy_floats(panel, plane + ja + off, nr);
          zero_outside_columns(g, in, ja, ja + nr, row0, panel);
        } else {
          im2col_shifted(plane, g, r, s, in, ja, ja + cols, row0, panel);
          zero_floats(panel + cols, nr - cols);  // columns past nc
        }
      }
      if (++s == g.S) s = 0, ++r;
      if (r == g.R) r = 0, ++c;
      continue;
    }
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

// Buffers kept per thread between calls: they grow to the largest layer once (a fresh buffer
// per call would page-fault its megabytes in every time). The scratch conv2d.cpp allocates is
// for the GPU: untouched here, so it costs no page.
float* grow(std::vector<float>& buffer, int64_t floats) {
  if ((int64_t)buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// One image's column matrix [CRS, P].
float* image_columns(int64_t floats) {
  thread_local std::vector<float> buffer;
  return grow(buffer, floats);
}

// The weights packed once for the GEMM of every image (gemm_cpu.h, pack_a_once).
PackedA packed_weights(bool trans, int64_t M, int64_t K, const float* w, int64_t ldw) {
  thread_local std::vector<float> buffer;
  return pack_a_once(trans, M, K, 1.0f, w, ldw, grow(buffer, packed_a_floats(M, K)));
}

// Output positions per task of conv2d_forward: one task per image for the usual sizes (P up to
// 27 x 27), a multiple of every micro-kernel's NR.
constexpr int64_t kOutputBlock = 768;
// Columns of dW (rows of the column matrix) per backward task: 576 (64 channels, 3x3) gives 18
// tasks, so two threads stay busy; the GEMM re-packs the image's dy [K, P] for each (~3% of its MACs).
constexpr int64_t kDwRows = 32;

}  // namespace

namespace {
// Row `row` = (c, r, s) of one image's column matrix, P floats at dst.
void im2col_row(const float* x_img, const ConvGeometry& g, int64_t row, float* dst) {
  const int64_t c = row / (g.R * g.S), r = (row / g.S) % g.R, s = row % g.S;
  const Span in = inside_columns(g, s);
  const float* plane = x_img + c * g.H * g.W;
  if (shifted_rows(g))
    im2col_shifted(plane, g, r, s, in, 0, g.out_hw(), 0, dst);
  else
    for (int64_t ho = 0; ho < g.Ho; ++ho) im2col_run(plane, g, r, s, in, ho, 0, g.Wo, dst + ho * g.Wo);
}
}  // namespace

void im2col(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P, image = g.C * g.H * g.W;
  parallel_for(g.crs(), n * P, [&](int64_t row) {  // one (c, r, s) per row: independent outputs
    for (int64_t img = 0; img < n; ++img) im2col_row(x + img * image, g, row, col + row * row_len + img * P);
  });
}

void conv2d_forward(const float* x, const float* w, float* y, float* /*scratch*/, ConvGeometry g,
                    int64_t n) {
  const int64_t P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  const int64_t blocks = NF_CEIL_DIV(P, kOutputBlock);
  const PackedA W = packed_weights(false, g.K, CRS, w, CRS);
  parallel_for(n * blocks, g.K * CRS * kOutputBlock / kMacsPerWork, [&](int64_t task) {
    const int64_t img = task / blocks, at = task % blocks * kOutputBlock;
    const float* x_img = x + img * image;
    // y_img[:, at..] [K, len] = W [K, CRS] im2col(x_img)[:, at..]: B packed from the image.
    sgemm_prepacked(
        W, std::min(kOutputBlock, P - at),
        [&](int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float* dst) {
          pack_im2col(x_img, g, p0, kc, at + j0, nc, nr, dst);
        },
        0.0f, y + img * g.K * P + at, P);
  });
}

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* /*scratch*/, ConvGeometry g, int64_t n, float beta_w) {
  const int64_t P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  if (dw) {
    // dW [K, CRS] by blocks of kDwRows columns (rows of the column matrix), one task each: a
    // task walks the images in order, so every element of dW continues one fma chain across
    // them (beta 1 after the first image): the bits of one GEMM over all images, for any
    // thread count. A [64 x 576] dW per image, split only inside each image's GEMM, left one
    // of two threads idle a third of the time. FLOPs: 2*n*K*CRS*P.
    const int64_t blocks = NF_CEIL_DIV(CRS, kDwRows);
    parallel_for(blocks, n * g.K * kDwRows * P / kMacsPerWork, [&](int64_t b) {
      const int64_t r0 = b * kDwRows, rows = std::min(kDwRows, CRS - r0);
      float* col = image_columns(rows * P);  // rows r0.. of one image's column matrix
      for (int64_t img = 0; img < n; ++img) {
        for (int64_t r = 0; r < rows; ++r) im2col_row(x + img * image, g, r0 + r, col + r * P);
        gemm(false, true, g.K, rows, P, 1.0f, dy + img * g.K * P, P, col, P, img == 0 ? beta_w : 1.0f, dw + r0,
             CRS);
      }
    });
  }
  if (!dx) return;
  const PackedA Wt = packed_weights(true, CRS, g.K, w, CRS);
  // Independent images: col_n = W^T dy_n, then col2im, in the thread's own buffer.
  parallel_for(n, g.K * CRS * P / kMacsPerWork + image, [&](int64_t img) {
    float* col = image_columns(CRS * P);
    sgemm_prepacked(Wt, P, pack_matrix_b(false, dy + img * g.K * P, P), 0.0f, col, P);
    col2im(col, dx + img * image, g, 1);
  });
}

void col2im(const float* col, float* x, ConvGeometry g, int64_t n) {
  const int64_t P = g.out_hw(), row_len = n * P;
  // One (img, c) plane each.
  parallel_for(n * g.C, g.H * g.W + g.R * g.S * P, [&](int64_t plane_idx) {
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
            add_floats(dst, src_row, len);
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
