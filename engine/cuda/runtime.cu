// runtime.cu — checked-call helpers, the stream, cuBLAS/cuRAND handles and the caching
// allocator. Handles and the allocator are created on first use and deliberately leaked, so
// tensors destroyed during static destruction can still free into them.
#include <iomanip>
#include <mutex>
#include <sstream>
#include <string>
#include <cstdint>

#include "engine/block_cache.h"
#include "engine/common.h"
#include "engine/cuda/runtime.h"

namespace nanofed::cuda {

void throw_cuda_error(const char* kind, const char* call, const char* file, int line,
                      const char* what) {
  throw Error(std::string(kind) + " error at " + file + ":" + std::to_string(line) + ": " + call +
              ": " + what);
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS status (unknown)";
  }
}

const char* curand_status_name(curandStatus_t s) {
  switch (s) {
    case CURAND_STATUS_NOT_INITIALIZED: return "CURAND_STATUS_NOT_INITIALIZED";
    case CURAND_STATUS_ALLOCATION_FAILED: return "CURAND_STATUS_ALLOCATION_FAILED";
    case CURAND_STATUS_TYPE_ERROR: return "CURAND_STATUS_TYPE_ERROR";
    case CURAND_STATUS_OUT_OF_RANGE: return "CURAND_STATUS_OUT_OF_RANGE";
    case CURAND_STATUS_LENGTH_NOT_MULTIPLE: return "CURAND_STATUS_LENGTH_NOT_MULTIPLE";
    case CURAND_STATUS_LAUNCH_FAILURE: return "CURAND_STATUS_LAUNCH_FAILURE";
    case CURAND_STATUS_INTERNAL_ERROR: return "CURAND_STATUS_INTERNAL_ERROR";
    default: return "cuRAND status (unknown)";
  }
}

// The runtime's own words for a failed call: "cudaErrorInsufficientDriver: CUDA driver
// version is insufficient for CUDA runtime version".
std::string error_words(cudaError_t err) {
  return std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
}

std::string probe_error() {
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls report their own
    return "cudaGetDeviceCount: " + error_words(err);
  }
  if (n == 0) return "cudaGetDeviceCount: the CUDA runtime sees 0 devices";
  err = cudaSetDevice(0);
  if (err == cudaSuccess) err = cudaFree(nullptr);  // creates the context: a busy or broken GPU fails here
  if (err != cudaSuccess) {
    cudaGetLastError();
    return "creating a context on GPU 0: " + error_words(err);
  }
  return "";
}

std::string device_report() {
  int driver = 0, runtime_version = 0, n = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime_version);
  CUDA_CHECK(cudaGetDeviceCount(&n));
  std::ostringstream out;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p;
    CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    out << "GPU " << i << ": " << p.name << ", compute capability " << p.major << "." << p.minor
        << ", " << std::fixed << std::setprecision(1) << p.totalGlobalMem / double(1 << 30)
        << " GiB, " << p.multiProcessorCount << " SMs\n";
  }
  out << "CUDA driver " << driver / 1000 << "." << driver % 1000 / 10 << ", runtime "
      << runtime_version / 1000 << "." << runtime_version % 1000 / 10;
  return out.str();
}

namespace {
struct Runtime {
  std::once_flag stream_once, cublas_once, curand_once;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  curandGenerator_t curand = nullptr;
  bool tf32 = false;
};
Runtime& runtime() {
  static Runtime* r = new Runtime();  // leaked on purpose (see top)
  return *r;
}

cublasMath_t math_mode(bool tf32) { return tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH; }
}  // namespace

cudaStream_t stream() {
  Runtime& r = runtime();
  std::call_once(r.stream_once, [&] { CUDA_CHECK(cudaStreamCreateWithFlags(&r.stream, cudaStreamNonBlocking)); });
  return r.stream;
}

cublasHandle_t cublas() {
  Runtime& r = runtime();
  std::call_once(r.cublas_once, [&] {
    CUBLAS_CHECK(cublasCreate(&r.cublas));
    CUBLAS_CHECK(cublasSetStream(r.cublas, stream()));
    CUBLAS_CHECK(cublasSetMathMode(r.cublas, math_mode(r.tf32)));
  });
  return r.cublas;
}

curandGenerator_t curand() {
  Runtime& r = runtime();
  std::call_once(r.curand_once, [&] {
    CURAND_CHECK(curandCreateGenerator(&r.curand, CURAND_RNG_PSEUDO_PHILOX4_32_10));
    CURAND_CHECK(curandSetStream(r.curand, stream()));
  });
  return r.curand;
}

void synchronize() { CUDA_CHECK(cudaStreamSynchronize(stream())); }

void set_tf32(bool on) {
  Runtime& r = runtime();
  r.tf32 = on;
  if (r.cublas) CUBLAS_CHECK(cublasSetMathMode(r.cublas, math_mode(on)));
}
bool tf32_enabled() { return runtime().tf32; }

// ---- caching allocator: the engine's BlockCache (engine/block_cache.h) over cudaMalloc ----
namespace {
thread_local std::string last_malloc_error;  // the driver's words for the last refusal

// cudaMalloc, or nullptr when the device is out of memory (after the stream has drained, so
// the cache can be handed back safely); any other error throws.
void* cuda_system_alloc(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t err = cudaMalloc(&ptr, bytes);
  if (err == cudaSuccess) return ptr;
  cudaGetLastError();
  last_malloc_error = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
  if (err != cudaErrorMemoryAllocation) throw Error("cudaMalloc of " + std::to_string(bytes) + " bytes: " + last_malloc_error);
  CUDA_CHECK(cudaStreamSynchronize(stream()));
  return nullptr;
}

BlockCache& allocator() {
  static BlockCache* cache = new BlockCache(  // leaked on purpose (see top)
      cuda_system_alloc, [](void* p) { CUDA_CHECK(cudaFree(p)); }, SIZE_MAX);
  return *cache;
}
}  // namespace

void* device_malloc(size_t bytes) {
  void* ptr = allocator().allocate(bytes);
  if (!ptr) {
    const MemoryStats m = allocator().stats();
    throw Error("CUDA out of memory: asked for " + std::to_string(BlockCache::round_size(bytes)) +
                " bytes with " + std::to_string(m.allocated) + " allocated and " + std::to_string(m.reserved) +
                " reserved (" + last_malloc_error + ")");
  }
  return ptr;
}

// Blocks go back to the cache, not the driver. Reuse is safe without events because every
// kernel runs on the one stream: later work on a reused block is ordered after earlier work.
void device_free(void* ptr, size_t bytes) { allocator().release(ptr, bytes); }

void empty_cache() {
  allocator().empty([] { CUDA_CHECK(cudaStreamSynchronize(stream())); });
}

MemoryStats memory_stats() { return allocator().stats(); }

void reset_peak_memory() { allocator().reset_peak(); }

}  // namespace nanofed::cuda
