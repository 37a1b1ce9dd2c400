// warp.h — affine warps of images: affine_grid, grid_sample (bilinear), affine_warp, and the
// theta builders for rotations and translations. The basis of rotation / translation
// randomized smoothing (DeformRS) and of affine data augmentation.
//
// Semantics follow torch.nn.functional with align_corners=False, mode="bilinear",
// padding_mode="zeros":
//   * normalized coordinates: pixel column j of a width-W image sits at x_j = (2j+1)/W - 1,
//     row i of a height-H image at y_i = (2i+1)/H - 1 (so [-1, 1] spans the pixel *edges*);
//   * affine_grid(theta, {N,C,H,W})[n,i,j,:] = theta[n] @ [x_j, y_i, 1]  (x first, then y);
//     affine_grid(..., align_corners = true) uses x_j = -1 + 2j/(W-1), y_i = -1 + 2i/(H-1)
//     instead (linspace(-1, 1, W), 0 when W == 1), like PyTorch's flag. grid_sample is always
//     align_corners=False, so that base grid samples pixel j at j*W/(W-1) - 1/2: a (W-1)/W
//     rescale about the centre that blends the border half pixel with zeros (DeformRS' warps,
//     certify/smoothing.h).
//   * grid_sample(x, grid)[n,c,i,j] samples x[n,c] at grid[n,i,j] = (gx, gy), unnormalized to
//     pixel coordinates ix = ((gx+1)*W - 1)/2, iy = ((gy+1)*H - 1)/2, bilinearly; the four
//     neighbours outside the image count as 0.
// So the output pixel at p shows the input at theta @ p: theta maps output to input
// coordinates (the inverse of the motion of the content).
//
// Gradients:
//   * affine_grid: d theta[n] = sum over (i,j) of dgrid[n,i,j,:] ⊗ [x_j, y_i, 1] (the same base
//     coordinates as the forward).
//     CPU and CUDA both reduce in a fixed order (deterministic).
//   * grid_sample w.r.t. x: each output scatters its bilinear weights times dy into 4 input
//     pixels. The CPU reference is deterministic (one thread per (n,c) plane); the CUDA kernel
//     uses atomicAdd on dx, so the float summation order — and the last bits of dx — may vary
//     from run to run.
//   * grid_sample w.r.t. grid: per output location (no atomics), with the (W/2, H/2) factor of
//     the unnormalization. The derivative jumps where ix or iy is an integer (pixel centres):
//     the value there is the one-sided derivative from the right, like PyTorch.
//   * affine_warp is grid_sample(x, affine_grid(theta, x.shape())): differentiable in x and
//     theta (nothing fused; the [N,H,W,2] grid is an intermediate).
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

// theta [N, 2, 3], size = {N, C, H, W} (the shape of the image to be warped) -> grid [N, H, W, 2].
// align_corners picks the base coordinates (see above); differentiable in theta.
Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners = false);

// x [N, C, H, W], grid [N, Ho, Wo, 2] -> [N, C, Ho, Wo]. Differentiable in x and grid.
Tensor grid_sample(const Tensor& x, const Tensor& grid);

// x [N, C, H, W], theta [N, 2, 3] -> [N, C, H, W]. Differentiable in x and theta.
// align_corners chooses affine_grid's base grid (grid_sample is always align_corners = false).
Tensor affine_warp(const Tensor& x, const Tensor& theta, bool align_corners = false);

// angles [N] (radians) -> theta [N, 2, 3] = [[cos a, -sin a, 0], [sin a, cos a, 0]].
// Sign convention: with row 0 at the top of the displayed image, a positive angle rotates the
// content counter-clockwise about the image centre (the output at p shows the input at R(a) p,
// and R(a) turns clockwise in the y-down frame, so the content turns by R(-a)). For a square
// image and a = pi/2: out[i][j] = in[j][W-1-i] (the top-right corner goes to the top-left).
// A non-square image is rotated in normalized coordinates (like torch), i.e. with an aspect
// stretch. Differentiable in angles.
Tensor rotation_theta(const Tensor& angles);

// tx, ty [N] in pixels -> theta [N, 2, 3] = [[1, 0, -2*tx/W], [0, 1, -2*ty/H]].
// Sign convention: a positive tx moves the content right (towards larger column index), a
// positive ty moves it down (towards larger row index): out[i][j] = in[i - ty][j - tx], with 0
// where that falls outside the image. Differentiable in tx and ty.
Tensor translation_theta(const Tensor& tx, const Tensor& ty, int64_t height, int64_t width);

}  // namespace nanofed

// Raw kernels. Layouts: theta [N,2,3], grid [N,H,W,2], images [N,C,H,W], all contiguous f32.
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_WARP_KERNELS                                                                              \
void affine_grid_forward(const float* theta, float* grid, int64_t N, int64_t H, int64_t W,           \
                         bool align_corners);                                                        \
void affine_grid_backward(const float* dgrid, float* dtheta, int64_t N, int64_t H, int64_t W,        \
                          bool align_corners);                                                       \
void grid_sample_forward(const float* x, const float* grid, float* y, int64_t N, int64_t C,          \
                         int64_t H, int64_t W, int64_t Ho, int64_t Wo);                              \
/* dx (zero-filled by the caller; accumulated into) and dgrid (overwritten) may be null when not */  \
/* wanted. */                                                                                        \
void grid_sample_backward(const float* x, const float* grid, const float* dy, float* dx,             \
                          float* dgrid, int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho,      \
                          int64_t Wo);                                                               \
void rotation_theta_forward(const float* angles, float* theta, int64_t N);                           \
void rotation_theta_backward(const float* angles, const float* dtheta, float* dangles, int64_t N);   \
/* sx = -2/W, sy = -2/H: theta[n] = [[1, 0, sx*tx[n]], [0, 1, sy*ty[n]]]. */                         \
void translation_theta_forward(const float* tx, const float* ty, float* theta, float sx, float sy,   \
                               int64_t N);                                                           \
/* dtx / dty may be null when not wanted. */                                                         \
void translation_theta_backward(const float* dtheta, float* dtx, float* dty, float sx, float sy,     \
                                int64_t N);                                                          \

NF_DECLARE_KERNELS(NF_WARP_KERNELS)
