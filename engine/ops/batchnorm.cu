// batchnorm.cu — CUDA batch_norm kernels, same names and semantics as batchnorm_cpu.cpp.
//
// Reductions (statistics, backward sums) run one block per channel: every thread sums a fixed
// strided subset of the channel's M = N*HW values, then a fixed-shape warp-shuffle + shared
// memory tree combines them. No atomics, so results are bitwise reproducible run to run.
// Statistics are two-pass (mean, then sum of centred squares): the second read of the channel
// mostly hits L2, and it avoids the cancellation of E[x^2] - E[x]^2.
// Elementwise kernels (normalise, dx) are grid-stride over N*C*HW with int64 indexing.
//
// Known limits (fine for our model sizes): with few channels (C < #SMs) the reductions use
// few SMs; the [N, C] form (HW = 1) reads each channel with stride C (uncoalesced).
#include <cmath>

#include "engine/cuda/runtime.h"
#include "engine/ops/batchnorm.h"

namespace nanofed::cuda {

namespace {

constexpr int kReduceThreads = 256;  // block size of the per-channel reductions
constexpr int kWarps = kReduceThreads / 32;

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
  return v;
}

// Sum of v over the block (blockDim.x == kReduceThreads), returned to every thread.
// smem: kWarps + 1 floats. Fixed reduction order: deterministic.
__device__ float block_sum(float v, float* smem) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_sum(v);
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_sum(lane < kWarps ? smem[lane] : 0.0f);
    if (lane == 0) smem[kWarps] = v;
  }
  __syncthreads();
  const float total = smem[kWarps];
  __syncthreads();  // smem may be reused by the next call
  return total;
}

// Element m in [0, M) of channel c.
__device__ __forceinline__ int64_t channel_offset(int64_t m, int64_t c, int64_t C, int64_t HW) {
  const int64_t n = m / HW, i = m - n * HW;
  return (n * C + c) * HW + i;
}

// Per channel: 2 reads of M floats (the second largely from L2), ~4 FLOPs per value;
// writes 2 (+2 running) floats. Total DRAM ~ 4*N*C*HW bytes (+ L2 re-read).
__global__ void stats_kernel(const float* __restrict__ x, int64_t N, int64_t C, int64_t HW,
                             float eps, float momentum, float* __restrict__ mean,
                             float* __restrict__ invstd, float* __restrict__ running_mean,
                             float* __restrict__ running_var) {
  __shared__ float smem[kWarps + 1];
  const int64_t M = N * HW;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    float s = 0.0f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) s += __ldg(x + channel_offset(m, c, C, HW));
    const float mu = block_sum(s, smem) / (float)M;
    float sq = 0.0f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const float d = __ldg(x + channel_offset(m, c, C, HW)) - mu;
      sq += d * d;
    }
    const float centred = block_sum(sq, smem);
    if (threadIdx.x == 0) {
      mean[c] = mu;
      invstd[c] = 1.0f / sqrtf(centred / (float)M + eps);
      if (running_mean) {
        const float unbiased = centred / (float)(M - 1);
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mu;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
      }
    }
  }
}

__global__ void invstd_kernel(const float* __restrict__ var, float* __restrict__ invstd,
                              int64_t C, float eps) {
  NF_KERNEL_LOOP(c, C) invstd[c] = 1.0f / sqrtf(var[c] + eps);
}

// Per element: 1 sub + 1 mul + 1 fma, 8 bytes of DRAM (read x, write y); per-channel
// parameters come from cache.
__global__ void apply_kernel(const float* __restrict__ x, const float* __restrict__ mean,
                             const float* __restrict__ invstd, const float* __restrict__ gamma,
                             const float* __restrict__ beta, float* __restrict__ y, int64_t N,
                             int64_t C, int64_t HW) {
  NF_KERNEL_LOOP(k, N * C * HW) {
    const int64_t c = (k / HW) % C;
    const float scale = __ldg(invstd + c) * (gamma ? __ldg(gamma + c) : 1.0f);
    const float shift = beta ? __ldg(beta + c) : 0.0f;
    y[k] = (__ldg(x + k) - __ldg(mean + c)) * scale + shift;
  }
}

// Per channel: one pass over dy and x (8*M bytes), 4 FLOPs per value; writes 2 floats.
__global__ void backward_reduce_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                       const float* __restrict__ mean,
                                       const float* __restrict__ invstd,
                                       float* __restrict__ sum_dy, float* __restrict__ sum_dy_xhat,
                                       int64_t N, int64_t C, int64_t HW) {
  __shared__ float smem[kWarps + 1];
  const int64_t M = N * HW;
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    const float mu = mean[c];
    float s = 0.0f, sx = 0.0f;
    for (int64_t m = threadIdx.x; m < M; m += blockDim.x) {
      const int64_t k = channel_offset(m, c, C, HW);
      const float g = __ldg(dy + k);
      s += g;
      sx += g * (__ldg(x + k) - mu);
    }
    const float total = block_sum(s, smem);
    const float total_x = block_sum(sx, smem);
    if (threadIdx.x == 0) {
      sum_dy[c] = total;
      sum_dy_xhat[c] = total_x * invstd[c];
    }
  }
}

// Per element, training: ~7 FLOPs, 12 bytes (read dy, x; write dx); eval: 2 FLOPs, 8 bytes.
__global__ void backward_dx_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                   const float* __restrict__ mean, const float* __restrict__ invstd,
                                   const float* __restrict__ gamma,
                                   const float* __restrict__ sum_dy,
                                   const float* __restrict__ sum_dy_xhat, float* __restrict__ dx,
                                   int64_t N, int64_t C, int64_t HW, bool training) {
  const float M = (float)(N * HW);
  NF_KERNEL_LOOP(k, N * C * HW) {
    const int64_t c = (k / HW) % C;
    const float is = __ldg(invstd + c);
    const float scale = (gamma ? __ldg(gamma + c) : 1.0f) * is;
    if (training) {
      const float xhat = (__ldg(x + k) - __ldg(mean + c)) * is;
      dx[k] = scale / M * (M * __ldg(dy + k) - __ldg(sum_dy + c) - xhat * __ldg(sum_dy_xhat + c));
    } else {
      dx[k] = scale * __ldg(dy + k);
    }
  }
}

unsigned channel_blocks(int64_t C) { return (unsigned)(C < 65535 ? C : 65535); }

}  // namespace

void batch_norm_stats(const float* x, int64_t N, int64_t C, int64_t HW, float eps,
                      float momentum, float* mean, float* invstd, float* running_mean,
                      float* running_var) {
  if (C == 0) return;
  stats_kernel<<<channel_blocks(C), kReduceThreads, 0, stream()>>>(
      x, N, C, HW, eps, momentum, mean, invstd, running_mean, running_var);
  NF_KERNEL_CHECK();
}

void batch_norm_invstd(const float* var, float* invstd, int64_t C, float eps) {
  if (C == 0) return;
  invstd_kernel<<<blocks_for(C), kThreads, 0, stream()>>>(var, invstd, C, eps);
  NF_KERNEL_CHECK();
}

void batch_norm_apply(const float* x, const float* mean, const float* invstd, const float* gamma,
                      const float* beta, float* y, int64_t N, int64_t C, int64_t HW) {
  const int64_t total = N * C * HW;
  if (total == 0) return;
  apply_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, mean, invstd, gamma, beta, y, N,
                                                             C, HW);
  NF_KERNEL_CHECK();
}

void batch_norm_backward_reduce(const float* dy, const float* x, const float* mean,
                                const float* invstd, float* sum_dy, float* sum_dy_xhat,
                                int64_t N, int64_t C, int64_t HW) {
  if (C == 0) return;
  backward_reduce_kernel<<<channel_blocks(C), kReduceThreads, 0, stream()>>>(
      dy, x, mean, invstd, sum_dy, sum_dy_xhat, N, C, HW);
  NF_KERNEL_CHECK();
}

void batch_norm_backward_dx(const float* dy, const float* x, const float* mean,
                            const float* invstd, const float* gamma, const float* sum_dy,
                            const float* sum_dy_xhat, float* dx, int64_t N, int64_t C,
                            int64_t HW, bool training) {
  const int64_t total = N * C * HW;
  if (total == 0) return;
  backward_dx_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(
      dy, x, mean, invstd, gamma, sum_dy, sum_dy_xhat, dx, N, C, HW, training);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
