// launch.cuh — the launch an elementwise-style kernel wrapper would otherwise write out each
// time: nothing for an empty input, one thread per element on stream(), the launch checked.
#pragma once
#include <cstdint>

#include "engine/cuda/runtime.h"

namespace nanofed::cuda {

// kernel<<<blocks_for(total), kThreads, 0, stream()>>>(args...) unless total is 0; the kernel
// loops with NF_KERNEL_LOOP (grid-stride) past the grid's cap.
template <class... Params, class... Args>
void launch_per_element(void (*kernel)(Params...), int64_t total, Args... args) {
  if (total == 0) return;
  kernel<<<blocks_for(total), kThreads, 0, stream()>>>(args...);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
