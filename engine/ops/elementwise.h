// elementwise.h — pointwise arithmetic with NumPy/PyTorch broadcasting, unary activations,
// comparisons, where, casts and the two in-place helpers optimizers need.
//
// Broadcasting: shapes are aligned at their trailing dims; a dim of size 1 (or a missing
// leading dim) stretches to the other operand's size; anything else throws, e.g.
//   "add: shapes [3, 4] and [5] cannot be broadcast (dim -1: 4 vs 5)".
// At most 8 dims after merging adjacent dims that are contiguous in every operand.
//
// Gradients: the backward of a broadcast input is summed back to that input's shape with
// sum_to_shape(). maximum/minimum send the gradient to the larger/smaller input and split it
// 0.5/0.5 on ties (like PyTorch). relu'(0) = 0, abs'(0) = 0, sign' = 0, clamp passes the
// gradient where lo <= x <= hi (inclusive, like PyTorch). pow(a, b) w.r.t. b is 0 where
// a == 0 and b >= 0 (PyTorch's masking of 0 * log(0)).
//
// Dtypes: arithmetic and activations are f32 only. Comparisons take two tensors of the same
// dtype (f32, i32 or u8) and return u8 {0, 1}; comparing an i32/u8 tensor with a float
// scalar compares its values converted to f32 (exact below 2^24). where's cond is u8 or f32
// (nonzero = true). cast() converts among f32/i32/u8 (f32 -> int truncates toward zero,
// u8 wraps modulo 256 like a C cast through int32) and is not differentiable.
//
// Mechanism: one broadcasting kernel per arity templated on a functor (CPU and CUDA), one
// unary kernel templated on a functor; the op is picked by an enum at the launcher so the
// CPU and CUDA kernels keep identical names and signatures.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/ops/elementwise_kernels.h"

namespace nanofed {

// ---- broadcasting binary ops (f32, differentiable) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);

// ---- scalar forms (f32, differentiable in the tensor) ----
Tensor add(const Tensor& x, float s);
Tensor sub(const Tensor& x, float s);
Tensor sub(float s, const Tensor& x);
Tensor mul(const Tensor& x, float s);
Tensor div(const Tensor& x, float s);
Tensor div(float s, const Tensor& x);
Tensor pow(const Tensor& x, float exponent);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& x, float s);
Tensor operator+(float s, const Tensor& x);
Tensor operator-(const Tensor& x, float s);
Tensor operator-(float s, const Tensor& x);
Tensor operator*(const Tensor& x, float s);
Tensor operator*(float s, const Tensor& x);
Tensor operator/(const Tensor& x, float s);
Tensor operator/(float s, const Tensor& x);
Tensor operator-(const Tensor& x);

// ---- unary (f32, differentiable) ----
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, float negative_slope = 0.01f);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor clamp(const Tensor& x, float lo, float hi);
// cond ? a : b elementwise; cond u8 or f32 (nonzero = true); all three broadcast together.
// Differentiable in a and b.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// ---- comparisons -> u8 {0, 1} (broadcasting, not differentiable) ----
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, float s);
Tensor ne(const Tensor& a, float s);
Tensor lt(const Tensor& a, float s);
Tensor le(const Tensor& a, float s);
Tensor gt(const Tensor& a, float s);
Tensor ge(const Tensor& a, float s);

// Converts among f32/i32/u8; returns x itself if already of that dtype. Not differentiable.
Tensor cast(const Tensor& x, DType dtype);

// ---- shape helpers for broadcasting (public: other families use them in backward) ----
// The broadcast result shape of a and b; throws naming `op` and both shapes.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// Sums `grad` over the dims that broadcasting stretched so the result has `shape`
// (shape must broadcast to grad.shape()). Returns grad reshaped (no copy) when nothing is
// summed. Deterministic. Differentiable (backward: broadcast_to).
Tensor sum_to_shape(const Tensor& grad, const Shape& shape);
// Materializes x broadcast to `shape` (a copy). Differentiable (backward: sum_to_shape).
Tensor broadcast_to(const Tensor& x, const Shape& shape);

// ---- non-differentiable in-place helpers (optimizers); f32, same shape and device ----
Tensor& add_(Tensor& y, const Tensor& x, float alpha = 1.0f);  // y += alpha * x
Tensor& mul_(Tensor& y, float s);                              // y *= s

// Builds the index for `out` and up to three operand shapes (each must broadcast to out).
BroadcastIndex make_broadcast_index(const char* op, const Shape& out,
                                    const std::vector<Shape>& operands);

}  // namespace nanofed
