// runtime.h — the CUDA side of the engine: checked calls, the stream, library handles, the
// caching allocator and launch helpers. Included only where NANOFED_CUDA is 1.
//
// Every CUDA, cuBLAS and cuRAND call goes through a CHECK macro: a failure throws
// nanofed::Error "CUDA error at engine/ops/conv2d.cu:123: cudaMemcpyAsync: invalid argument".
// Kernel launches are followed by NF_KERNEL_CHECK() (cudaGetLastError).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>

#include <cstddef>
#include <cstdint>

#include "engine/block_cache.h"

namespace nanofed::cuda {

[[noreturn]] void throw_cuda_error(const char* kind, const char* call, const char* file, int line,
                                   const char* what);
const char* cublas_status_name(cublasStatus_t s);
const char* curand_status_name(curandStatus_t s);

cudaStream_t stream();         // the engine's one stream (all kernels and copies go here)
cublasHandle_t cublas();       // bound to stream(); math mode follows tf32_enabled()
curandGenerator_t curand();    // Philox4x32-10, on stream()
void synchronize();            // cudaStreamSynchronize(stream()), checked

// TF32 tensor-op GEMMs (and convolutions through them): off by default (strict fp32).
void set_tf32(bool on);
bool tf32_enabled();
// TF32 set for a scope, the previous setting restored when it ends (an exception included).
class Tf32Scope {
 public:
  explicit Tf32Scope(bool on = true) : before_(tf32_enabled()) { set_tf32(on); }
  ~Tf32Scope() { set_tf32(before_); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool before_;
};

// Caching allocator (engine/block_cache.h): freed blocks are kept per size class and reused, so
// a steady-state training step performs no cudaMalloc. empty_cache() returns cached blocks to
// the driver. memory_stats().system_allocations counts the cudaMalloc calls.
void* device_malloc(size_t bytes);
void device_free(void* ptr, size_t bytes);
void empty_cache();
using ::nanofed::MemoryStats;
MemoryStats memory_stats();
void reset_peak_memory();

constexpr int kThreads = 256;  // default block size for elementwise kernels
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return (unsigned)(b < 1 ? 1 : (b > 65535LL * 32 ? 65535LL * 32 : b));  // grid-stride beyond
}

}  // namespace nanofed::cuda

#define CUDA_CHECK(call)                                                                    \
  do {                                                                                      \
    cudaError_t nf_err_ = (call);                                                           \
    if (nf_err_ != cudaSuccess)                                                             \
      ::nanofed::cuda::throw_cuda_error("CUDA", #call, __FILE__, __LINE__,                 \
                                        cudaGetErrorString(nf_err_));                       \
  } while (0)
#define CUBLAS_CHECK(call)                                                                  \
  do {                                                                                      \
    cublasStatus_t nf_st_ = (call);                                                         \
    if (nf_st_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::nanofed::cuda::throw_cuda_error("cuBLAS", #call, __FILE__, __LINE__,               \
                                        ::nanofed::cuda::cublas_status_name(nf_st_));       \
  } while (0)
#define CURAND_CHECK(call)                                                                  \
  do {                                                                                      \
    curandStatus_t nf_st_ = (call);                                                         \
    if (nf_st_ != CURAND_STATUS_SUCCESS)                                                    \
      ::nanofed::cuda::throw_cuda_error("cuRAND", #call, __FILE__, __LINE__,               \
                                        ::nanofed::cuda::curand_status_name(nf_st_));       \
  } while (0)
// After every kernel launch: reports launch-configuration errors where they arose.
#define NF_KERNEL_CHECK() CUDA_CHECK(cudaGetLastError())

// Grid-stride loop over [0, n).
#define NF_KERNEL_LOOP(i, n)                                                            \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (int64_t)(n);    \
       i += (int64_t)blockDim.x * gridDim.x)
