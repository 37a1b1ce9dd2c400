// conv2d.cu — im2col, col2im and the dy permutation on the GPU (the GEMMs are in matmul.cu).
// Napkin math for a ResNet-18 CIFAR 3x3 layer (N=64, C=K=64, 32x32, pad 1): the column
// matrix is 576 x 65536 floats = 151 MB written once and read once by the GEMM, against
// 2*K*CRS*N*H'*W' = 2*64*576*64*1024 = 4.8 GFLOP in the GEMM itself.
#include "engine/cuda/runtime.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/matmul.h"

namespace nanofed::cuda {

// One thread per column element (c, r, s, img, ho, wo); consecutive threads write
// consecutive wo (coalesced), reads of stride-1 rows are coalesced too.
// FLOPs: 0; bytes: 4*C*R*S*n*Ho*Wo written + up to as many read (mostly L1/L2 hits).
__global__ void im2col_kernel(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t P = g.Ho * g.Wo, row_len = n * P;
  NF_KERNEL_LOOP(idx, g.C * g.R * g.S * row_len) {
    const int64_t row = idx / row_len, rest = idx - row * row_len;
    const int64_t img = rest / P, p = rest - img * P;
    const int64_t ho = p / g.Wo, wo = p - ho * g.Wo;
    const int64_t c = row / (g.R * g.S), r = (row / g.S) % g.R, s = row % g.S;
    const int64_t h = ho * g.sh - g.ph + r, w = wo * g.sw - g.pw + s;
    const bool inside = h >= 0 && h < g.H && w >= 0 && w < g.W;
    col[idx] = inside ? x[((img * g.C + c) * g.H + h) * g.W + w] : 0.0f;
  }
}

void im2col(const float* x, float* col, ConvGeometry g, int64_t n) {
  const int64_t total = g.C * g.R * g.S * n * g.Ho * g.Wo;
  if (total == 0) return;
  im2col_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, col, g, n);
  NF_KERNEL_CHECK();
}

// One thread per input element (img, c, h, w), gathering the col entries that read it:
// output (ho, wo) with ho*sh - ph + r == h for some kernel row r (same for columns). Each
// element is written once in a fixed order: no atomics, bitwise reproducible.
// FLOPs: n*C*R*S*Ho*Wo adds; bytes: 4*C*R*S*n*Ho*Wo read + 4*n*C*H*W written.
__global__ void col2im_kernel(const float* col, float* x, ConvGeometry g, int64_t n) {
  const int64_t P = g.Ho * g.Wo, row_len = n * P;
  NF_KERNEL_LOOP(idx, n * g.C * g.H * g.W) {
    const int64_t w = idx % g.W, h = (idx / g.W) % g.H;
    const int64_t c = (idx / (g.W * g.H)) % g.C, img = idx / (g.W * g.H * g.C);
    float acc = 0.0f;
    for (int64_t r = 0; r < g.R; ++r) {
      const int64_t h_off = h + g.ph - r;  // = ho * sh
      if (h_off < 0) break;               // grows more negative with r
      if (h_off % g.sh != 0) continue;
      const int64_t ho = h_off / g.sh;
      if (ho >= g.Ho) continue;
      for (int64_t s = 0; s < g.S; ++s) {
        const int64_t w_off = w + g.pw - s;
        if (w_off < 0) break;
        if (w_off % g.sw != 0) continue;
        const int64_t wo = w_off / g.sw;
        if (wo >= g.Wo) continue;
        acc += col[((c * g.R + r) * g.S + s) * row_len + img * P + ho * g.Wo + wo];
      }
    }
    x[idx] = acc;
  }
}

void col2im(const float* col, float* x, ConvGeometry g, int64_t n) {
  const int64_t total = n * g.C * g.H * g.W;
  if (total == 0) return;
  col2im_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(col, x, g, n);
  NF_KERNEL_CHECK();
}

// y[b, a, i] = x[a, b, i]: whole rows of hw floats move, both sides coalesced.
// FLOPs: 0; bytes: 8*A*B*hw.
__global__ void swap_leading_axes_kernel(const float* x, float* y, int64_t A, int64_t B,
                                         int64_t hw) {
  NF_KERNEL_LOOP(idx, A * B * hw) {
    const int64_t i = idx % hw, a = (idx / hw) % A, b = idx / (hw * A);
    y[idx] = x[(a * B + b) * hw + i];
  }
}

void swap_leading_axes(const float* x, float* y, int64_t A, int64_t B, int64_t hw) {
  const int64_t total = A * B * hw;
  if (total == 0) return;
  swap_leading_axes_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, y, A, B, hw);
  NF_KERNEL_CHECK();
}

void conv2d_forward(const float* x, const float* w, float* y, float* scratch, ConvGeometry g,
                    int64_t n) {
  // y' [K, n*P] = W [K, CRS] col [CRS, n*P] (one GEMM for the chunk), then y' -> y [n, K, P].
  const int64_t P = g.out_hw(), CRS = g.crs();
  float* col = scratch;
  float* y_perm = scratch + CRS * n * P;
  im2col(x, col, g, n);
  gemm(false, false, g.K, n * P, CRS, 1.0f, w, CRS, col, n * P, 0.0f, y_perm, n * P);
  swap_leading_axes(y_perm, y, g.K, n, P);
}

void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* scratch, ConvGeometry g, int64_t n, float beta_w) {
  const int64_t P = g.out_hw(), CRS = g.crs();
  float* col = scratch;
  float* dy_perm = scratch + CRS * n * P;
  swap_leading_axes(dy, dy_perm, n, g.K, P);  // dy' [K, n*P]: the right-hand side of both GEMMs
  if (dw) {
    im2col(x, col, g, n);
    gemm(false, true, g.K, CRS, n * P, 1.0f, dy_perm, n * P, col, n * P, beta_w, dw, CRS);
  }
  if (dx) {
    gemm(true, false, CRS, n * P, g.K, 1.0f, w, CRS, dy_perm, n * P, 0.0f, col, n * P);
    col2im(col, dx, g, n);
  }
}

}  // namespace nanofed::cuda
