// dropout.cu — CUDA kernels for dropout (same names and semantics as dropout_cpu.cpp).
// The uniform draws come from cuRAND (nanofed::rand on the CUDA device), so the mask differs
// from the CPU one for the same seed.
#include "engine/cuda/runtime.h"
#include "engine/ops/dropout.h"

namespace nanofed::cuda {

namespace {

// Memory-bound: per element 8 B read (x, u), 5 B written (y, mask), 1 FLOP.
__global__ void dropout_forward_kernel(const float* __restrict__ x, const float* __restrict__ u,
                                       float* __restrict__ y, uint8_t* __restrict__ mask,
                                       float p, float scale, int64_t n) {
  NF_KERNEL_LOOP(i, n) {
    bool keep = u[i] >= p;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i] * scale : 0.0f;
  }
}

// Memory-bound: per element 5 B read (dy, mask), 4 B written, 1 FLOP.
__global__ void dropout_backward_kernel(const float* __restrict__ dy,
                                        const uint8_t* __restrict__ mask, float* __restrict__ dx,
                                        float scale, int64_t n) {
  NF_KERNEL_LOOP(i, n) { dx[i] = mask[i] ? dy[i] * scale : 0.0f; }
}

}  // namespace

void dropout_forward(const float* x, const float* u, float* y, uint8_t* mask, float p,
                     float scale, int64_t n) {
  if (n == 0) return;
  dropout_forward_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(x, u, y, mask, p, scale, n);
  NF_KERNEL_CHECK();
}

void dropout_backward(const float* dy, const uint8_t* mask, float* dx, float scale, int64_t n) {
  if (n == 0) return;
  dropout_backward_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(dy, mask, dx, scale, n);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
