// warp.cpp — Tensor-level affine_grid / grid_sample / affine_warp and the theta builders.
#include "engine/ops/warp.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace nanofed {

namespace {

void check_theta(const char* op, const Tensor& theta) {
  check_defined(op, theta, "theta");
  check_dtype(op, theta, DType::f32, "theta");
  NF_CHECK(theta.dim() == 3 && theta.size(1) == 2 && theta.size(2) == 3,
           op << ": theta must have shape [N, 2, 3], got " << shape_str(theta.shape()));
}

void check_angles(const char* op, const Tensor& t, const char* arg) {
  check_defined(op, t, arg);
  check_dtype(op, t, DType::f32, arg);
  NF_CHECK(t.dim() == 1, op << ": " << arg << " must have shape [N], got " << shape_str(t.shape()));
}

}  // namespace

Tensor affine_grid(const Tensor& theta, const Shape& size, bool align_corners) {
  check_theta("affine_grid", theta);
  NF_CHECK(size.size() == 4, "affine_grid: size must be [N, C, H, W], got " << shape_str(size));
  NF_CHECK(size[0] == theta.size(0), "affine_grid: theta " << shape_str(theta.shape())
                                         << " has batch " << theta.size(0) << " but size "
                                         << shape_str(size) << " has batch " << size[0]);
  for (int64_t s : size)
    NF_CHECK(s >= 0, "affine_grid: negative size " << shape_str(size));
  const int64_t N = size[0], H = size[2], W = size[3];
  Device dev = theta.device();
  Tensor grid = empty({N, H, W, 2}, dev);
  NF_DISPATCH(dev, affine_grid_forward, theta.data<float>(), grid.data<float>(), N, H, W,
              align_corners);

  return record("affine_grid", grid, {theta},
                [N, H, W, align_corners, dev](const Tensor& dgrid, Grads& grads) {
                  if (!grads.wants(0)) return;
                  Tensor dtheta = empty({N, 2, 3}, dev);
                  NF_DISPATCH(dev, affine_grid_backward, dgrid.data<float>(),
                              dtheta.data<float>(), N, H, W, align_corners);
                  grads.set(0, dtheta);
                });
}

Tensor grid_sample(const Tensor& x, const Tensor& grid) {
  check_defined("grid_sample", x, "input");
  check_defined("grid_sample", grid, "grid");
  check_dtype("grid_sample", x, DType::f32, "input");
  check_dtype("grid_sample", grid, DType::f32, "grid");
  check_same_device("grid_sample", x, grid);
  NF_CHECK(x.dim() == 4,
           "grid_sample: input must be [N, C, H, W], got " << shape_str(x.shape()));
  NF_CHECK(grid.dim() == 4 && grid.size(3) == 2,
           "grid_sample: grid must be [N, Ho, Wo, 2], got " << shape_str(grid.shape()));
  NF_CHECK(grid.size(0) == x.size(0), "grid_sample: input " << shape_str(x.shape())
                                          << " and grid " << shape_str(grid.shape())
                                          << " have different batch sizes");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t Ho = grid.size(1), Wo = grid.size(2);
  Device dev = x.device();
  Tensor y = empty({N, C, Ho, Wo}, dev);
  NF_DISPATCH(dev, grid_sample_forward, x.data<float>(), grid.data<float>(), y.data<float>(), N,
              C, H, W, Ho, Wo);

  Tensor xs = x.detach(), gs = grid.detach();
  return record("grid_sample", y, {x, grid},
                [xs, gs, N, C, H, W, Ho, Wo, dev](const Tensor& dy, Grads& grads) {
                  Tensor dx, dgrid;
                  if (grads.wants(0)) dx = zeros({N, C, H, W}, dev);
                  if (grads.wants(1)) dgrid = empty({N, Ho, Wo, 2}, dev);
                  if (!dx.defined() && !dgrid.defined()) return;
                  NF_DISPATCH(dev, grid_sample_backward, xs.data<float>(), gs.data<float>(),
                              dy.data<float>(), dx.defined() ? dx.data<float>() : nullptr,
                              dgrid.defined() ? dgrid.data<float>() : nullptr, N, C, H, W, Ho,
                              Wo);
                  if (dx.defined()) grads.set(0, dx);
                  if (dgrid.defined()) grads.set(1, dgrid);
                });
}

Tensor affine_warp(const Tensor& x, const Tensor& theta, bool align_corners) {
  check_defined("affine_warp", x, "input");
  check_theta("affine_warp", theta);
  NF_CHECK(x.dim() == 4,
           "affine_warp: input must be [N, C, H, W], got " << shape_str(x.shape()));
  NF_CHECK(theta.size(0) == x.size(0), "affine_warp: input " << shape_str(x.shape())
                                           << " and theta " << shape_str(theta.shape())
                                           << " have different batch sizes");
  check_same_device("affine_warp", x, theta);
  return grid_sample(x, affine_grid(theta, x.shape(), align_corners));
}

Tensor rotation_theta(const Tensor& angles) {
  check_angles("rotation_theta", angles, "angles");
  const int64_t N = angles.size(0);
  Device dev = angles.device();
  Tensor theta = empty({N, 2, 3}, dev);
  NF_DISPATCH(dev, rotation_theta_forward, angles.data<float>(), theta.data<float>(), N);

  Tensor as = angles.detach();
  return record("rotation_theta", theta, {angles},
                [as, N, dev](const Tensor& dtheta, Grads& grads) {
                  if (!grads.wants(0)) return;
                  Tensor dangles = empty({N}, dev);
                  NF_DISPATCH(dev, rotation_theta_backward, as.data<float>(),
                              dtheta.data<float>(), dangles.data<float>(), N);
                  grads.set(0, dangles);
                });
}

Tensor translation_theta(const Tensor& tx, const Tensor& ty, int64_t height, int64_t width) {
  check_angles("translation_theta", tx, "tx");
  check_angles("translation_theta", ty, "ty");
  check_same_device("translation_theta", tx, ty);
  NF_CHECK(tx.size(0) == ty.size(0), "translation_theta: tx " << shape_str(tx.shape())
                                         << " and ty " << shape_str(ty.shape())
                                         << " have different lengths");
  NF_CHECK(height > 0 && width > 0, "translation_theta: image size must be positive, got height "
                                        << height << ", width " << width);
  const int64_t N = tx.size(0);
  // Pixels -> normalized units (the image spans 2 units), negated because theta maps output
  // coordinates to input coordinates: content moving by +t means sampling at p - t.
  const float sx = -2.0f / (float)width, sy = -2.0f / (float)height;
  Device dev = tx.device();
  Tensor theta = empty({N, 2, 3}, dev);
  NF_DISPATCH(dev, translation_theta_forward, tx.data<float>(), ty.data<float>(),
              theta.data<float>(), sx, sy, N);

  return record("translation_theta", theta, {tx, ty},
                [N, sx, sy, dev](const Tensor& dtheta, Grads& grads) {
                  Tensor dtx, dty;
                  if (grads.wants(0)) dtx = empty({N}, dev);
                  if (grads.wants(1)) dty = empty({N}, dev);
                  if (!dtx.defined() && !dty.defined()) return;
                  NF_DISPATCH(dev, translation_theta_backward, dtheta.data<float>(),
                              dtx.defined() ? dtx.data<float>() : nullptr,
                              dty.defined() ? dty.data<float>() : nullptr, sx, sy, N);
                  if (dtx.defined()) grads.set(0, dtx);
                  if (dty.defined()) grads.set(1, dty);
                });
}

}  // namespace nanofed
