#include "engine/block_cache.h"

namespace nanofed {

BlockCache::BlockCache(SystemAlloc system_alloc, SystemFree system_free, size_t max_cached)
    : system_alloc_(std::move(system_alloc)), system_free_(std::move(system_free)), max_cached_(max_cached) {}

size_t BlockCache::round_size(size_t bytes) {
  const size_t small = 512, large = size_t(1) << 20;
  if (bytes == 0) bytes = 1;
  return bytes < large ? (bytes + small - 1) / small * small : (bytes + large - 1) / large * large;
}

void* BlockCache::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* ptr = nullptr;
  const auto it = free_blocks_.find(size);
  if (it != free_blocks_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    cached_ -= size;
  } else {
    ptr = system_alloc_(size);
    if (!ptr && cached_ > 0) {  // give the cache back and try once more
      release_cached_locked();
      ptr = system_alloc_(size);
    }
    if (!ptr) return nullptr;
    stats_.reserved += size;
    stats_.system_allocations++;
  }
  stats_.allocated += size;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return ptr;
}

void BlockCache::release(void* ptr, size_t bytes) {
  if (!ptr) return;
  const size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.allocated -= size;
  if (cached_ + size > max_cached_) {
    system_free_(ptr);
    stats_.reserved -= size;
    return;
  }
  free_blocks_[size].push_back(ptr);
  cached_ += size;
}

void BlockCache::release_cached_locked() {
  for (auto& [size, blocks] : free_blocks_) {
    for (void* p : blocks) {
      system_free_(p);
      stats_.reserved -= size;
    }
  }
  free_blocks_.clear();
  cached_ = 0;
}

void BlockCache::empty(const std::function<void()>& before) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (before) before();
  release_cached_locked();
}

MemoryStats BlockCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void BlockCache::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
}

}  // namespace nanofed
