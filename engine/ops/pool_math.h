// pool_math.h — the window arithmetic of max and average pooling, written once for the CPU
// reference (pool_cpu.cpp) and the CUDA kernels (pool.cu). `Geom` is always Pool2dGeom
// (engine/ops/pool.h): a template parameter, because including pool.h here would make the
// pool unit (pool.h, pool_cpu.cpp, pool.cu) and this header include each other.
#pragma once
#include <cstdint>

#include "engine/hd.h"

namespace nanofed::pool {

// The window of output (oh, ow): its start (h0, w0), negative inside the padding, and its
// rows [hs, he) and columns [ws, we) clipped to the input.
struct Window {
  int64_t h0, w0, hs, he, ws, we;
};

NF_HD int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
NF_HD int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

template <class Geom>
NF_HD Window window(const Geom& g, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  return {h0, w0, max_i64(h0, 0), min_i64(h0 + g.kh, g.H), max_i64(w0, 0), min_i64(w0 + g.kw, g.W)};
}

// The averaging divisor of window w.
template <class Geom>
NF_HD int64_t avg_divisor(const Geom& g, const Window& w, bool count_include_pad) {
  if (count_include_pad) {
    // Window clipped to the padded input; with ceil_mode=false this is always kh*kw.
    const int64_t he = min_i64(w.h0 + g.kh, g.H + g.ph), we = min_i64(w.w0 + g.kw, g.W + g.pw);
    return (he - w.h0) * (we - w.w0);
  }
  return (w.he - w.hs) * (w.we - w.ws);
}

}  // namespace nanofed::pool
