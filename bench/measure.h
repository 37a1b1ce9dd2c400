// measure.h — what nanofed_bench measures on its own side: the time of k iterations (a steady
// clock on the CPU, CUDA events on the engine's stream on the GPU) and peak memory (the process'
// resident set on the CPU, the CUDA caching allocator's high-water mark on the GPU).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/device.h"

namespace nanofed::bench {

// Seconds taken by k calls of step, the device's queued work included.
double time_iterations(const std::function<void()>& step, int64_t k, Device device);

struct PeakMemory {
  double peak = -1;  // bytes; -1 = unknown
  double base = -1;  // bytes in use when the peak was reset
  std::string measure;  // "rss" (VmHWM after a reset), "rss-process" (no reset possible), "cuda"
};

// Starts a new peak: on the CPU the kernel's VmHWM (writing 5 to /proc/self/clear_refs), on the
// GPU the allocator's peak. Call before building a workload.
void reset_peak_memory(Device device);
PeakMemory peak_memory(Device device);

}  // namespace nanofed::bench
