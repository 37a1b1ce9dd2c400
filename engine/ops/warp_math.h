// warp_math.h — the coordinate and bilinear-stencil math of affine_grid / grid_sample, written
// once for the CPU reference (warp_cpu.cpp) and the CUDA kernels (warp.cu).
// grid_sample always uses align_corners=False: pixel k of an axis of `size` pixels sits at
// normalized (2k+1)/size - 1. affine_grid's base coordinates can instead be align_corners=True's
// linspace(-1, 1, size) (DeformRS' grid).
#pragma once
#include <math.h>

#include <cstdint>

#include "engine/hd.h"

namespace nanofed::warp {

// Normalized coordinate of pixel index k along an axis of `size` pixels.
NF_HD float normalized_coord(int64_t k, int64_t size) { return (float)(2 * k + 1) / (float)size - 1.0f; }

// Base coordinate of index k for affine_grid: the pixel centre (align_corners=False) or
// linspace(-1, 1, size)[k] = (2k - (size-1)) / (size-1) (align_corners=True; 0 when size == 1).
// The linspace form divides an exact integer once, so x[size-1-k] == -x[k] bit for bit.
NF_HD float base_coord(int64_t k, int64_t size, bool align_corners) {
  if (!align_corners) return normalized_coord(k, size);
  return size > 1 ? (float)(2 * k - (size - 1)) / (float)(size - 1) : 0.0f;
}

// Pixel coordinate of normalized coordinate g (inverse of normalized_coord).
NF_HD float unnormalize(float g, int64_t size) { return ((g + 1.0f) * (float)size - 1.0f) * 0.5f; }

// The value of a plane at (row, col), 0 outside it (padding_mode="zeros").
NF_HD float pixel_or_zero(const float* plane, int64_t H, int64_t W, int64_t row, int64_t col) {
  return (row >= 0 && row < H && col >= 0 && col < W) ? plane[row * W + col] : 0.0f;
}

// Bilinear stencil of one sample point: the top-left neighbour and the weights.
struct Stencil {
  int64_t x0, y0;  // top-left neighbour (x0+1, y0+1 is the bottom-right one)
  float wx0, wx1;  // weights of columns x0, x0+1
  float wy0, wy1;  // weights of rows y0, y0+1
};

NF_HD Stencil stencil_at(float gx, float gy, int64_t H, int64_t W) {
  // Clamped so that far-away (or NaN: fmaxf returns the other operand) points cast safely to
  // int64; anything below -1 or above W has all four neighbours outside, so no value changes.
  const float ix = fminf(fmaxf(unnormalize(gx, W), -2.0f), (float)W + 1.0f);
  const float iy = fminf(fmaxf(unnormalize(gy, H), -2.0f), (float)H + 1.0f);
  const float fx = floorf(ix), fy = floorf(iy);
  Stencil s;
  s.x0 = (int64_t)fx;
  s.y0 = (int64_t)fy;
  s.wx1 = ix - fx;
  s.wx0 = 1.0f - s.wx1;
  s.wy1 = iy - fy;
  s.wy0 = 1.0f - s.wy1;
  return s;
}

}  // namespace nanofed::warp
