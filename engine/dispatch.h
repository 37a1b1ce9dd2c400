// dispatch.h — the single point that picks the CPU reference or the CUDA kernel.
//
// Every op family has its kernels under one name and signature on both devices,
// nanofed::cpu::relu_forward (the reference, <fam>_cpu.cpp) and nanofed::cuda::relu_forward
// (<fam>.cu), and the Tensor-level op calls NF_DISPATCH(t.device(), relu_forward, x, y, n).
// In a CPU-only build the cuda:: side does not exist and a CUDA tensor raises an error.
#pragma once
#include "engine/common.h"
#include "engine/device.h"

namespace nanofed::detail {
[[noreturn]] void no_cuda_error(const char* fn);
}

// NF_DECLARE_KERNELS(LIST) declares a family's kernel list once for each compiled device, so
// the CPU reference and the CUDA kernel have the same name and signature by construction:
//   #define NF_RELU_KERNELS void relu_forward(const float* x, float* y, int64_t n);
//   NF_DECLARE_KERNELS(NF_RELU_KERNELS)
#if NANOFED_CUDA
#define NF_DECLARE_KERNELS(list) \
  namespace nanofed::cpu { list }  \
  namespace nanofed::cuda { list }
#else
#define NF_DECLARE_KERNELS(list) \
  namespace nanofed::cpu { list }
#endif

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
