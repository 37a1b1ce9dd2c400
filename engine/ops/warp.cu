// warp.cu — CUDA kernels for affine_grid / grid_sample / theta builders.
// Same names and semantics as warp_cpu.cpp (the oracle); see warp.h for the conventions.
#include "engine/cuda/runtime.h"
#include "engine/ops/warp.h"
#include "engine/ops/warp_math.h"

namespace nanofed::cuda {

namespace {

using warp::base_coord;
using warp::pixel_or_zero;
using warp::Stencil;
using warp::stencil_at;

// ---- affine_grid ----

// One thread per output location: 4 FMAs, reads 24 B of theta (cached), writes 8 B.
__global__ void affine_grid_forward_kernel(const float* __restrict__ theta,
                                           float* __restrict__ grid, int64_t N, int64_t H,
                                           int64_t W, bool align_corners) {
  NF_KERNEL_LOOP(idx, N * H * W) {
    int64_t j = idx % W;
    int64_t i = (idx / W) % H;
    int64_t n = idx / (W * H);
    const float* t = theta + n * 6;
    float x = base_coord(j, W, align_corners), y = base_coord(i, H, align_corners);
    grid[idx * 2 + 0] = t[0] * x + t[1] * y + t[2];
    grid[idx * 2 + 1] = t[3] * x + t[4] * y + t[5];
  }
}

constexpr int kGridReduceThreads = 256;

// One block per batch item: each thread sums its strided pixels, then a fixed-shape tree
// reduction in shared memory (deterministic). 6 FMAs and 8 B read per pixel.
__global__ void affine_grid_backward_kernel(const float* __restrict__ dgrid,
                                            float* __restrict__ dtheta, int64_t H, int64_t W,
                                            bool align_corners) {
  __shared__ float partial[6][kGridReduceThreads];
  const int64_t n = blockIdx.x;
  const float* dg = dgrid + n * H * W * 2;
  float acc[6] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  for (int64_t p = threadIdx.x; p < H * W; p += blockDim.x) {
    float x = base_coord(p % W, W, align_corners), y = base_coord(p / W, H, align_corners);
    float gx = dg[p * 2 + 0], gy = dg[p * 2 + 1];
    acc[0] += gx * x;
    acc[1] += gx * y;
    acc[2] += gx;
    acc[3] += gy * x;
    acc[4] += gy * y;
    acc[5] += gy;
  }
  for (int k = 0; k < 6; ++k) partial[k][threadIdx.x] = acc[k];
  __syncthreads();
  for (int stride = kGridReduceThreads / 2; stride > 0; stride /= 2) {
    if ((int)threadIdx.x < stride)
      for (int k = 0; k < 6; ++k) partial[k][threadIdx.x] += partial[k][threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x < 6) dtheta[n * 6 + threadIdx.x] = partial[threadIdx.x][0];
}

// ---- grid_sample ----

// One thread per output location (n, p), looping over channels so the stencil is computed
// once. Per output element: 4 gathers (16 B, mostly cache hits), ~8 FLOPs, 4 B written.
__global__ void grid_sample_forward_kernel(const float* __restrict__ x,
                                           const float* __restrict__ grid, float* __restrict__ y,
                                           int64_t N, int64_t C, int64_t H, int64_t W,
                                           int64_t Ho, int64_t Wo) {
  const int64_t P = Ho * Wo;
  NF_KERNEL_LOOP(np, N * P) {
    int64_t n = np / P, p = np % P;
    Stencil s = stencil_at(grid[np * 2 + 0], grid[np * 2 + 1], H, W);
    for (int64_t c = 0; c < C; ++c) {
      const float* plane = x + (n * C + c) * H * W;
      float v00 = pixel_or_zero(plane, H, W, s.y0, s.x0);
      float v01 = pixel_or_zero(plane, H, W, s.y0, s.x0 + 1);
      float v10 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0);
      float v11 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0 + 1);
      y[(n * C + c) * P + p] =
          s.wy0 * (s.wx0 * v00 + s.wx1 * v01) + s.wy1 * (s.wx0 * v10 + s.wx1 * v11);
    }
  }
}

__device__ __forceinline__ void scatter_add(float* plane, int64_t H, int64_t W, int64_t row,
                                            int64_t col, float v) {
  if (row >= 0 && row < H && col >= 0 && col < W) atomicAdd(plane + row * W + col, v);
}

// One thread per output location (n, p), looping over channels. dx (zeroed by the caller):
// 4 atomicAdds per output element — NONDETERMINISTIC float summation order where sample
// stencils overlap. dgrid: summed over channels in registers, one 8 B write, deterministic.
// Per output element: 4 gathers + 4 atomics (~32 B), ~20 FLOPs.
__global__ void grid_sample_backward_kernel(const float* __restrict__ x,
                                            const float* __restrict__ grid,
                                            const float* __restrict__ dy, float* dx,
                                            float* __restrict__ dgrid, int64_t N, int64_t C,
                                            int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  const int64_t P = Ho * Wo;
  NF_KERNEL_LOOP(np, N * P) {
    int64_t n = np / P, p = np % P;
    Stencil s = stencil_at(grid[np * 2 + 0], grid[np * 2 + 1], H, W);
    float d_ix = 0.0f, d_iy = 0.0f;
    for (int64_t c = 0; c < C; ++c) {
      const int64_t plane_off = (n * C + c) * H * W;
      float d = dy[(n * C + c) * P + p];
      if (dx) {
        float* dplane = dx + plane_off;
        scatter_add(dplane, H, W, s.y0, s.x0, s.wy0 * s.wx0 * d);
        scatter_add(dplane, H, W, s.y0, s.x0 + 1, s.wy0 * s.wx1 * d);
        scatter_add(dplane, H, W, s.y0 + 1, s.x0, s.wy1 * s.wx0 * d);
        scatter_add(dplane, H, W, s.y0 + 1, s.x0 + 1, s.wy1 * s.wx1 * d);
      }
      if (dgrid) {
        const float* plane = x + plane_off;
        float v00 = pixel_or_zero(plane, H, W, s.y0, s.x0);
        float v01 = pixel_or_zero(plane, H, W, s.y0, s.x0 + 1);
        float v10 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0);
        float v11 = pixel_or_zero(plane, H, W, s.y0 + 1, s.x0 + 1);
        d_ix += d * (s.wy0 * (v01 - v00) + s.wy1 * (v11 - v10));
        d_iy += d * (s.wx0 * (v10 - v00) + s.wx1 * (v11 - v01));
      }
    }
    if (dgrid) {
      dgrid[np * 2 + 0] = d_ix * (float)W * 0.5f;
      dgrid[np * 2 + 1] = d_iy * (float)H * 0.5f;
    }
  }
}

// ---- theta builders (tiny: N threads) ----

__global__ void rotation_theta_forward_kernel(const float* __restrict__ angles,
                                              float* __restrict__ theta, int64_t N) {
  NF_KERNEL_LOOP(n, N) {
    float s, c;
    sincosf(angles[n], &s, &c);
    float* t = theta + n * 6;
    t[0] = c;
    t[1] = -s;
    t[2] = 0.0f;
    t[3] = s;
    t[4] = c;
    t[5] = 0.0f;
  }
}

__global__ void rotation_theta_backward_kernel(const float* __restrict__ angles,
                                               const float* __restrict__ dtheta,
                                               float* __restrict__ dangles, int64_t N) {
  NF_KERNEL_LOOP(n, N) {
    float s, c;
    sincosf(angles[n], &s, &c);
    const float* d = dtheta + n * 6;
    dangles[n] = -s * d[0] - c * d[1] + c * d[3] - s * d[4];
  }
}

__global__ void translation_theta_forward_kernel(const float* __restrict__ tx,
                                                 const float* __restrict__ ty,
                                                 float* __restrict__ theta, float sx, float sy,
                                                 int64_t N) {
  NF_KERNEL_LOOP(n, N) {
    float* t = theta + n * 6;
    t[0] = 1.0f;
    t[1] = 0.0f;
    t[2] = sx * tx[n];
    t[3] = 0.0f;
    t[4] = 1.0f;
    t[5] = sy * ty[n];
  }
}

__global__ void translation_theta_backward_kernel(const float* __restrict__ dtheta, float* dtx,
                                                  float* dty, float sx, float sy, int64_t N) {
  NF_KERNEL_LOOP(n, N) {
    if (dtx) dtx[n] = sx * dtheta[n * 6 + 2];
    if (dty) dty[n] = sy * dtheta[n * 6 + 5];
  }
}

}  // namespace

void affine_grid_forward(const float* theta, float* grid, int64_t N, int64_t H, int64_t W,
                         bool align_corners) {
  const int64_t total = N * H * W;
  if (total == 0) return;
  affine_grid_forward_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(theta, grid, N, H, W,
                                                                          align_corners);
  NF_KERNEL_CHECK();
}

void affine_grid_backward(const float* dgrid, float* dtheta, int64_t N, int64_t H, int64_t W,
                          bool align_corners) {
  if (N == 0) return;
  if (H * W == 0) {  // no pixels: the gradient is exactly zero
    CUDA_CHECK(cudaMemsetAsync(dtheta, 0, (size_t)N * 6 * sizeof(float), stream()));
    return;
  }
  // gridDim.x allows 2^31-1 blocks: one per batch item is always launchable.
  affine_grid_backward_kernel<<<(unsigned)N, kGridReduceThreads, 0, stream()>>>(
      dgrid, dtheta, H, W, align_corners);
  NF_KERNEL_CHECK();
}

void grid_sample_forward(const float* x, const float* grid, float* y, int64_t N, int64_t C,
                         int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  const int64_t total = N * Ho * Wo;
  if (total == 0 || C == 0) return;
  grid_sample_forward_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, grid, y, N, C, H, W,
                                                                          Ho, Wo);
  NF_KERNEL_CHECK();
}

void grid_sample_backward(const float* x, const float* grid, const float* dy, float* dx,
                          float* dgrid, int64_t N, int64_t C, int64_t H, int64_t W, int64_t Ho,
                          int64_t Wo) {
  const int64_t total = N * Ho * Wo;
  if (total == 0) return;
  grid_sample_backward_kernel<<<blocks_for(total), kThreads, 0, stream()>>>(x, grid, dy, dx, dgrid,
                                                                           N, C, H, W, Ho, Wo);
  NF_KERNEL_CHECK();
}

void rotation_theta_forward(const float* angles, float* theta, int64_t N) {
  if (N == 0) return;
  rotation_theta_forward_kernel<<<blocks_for(N), kThreads, 0, stream()>>>(angles, theta, N);
  NF_KERNEL_CHECK();
}

void rotation_theta_backward(const float* angles, const float* dtheta, float* dangles, int64_t N) {
  if (N == 0) return;
  rotation_theta_backward_kernel<<<blocks_for(N), kThreads, 0, stream()>>>(angles, dtheta,
                                                                           dangles, N);
  NF_KERNEL_CHECK();
}

void translation_theta_forward(const float* tx, const float* ty, float* theta, float sx, float sy,
                               int64_t N) {
  if (N == 0) return;
  translation_theta_forward_kernel<<<blocks_for(N), kThreads, 0, stream()>>>(tx, ty, theta, sx,
                                                                             sy, N);
  NF_KERNEL_CHECK();
}

void translation_theta_backward(const float* dtheta, float* dtx, float* dty, float sx, float sy,
                                int64_t N) {
  if (N == 0) return;
  translation_theta_backward_kernel<<<blocks_for(N), kThreads, 0, stream()>>>(dtheta, dtx, dty,
                                                                              sx, sy, N);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
