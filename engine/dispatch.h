// dispatch.h — the single point that picks the CPU reference or the CUDA kernel.
//
// Every op family declares its kernels twice with the same name and signature:
//   namespace nanofed::cpu  { void relu_forward(const float* x, float* y, int64_t n); }
//   namespace nanofed::cuda { void relu_forward(const float* x, float* y, int64_t n); }
// and the Tensor-level op calls NF_DISPATCH(t.device(), relu_forward, x, y, n).
// In a CPU-only build the cuda:: declarations are absent and a CUDA tensor raises an error.
#pragma once
#include "engine/common.h"
#include "engine/device.h"

namespace nanofed::detail {
[[noreturn]] void no_cuda_error(const char* fn);
}

#if NANOFED_CUDA
#define NF_DISPATCH(device, fn, ...)                     \
  do {                                                   \
    if ((device).is_cuda()) ::nanofed::cuda::fn(__VA_ARGS__); \
    else ::nanofed::cpu::fn(__VA_ARGS__);                \
  } while (0)
#else
#define NF_DISPATCH(device, fn, ...)                                   \
  do {                                                                 \
    if ((device).is_cuda()) ::nanofed::detail::no_cuda_error(#fn);     \
    ::nanofed::cpu::fn(__VA_ARGS__);                                   \
  } while (0)
#endif
