#include "bench/measure.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "engine/common.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::bench {

namespace {

// A "<key>: <n> kB" line of /proc/self/status, in bytes; -1 if absent.
double status_kb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream fields(line.substr(key.size() + 1));
      double kb = -1;
      fields >> kb;
      return kb * 1024.0;
    }
  return -1;
}

bool rss_reset_ok = false;
double base_bytes = -1;  // in use at the latest reset

#if NANOFED_CUDA
double time_cuda(const std::function<void()>& step, int64_t k) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start, cuda::stream()));
  for (int64_t i = 0; i < k; ++i) step();
  CUDA_CHECK(cudaEventRecord(stop, cuda::stream()));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  return ms / 1000.0;
}
#endif

}  // namespace

double time_iterations(const std::function<void()>& step, int64_t k, Device device) {
#if NANOFED_CUDA
  if (device.is_cuda()) return time_cuda(step, k);
#endif
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < k; ++i) step();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void reset_peak_memory(Device device) {
#if NANOFED_CUDA
  if (device.is_cuda()) {
    cuda::reset_peak_memory();
    base_bytes = (double)cuda::memory_stats().allocated;
    return;
  }
#endif
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  rss_reset_ok = clear.good();
  base_bytes = status_kb("VmRSS");
}

PeakMemory peak_memory(Device device) {
#if NANOFED_CUDA
  if (device.is_cuda()) {
    const cuda::MemoryStats m = cuda::memory_stats();
    return {(double)m.peak_allocated, base_bytes, "cuda"};
  }
#endif
  return {status_kb("VmHWM"), base_bytes, rss_reset_ok ? "rss" : "rss-process"};
}

}  // namespace nanofed::bench
