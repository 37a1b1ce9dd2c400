#include "engine/storage.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "engine/block_cache.h"
#include "engine/common.h"
#include "engine/dispatch.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed {

namespace {
constexpr size_t kHostAlign = 64;  // cache line; also keeps AVX loads aligned

// Host blocks come from a BlockCache over aligned_alloc (rounded sizes are multiples of 512,
// so of the alignment too). It keeps at most a quarter of the machine's memory cached.
BlockCache& host_cache() {
  static BlockCache* cache = new BlockCache(  // leaked on purpose: tensors freed at exit
      [](size_t bytes) { return std::aligned_alloc(kHostAlign, bytes); }, [](void* p) { std::free(p); },
      (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)sysconf(_SC_PAGESIZE) / 4);
  return *cache;
}
void check_device_usable(Device d, const char* what) {
  if (d.is_cpu()) return;
  NF_CHECK(cuda_compiled(), what << ": CUDA device requested, but this build has no CUDA backend");
  NF_CHECK(cuda_available(), what << ": CUDA device requested, but no GPU is available ("
                                    << cuda_unavailable_reason() << ")");
  NF_CHECK(d.index == 0, what << ": only cuda:0 is supported (got " << d.str() << ")");
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  check_device_usable(device, "allocate");
  if (device.is_cpu()) {
    data_ = host_cache().allocate(bytes);
    NF_CHECK(data_ != nullptr, "allocate: out of host memory for " << bytes << " bytes");
  } else {
#if NANOFED_CUDA
    data_ = cuda::device_malloc(bytes);
#endif
  }
}

Storage::~Storage() {
  if (device_.is_cpu()) {
    host_cache().release(data_, bytes_);
  } else {
#if NANOFED_CUDA
    cuda::device_free(data_, bytes_);
#endif
  }
}

MemoryStats host_memory_stats() { return host_cache().stats(); }
void reset_host_peak_memory() { host_cache().reset_peak(); }
void empty_host_cache() { host_cache().empty(); }

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if NANOFED_CUDA
  cudaMemcpyKind kind = dst_device.is_cpu() ? cudaMemcpyDeviceToHost
                        : src_device.is_cpu() ? cudaMemcpyHostToDevice
                                              : cudaMemcpyDeviceToDevice;
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, cuda::stream()));
  // Host memory read right after must be complete; pageable H2D copies are staged before return.
  if (kind == cudaMemcpyDeviceToHost) cuda::synchronize();
#else
  detail::no_cuda_error("copy_bytes");
#endif
}

}  // namespace nanofed
