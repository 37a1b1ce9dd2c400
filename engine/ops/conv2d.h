// conv2d.h — 2-D convolution like torch.nn.functional.conv2d (dilation 1, groups 1).
//
// x [N, C, H, W], weight [K, C, R, S], bias [K] or undefined -> y [N, K, H', W'] with
//   H' = (H + 2*ph - R) / sh + 1,  W' = (W + 2*pw - S) / sw + 1   (floor division).
// Cross-correlation (no kernel flip), zero padding, as in PyTorch.
// Grouped weights (a nanofed extension, not PyTorch's channel groups): weight [G, K, C, R, S]
// and bias [G, K] with x [G*n, C, H, W]: images [g*n, (g+1)*n) are convolved with weight[g],
// each group exactly as an ungrouped conv2d of its n images (same kernels, same bits on the
// CPU); the gradients keep the group dim. This is how several models of one architecture
// (clients, or one model's per-client gradients: nn/group_gradients.h) run in one op.
//
// Implementation (per chunk of n images; a chunk's column buffer and GEMM output stay under
// a budget of 256 MiB): im2col writes the column matrix col [C*R*S, n*H'*W'] (images side by
// side), ONE GEMM computes y' [K, n*H'*W'] = W [K, C*R*S] col for the whole chunk, and a
// permute moves y' [K, n, H'*W'] to y [n, K, H'*W'].
// A 1x1, stride-1, unpadded convolution skips im2col in the forward and dx passes: the image
// x_n [C, H*W] already is its column matrix, multiplied by one strided-batched GEMM over images.
// Backward: dx via col' = W^T dy' (ONE GEMM per chunk, dy' = dy permuted to [K, n*H'*W']) then
// col2im (a deterministic gather, no atomics; 1x1 convs: one strided-batched GEMM, no col2im); dW = dy' col^T as one GEMM per chunk over all its images (dy' is dy permuted to
// [K, n*H'*W']), accumulated across chunks with beta = 1; db = sum of dy over N, H', W'.
// Each gradient is skipped when its input does not require grad (PGD: no dW, db GEMMs).
// FLOPs: forward 2*N*K*C*R*S*H'*W'; backward the same again for dx and for dW each.
// TF32: see engine/ops/matmul.h (strict fp32 by default; cuda::set_tf32 opts in).
#pragma once
#include <array>
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
              std::array<int64_t, 2> stride = {1, 1}, std::array<int64_t, 2> padding = {0, 0});
// Same stride and padding in both directions: conv2d(x, w, b, 2, 1).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding = 0);

// The column-buffer budget (bytes, default 256 MiB) that decides how many images share one
// im2col + GEMM; returns the previous value. Tests shrink it to exercise the chunked path.
int64_t set_conv2d_column_budget(int64_t bytes);

// Sizes of one convolution, passed by value to the raw kernels.
struct ConvGeometry {
  int64_t C, H, W;      // input channels and spatial size
  int64_t K, R, S;      // output channels, kernel height and width
  int64_t sh, sw;       // stride
  int64_t ph, pw;       // zero padding
  int64_t Ho, Wo;       // output spatial size
  int64_t crs() const { return C * R * S; }
  int64_t out_hw() const { return Ho * Wo; }
};

}  // namespace nanofed

// Raw kernels for `n` consecutive images starting at x (the chunk). Column layout:
// col[(c*R + r)*S + s][img*Ho*Wo + ho*Wo + wo] = x[img, c, ho*sh - ph + r, wo*sw - pw + s]
// (0 outside the image), i.e. [C*R*S, n*Ho*Wo] row-major.
// im2col writes col; col2im writes (not accumulates) x[img, c, h, w] = sum of the col entries
// that im2col would have read from (img, c, h, w).
// swap_leading_axes: y[b, a, i] = x[a, b, i] for x [A, B, hw], y [B, A, hw]. Conv uses it both
// ways: dy [n, K, P] -> dy' [K, n*P] for the GEMMs, and the GEMM's y' [K, n, P] -> y [n, K, P].
// conv2d_forward: y [n, K, Ho, Wo] = the convolution of the n images at x with w [K, C, R, S]
// (no bias), the same bits as gemm(w, im2col(x)) permuted. scratch: (C*R*S + K) * n*Ho*Wo
// floats on the GPU (im2col, one GEMM, swap_leading_axes); the CPU packs the GEMM's B operand
// straight from x into each image's y (gemm_cpu.h) and takes nullptr.
// conv2d_backward: dw [K, C*R*S] = beta_w * dw + dy im2col(x)^T (skipped when dw is nullptr)
// and dx = col2im(w^T dy) (skipped when dx is nullptr) for the n images at x, dy [n, K, Ho, Wo];
// scratch: (C*R*S + K) * n*Ho*Wo floats. The GPU permutes dy into dy' [K, n*P] once and runs
// one GEMM per gradient for the chunk; the CPU works on dy_n [K, P] as it is: dx image by
// image, the image's columns staying in cache between the GEMM and col2im; dw in tasks over
// blocks of its columns, each walking the images in order (the same bits as one GEMM).
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_CONV2D_KERNELS                                                            \
void im2col(const float* x, float* col, nanofed::ConvGeometry g, int64_t n);         \
void conv2d_forward(const float* x, const float* w, float* y, float* scratch,        \
                    nanofed::ConvGeometry g, int64_t n);                             \
void conv2d_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,  \
                     float* scratch, nanofed::ConvGeometry g, int64_t n, float beta_w);      \
void col2im(const float* col, float* x, nanofed::ConvGeometry g, int64_t n);         \
void swap_leading_axes(const float* x, float* y, int64_t A, int64_t B, int64_t hw);  \

NF_DECLARE_KERNELS(NF_CONV2D_KERNELS)
