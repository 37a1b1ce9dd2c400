// warp_cpu.cpp — CPU reference for affine_grid / grid_sample / theta builders (the test
// oracle). Plain loops; parallel only over independent outputs, reductions run in a fixed order.
#include <cmath>

#include "engine/ops/warp.h"
#include "engine/ops/warp_math.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {

using warp::base_coord;
using warp::pixel_or_zero;
using warp::Stencil;
using warp::stencil_at;

}  // namespace

void affine_grid_forward(const float* theta, float* grid, int64_t N, int64_t H, int64_t W,
                         bool align_corners) {
  parallel_for(N, 4 * H * W, [&](int64_t n) {
    const float* t = theta + n * 6;
    for (int64_t i = 0; i < H; ++i) {
      float y = base_coord(i, H, align_corners);
      for (int64_t j = 0; j < W; ++j) {
        float x = base_coord(j, W, align_corners);
        float* g = grid + ((n * H + i) * W + j) * 2;
        g[0] = t[0] * x + t[1] * y + t[2];
        g[1] = t[3] * x + t[4] * y + t[5];
      }
    }
  });
}

void affine_grid_backward(const float* dgrid, float* dtheta, int64_t N, int64_t H, int64_t W,
                          bool align_corners) {
  parallel_for(N, 8 * H * W, [&](int64_t n) {
    double acc[6] = {0, 0, 0, 0, 0, 0};
    for (int64_t i = 0; i < H; ++i) {
      float y = base_coord(i, H, align_corners);
      for (int64_t j = 0; j < W; ++j) {
        float x = base_coord(j, W, align_corners);
        const float* dg = dgrid + ((n * H + i) * W + j) * 2;
        acc[0] += (double)dg[0] * x;
        acc[1] += (double)dg[0] * y;
        acc[2] += (double)dg[0];
        acc[3] += (double)dg[1] * x;
        acc[4] += (double)dg[1] * y;
        acc[5] += (double)dg[1];
      }
    }
    for (int k = 0; k < 6; ++k) dtheta[n * 6 + k] = (float)acc[k];
  });
}

void grid_sample_forward(const float* x, const float* grid, float* y, int64_t N, int64_t C,
                         int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  parallel_for(N * C, 8 * Ho * Wo, [&](int64_t nc) {
    int64_t n = nc / C;
    const float* plane = x + nc * H * W;
    float* out = y + nc * Ho * Wo;
    for (int64_t p = 0; p < Ho * Wo; ++p) {
      const float* g = grid + (n * Ho * Wo + p) * 2;
      Stencil s = stencil_at(g[0], g[1], H, W);
      out[p] = s.wy0 * (s.wx0 * pixel_or_zero(plane, H, W, s.y0, s.x0) +
                        s.wx1 * pixel_or_zero(plane, H, W, s.y0, s.x0 + 1)) +
               s.wy1 * (s.wx0 * pixel_or_zero(plane, H, W, s.y0 + 1, s.x0) +
                        s.wx1 * pixel_or_zero(plane, H, W, s.y0 + 1, s.x0 + 1));
    }
  });
}

void grid_sample_backward(const float* x, const float* grid, const float* dy, float* dx,
                          float* dgrid, int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho,
                          int64_t Wo) {
  if (dx) {
    // Each (n, c) plane of dx only receives from the same (n, c) plane of dy: one thread per
    // plane, outputs visited in order -> deterministic.
    parallel_for(N * C, 12 * Ho * Wo, [&](int64_t nc) {
      int64_t n = nc / C;
      float* dplane = dx + nc * H * W;
      const float* dout = dy + nc * Ho * Wo;
      for (int64_t p = 0; p < Ho * Wo; ++p) {
        const float* g = grid + (n * Ho * Wo + p) * 2;
        Stencil s = stencil_at(g[0], g[1], H, W);
        const int64_t rows[2] = {s.y0, s.y0 + 1};
        const int64_t cols[2] = {s.x0, s.x0 + 1};
        const float wy[2] = {s.wy0, s.wy1};
        const float wx[2] = {s.wx0, s.wx1};
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            int64_t r = rows[a], c = cols[b];
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            dplane[r * W + c] += wy[a] * wx[b] * dout[p];
          }
      }
    });
  }
  if (dgrid) {
    parallel_for(N * Ho * Wo, 12 * C, [&](int64_t np) {
      int64_t n = np / (Ho * Wo), p = np % (Ho * Wo);
      const float* g = grid + np * 2;
      Stencil s = stencil_at(g[0], g[1], H, W);
      float d_ix = 0.0f, d_iy = 0.0f;  // d<dy, y>/d ix and /d iy, summed over channels
      for (int64_t c = 0; c < C; ++c) {
        const float* plane = x + (n * C + c) * H * W;
        float v00 = pixel_or_zero(plane, H, W, s.y0, s.x0);
        float v01 = pixel_or_zero(plane, H, W, s.y0, s.x0 + 1);
        float v10 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0);
        float v11 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0 + 1);
        float d = dy[(n * C + c) * Ho * Wo + p];
        d_ix += d * (s.wy0 * (v01 - v00) + s.wy1 * (v11 - v10));
        d_iy += d * (s.wx0 * (v10 - v00) + s.wx1 * (v11 - v01));
      }
      // ix = ((gx+1)*W - 1)/2  ->  d ix / d gx = W/2.
      dgrid[np * 2 + 0] = d_ix * (float)W * 0.5f;
      dgrid[np * 2 + 1] = d_iy * (float)H * 0.5f;
    });
  }
}

void rotation_theta_forward(const float* angles, float* theta, int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    float c = std::cos(angles[n]), s = std::sin(angles[n]);
    float* t = theta + n * 6;
    t[0] = c;
    t[1] = -s;
    t[2] = 0.0f;
    t[3] = s;
    t[4] = c;
    t[5] = 0.0f;
  }
}

void rotation_theta_backward(const float* angles, const float* dtheta, float* dangles, int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    float c = std::cos(angles[n]), s = std::sin(angles[n]);
    const float* d = dtheta + n * 6;
    // d/da of [c, -s, 0, s, c, 0] is [-s, -c, 0, c, -s, 0].
    dangles[n] = -s * d[0] - c * d[1] + c * d[3] - s * d[4];
  }
}

void translation_theta_forward(const float* tx, const float* ty, float* theta, float sx, float sy,
                               int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    float* t = theta + n * 6;
    t[0] = 1.0f;
    t[1] = 0.0f;
    t[2] = sx * tx[n];
    t[3] = 0.0f;
    t[4] = 1.0f;
    t[5] = sy * ty[n];
  }
}

void translation_theta_backward(const float* dtheta, float* dtx, float* dty, float sx, float sy,
                                int64_t N) {
  for (int64_t n = 0; n < N; ++n) {
    if (dtx) dtx[n] = sx * dtheta[n * 6 + 2];
    if (dty) dty[n] = sy * dtheta[n * 6 + 5];
  }
}

}  // namespace nanofed::cpu
