// augment.cu — CUDA kernel for crop_flip (same name and semantics as augment_cpu.cpp).
#include "engine/cuda/runtime.h"
#include "engine/ops/augment.h"

namespace nanofed::cuda {

namespace {

// One thread per output element; memory-bound: 4 B gathered (coalesced along a row unless
// flipped, then reversed within the row), 4 B written, params (12 B per image) cached.
__global__ void crop_flip_forward_kernel(const float* __restrict__ x,
                                         const int32_t* __restrict__ params,
                                         float* __restrict__ y, int64_t N, int64_t C, int64_t H,
                                         int64_t W, int64_t Ho, int64_t Wo) {
  const int64_t plane = Ho * Wo;
  NF_KERNEL_LOOP(k, N * C * plane) {
    const int64_t nc = k / plane, r = k % plane;
    const int64_t i = r / Wo, j = r % Wo;
    const int32_t* p = params + (nc / C) * 3;
    const int64_t row = i + (int64_t)p[0];
    const int64_t col = (p[2] != 0 ? Wo - 1 - j : j) + (int64_t)p[1];
    const bool inside = row >= 0 && row < H && col >= 0 && col < W;
    y[k] = inside ? x[nc * H * W + row * W + col] : 0.0f;
  }
}

}  // namespace

void crop_flip_forward(const float* x, const int32_t* params, float* y, int64_t N, int64_t C,
                       int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  const int64_t total = N * C * Ho * Wo;
  if (total == 0) return;
  crop_flip_forward_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, params, y, N, C, H, W,
                                                                        Ho, Wo);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
