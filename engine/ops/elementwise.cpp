// elementwise.cpp — Tensor-level elementwise ops: checks, broadcasting, dispatch, and the
// backward closures beside their forwards.
#include "engine/ops/elementwise.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/basic.h"
#include "engine/ops/reduce_kernels.h"

namespace nanofed {
namespace {

const float* f32_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

void check_f32_pair(const char* op, const Tensor& a, const Tensor& b) {
  check_defined(op, a, "a");
  check_defined(op, b, "b");
  check_same_device(op, a, b);
  check_dtype(op, a, DType::f32, "a");
  check_dtype(op, b, DType::f32, "b");
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

// ---------------------------------------------------------------- binary
Tensor binary_forward(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  check_f32_pair(name, a, b);
  Shape out_shape = broadcast_shapes(name, a.shape(), b.shape());
  Tensor out = empty(out_shape, a.device());
  BroadcastIndex index = make_broadcast_index(name, out_shape, {a.shape(), b.shape()});
  NF_DISPATCH(a.device(), binary_f32, op, a.data<float>(), b.data<float>(), out.data<float>(),
              index, out.numel());
  return out;
}

// g * d(op)/d(a or b) at the output shape, summed back to `target` shape.
Tensor binary_partial(BinaryGradOp op, const Tensor& g, const Tensor& a, const Tensor& b,
                      const Shape& target) {
  Tensor full_grad = empty(g.shape(), g.device());
  BroadcastIndex index =
      make_broadcast_index("backward", g.shape(), {g.shape(), a.shape(), b.shape()});
  NF_DISPATCH(g.device(), binary_backward_f32, op, g.data<float>(), a.data<float>(),
              b.data<float>(), full_grad.data<float>(), index, g.numel());
  return sum_to_shape(full_grad, target);
}

// Ops whose partials read both inputs: mul, div, maximum, minimum, pow.
Tensor binary_with_partials(const char* name, BinaryOp op, BinaryGradOp grad_a,
                            BinaryGradOp grad_b, const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(name, op, a, b);
  if (!needs_tape({a, b})) return out;
  Tensor a_saved = a.detach(), b_saved = b.detach();
  return record(name, out, {a, b},
                [=](const Tensor& g, Grads& grads) {
                  if (grads.wants(0))
                    grads.set(0, binary_partial(grad_a, g, a_saved, b_saved, a_saved.shape()));
                  if (grads.wants(1))
                    grads.set(1, binary_partial(grad_b, g, a_saved, b_saved, b_saved.shape()));
                });
}

// ---------------------------------------------------------------- unary
bool grad_reads_input(UnaryOp op) {
  switch (op) {
    case UnaryOp::log: case UnaryOp::abs: case UnaryOp::relu: case UnaryOp::leaky_relu:
    case UnaryOp::clamp: case UnaryOp::rdiv_scalar: case UnaryOp::pow_scalar:
      return true;
    default:
      return false;
  }
}
bool grad_reads_output(UnaryOp op) {
  return op == UnaryOp::exp || op == UnaryOp::sqrt || op == UnaryOp::sigmoid ||
         op == UnaryOp::tanh;
}

Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, float p0 = 0.f, float p1 = 0.f) {
  check_defined(name, x);
  check_dtype(name, x, DType::f32);
  Tensor out = empty(x.shape(), x.device());
  NF_DISPATCH(x.device(), unary_f32, op, x.data<float>(), out.data<float>(), x.numel(), p0, p1);
  if (!needs_tape({x})) return out;
  Tensor x_saved = grad_reads_input(op) ? x.detach() : Tensor();
  Tensor y_saved = grad_reads_output(op) ? out.detach() : Tensor();
  return record(name, out, {x}, [=](const Tensor& g, Grads& grads) {
    Tensor gx = empty(g.shape(), g.device());
    NF_DISPATCH(g.device(), unary_backward_f32, op, f32_or_null(x_saved), f32_or_null(y_saved),
                g.data<float>(), gx.data<float>(), g.numel(), p0, p1);
    grads.set(0, gx);
  });
}

// ---------------------------------------------------------------- comparisons
Tensor compare_op(const char* name, CompareOp op, const Tensor& a, const Tensor& b) {
  check_defined(name, a, "a");
  check_defined(name, b, "b");
  check_same_device(name, a, b);
  NF_CHECK(a.dtype() == b.dtype(), name << ": dtypes " << dtype_name(a.dtype()) << " and "
                                        << dtype_name(b.dtype()) << " differ (shapes "
                                        << shape_str(a.shape()) << " and "
                                        << shape_str(b.shape()) << ")");
  Shape out_shape = broadcast_shapes(name, a.shape(), b.shape());
  Tensor out = empty(out_shape, a.device(), DType::u8);
  BroadcastIndex index = make_broadcast_index(name, out_shape, {a.shape(), b.shape()});
  uint8_t* y = out.data<uint8_t>();
  int64_t n = out.numel();
  switch (a.dtype()) {
    case DType::f32:
      NF_DISPATCH(a.device(), compare, op, a.data<float>(), b.data<float>(), y, index, n);
      break;
    case DType::i32:
      NF_DISPATCH(a.device(), compare, op, a.data<int32_t>(), b.data<int32_t>(), y, index, n);
      break;
    case DType::u8:
      NF_DISPATCH(a.device(), compare, op, a.data<uint8_t>(), b.data<uint8_t>(), y, index, n);
      break;
  }
  return out;
}

Tensor compare_scalar(const char* name, CompareOp op, const Tensor& a, float s) {
  check_defined(name, a, "a");
  Tensor values = a.dtype() == DType::f32 ? a : cast(a, DType::f32);
  return compare_op(name, op, values, full({}, s, a.device()));
}

// A run of neighbouring dims of a contiguous grad that sum_to_shape keeps or sums.
struct DimRun {
  bool kept;
  int64_t size;
  int64_t stride;
};

}  // namespace

// ---------------------------------------------------------------- broadcasting helpers
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {  // i counts from the last dim
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    NF_CHECK(da == db || da == 1 || db == 1,
             op << ": shapes " << shape_str(a) << " and " << shape_str(b)
                << " cannot be broadcast (dim -" << (i + 1) << ": " << da << " vs " << db
                << ")");
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

BroadcastIndex make_broadcast_index(const char* op, const Shape& out,
                                    const std::vector<Shape>& operands) {
  const size_t rank = out.size(), nops = operands.size();
  NF_CHECK(nops >= 1 && nops <= (size_t)kMaxBroadcastOperands,
           op << ": " << nops << " broadcast operands (1 to 3 supported)");
  // per-operand strides over out's dims, 0 where the operand is stretched
  std::vector<Shape> strides(nops, Shape(rank, 0));
  for (size_t k = 0; k < nops; ++k) {
    const Shape& s = operands[k];
    NF_CHECK(s.size() <= rank, op << ": shape " << shape_str(s) << " cannot be broadcast to "
                                  << shape_str(out));
    Shape own = contiguous_strides(s);
    size_t lead = rank - s.size();
    for (size_t d = 0; d < s.size(); ++d) {
      NF_CHECK(s[d] == out[lead + d] || s[d] == 1,
               op << ": shape " << shape_str(s) << " cannot be broadcast to " << shape_str(out));
      strides[k][lead + d] = s[d] == 1 ? 0 : own[d];
    }
  }
  // drop size-1 dims; merge a dim into the previous one when every operand walks them as one
  Shape shape;
  std::vector<Shape> merged(nops);
  for (size_t d = 0; d < rank; ++d) {
    if (out[d] == 1) continue;
    bool mergeable = !shape.empty();
    for (size_t k = 0; k < nops && mergeable; ++k)
      mergeable = merged[k].back() == strides[k][d] * out[d];
    if (mergeable) {
      shape.back() *= out[d];
      for (size_t k = 0; k < nops; ++k) merged[k].back() = strides[k][d];
    } else {
      shape.push_back(out[d]);
      for (size_t k = 0; k < nops; ++k) merged[k].push_back(strides[k][d]);
    }
  }
  NF_CHECK(shape.size() <= (size_t)kMaxBroadcastDims,
           op << ": broadcasting to " << shape_str(out) << " needs " << shape.size()
              << " dims after merging (at most " << kMaxBroadcastDims << ")");
  BroadcastIndex index;
  if (shape.empty()) return index;  // a single element: ndim 1, size 1, strides 0
  index.ndim = (int)shape.size();
  for (size_t d = 0; d < shape.size(); ++d) {
    index.shape[d] = shape[d];
    for (size_t k = 0; k < nops; ++k) index.strides[k][d] = merged[k][d];
  }
  return index;
}

Tensor sum_to_shape(const Tensor& grad, const Shape& shape) {
  const char* op = "sum_to_shape";
  check_defined(op, grad, "grad");
  check_dtype(op, grad, DType::f32, "grad");
  const Shape& gshape = grad.shape();
  NF_CHECK(shape.size() <= gshape.size() && broadcast_shapes(op, shape, gshape) == gshape,
           op << ": shape " << shape_str(shape) << " does not broadcast to grad "
              << shape_str(gshape));
  if (shape_numel(shape) == grad.numel()) return grad.reshape(shape);  // nothing to sum

  // runs of kept / summed dims (size-1 dims of grad dropped; grad is contiguous, so
  // neighbouring dims of the same kind merge into one)
  std::vector<DimRun> runs;
  Shape gstrides = contiguous_strides(gshape);
  size_t lead = gshape.size() - shape.size();
  for (size_t d = 0; d < gshape.size(); ++d) {
    if (gshape[d] == 1) continue;
    bool kept = d >= lead && shape[d - lead] == gshape[d];
    if (!runs.empty() && runs.back().kept == kept) {
      runs.back().size *= gshape[d];
      runs.back().stride = gstrides[d];
    } else {
      runs.push_back({kept, gshape[d], gstrides[d]});
    }
  }
  Tensor out = empty(shape, grad.device());
  int summed_runs = 0;
  for (const DimRun& run : runs) summed_runs += run.kept ? 0 : 1;
  if (summed_runs == 1) {  // [outer, r, inner]: the block reduction
    ReduceGeometry geo;
    bool before = true;
    for (const DimRun& run : runs) {
      if (!run.kept) { geo.r = run.size; before = false; }
      else if (before) geo.outer *= run.size;
      else geo.inner *= run.size;
    }
    NF_DISPATCH(grad.device(), reduce_sum_f32, grad.data<float>(), out.data<float>(), geo.outer,
                geo.r, geo.inner, false, 1.0f);
  } else {  // interleaved summed dims: one output element per thread
    SumToIndex index;
    for (const DimRun& run : runs) {
      int& nd = run.kept ? index.kept_ndim : index.red_ndim;
      NF_CHECK(nd < kMaxBroadcastDims, op << ": grad " << shape_str(gshape) << " to "
                                          << shape_str(shape) << " needs more than "
                                          << kMaxBroadcastDims << " dims");
      (run.kept ? index.kept_shape : index.red_shape)[nd] = run.size;
      (run.kept ? index.kept_stride : index.red_stride)[nd] = run.stride;
      ++nd;
      if (!run.kept) index.red_count *= run.size;
    }
    NF_DISPATCH(grad.device(), sum_to_shape_f32, grad.data<float>(), out.data<float>(), index,
                out.numel());
  }
  return record(op, out, {grad}, [gshape](const Tensor& g, Grads& grads) {
    grads.set(0, broadcast_to(g, gshape));
  });
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  const char* op = "broadcast_to";
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
  NF_CHECK(x.dim() <= (int64_t)shape.size() && broadcast_shapes(op, x.shape(), shape) == shape,
           op << ": shape " << shape_str(x.shape()) << " cannot be broadcast to "
              << shape_str(shape));
  if (x.shape() == shape) return x;
  Tensor out = empty(shape, x.device());
  BroadcastIndex index = make_broadcast_index(op, shape, {x.shape()});
  NF_DISPATCH(x.device(), expand_f32, x.data<float>(), out.data<float>(), index, out.numel());
  Shape xshape = x.shape();
  return record(op, out, {x}, [xshape](const Tensor& g, Grads& grads) {
    grads.set(0, sum_to_shape(g, xshape));
  });
}

// ---------------------------------------------------------------- binary ops
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("add", BinaryOp::add, a, b);
  Shape as = a.shape(), bs = b.shape();
  return record("add", out, {a, b}, [as, bs](const Tensor& g, Grads& grads) {
    if (grads.wants(0)) grads.set(0, sum_to_shape(g, as));
    if (grads.wants(1)) grads.set(1, sum_to_shape(g, bs));
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", BinaryOp::sub, a, b);
  Shape as = a.shape(), bs = b.shape();
  return record("sub", out, {a, b}, [as, bs](const Tensor& g, Grads& grads) {
    if (grads.wants(0)) grads.set(0, sum_to_shape(g, as));
    if (grads.wants(1)) grads.set(1, neg(sum_to_shape(g, bs)));
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_with_partials("mul", BinaryOp::mul, BinaryGradOp::mul_a, BinaryGradOp::mul_b, a,
                              b);
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary_with_partials("div", BinaryOp::div, BinaryGradOp::div_a, BinaryGradOp::div_b, a,
                              b);
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_with_partials("maximum", BinaryOp::maximum, BinaryGradOp::maximum_a,
                              BinaryGradOp::maximum_b, a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_with_partials("minimum", BinaryOp::minimum, BinaryGradOp::minimum_a,
                              BinaryGradOp::minimum_b, a, b);
}
Tensor pow(const Tensor& base, const Tensor& exponent) {
  return binary_with_partials("pow", BinaryOp::pow, BinaryGradOp::pow_a, BinaryGradOp::pow_b,
                              base, exponent);
}

// ---------------------------------------------------------------- scalar forms
Tensor add(const Tensor& x, float s) { return unary_op("add", UnaryOp::add_scalar, x, s); }
Tensor sub(const Tensor& x, float s) { return unary_op("sub", UnaryOp::add_scalar, x, -s); }
Tensor sub(float s, const Tensor& x) { return unary_op("sub", UnaryOp::rsub_scalar, x, s); }
Tensor mul(const Tensor& x, float s) { return unary_op("mul", UnaryOp::mul_scalar, x, s); }
Tensor div(const Tensor& x, float s) { return unary_op("div", UnaryOp::div_scalar, x, s); }
Tensor div(float s, const Tensor& x) { return unary_op("div", UnaryOp::rdiv_scalar, x, s); }
Tensor pow(const Tensor& x, float exponent) {
  return unary_op("pow", UnaryOp::pow_scalar, x, exponent);
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& x, float s) { return add(x, s); }
Tensor operator+(float s, const Tensor& x) { return add(x, s); }
Tensor operator-(const Tensor& x, float s) { return sub(x, s); }
Tensor operator-(float s, const Tensor& x) { return sub(s, x); }
Tensor operator*(const Tensor& x, float s) { return mul(x, s); }
Tensor operator*(float s, const Tensor& x) { return mul(x, s); }
Tensor operator/(const Tensor& x, float s) { return div(x, s); }
Tensor operator/(float s, const Tensor& x) { return div(s, x); }
Tensor operator-(const Tensor& x) { return neg(x); }

// ---------------------------------------------------------------- unary ops
Tensor neg(const Tensor& x) { return unary_op("neg", UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary_op("exp", UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary_op("log", UnaryOp::log, x); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", UnaryOp::sqrt, x); }
Tensor abs(const Tensor& x) { return unary_op("abs", UnaryOp::abs, x); }
Tensor sign(const Tensor& x) { return unary_op("sign", UnaryOp::sign, x); }
Tensor relu(const Tensor& x) { return unary_op("relu", UnaryOp::relu, x); }
Tensor leaky_relu(const Tensor& x, float negative_slope) {
  return unary_op("leaky_relu", UnaryOp::leaky_relu, x, negative_slope);
}
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", UnaryOp::sigmoid, x); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", UnaryOp::tanh, x); }
Tensor clamp(const Tensor& x, float lo, float hi) {
  return unary_op("clamp", UnaryOp::clamp, x, lo, hi);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const char* op = "where";
  check_defined(op, cond, "cond");
  check_f32_pair(op, a, b);
  check_same_device(op, cond, a);
  NF_CHECK(cond.dtype() == DType::u8 || cond.dtype() == DType::f32,
           op << ": cond " << shape_str(cond.shape()) << " has dtype "
              << dtype_name(cond.dtype()) << " (u8 or f32 expected)");
  Tensor mask = cond.dtype() == DType::u8 ? cond : ne(cond, 0.0f);
  Shape ab_shape = broadcast_shapes(op, a.shape(), b.shape());
  Shape out_shape = broadcast_shapes(op, mask.shape(), ab_shape);
  Tensor out = empty(out_shape, a.device());
  BroadcastIndex index = make_broadcast_index(op, out_shape, {mask.shape(), a.shape(), b.shape()});
  NF_DISPATCH(a.device(), where_f32, mask.data<uint8_t>(), a.data<float>(), b.data<float>(),
              out.data<float>(), index, out.numel());
  Shape as = a.shape(), bs = b.shape();
  return record(op, out, {a, b}, [mask, as, bs](const Tensor& g, Grads& grads) {
    Tensor zero = zeros({}, g.device());
    if (grads.wants(0)) grads.set(0, sum_to_shape(where(mask, g, zero), as));
    if (grads.wants(1)) grads.set(1, sum_to_shape(where(mask, zero, g), bs));
  });
}

// ---------------------------------------------------------------- comparisons, cast
Tensor eq(const Tensor& a, const Tensor& b) { return compare_op("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare_op("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare_op("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare_op("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare_op("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare_op("ge", CompareOp::ge, a, b); }
Tensor eq(const Tensor& a, float s) { return compare_scalar("eq", CompareOp::eq, a, s); }
Tensor ne(const Tensor& a, float s) { return compare_scalar("ne", CompareOp::ne, a, s); }
Tensor lt(const Tensor& a, float s) { return compare_scalar("lt", CompareOp::lt, a, s); }
Tensor le(const Tensor& a, float s) { return compare_scalar("le", CompareOp::le, a, s); }
Tensor gt(const Tensor& a, float s) { return compare_scalar("gt", CompareOp::gt, a, s); }
Tensor ge(const Tensor& a, float s) { return compare_scalar("ge", CompareOp::ge, a, s); }

Tensor cast(const Tensor& x, DType dtype) {
  check_defined("cast", x);
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.shape(), x.device(), dtype);
  NF_DISPATCH(x.device(), cast_dtype, x.raw_data(), x.dtype(), out.raw_data(), dtype, x.numel());
  return out;
}

// ---------------------------------------------------------------- in-place helpers
Tensor& add_(Tensor& y, const Tensor& x, float alpha) {
  check_f32_pair("add_", y, x);
  NF_CHECK(y.shape() == x.shape(), "add_: shapes " << shape_str(y.shape()) << " and "
                                                   << shape_str(x.shape()) << " differ");
  NF_DISPATCH(y.device(), axpy_f32, alpha, x.data<float>(), y.data<float>(), y.numel());
  return y;
}

Tensor& mul_(Tensor& y, float s) {
  check_defined("mul_", y);
  check_dtype("mul_", y, DType::f32);
  NF_DISPATCH(y.device(), affine_inplace_f32, y.data<float>(), s, 0.0f, y.numel());
  return y;
}

}  // namespace nanofed
