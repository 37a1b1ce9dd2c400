// pool.cu — CUDA pooling kernels, same names and semantics as pool_cpu.cpp.
//
// Forwards: one thread per output element. Backwards: one thread per INPUT element that
// gathers from the (at most ceil(kh/sh) x ceil(kw/sw)) windows covering it, so every dx
// element is written exactly once, without atomics: deterministic, and no memset of dx.
#include <cmath>

#include "engine/cuda/launch.cuh"
#include "engine/cuda/runtime.h"
#include "engine/ops/pool.h"
#include "engine/ops/pool_math.h"

namespace nanofed::cuda {

namespace {

// Range [lo, hi) of output rows (or columns) whose window covers input row `h`:
// window o covers [o*s - p, o*s - p + k), so o*s <= h + p < o*s + k.
__device__ __forceinline__ void covering_windows(int64_t h, int64_t k, int64_t s, int64_t p,
                                                 int64_t out, int64_t& lo, int64_t& hi) {
  lo = (h + p < k) ? 0 : (h + p - k) / s + 1;
  hi = min((h + p) / s + 1, out);
}

// Sums fn(o, oh, ow) over the outputs o = (oh, ow) whose window covers input element i, row
// by row: the gather both backwards share.
template <class Fn>
__device__ __forceinline__ float sum_over_covering_windows(const Pool2dGeom& g, int64_t i, Fn fn) {
  const int64_t w = i % g.W, t = i / g.W, h = t % g.H, p = t / g.H;
  int64_t oh_lo, oh_hi, ow_lo, ow_hi;
  covering_windows(h, g.kh, g.sh, g.ph, g.OH, oh_lo, oh_hi);
  covering_windows(w, g.kw, g.sw, g.pw, g.OW, ow_lo, ow_hi);
  const int64_t base = p * g.OH * g.OW;
  float sum = 0.0f;
  for (int64_t oh = oh_lo; oh < oh_hi; ++oh)
    for (int64_t ow = ow_lo; ow < ow_hi; ++ow) sum += fn(base + oh * g.OW + ow, oh, ow);
  return sum;
}

using pool::Window;

// ---- max ----
// Per output: kh*kw compares, kh*kw loads (mostly cache hits: windows overlap), 4-8 B stored.
// Memory-bound: ~ (N*C*H*W + N*C*OH*OW*(1 + has_idx)) * 4 bytes of DRAM traffic.
__global__ void max_pool2d_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                          int32_t* __restrict__ idx, Pool2dGeom g) {
  const int64_t total = g.N * g.C * g.OH * g.OW;
  NF_KERNEL_LOOP(o, total) {
    const int64_t ow = o % g.OW, t = o / g.OW, oh = t % g.OH, p = t / g.OH;
    const float* xp = x + p * g.H * g.W;
    const Window win = pool::window(g, oh, ow);
    float best = -INFINITY;
    int64_t best_at = win.hs * g.W + win.ws;
    for (int64_t h = win.hs; h < win.he; ++h)
      for (int64_t w = win.ws; w < win.we; ++w) {
        const float v = __ldg(xp + h * g.W + w);
        if (v > best || isnan(v)) {  // first maximum wins; NaN propagates (PyTorch CPU)
          best = v;
          best_at = h * g.W + w;
        }
      }
    y[o] = best;
    if (idx) idx[o] = (int32_t)best_at;
  }
}

// Per input: reads the indices of its covering windows (~kh*kw/(sh*sw) i32) and the dy of the
// matching ones; one store. ~ (N*C*H*W * (4 + 4*ceil(kh/sh)*ceil(kw/sw))) bytes, cached.
__global__ void max_pool2d_backward_kernel(const float* __restrict__ dy,
                                           const int32_t* __restrict__ idx,
                                           float* __restrict__ dx, Pool2dGeom g) {
  const int64_t total = g.N * g.C * g.H * g.W;
  NF_KERNEL_LOOP(i, total) {
    const int32_t me = (int32_t)(i % (g.H * g.W));  // the index max_pool2d stored for it
    // Adding +0 where the max was elsewhere leaves the sum as skipping would (it is never -0).
    dx[i] = sum_over_covering_windows(g, i, [&](int64_t o, int64_t, int64_t) {
      return __ldg(idx + o) == me ? __ldg(dy + o) : 0.0f;
    });
  }
}

// ---- avg ----
// Per output: kh*kw adds + 1 divide; traffic as max_pool2d without the indices.
__global__ void avg_pool2d_forward_kernel(const float* __restrict__ x, float* __restrict__ y,
                                          Pool2dGeom g, bool count_include_pad) {
  const int64_t total = g.N * g.C * g.OH * g.OW;
  NF_KERNEL_LOOP(o, total) {
    const int64_t ow = o % g.OW, t = o / g.OW, oh = t % g.OH, p = t / g.OH;
    const float* xp = x + p * g.H * g.W;
    const Window win = pool::window(g, oh, ow);
    float sum = 0.0f;
    for (int64_t h = win.hs; h < win.he; ++h)
      for (int64_t w = win.ws; w < win.we; ++w) sum += __ldg(xp + h * g.W + w);
    y[o] = sum / (float)pool::avg_divisor(g, win, count_include_pad);
  }
}

// Per input: ~ceil(kh/sh)*ceil(kw/sw) loads of dy, divides and adds; one store.
__global__ void avg_pool2d_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                           Pool2dGeom g, bool count_include_pad) {
  const int64_t total = g.N * g.C * g.H * g.W;
  NF_KERNEL_LOOP(i, total) {
    dx[i] = sum_over_covering_windows(g, i, [&](int64_t o, int64_t oh, int64_t ow) {
      return __ldg(dy + o) / (float)pool::avg_divisor(g, pool::window(g, oh, ow), count_include_pad);
    });
  }
}

// ---- global average ----
// One warp per (n, c) plane: coalesced reads of the plane, shuffle reduction (fixed order:
// deterministic). hw adds per plane; traffic (planes*hw + planes) * 4 bytes.
constexpr int kWarp = 32;
__global__ void global_avg_pool2d_forward_kernel(const float* __restrict__ x,
                                                 float* __restrict__ y, int64_t planes,
                                                 int64_t hw) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps_per_grid = (int64_t)gridDim.x * (blockDim.x / kWarp);
  for (int64_t p = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / kWarp; p < planes;
       p += warps_per_grid) {
    const float* xp = x + p * hw;
    float sum = 0.0f;
    for (int64_t i = lane; i < hw; i += kWarp) sum += __ldg(xp + i);
    for (int off = kWarp / 2; off > 0; off /= 2) sum += __shfl_down_sync(0xffffffffu, sum, off);
    if (lane == 0) y[p] = sum / (float)hw;
  }
}

// Broadcast: one load (cached) and one store per input element.
__global__ void global_avg_pool2d_backward_kernel(const float* __restrict__ dy,
                                                  float* __restrict__ dx, int64_t planes,
                                                  int64_t hw) {
  const float inv = 1.0f / (float)hw;
  NF_KERNEL_LOOP(i, planes * hw) dx[i] = __ldg(dy + i / hw) * inv;
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* idx, const Pool2dGeom& g) {
  launch_per_element(max_pool2d_forward_kernel, g.N * g.C * g.OH * g.OW, x, y, idx, g);
}

void max_pool2d_backward(const float* dy, const int32_t* idx, float* dx, const Pool2dGeom& g) {
  launch_per_element(max_pool2d_backward_kernel, g.N * g.C * g.H * g.W, dy, idx, dx, g);
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dGeom& g, bool count_include_pad) {
  launch_per_element(avg_pool2d_forward_kernel, g.N * g.C * g.OH * g.OW, x, y, g,
                     count_include_pad);
}

void avg_pool2d_backward(const float* dy, float* dx, const Pool2dGeom& g, bool count_include_pad) {
  launch_per_element(avg_pool2d_backward_kernel, g.N * g.C * g.H * g.W, dy, dx, g,
                     count_include_pad);
}

void global_avg_pool2d_forward(const float* x, float* y, int64_t planes, int64_t hw) {
  if (planes == 0) return;
  const int warps_per_block = kThreads / kWarp;
  global_avg_pool2d_forward_kernel<<<blocks_for(planes, warps_per_block), kThreads, 0,
                                     stream()>>>(x, y, planes, hw);
  NF_KERNEL_CHECK();
}

void global_avg_pool2d_backward(const float* dy, float* dx, int64_t planes, int64_t hw) {
  launch_per_element(global_avg_pool2d_backward_kernel, planes * hw, dy, dx, planes, hw);
}

}  // namespace nanofed::cuda
