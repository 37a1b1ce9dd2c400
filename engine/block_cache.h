// block_cache.h — the caching allocator both devices use: freed blocks are kept per rounded
// size and handed out again, so a training step with fixed shapes allocates nothing from the
// system once the first step has warmed the cache (no cudaMalloc on the GPU; on the CPU no
// fresh pages to fault in: im2col's column buffer alone is 2 MiB per conv call of a
// ResNet18-w16 layer at batch 32).
//
// Sizes are rounded up: 512-byte granules below 1 MiB, 1 MiB granules above, so a batch whose
// last chunk is a little smaller still reuses the same block. A request the system refuses is
// tried again once after the cache was handed back. `max_cached` bounds the bytes kept: a
// freed block that would exceed it goes back to the system at once.
#pragma once
#include <cstddef>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace nanofed {

struct MemoryStats {
  size_t allocated = 0;        // bytes handed out now (rounded sizes)
  size_t peak_allocated = 0;   // high-water mark of `allocated` since the last reset_peak
  size_t reserved = 0;         // bytes held from the system (allocated + cached)
  size_t system_allocations = 0;  // calls to the system allocator (cudaMalloc, aligned_alloc)
};

class BlockCache {
 public:
  using SystemAlloc = std::function<void*(size_t bytes)>;  // nullptr when refused
  using SystemFree = std::function<void(void* ptr)>;

  BlockCache(SystemAlloc system_alloc, SystemFree system_free, size_t max_cached);
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // A block of at least `bytes`; nullptr only when the system refuses even after the cache was
  // released (the caller names the device in its error).
  void* allocate(size_t bytes);
  // `bytes` as given to allocate. A null ptr is ignored.
  void release(void* ptr, size_t bytes);
  // Hands every cached block back to the system (`before` runs first, under the lock: the GPU
  // waits for its stream there).
  void empty(const std::function<void()>& before = {});
  MemoryStats stats() const;
  void reset_peak();

  static size_t round_size(size_t bytes);

 private:
  void release_cached_locked();

  SystemAlloc system_alloc_;
  SystemFree system_free_;
  size_t max_cached_;
  size_t cached_ = 0;
  mutable std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_blocks_;
  MemoryStats stats_;
};

}  // namespace nanofed
