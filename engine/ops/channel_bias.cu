// channel_bias.cu — the per-channel bias add and the per-channel sums of its gradient.
#include <climits>

#include "engine/common.h"
#include "engine/cuda/runtime.h"
#include "engine/ops/channel_bias.h"

namespace nanofed::cuda {

// y[o, c, i] += bias[c]. FLOPs: n; bytes: 8n (read + write y; bias stays in cache).
__global__ void add_channel_bias_kernel(float* y, const float* bias, int64_t channels,
                                        int64_t inner, int64_t n) {
  NF_KERNEL_LOOP(idx, n) { y[idx] += bias[(idx / inner) % channels]; }
}

void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels,
                      int64_t inner) {
  const int64_t n = outer * channels * inner;
  if (n == 0) return;
  add_channel_bias_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(y, bias, channels, inner, n);
  NF_KERNEL_CHECK();
}

// inner == 1 (linear's bias gradient): x is [outer, channels]; one thread per column walks
// down the rows, neighbouring threads read neighbouring columns (coalesced).
// FLOPs: outer*channels; bytes: 4*outer*channels.
__global__ void sum_columns_kernel(const float* x, float* out, int64_t outer, int64_t channels) {
  NF_KERNEL_LOOP(c, channels) {
    float acc = 0.0f;
    for (int64_t o = 0; o < outer; ++o) acc += x[o * channels + c];
    out[c] = acc;
  }
}

// inner > 1 (conv's bias gradient over N, H, W): one block per channel; each thread sums a
// fixed strided subset, then a shared-memory tree. No atomics: bitwise reproducible.
// FLOPs: outer*channels*inner; bytes: 4*outer*channels*inner.
constexpr int kSumThreads = 256;
__global__ void sum_channels_kernel(const float* x, float* out, int64_t outer, int64_t channels,
                                    int64_t inner) {
  __shared__ float partial[kSumThreads];
  const int64_t c = blockIdx.x;
  float acc = 0.0f;
  for (int64_t j = threadIdx.x; j < outer * inner; j += blockDim.x) {
    const int64_t o = j / inner, i = j - o * inner;
    acc += x[(o * channels + c) * inner + i];
  }
  partial[threadIdx.x] = acc;
  __syncthreads();
  for (int width = kSumThreads / 2; width > 0; width /= 2) {
    if ((int)threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[c] = partial[0];
}

void sum_channels(const float* x, float* out, int64_t outer, int64_t channels, int64_t inner) {
  if (channels == 0) return;
  if (inner == 1) {
    sum_columns_kernel<<<blocks_for(channels), kThreads, 0, stream()>>>(x, out, outer, channels);
  } else {
    NF_CHECK(channels <= INT_MAX, "sum_channels: " << channels << " channels exceed the grid");
    sum_channels_kernel<<<(unsigned)channels, kSumThreads, 0, stream()>>>(x, out, outer, channels,
                                                                         inner);
  }
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
