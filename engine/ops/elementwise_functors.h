// elementwise_functors.h — the math of every elementwise op, written once and compiled for
// both the CPU reference (elementwise_cpu.cpp) and the CUDA kernels (elementwise.cu), plus the
// broadcast index arithmetic. Internal to the elementwise family (and reduce).
//
// visit_*(op, ..., fn) maps a runtime op enum to its functor and calls fn(functor): the
// kernels are templates on the functor, the enum only picks which instantiation runs.
#pragma once
#include <math.h>

#include <cstdint>

#include "engine/hd.h"
#include "engine/ops/elementwise_kernels.h"

namespace nanofed::ew {

// Element offsets of output element i in each of the first NOps operands.
template <int NOps>
NF_HD void broadcast_offsets(const BroadcastIndex& bi, int64_t i, int64_t (&off)[NOps]) {
  if (bi.ndim == 1) {  // the common case: same shapes, or a scalar against a tensor
    for (int k = 0; k < NOps; ++k) off[k] = i * bi.strides[k][0];
    return;
  }
  for (int k = 0; k < NOps; ++k) off[k] = 0;
  for (int d = bi.ndim - 1; d >= 0; --d) {
    int64_t c = i % bi.shape[d];
    i /= bi.shape[d];
    for (int k = 0; k < NOps; ++k) off[k] += c * bi.strides[k][d];
  }
}

// Sum of the preimage of output element k (sum_to_shape's general case). Accumulates in Acc.
template <typename Acc>
NF_HD float sum_preimage(const float* g, const SumToIndex& si, int64_t k) {
  int64_t base = 0;
  for (int d = si.kept_ndim - 1; d >= 0; --d) {
    base += (k % si.kept_shape[d]) * si.kept_stride[d];
    k /= si.kept_shape[d];
  }
  Acc acc = 0;
  for (int64_t r = 0; r < si.red_count; ++r) {
    int64_t off = base, rem = r;
    for (int d = si.red_ndim - 1; d >= 0; --d) {
      off += (rem % si.red_shape[d]) * si.red_stride[d];
      rem /= si.red_shape[d];
    }
    acc += (Acc)g[off];
  }
  return (float)acc;
}

// ---------------------------------------------------------------- unary forward / backward
// Forward: y = f(x). Backward: gx = b(x, y, g).
struct Neg { NF_HD float operator()(float x) const { return -x; } };
struct Exp { NF_HD float operator()(float x) const { return expf(x); } };
struct Log { NF_HD float operator()(float x) const { return logf(x); } };
struct Sqrt { NF_HD float operator()(float x) const { return sqrtf(x); } };
struct Abs { NF_HD float operator()(float x) const { return fabsf(x); } };
NF_HD float sign_of(float x) { return x > 0.f ? 1.f : (x < 0.f ? -1.f : x); }  // keeps 0, NaN
struct Sign { NF_HD float operator()(float x) const { return sign_of(x); } };
struct Relu { NF_HD float operator()(float x) const { return x < 0.f ? 0.f : x; } };
struct LeakyRelu {
  float slope;
  NF_HD float operator()(float x) const { return x > 0.f ? x : x * slope; }
};
struct Sigmoid { NF_HD float operator()(float x) const { return 1.f / (1.f + expf(-x)); } };
struct Tanh { NF_HD float operator()(float x) const { return tanhf(x); } };
struct Clamp {  // min(max(x, lo), hi) like torch.clamp; NaN stays NaN
  float lo, hi;
  NF_HD float operator()(float x) const {
    float v = x < lo ? lo : x;
    return v > hi ? hi : v;
  }
};
struct AddScalar { float s; NF_HD float operator()(float x) const { return x + s; } };
struct MulScalar { float s; NF_HD float operator()(float x) const { return x * s; } };
struct DivScalar { float s; NF_HD float operator()(float x) const { return x / s; } };
struct RSubScalar { float s; NF_HD float operator()(float x) const { return s - x; } };
struct RDivScalar { float s; NF_HD float operator()(float x) const { return s / x; } };
struct PowScalar { float e; NF_HD float operator()(float x) const { return powf(x, e); } };

struct NegGrad { NF_HD float operator()(float, float, float g) const { return -g; } };
struct ExpGrad { NF_HD float operator()(float, float y, float g) const { return g * y; } };
struct LogGrad { NF_HD float operator()(float x, float, float g) const { return g / x; } };
struct SqrtGrad { NF_HD float operator()(float, float y, float g) const { return g / (2.f * y); } };
struct AbsGrad { NF_HD float operator()(float x, float, float g) const { return g * sign_of(x); } };
struct SignGrad { NF_HD float operator()(float, float, float) const { return 0.f; } };
struct ReluGrad { NF_HD float operator()(float x, float, float g) const { return x > 0.f ? g : 0.f; } };
struct LeakyReluGrad {
  float slope;
  NF_HD float operator()(float x, float, float g) const { return x > 0.f ? g : g * slope; }
};
struct SigmoidGrad {
  NF_HD float operator()(float, float y, float g) const { return g * y * (1.f - y); }
};
struct TanhGrad { NF_HD float operator()(float, float y, float g) const { return g * (1.f - y * y); } };
struct ClampGrad {  // passes inside [lo, hi], bounds included (PyTorch)
  float lo, hi;
  NF_HD float operator()(float x, float, float g) const { return (x >= lo && x <= hi) ? g : 0.f; }
};
struct IdentityGrad { NF_HD float operator()(float, float, float g) const { return g; } };
struct ScaleGrad { float s; NF_HD float operator()(float, float, float g) const { return g * s; } };
struct DivScalarGrad { float s; NF_HD float operator()(float, float, float g) const { return g / s; } };
struct RDivScalarGrad {  // d(s/x)/dx = -s/x^2
  float s;
  NF_HD float operator()(float x, float, float g) const { return -g * s / (x * x); }
};
struct PowScalarGrad {  // 0 for exponent 0 (PyTorch), else e * x^(e-1)
  float e;
  NF_HD float operator()(float x, float, float g) const {
    return e == 0.f ? 0.f : g * e * powf(x, e - 1.f);
  }
};

template <class Fn>
void visit_unary(UnaryOp op, float p0, float p1, Fn&& fn) {
  switch (op) {
    case UnaryOp::neg: return fn(Neg{});
    case UnaryOp::exp: return fn(Exp{});
    case UnaryOp::log: return fn(Log{});
    case UnaryOp::sqrt: return fn(Sqrt{});
    case UnaryOp::abs: return fn(Abs{});
    case UnaryOp::sign: return fn(Sign{});
    case UnaryOp::relu: return fn(Relu{});
    case UnaryOp::leaky_relu: return fn(LeakyRelu{p0});
    case UnaryOp::sigmoid: return fn(Sigmoid{});
    case UnaryOp::tanh: return fn(Tanh{});
    case UnaryOp::clamp: return fn(Clamp{p0, p1});
    case UnaryOp::add_scalar: return fn(AddScalar{p0});
    case UnaryOp::mul_scalar: return fn(MulScalar{p0});
    case UnaryOp::div_scalar: return fn(DivScalar{p0});
    case UnaryOp::rsub_scalar: return fn(RSubScalar{p0});
    case UnaryOp::rdiv_scalar: return fn(RDivScalar{p0});
    case UnaryOp::pow_scalar: return fn(PowScalar{p0});
  }
}

template <class Fn>
void visit_unary_grad(UnaryOp op, float p0, float p1, Fn&& fn) {
  switch (op) {
    case UnaryOp::neg: return fn(NegGrad{});
    case UnaryOp::exp: return fn(ExpGrad{});
    case UnaryOp::log: return fn(LogGrad{});
    case UnaryOp::sqrt: return fn(SqrtGrad{});
    case UnaryOp::abs: return fn(AbsGrad{});
    case UnaryOp::sign: return fn(SignGrad{});
    case UnaryOp::relu: return fn(ReluGrad{});
    case UnaryOp::leaky_relu: return fn(LeakyReluGrad{p0});
    case UnaryOp::sigmoid: return fn(SigmoidGrad{});
    case UnaryOp::tanh: return fn(TanhGrad{});
    case UnaryOp::clamp: return fn(ClampGrad{p0, p1});
    case UnaryOp::add_scalar: return fn(IdentityGrad{});
    case UnaryOp::mul_scalar: return fn(ScaleGrad{p0});
    case UnaryOp::div_scalar: return fn(DivScalarGrad{p0});
    case UnaryOp::rsub_scalar: return fn(NegGrad{});
    case UnaryOp::rdiv_scalar: return fn(RDivScalarGrad{p0});
    case UnaryOp::pow_scalar: return fn(PowScalarGrad{p0});
  }
}

// ---------------------------------------------------------------- binary forward
struct Add { NF_HD float operator()(float a, float b) const { return a + b; } };
struct Sub { NF_HD float operator()(float a, float b) const { return a - b; } };
struct Mul { NF_HD float operator()(float a, float b) const { return a * b; } };
struct Div { NF_HD float operator()(float a, float b) const { return a / b; } };
struct Maximum {  // NaN propagates (torch.maximum)
  NF_HD float operator()(float a, float b) const { return (a != a || a > b) ? a : b; }
};
struct Minimum {
  NF_HD float operator()(float a, float b) const { return (a != a || a < b) ? a : b; }
};
struct Pow { NF_HD float operator()(float a, float b) const { return powf(a, b); } };

template <class Fn>
void visit_binary(BinaryOp op, Fn&& fn) {
  switch (op) {
    case BinaryOp::add: return fn(Add{});
    case BinaryOp::sub: return fn(Sub{});
    case BinaryOp::mul: return fn(Mul{});
    case BinaryOp::div: return fn(Div{});
    case BinaryOp::maximum: return fn(Maximum{});
    case BinaryOp::minimum: return fn(Minimum{});
    case BinaryOp::pow: return fn(Pow{});
  }
}

// ---------------------------------------------------------------- binary partials: f(g, a, b)
struct MulGradA { NF_HD float operator()(float g, float, float b) const { return g * b; } };
struct MulGradB { NF_HD float operator()(float g, float a, float) const { return g * a; } };
struct DivGradA { NF_HD float operator()(float g, float, float b) const { return g / b; } };
struct DivGradB {  // d(a/b)/db = -a/b^2
  NF_HD float operator()(float g, float a, float b) const { return -g * a / (b * b); }
};
struct MaximumGradA {  // ties split 0.5/0.5
  NF_HD float operator()(float g, float a, float b) const {
    return a > b ? g : (a == b ? 0.5f * g : 0.f);
  }
};
struct MaximumGradB {
  NF_HD float operator()(float g, float a, float b) const {
    return b > a ? g : (a == b ? 0.5f * g : 0.f);
  }
};
struct MinimumGradA {
  NF_HD float operator()(float g, float a, float b) const {
    return a < b ? g : (a == b ? 0.5f * g : 0.f);
  }
};
struct MinimumGradB {
  NF_HD float operator()(float g, float a, float b) const {
    return b < a ? g : (a == b ? 0.5f * g : 0.f);
  }
};
struct PowGradA {  // e * a^(e-1); 0 where e == 0 (PyTorch)
  NF_HD float operator()(float g, float a, float e) const {
    return e == 0.f ? 0.f : g * e * powf(a, e - 1.f);
  }
};
struct PowGradB {  // a^e * log(a); 0 where a == 0 and e >= 0 (PyTorch masks 0 * log 0)
  NF_HD float operator()(float g, float a, float e) const {
    return (a == 0.f && e >= 0.f) ? 0.f : g * powf(a, e) * logf(a);
  }
};

template <class Fn>
void visit_binary_grad(BinaryGradOp op, Fn&& fn) {
  switch (op) {
    case BinaryGradOp::mul_a: return fn(MulGradA{});
    case BinaryGradOp::mul_b: return fn(MulGradB{});
    case BinaryGradOp::div_a: return fn(DivGradA{});
    case BinaryGradOp::div_b: return fn(DivGradB{});
    case BinaryGradOp::maximum_a: return fn(MaximumGradA{});
    case BinaryGradOp::maximum_b: return fn(MaximumGradB{});
    case BinaryGradOp::minimum_a: return fn(MinimumGradA{});
    case BinaryGradOp::minimum_b: return fn(MinimumGradB{});
    case BinaryGradOp::pow_a: return fn(PowGradA{});
    case BinaryGradOp::pow_b: return fn(PowGradB{});
  }
}

// ---------------------------------------------------------------- comparisons, where, cast
struct Eq { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a == b; } };
struct Ne { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a != b; } };
struct Lt { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a < b; } };
struct Le { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a <= b; } };
struct Gt { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a > b; } };
struct Ge { template <class T> NF_HD uint8_t operator()(T a, T b) const { return a >= b; } };

template <class Fn>
void visit_compare(CompareOp op, Fn&& fn) {
  switch (op) {
    case CompareOp::eq: return fn(Eq{});
    case CompareOp::ne: return fn(Ne{});
    case CompareOp::lt: return fn(Lt{});
    case CompareOp::le: return fn(Le{});
    case CompareOp::gt: return fn(Gt{});
    case CompareOp::ge: return fn(Ge{});
  }
}

struct Select {  // where
  NF_HD float operator()(uint8_t c, float a, float b) const { return c ? a : b; }
};

// C-style conversions; f32 -> u8 goes through int32 (wraps modulo 256).
template <class To, class From>
NF_HD To convert(From x) {
  return (To)x;
}
// f32 -> i32 truncates toward zero like a cast, but is defined everywhere and the same on both
// devices (a C++ cast of NaN or an out-of-range float is undefined; CUDA saturates):
// NaN -> 0, out of range -> the nearest representable bound.
template <>
NF_HD int32_t convert<int32_t, float>(float x) {
  if (x != x) return 0;
  if (x >= 2147483648.0f) return 2147483647;
  if (x <= -2147483648.0f) return -2147483647 - 1;
  return (int32_t)x;
}
template <>
NF_HD uint8_t convert<uint8_t, float>(float x) {
  return (uint8_t)convert<int32_t, float>(x);
}

}  // namespace nanofed::ew
