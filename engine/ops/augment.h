// augment.h — batch-wise data-augmentation kernels: per-image shifted crop with zero padding
// and horizontal flip, in one pass (the GPU-side augmentation of airbench-style loaders).
//
// crop_flip(x, params, out_h, out_w): x [N, C, H, W] f32, params i32 [N, 3] = (dy, dx, flip)
// per image, output [N, C, out_h, out_w]:
//   y[n, c, i, j] = x[n, c, i + dy, jj + dx]   with jj = flip ? out_w - 1 - j : j,
// and 0 where (i + dy, jj + dx) falls outside the image. That is: cut the out_h x out_w window
// whose top-left corner sits at (dy, dx) of the (implicitly zero-padded) image, then mirror it
// left-right when flip != 0. A random crop with padding p draws top in [0, H + 2p - out_h] and
// passes dy = top - p; a flip alone is dy = dx = 0, out = in size.
// Any dy / dx is valid (pixels outside the image read as 0), so no index can read out of
// bounds on either device and the CPU and CUDA results are bit-identical.
// Not differentiable: a data-augmentation step on inputs (an input that requires grad throws).
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor crop_flip(const Tensor& x, const Tensor& params, int64_t out_h, int64_t out_w);

}  // namespace nanofed

// Kernels: the same list on both devices (see engine/dispatch.h). params as above (i32 [N,3]).
#define NF_AUGMENT_KERNELS                                                                        \
void crop_flip_forward(const float* x, const int32_t* params, float* y, int64_t N, int64_t C,     \
                       int64_t H, int64_t W, int64_t Ho, int64_t Wo);                             \

NF_DECLARE_KERNELS(NF_AUGMENT_KERNELS)
