// dispatch.h — the single point that picks the CPU reference or the CUDA kernel.
//
// Every op family has its kernels under one name and signature on both devices,
// e.g. nanofed::cpu::dropout_forward (the reference, dropout_cpu.cpp) and
// nanofed::cuda::dropout_forward (dropout.cu), and the Tensor-level op (dropout.cpp) calls
// NF_DISPATCH(dev, dropout_forward, x, u, y, mask, p, scale, n).
// In a CPU-only build the cuda:: side does not exist and a CUDA tensor raises an error.
#pragma once
#include "engine/common.h"
#include "engine/device.h"

// NF_DECLARE_KERNELS(LIST) declares a family's kernel list once for each compiled device, so
// the CPU reference and the CUDA kernel have the same name and signature by construction:
//   #define NF_DROPOUT_KERNELS void dropout_forward(const float* x, const float* u, ...);
//   NF_DECLARE_KERNELS(NF_DROPOUT_KERNELS)       (engine/ops/dropout.h)
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
