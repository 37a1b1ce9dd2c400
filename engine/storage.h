// storage.h — a block of bytes on one device. Host blocks are 64-byte aligned; CUDA blocks
// come from the caching allocator (engine/cuda/allocator.cu), so no cudaMalloc happens in a
// training step once the first step has warmed the cache.
#pragma once
#include <cstddef>
#include <memory>

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

// Copies `bytes` between any two devices (host<->host, host<->cuda, cuda<->cuda).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace nanofed
