// pool.cpp — Tensor-level pooling ops: checks, allocation, dispatch, backward closures.
#include "engine/ops/pool.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace nanofed {

namespace {

// Validates x and the window, resolves stride 0 -> kernel, computes the output size.
Pool2dGeom pool_geometry(const char* op, const Tensor& x, PoolSize kernel, PoolSize stride,
                         PoolSize padding) {
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
  NF_CHECK(x.dim() == 4, op << ": expected a 4-D input [N, C, H, W], got " << shape_str(x.shape()));
  NF_CHECK(kernel.h > 0 && kernel.w > 0,
           op << ": kernel must be positive, got (" << kernel.h << ", " << kernel.w << ")");
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  NF_CHECK(stride.h > 0 && stride.w > 0,
           op << ": stride must be positive, got (" << stride.h << ", " << stride.w << ")");
  NF_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h <= kernel.h / 2 &&
               padding.w <= kernel.w / 2,
           op << ": padding (" << padding.h << ", " << padding.w
              << ") must be non-negative and at most half of kernel (" << kernel.h << ", "
              << kernel.w << ")");
  Pool2dGeom g;
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.kh = kernel.h, g.kw = kernel.w, g.sh = stride.h, g.sw = stride.w;
  g.ph = padding.h, g.pw = padding.w;
  const int64_t span_h = g.H + 2 * g.ph - g.kh, span_w = g.W + 2 * g.pw - g.kw;
  NF_CHECK(span_h >= 0 && span_w >= 0,
           op << ": input " << shape_str(x.shape()) << " with padding (" << g.ph << ", " << g.pw
              << ") is smaller than kernel (" << g.kh << ", " << g.kw << ")");
  g.OH = span_h / g.sh + 1;
  g.OW = span_w / g.sw + 1;
  NF_CHECK(g.H * g.W <= INT32_MAX, op << ": plane " << g.H << "x" << g.W
                                      << " too large for i32 indices");
  return g;
}

}  // namespace

namespace {

// The forward of both max_pool2d entry points. The argmax indices are written only when
// `keep_indices` (a backward or the caller will read them): not under NoGrad, e.g. in
// evaluation and certification.
std::pair<Tensor, Tensor> max_pool2d_impl(const Tensor& x, const Pool2dGeom& g, bool keep_indices) {
  const Device dev = x.device();
  Tensor y = empty({g.N, g.C, g.OH, g.OW}, dev);
  Tensor idx;
  if (keep_indices) idx = empty({g.N, g.C, g.OH, g.OW}, dev, DType::i32);
  NF_DISPATCH(dev, max_pool2d_forward, x.data<float>(), y.data<float>(),
              keep_indices ? idx.data<int32_t>() : nullptr, g);
  if (!keep_indices) return {y, idx};
  y = record("max_pool2d", y, {x}, [g, idx, dev](const Tensor& dy, Grads& grads) {
    if (!grads.wants(0)) return;
    Tensor dx = empty({g.N, g.C, g.H, g.W}, dev);
    NF_DISPATCH(dev, max_pool2d_backward, dy.data<float>(), idx.data<int32_t>(),
                dx.data<float>(), g);
    grads.set(0, dx);
  });
  return {y, idx};
}

}  // namespace

std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, PoolSize kernel,
                                                  PoolSize stride, PoolSize padding) {
  const Pool2dGeom g = pool_geometry("max_pool2d", x, kernel, stride, padding);
  return max_pool2d_impl(x, g, /*keep_indices=*/true);
}

Tensor max_pool2d(const Tensor& x, PoolSize kernel, PoolSize stride, PoolSize padding) {
  const Pool2dGeom g = pool_geometry("max_pool2d", x, kernel, stride, padding);
  return max_pool2d_impl(x, g, /*keep_indices=*/needs_tape({x})).first;
}

Tensor avg_pool2d(const Tensor& x, PoolSize kernel, PoolSize stride, PoolSize padding,
                  bool count_include_pad) {
  const Pool2dGeom g = pool_geometry("avg_pool2d", x, kernel, stride, padding);
  const Device dev = x.device();
  Tensor y = empty({g.N, g.C, g.OH, g.OW}, dev);
  NF_DISPATCH(dev, avg_pool2d_forward, x.data<float>(), y.data<float>(), g, count_include_pad);
  return record("avg_pool2d", y, {x}, [g, dev, count_include_pad](const Tensor& dy, Grads& grads) {
    if (!grads.wants(0)) return;
    Tensor dx = empty({g.N, g.C, g.H, g.W}, dev);
    NF_DISPATCH(dev, avg_pool2d_backward, dy.data<float>(), dx.data<float>(), g,
                count_include_pad);
    grads.set(0, dx);
  });
}

Tensor global_avg_pool2d(const Tensor& x) {
  const char* op = "global_avg_pool2d";
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
  NF_CHECK(x.dim() == 4, op << ": expected a 4-D input [N, C, H, W], got " << shape_str(x.shape()));
  const int64_t N = x.size(0), C = x.size(1), hw = x.size(2) * x.size(3);
  NF_CHECK(hw > 0, op << ": empty spatial plane in input " << shape_str(x.shape()));
  const Device dev = x.device();
  const Shape in_shape = x.shape();
  Tensor y = empty({N, C}, dev);
  NF_DISPATCH(dev, global_avg_pool2d_forward, x.data<float>(), y.data<float>(), N * C, hw);
  return record(op, y, {x}, [in_shape, dev, N, C, hw](const Tensor& dy, Grads& grads) {
    if (!grads.wants(0)) return;
    Tensor dx = empty(in_shape, dev);
    NF_DISPATCH(dev, global_avg_pool2d_backward, dy.data<float>(), dx.data<float>(), N * C, hw);
    grads.set(0, dx);
  });
}

}  // namespace nanofed
