// elementwise_cpu.cpp — CPU reference of the elementwise kernels: one loop per arity, each a
// template on the functor from elementwise_functors.h. Parallel only over independent outputs.
#include <cstring>

#include "engine/ops/elementwise_kernels.h"
#include "engine/ops/elementwise_functors.h"
#include "engine/threads.h"

namespace nanofed::cpu {
namespace {

template <class F>
void map_unary(F f, const float* x, float* y, int64_t n) {
  parallel_for(n, 1, [=](int64_t i) { y[i] = f(x[i]); });
}

template <class F>
void map_unary_grad(F f, const float* x, const float* y, const float* gy, float* gx, int64_t n) {
  // x or y may be null when the derivative does not read them
  parallel_for(n, 1, [=](int64_t i) { gx[i] = f(x ? x[i] : 0.f, y ? y[i] : 0.f, gy[i]); });
}

template <class F, class T0, class T1, class TOut>
void map_binary(F f, const T0* a, const T1* b, TOut* y, const BroadcastIndex& bi, int64_t n) {
  parallel_for(n, 1, [=, &bi](int64_t i) {
    int64_t off[2];
    ew::broadcast_offsets<2>(bi, i, off);
    y[i] = f(a[off[0]], b[off[1]]);
  });
}

template <class F, class T0>
void map_ternary(F f, const T0* p0, const float* p1, const float* p2, float* y,
                 const BroadcastIndex& bi, int64_t n) {
  parallel_for(n, 1, [=, &bi](int64_t i) {
    int64_t off[3];
    ew::broadcast_offsets<3>(bi, i, off);
    y[i] = f(p0[off[0]], p1[off[1]], p2[off[2]]);
  });
}

template <class To, class From>
void convert_all(const From* x, To* y, int64_t n) {
  parallel_for(n, 1, [=](int64_t i) { y[i] = ew::convert<To, From>(x[i]); });
}

template <class From>
void convert_to(const From* x, void* y, DType to, int64_t n) {
  switch (to) {
    case DType::f32: return convert_all((const From*)x, (float*)y, n);
    case DType::i32: return convert_all((const From*)x, (int32_t*)y, n);
    case DType::u8: return convert_all((const From*)x, (uint8_t*)y, n);
  }
}

}  // namespace

void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1) {
  ew::visit_unary(op, p0, p1, [&](auto f) { map_unary(f, x, y, n); });
}

void unary_backward_f32(UnaryOp op, const float* x, const float* y, const float* gy, float* gx,
                        int64_t n, float p0, float p1) {
  ew::visit_unary_grad(op, p0, p1, [&](auto f) { map_unary_grad(f, x, y, gy, gx, n); });
}

void binary_f32(BinaryOp op, const float* a, const float* b, float* y,
                const BroadcastIndex& index, int64_t n) {
  ew::visit_binary(op, [&](auto f) { map_binary(f, a, b, y, index, n); });
}

void binary_backward_f32(BinaryGradOp op, const float* g, const float* a, const float* b,
                         float* out, const BroadcastIndex& index, int64_t n) {
  ew::visit_binary_grad(op, [&](auto f) { map_ternary(f, g, a, b, out, index, n); });
}

void compare(CompareOp op, const float* a, const float* b, uint8_t* y,
             const BroadcastIndex& index, int64_t n) {
  ew::visit_compare(op, [&](auto f) { map_binary(f, a, b, y, index, n); });
}
void compare(CompareOp op, const int32_t* a, const int32_t* b, uint8_t* y,
             const BroadcastIndex& index, int64_t n) {
  ew::visit_compare(op, [&](auto f) { map_binary(f, a, b, y, index, n); });
}
void compare(CompareOp op, const uint8_t* a, const uint8_t* b, uint8_t* y,
             const BroadcastIndex& index, int64_t n) {
  ew::visit_compare(op, [&](auto f) { map_binary(f, a, b, y, index, n); });
}

void where_f32(const uint8_t* cond, const float* a, const float* b, float* y,
               const BroadcastIndex& index, int64_t n) {
  map_ternary(ew::Select{}, cond, a, b, y, index, n);
}

void expand_f32(const float* x, float* y, const BroadcastIndex& index, int64_t n) {
  parallel_for(n, 1, [&](int64_t i) {
    int64_t off[1];
    ew::broadcast_offsets<1>(index, i, off);
    y[i] = x[off[0]];
  });
}

void sum_to_shape_f32(const float* g, float* y, const SumToIndex& index, int64_t n_out) {
  // each output sums its own preimage in a fixed order: deterministic for any thread count
  parallel_for(n_out, index.red_count, [&](int64_t k) { y[k] = ew::sum_preimage<double>(g, index, k); });
}

void cast_dtype(const void* x, DType from, void* y, DType to, int64_t n) {
  switch (from) {
    case DType::f32: return convert_to((const float*)x, y, to, n);
    case DType::i32: return convert_to((const int32_t*)x, y, to, n);
    case DType::u8: return convert_to((const uint8_t*)x, y, to, n);
  }
}

}  // namespace nanofed::cpu
