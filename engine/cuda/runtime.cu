// runtime.cu — checked-call helpers, the stream, cuBLAS/cuRAND handles and the caching
// allocator. Handles and the allocator are created on first use and deliberately leaked, so
// tensors destroyed during static destruction can still free into them.
#include <iomanip>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

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

// ---- caching allocator ----
// Sizes are rounded up (512 B granules below 1 MiB, 1 MiB granules above) and freed blocks
// are kept in a free list per rounded size. A training step with fixed shapes asks for the
// same sizes every step, so after the first step every request is a cache hit.
namespace {
struct Allocator {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  MemoryStats stats;
};
Allocator& allocator() {
  static Allocator* a = new Allocator();  // leaked on purpose (see top)
  return *a;
}
size_t round_size(size_t bytes) {
  const size_t small = 512, large = 1 << 20;
  if (bytes == 0) bytes = 1;
  return bytes < large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}
void release_cached_locked(Allocator& a) {
  for (auto& [size, blocks] : a.free_blocks) {
    for (void* p : blocks) {
      CUDA_CHECK(cudaFree(p));
      a.stats.reserved -= size;
    }
  }
  a.free_blocks.clear();
}
}  // namespace

void* device_malloc(size_t bytes) {
  Allocator& a = allocator();
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(a.mutex);
  void* ptr = nullptr;
  auto it = a.free_blocks.find(size);
  if (it != a.free_blocks.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
  } else {
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {  // give the cache back and try once more
      cudaGetLastError();
      CUDA_CHECK(cudaStreamSynchronize(stream()));
      release_cached_locked(a);
      err = cudaMalloc(&ptr, size);
    }
    if (err != cudaSuccess) {
      cudaGetLastError();
      throw Error("CUDA out of memory: asked for " + std::to_string(size) + " bytes with " +
                  std::to_string(a.stats.allocated) + " allocated and " +
                  std::to_string(a.stats.reserved) + " reserved (" + cudaGetErrorString(err) + ")");
    }
    a.stats.reserved += size;
    a.stats.cuda_malloc_calls++;
  }
  a.stats.allocated += size;
  if (a.stats.allocated > a.stats.peak_allocated) a.stats.peak_allocated = a.stats.allocated;
  return ptr;
}

// Blocks go back to the cache, not the driver. Reuse is safe without events because every
// kernel runs on the one stream: later work on a reused block is ordered after earlier work.
void device_free(void* ptr, size_t bytes) {
  if (!ptr) return;
  Allocator& a = allocator();
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(a.mutex);
  a.free_blocks[size].push_back(ptr);
  a.stats.allocated -= size;
}

void empty_cache() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  CUDA_CHECK(cudaStreamSynchronize(stream()));
  release_cached_locked(a);
}

MemoryStats memory_stats() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  return a.stats;
}

void reset_peak_memory() {
  Allocator& a = allocator();
  std::lock_guard<std::mutex> lock(a.mutex);
  a.stats.peak_allocated = a.stats.allocated;
}

}  // namespace nanofed::cuda
