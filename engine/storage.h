// storage.h — a block of bytes on one device. Blocks on both devices come from a caching
// allocator (engine/block_cache.h; host blocks 64-byte aligned), so a training step with fixed
// shapes allocates nothing from the system once the first step has warmed the cache.
#pragma once
#include <cstddef>
#include <memory>

#include "engine/block_cache.h"
#include "engine/device.h"

namespace nanofed {

class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

// The host cache's counters (engine/cuda/runtime.h has the GPU's), its peak reset, and
// handing its cached blocks back to the system.
MemoryStats host_memory_stats();
void reset_host_peak_memory();
void empty_host_cache();

// Copies `bytes` between any two devices (host<->host, host<->cuda, cuda<->cuda).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace nanofed
