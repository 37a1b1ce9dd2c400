// pool_cpu.cpp — CPU reference for pooling (also the test oracle). Plain loops over one
// (n, c) plane at a time; planes are independent, so they are the only parallel loop. The
// backwards scatter within a plane (the obvious form); the CUDA side gathers instead.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/ops/pool.h"
#include "engine/ops/pool_math.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {
using pool::Window;

// Runs fn(o, window) for every output o of plane p, in order.
template <class Fn>
void for_each_window(const Pool2dGeom& g, int64_t p, Fn fn) {
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) fn((p * g.OH + oh) * g.OW + ow, pool::window(g, oh, ow));
}
}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* idx, const Pool2dGeom& g) {
  const int64_t planes = g.N * g.C;
  parallel_for(planes, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
    const float* xp = x + p * g.H * g.W;
    for_each_window(g, p, [&](int64_t o, const Window& win) {
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_at = win.hs * g.W + win.ws;  // PyTorch's initial index (kept if all are -inf)
      for (int64_t h = win.hs; h < win.he; ++h)
        for (int64_t w = win.ws; w < win.we; ++w) {
          const float v = xp[h * g.W + w];
          if (v > best || std::isnan(v)) {  // first maximum wins; NaN propagates
            best = v;
            best_at = h * g.W + w;
          }
        }
      y[o] = best;
      if (idx) idx[o] = (int32_t)best_at;
    });
  });
}

void max_pool2d_backward(const float* dy, const int32_t* idx, float* dx, const Pool2dGeom& g) {
  const int64_t planes = g.N * g.C, in_plane = g.H * g.W, out_plane = g.OH * g.OW;
  parallel_for(planes, in_plane + out_plane, [&](int64_t p) {
    float* dxp = dx + p * in_plane;
    for (int64_t i = 0; i < in_plane; ++i) dxp[i] = 0.0f;
    for (int64_t o = 0; o < out_plane; ++o) dxp[idx[p * out_plane + o]] += dy[p * out_plane + o];
  });
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dGeom& g, bool count_include_pad) {
  const int64_t planes = g.N * g.C;
  parallel_for(planes, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
    const float* xp = x + p * g.H * g.W;
    for_each_window(g, p, [&](int64_t o, const Window& win) {
      float sum = 0.0f;
      for (int64_t h = win.hs; h < win.he; ++h)
        for (int64_t w = win.ws; w < win.we; ++w) sum += xp[h * g.W + w];
      y[o] = sum / (float)pool::avg_divisor(g, win, count_include_pad);
    });
  });
}

void avg_pool2d_backward(const float* dy, float* dx, const Pool2dGeom& g, bool count_include_pad) {
  const int64_t planes = g.N * g.C, in_plane = g.H * g.W;
  parallel_for(planes, g.OH * g.OW * g.kh * g.kw, [&](int64_t p) {
    float* dxp = dx + p * in_plane;
    for (int64_t i = 0; i < in_plane; ++i) dxp[i] = 0.0f;
    for_each_window(g, p, [&](int64_t o, const Window& win) {
      const float share = dy[o] / (float)pool::avg_divisor(g, win, count_include_pad);
      for (int64_t h = win.hs; h < win.he; ++h)
        for (int64_t w = win.ws; w < win.we; ++w) dxp[h * g.W + w] += share;
    });
  });
}

void global_avg_pool2d_forward(const float* x, float* y, int64_t planes, int64_t hw) {
  parallel_for(planes, hw, [&](int64_t p) {
    float sum = 0.0f;
    for (int64_t i = 0; i < hw; ++i) sum += x[p * hw + i];
    y[p] = sum / (float)hw;
  });
}

void global_avg_pool2d_backward(const float* dy, float* dx, int64_t planes, int64_t hw) {
  parallel_for(planes, hw, [&](int64_t p) {
    const float share = dy[p] / (float)hw;
    for (int64_t i = 0; i < hw; ++i) dx[p * hw + i] = share;
  });
}

}  // namespace nanofed::cpu
