// reduce.cpp — Tensor-level reductions: shapes, dispatch, and backward closures.
#include "engine/ops/reduce.h"

#include <cstdint>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/elementwise.h"

namespace nanofed {
namespace {

void check_input(const char* op, const Tensor& x) {
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
}

// The output shape of reducing `dim`: dropped, or kept as 1.
Shape reduced_shape(const Shape& shape, int64_t dim, bool keepdim) {
  Shape out = shape;
  if (keepdim) out[dim] = 1;
  else out.erase(out.begin() + dim);
  return out;
}

Shape keepdim_shape(const Shape& shape, int64_t dim) { return reduced_shape(shape, dim, true); }

// Sum of (square ? x^2 : x) over geo.r, times scale, written as out_shape.
Tensor sum_forward(const Tensor& x, const ReduceGeometry& geo, const Shape& out_shape,
                   bool square, float scale) {
  Tensor out = empty(out_shape, x.device());
  NF_DISPATCH(x.device(), reduce_sum_f32, x.data<float>(), out.data<float>(), geo.outer, geo.r,
              geo.inner, square, scale);
  return out;
}

// sum / mean: the gradient broadcast back over the reduced dim (times scale).
Tensor sum_like(const char* op, const Tensor& x, const ReduceGeometry& geo, const Shape& out_shape,
                const Shape& grad_shape, float scale) {
  Tensor out = sum_forward(x, geo, out_shape, false, scale);
  Shape xshape = x.shape();
  return record(op, out, {x}, [xshape, grad_shape, scale](const Tensor& g, Grads& grads) {
    Tensor gs = scale == 1.0f ? g : mul(g, scale);
    grads.set(0, broadcast_to(gs.reshape(grad_shape), xshape));
  });
}

// max values and argmax indices over geo.r.
std::pair<Tensor, Tensor> max_forward(const char* op, const Tensor& x, const ReduceGeometry& geo,
                                      const Shape& out_shape) {
  NF_CHECK(geo.r > 0, op << ": cannot take the max of an empty dim of " << shape_str(x.shape()));
  Tensor values = empty(out_shape, x.device());
  Tensor indices = empty(out_shape, x.device(), DType::i32);
  NF_DISPATCH(x.device(), reduce_max_f32, x.data<float>(), values.data<float>(),
              indices.data<int32_t>(), geo.outer, geo.r, geo.inner);
  return {values, indices};
}

Tensor max_with_grad(const char* op, const Tensor& x, const ReduceGeometry& geo,
                     const Shape& out_shape) {
  auto [values, indices] = max_forward(op, x, geo, out_shape);
  Shape xshape = x.shape();
  // indices = indices: clang before 16 cannot capture a structured binding (make fuzz uses clang).
  return record(op, values, {x}, [xshape, geo, indices = indices](const Tensor& g, Grads& grads) {
    Tensor gx = empty(xshape, g.device());
    NF_DISPATCH(g.device(), max_backward_f32, g.data<float>(), indices.data<int32_t>(),
                gx.data<float>(), geo.outer, geo.r, geo.inner);
    grads.set(0, gx);
  });
}

Tensor norm_with_grad(const char* op, const Tensor& x, const ReduceGeometry& geo,
                      const Shape& out_shape) {
  Tensor out = sum_forward(x, geo, out_shape, true, 1.0f);
  float* y = out.data<float>();
  NF_DISPATCH(x.device(), unary_f32, UnaryOp::sqrt, y, y, out.numel(), 0.f, 0.f);  // in place
  if (!needs_tape({x})) return out;
  Tensor x_saved = x.detach(), norm_saved = out.detach();
  return record(op, out, {x}, [x_saved, norm_saved, geo](const Tensor& g, Grads& grads) {
    Tensor gx = empty(x_saved.shape(), g.device());
    NF_DISPATCH(g.device(), norm_backward_f32, x_saved.data<float>(), g.data<float>(),
                norm_saved.data<float>(), gx.data<float>(), geo.outer, geo.r, geo.inner);
    grads.set(0, gx);
  });
}

ReduceGeometry full_geometry(const Tensor& x) { return {1, x.numel(), 1}; }

}  // namespace

ReduceGeometry reduce_geometry(const Shape& shape, int64_t dim) {
  ReduceGeometry geo;
  for (int64_t d = 0; d < (int64_t)shape.size(); ++d) {
    if (d < dim) geo.outer *= shape[d];
    else if (d == dim) geo.r = shape[d];
    else geo.inner *= shape[d];
  }
  return geo;
}

Tensor sum(const Tensor& x) {
  check_input("sum", x);
  return sum_like("sum", x, full_geometry(x), {}, {}, 1.0f);
}

Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  check_input("sum", x);
  dim = normalize_dim(dim, x.dim(), "sum");
  return sum_like("sum", x, reduce_geometry(x.shape(), dim), reduced_shape(x.shape(), dim, keepdim),
                  keepdim_shape(x.shape(), dim), 1.0f);
}

Tensor mean(const Tensor& x) {
  check_input("mean", x);
  return sum_like("mean", x, full_geometry(x), {}, {}, 1.0f / (float)x.numel());
}

Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  check_input("mean", x);
  dim = normalize_dim(dim, x.dim(), "mean");
  ReduceGeometry geo = reduce_geometry(x.shape(), dim);
  return sum_like("mean", x, geo, reduced_shape(x.shape(), dim, keepdim),
                  keepdim_shape(x.shape(), dim), 1.0f / (float)geo.r);
}

Tensor max(const Tensor& x) {
  check_input("max", x);
  return max_with_grad("max", x, full_geometry(x), {});
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  check_input("max", x);
  dim = normalize_dim(dim, x.dim(), "max");
  return max_with_grad("max", x, reduce_geometry(x.shape(), dim),
                       reduced_shape(x.shape(), dim, keepdim));
}

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  check_input("argmax", x);
  dim = normalize_dim(dim, x.dim(), "argmax");
  return max_forward("argmax", x, reduce_geometry(x.shape(), dim),
                     reduced_shape(x.shape(), dim, keepdim))
      .second;
}

Tensor norm(const Tensor& x) {
  check_input("norm", x);
  return norm_with_grad("norm", x, full_geometry(x), {});
}

Tensor norm(const Tensor& x, int64_t dim, bool keepdim) {
  check_input("norm", x);
  dim = normalize_dim(dim, x.dim(), "norm");
  return norm_with_grad("norm", x, reduce_geometry(x.shape(), dim),
                        reduced_shape(x.shape(), dim, keepdim));
}

Tensor bincount(const Tensor& x, int64_t minlength) {
  check_defined("bincount", x);
  check_dtype("bincount", x, DType::i32);
  NF_CHECK(x.dim() == 1, "bincount: input must be 1-D [n], got " << shape_str(x.shape()));
  NF_CHECK(minlength >= 1 && minlength <= INT32_MAX,
           "bincount: minlength must be in [1, 2^31), got " << minlength);
  NF_CHECK(x.numel() <= INT32_MAX, "bincount: " << x.numel() << " values overflow i32 counts");
  if (x.device().is_cpu()) {  // the GPU does not check (no host sync), see reduce.h
    const int32_t* v = x.data<int32_t>();
    for (int64_t i = 0; i < x.numel(); ++i)
      NF_CHECK(v[i] >= 0 && v[i] < minlength, "bincount: value " << v[i] << " at position " << i
                                                  << " is outside [0, " << minlength << ")");
  }
  Tensor counts = empty({minlength}, x.device(), DType::i32);
  NF_DISPATCH(x.device(), bincount_i32, x.data<int32_t>(), counts.data<int32_t>(), x.numel(),
              minlength);
  return counts;
}

}  // namespace nanofed
