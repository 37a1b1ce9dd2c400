// softmax.cu — CUDA kernels for softmax / log_softmax / cross-entropy / nll_loss.
//
// Layout strategy: when the normalised dim is the last one (inner == 1, the common case:
// logits [N, C]) one warp owns one row, lanes stride over it (coalesced) and combine with
// xor-shuffles; otherwise one thread owns one column (outer, inner) and walks D with stride
// `inner` (neighbouring threads read neighbouring addresses, so it is coalesced too).
// Row statistics use the online-softmax recurrence (running max and sum of exp(x - max)),
// so max and log-sum-exp come out of a single read. Xor-butterfly reductions leave the
// same bits in every lane (a + b == b + a), and nothing uses atomics: results are
// deterministic.
#include <cmath>

#include "engine/cuda/runtime.h"
#include "engine/ops/softmax.h"

namespace nanofed::cuda {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kRowBlock = 256;  // 8 warps = 8 rows per block
constexpr int kReduceThreads = 512;

// Online-softmax state: m = running max, s = sum of exp(x - m).
struct MaxSum {
  float m;
  float s;
};

__device__ __forceinline__ void online_add(MaxSum& st, float v) {
  if (v == -INFINITY) return;  // contributes exp(-inf) = 0; avoids (-inf) - (-inf)
  if (v > st.m) {
    st.s = st.s * expf(st.m - v) + 1.0f;
    st.m = v;
  } else {
    st.s += expf(v - st.m);  // NaN inputs land here and poison s, as they should
  }
}

__device__ __forceinline__ MaxSum combine(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, a.s + b.s};
  return {m, a.s * expf(a.m - m) + b.s * expf(b.m - m)};
}

__device__ __forceinline__ MaxSum warp_reduce(MaxSum st) {
  for (int off = kWarp / 2; off > 0; off >>= 1) {
    MaxSum other{__shfl_xor_sync(kFullMask, st.m, off), __shfl_xor_sync(kFullMask, st.s, off)};
    st = combine(st, other);
  }
  return st;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = kWarp / 2; off > 0; off >>= 1) v += __shfl_xor_sync(kFullMask, v, off);
  return v;
}

// Warp-per-row loop helpers: every lane of a warp sees the same row r (uniform control flow,
// so full-mask shuffles are safe).
__device__ __forceinline__ int lane_id() { return threadIdx.x % kWarp; }
__device__ __forceinline__ int64_t global_warp() {
  return ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / kWarp;
}
__device__ __forceinline__ int64_t warps_in_grid() {
  return ((int64_t)gridDim.x * blockDim.x) / kWarp;
}
unsigned row_blocks(int64_t rows) { return blocks_for(rows * kWarp, kRowBlock); }

// ---------------------------------------------------------------------------------------
// softmax / log_softmax forward.
// Per element: 2 reads of x (the second mostly from L1/L2), 1 write; ~2 expf + 4 FLOPs.
// DRAM traffic ~8 B/element: bandwidth-bound.
__global__ void softmax_rows_kernel(const float* __restrict__ x, float* __restrict__ y,
                                    int64_t rows, int64_t D, bool log) {
  const int lane = lane_id();
  for (int64_t r = global_warp(); r < rows; r += warps_in_grid()) {
    const float* xr = x + r * D;
    float* yr = y + r * D;
    MaxSum st{-INFINITY, 0.0f};
    for (int64_t d = lane; d < D; d += kWarp) online_add(st, xr[d]);
    st = warp_reduce(st);
    const float log_s = logf(st.s);
    for (int64_t d = lane; d < D; d += kWarp) {
      const float logp = (xr[d] - st.m) - log_s;
      yr[d] = log ? logp : expf(logp);
    }
  }
}

__global__ void softmax_cols_kernel(const float* __restrict__ x, float* __restrict__ y,
                                    int64_t outer, int64_t D, int64_t inner, bool log) {
  NF_KERNEL_LOOP(col, outer * inner) {
    const int64_t base = (col / inner) * D * inner + col % inner;
    MaxSum st{-INFINITY, 0.0f};
    for (int64_t d = 0; d < D; ++d) online_add(st, x[base + d * inner]);
    const float log_s = logf(st.s);
    for (int64_t d = 0; d < D; ++d) {
      const float logp = (x[base + d * inner] - st.m) - log_s;
      y[base + d * inner] = log ? logp : expf(logp);
    }
  }
}

// softmax:     dx = y * (dy - sum(dy * y));   log_softmax: dx = dy - exp(y) * sum(dy).
// Per element: reads y, dy twice (second mostly cached), writes dx: ~12 B/element DRAM.
__global__ void softmax_backward_rows_kernel(const float* __restrict__ y,
                                             const float* __restrict__ dy,
                                             float* __restrict__ dx, int64_t rows, int64_t D,
                                             bool log) {
  const int lane = lane_id();
  for (int64_t r = global_warp(); r < rows; r += warps_in_grid()) {
    const float* yr = y + r * D;
    const float* dyr = dy + r * D;
    float dot = 0.0f;
    for (int64_t d = lane; d < D; d += kWarp) dot += log ? dyr[d] : dyr[d] * yr[d];
    dot = warp_sum(dot);
    for (int64_t d = lane; d < D; d += kWarp)
      dx[r * D + d] = log ? dyr[d] - expf(yr[d]) * dot : yr[d] * (dyr[d] - dot);
  }
}

__global__ void softmax_backward_cols_kernel(const float* __restrict__ y,
                                             const float* __restrict__ dy,
                                             float* __restrict__ dx, int64_t outer, int64_t D,
                                             int64_t inner, bool log) {
  NF_KERNEL_LOOP(col, outer * inner) {
    const int64_t base = (col / inner) * D * inner + col % inner;
    float dot = 0.0f;
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      dot += log ? dy[i] : dy[i] * y[i];
    }
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      dx[i] = log ? dy[i] - expf(y[i]) * dot : y[i] * (dy[i] - dot);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Fused cross-entropy forward: one warp per row computes max and log-sum-exp (online, one
// read of the logits) and the loss
//   l_n = s_n * (A_n * log(sum exp(x - m)) - sum_c a_nc (x_nc - m)),  A_n = sum_c a_nc,
// with every term measured from the row max m (all x - m <= 0: no cancellation, and a
// masked -inf logit with zero target weight stays harmless).
// Hard labels without smoothing: one read of the row + x[y]: 4 B/element DRAM, ~1 expf +
// 3 FLOPs per element. Soft targets / smoothing: a second pass over the row (L1/L2-resident
// for C up to tens of thousands) for sum_c a_nc (x_nc - m): + 4 B/element of targets.
// Writes 16 B per row (loss, lse, A, denominator share).
__global__ void cross_entropy_forward_kernel(
    const float* __restrict__ logits, const int32_t* __restrict__ labels,
    const float* __restrict__ soft, const float* __restrict__ class_weight,
    const float* __restrict__ sample_weight, float eps, int64_t N, int64_t C,
    float* __restrict__ row_loss, float* __restrict__ stats) {
  const int lane = lane_id();
  const float smooth = eps / (float)C;
  for (int64_t n = global_warp(); n < N; n += warps_in_grid()) {
    const float* x = logits + n * C;
    MaxSum st{-INFINITY, 0.0f};
    for (int64_t c = lane; c < C; c += kWarp) online_add(st, x[c]);
    st = warp_reduce(st);
    const float m = st.m;

    // dot = sum_c a_nc (x_c - m) over the dense part of the target; mass = sum_c a_nc.
    float dot = 0.0f, mass = 0.0f;
    if (soft || eps > 0.0f) {
      for (int64_t c = lane; c < C; c += kWarp) {
        const float w = class_weight ? class_weight[c] : 1.0f;
        // Soft: a = w * ((1 - eps) t + eps / C). Hard: only the eps/C part here (w * 1).
        const float a = soft ? w * ((1.0f - eps) * soft[n * C + c] + smooth) : w;
        if (a != 0.0f) {  // 0 * log 0 = 0 (a masked -inf logit with no target weight)
          dot += a * (x[c] - m);
          mass += a;
        }
      }
      dot = warp_sum(dot);
      mass = warp_sum(mass);
    }
    if (lane == 0) {  // one lane finishes the row (all lanes hold the same m, s, dot, mass)
      const float log_s = logf(st.s);
      float loss, A, den;
      if (soft) {
        A = mass;
        loss = A * log_s - dot;
        den = 1.0f;
      } else {
        const int32_t y = labels[n];
        if (y < 0 || y >= C) {  // no host sync to report it: poison the row instead
          loss = A = den = NAN;
        } else {
          const float wy = class_weight ? class_weight[y] : 1.0f;
          // a_nc = (1 - eps) * w_y * [c == y] + (eps / C) * w_c
          const float ay = (1.0f - eps) * wy;  // 0 when w_y == 0 or eps == 1: skip 0 * -inf
          A = ay + smooth * mass;
          loss = A * log_s - ((ay != 0.0f ? ay * (x[y] - m) : 0.0f) + smooth * dot);
          den = wy;
        }
      }
      if (sample_weight) loss *= sample_weight[n];
      row_loss[n] = loss;
      stats[n] = m + log_s;
      stats[N + n] = A;
      stats[2 * N + n] = den;
    }
  }
}

// Fused backward, elementwise over [N, C]: dx = g_n * s_n * (A_n * exp(x - lse_n) - a_nc).
// Per element: reads x (+ soft target), writes dx: 8 B (12 B soft) DRAM; 1 expf + ~6 FLOPs.
__global__ void cross_entropy_backward_kernel(
    const float* __restrict__ logits, const int32_t* __restrict__ labels,
    const float* __restrict__ soft, const float* __restrict__ class_weight,
    const float* __restrict__ sample_weight, float eps, const float* __restrict__ stats,
    const float* __restrict__ grad_out, int64_t grad_stride, const float* __restrict__ den,
    int64_t N, int64_t C, float* __restrict__ grad_logits) {
  const float smooth = eps / (float)C;
  NF_KERNEL_LOOP(i, N * C) {
    const int64_t n = i / C, c = i - n * C;
    float t;
    if (labels) {
      const int32_t y = labels[n];
      if (y < 0 || y >= C) {
        grad_logits[i] = NAN;
        continue;
      }
      t = (c == y) ? 1.0f : 0.0f;
    } else {
      t = soft[i];
    }
    float g = grad_out[n * grad_stride];
    if (den) g /= den[0];
    if (sample_weight) g *= sample_weight[n];
    t = (1.0f - eps) * t + smooth;
    const float a = class_weight ? class_weight[c] * t : t;
    grad_logits[i] = g * (stats[N + n] * expf(logits[i] - stats[n]) - a);
  }
}

// nll_loss: thread per row (forward), elementwise (backward). Tiny; memory-bound.
__global__ void nll_loss_forward_kernel(const float* __restrict__ log_probs,
                                        const int32_t* __restrict__ labels,
                                        const float* __restrict__ class_weight, int64_t N,
                                        int64_t C, float* __restrict__ row_loss,
                                        float* __restrict__ row_den) {
  NF_KERNEL_LOOP(n, N) {
    const int32_t y = labels[n];
    if (y < 0 || y >= C) {
      row_loss[n] = row_den[n] = NAN;
      continue;
    }
    const float w = class_weight ? class_weight[y] : 1.0f;
    row_loss[n] = -w * log_probs[n * C + y];
    row_den[n] = w;
  }
}

__global__ void nll_loss_backward_kernel(const int32_t* __restrict__ labels,
                                         const float* __restrict__ class_weight,
                                         const float* __restrict__ grad_out, int64_t grad_stride,
                                         const float* __restrict__ den, int64_t N, int64_t C,
                                         float* __restrict__ grad) {
  NF_KERNEL_LOOP(i, N * C) {
    const int64_t n = i / C, c = i - n * C;
    const int32_t y = labels[n];
    if (y < 0 || y >= C) {
      grad[i] = NAN;
    } else if (c != y) {
      grad[i] = 0.0f;
    } else {
      float g = grad_out[n * grad_stride];
      if (den) g /= den[0];
      grad[i] = -g * (class_weight ? class_weight[c] : 1.0f);
    }
  }
}

// One block, fixed thread count and fixed summation order: deterministic. Reads 8 B per
// row; fine for batch-sized N (a 1e6-row loss would want a two-level reduction).
__global__ void loss_reduce_kernel(const float* __restrict__ row_loss,
                                   const float* __restrict__ row_den, int64_t N, bool mean,
                                   float* __restrict__ out, float* __restrict__ den) {
  __shared__ float s_loss[kReduceThreads];
  __shared__ float s_den[kReduceThreads];
  const int t = threadIdx.x;
  float a = 0.0f, b = 0.0f;
  for (int64_t i = t; i < N; i += kReduceThreads) {
    a += row_loss[i];
    b += row_den[i];
  }
  s_loss[t] = a;
  s_den[t] = b;
  __syncthreads();
  for (int stride = kReduceThreads / 2; stride > 0; stride >>= 1) {
    if (t < stride) {
      s_loss[t] += s_loss[t + stride];
      s_den[t] += s_den[t + stride];
    }
    __syncthreads();
  }
  if (t == 0) {
    const float divisor = mean ? s_den[0] : 1.0f;
    den[0] = divisor;
    out[0] = s_loss[0] / divisor;
  }
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner,
                     bool log) {
  if (inner == 1) {
    softmax_rows_kernel<<<row_blocks(outer), kRowBlock, 0, stream()>>>(x, y, outer, D, log);
  } else {
    softmax_cols_kernel<<<blocks_for(outer * inner), kThreads, 0, stream()>>>(x, y, outer, D,
                                                                               inner, log);
  }
  NF_KERNEL_CHECK();
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log) {
  if (inner == 1) {
    softmax_backward_rows_kernel<<<row_blocks(outer), kRowBlock, 0, stream()>>>(y, dy, dx,
                                                                                outer, D, log);
  } else {
    softmax_backward_cols_kernel<<<blocks_for(outer * inner), kThreads, 0, stream()>>>(
        y, dy, dx, outer, D, inner, log);
  }
  NF_KERNEL_CHECK();
}

void cross_entropy_forward(const float* logits, const int32_t* labels, const float* soft,
                           const float* class_weight, const float* sample_weight,
                           float label_smoothing, int64_t N, int64_t C, float* row_loss,
                           float* stats) {
  cross_entropy_forward_kernel<<<row_blocks(N), kRowBlock, 0, stream()>>>(
      logits, labels, soft, class_weight, sample_weight, label_smoothing, N, C, row_loss,
      stats);
  NF_KERNEL_CHECK();
}

void cross_entropy_backward(const float* logits, const int32_t* labels, const float* soft,
                            const float* class_weight, const float* sample_weight,
                            float label_smoothing, const float* stats, const float* grad_out,
                            int64_t grad_stride, const float* den, int64_t N, int64_t C,
                            float* grad_logits) {
  cross_entropy_backward_kernel<<<blocks_for(N * C), kThreads, 0, stream()>>>(
      logits, labels, soft, class_weight, sample_weight, label_smoothing, stats, grad_out,
      grad_stride, den, N, C, grad_logits);
  NF_KERNEL_CHECK();
}

void nll_loss_forward(const float* log_probs, const int32_t* labels, const float* class_weight,
                      int64_t N, int64_t C, float* row_loss, float* row_den) {
  nll_loss_forward_kernel<<<blocks_for(N), kThreads, 0, stream()>>>(log_probs, labels,
                                                                      class_weight, N, C,
                                                                      row_loss, row_den);
  NF_KERNEL_CHECK();
}

void nll_loss_backward(const int32_t* labels, const float* class_weight, const float* grad_out,
                       int64_t grad_stride, const float* den, int64_t N, int64_t C,
                       float* grad_log_probs) {
  nll_loss_backward_kernel<<<blocks_for(N * C), kThreads, 0, stream()>>>(
      labels, class_weight, grad_out, grad_stride, den, N, C, grad_log_probs);
  NF_KERNEL_CHECK();
}

void loss_reduce(const float* row_loss, const float* row_den, int64_t N, bool mean, float* out,
                 float* den) {
  loss_reduce_kernel<<<1, kReduceThreads, 0, stream()>>>(row_loss, row_den, N, mean, out, den);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
