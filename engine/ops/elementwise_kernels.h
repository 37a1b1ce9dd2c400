// elementwise_kernels.h — the raw elementwise kernels and the kernel-side description of a
// broadcast (index structs, op enums), apart from the Tensor-level ops in elementwise.h: the
// functors (elementwise_functors.h) and both kernel files build on these alone, so the
// dependency points one way (elementwise -> elementwise_functors -> elementwise_kernels).
#pragma once
#include <cstdint>

#include "engine/device.h"
#include "engine/dispatch.h"

namespace nanofed {

// ---- kernel-side description of a broadcast ----
constexpr int kMaxBroadcastDims = 8;
constexpr int kMaxBroadcastOperands = 3;
// Output shape after merging dims, and per-operand element strides (0 where broadcast).
// Passed by value to kernels.
struct BroadcastIndex {
  int ndim = 1;
  int64_t shape[kMaxBroadcastDims] = {1};
  int64_t strides[kMaxBroadcastOperands][kMaxBroadcastDims] = {};
};

// sum_to_shape's general case: each output element sums its strided preimage in grad.
struct SumToIndex {
  int kept_ndim = 0;                            // dims of the output, row-major
  int64_t kept_shape[kMaxBroadcastDims] = {};
  int64_t kept_stride[kMaxBroadcastDims] = {};  // in grad elements
  int red_ndim = 0;                             // summed dims
  int64_t red_shape[kMaxBroadcastDims] = {};
  int64_t red_stride[kMaxBroadcastDims] = {};
  int64_t red_count = 1;
};

enum class UnaryOp {
  neg, exp, log, sqrt, abs, sign, relu, leaky_relu, sigmoid, tanh, clamp,
  add_scalar, mul_scalar, div_scalar, rsub_scalar, rdiv_scalar, pow_scalar
};
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow };
// d(op(a, b))/da or /db, multiplied by the incoming gradient g (for ops whose partial is
// not just +-g).
enum class BinaryGradOp {
  mul_a, mul_b, div_a, div_b, maximum_a, maximum_b, minimum_a, minimum_b, pow_a, pow_b
};
enum class CompareOp { eq, ne, lt, le, gt, ge };

}  // namespace nanofed

// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_ELEMENTWISE_KERNELS                                                                   \
/* Raw kernels, same names on both devices. p0/p1: the scalar parameters of an op (slope, */     \
/* clamp bounds, the scalar operand). Broadcast operands are numbered as in each comment. */     \
void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, float p0, float p1);             \
/* gx = gy * op'(x); y = op(x) is passed for ops whose derivative is cheaper from it. */         \
void unary_backward_f32(UnaryOp op, const float* x, const float* y, const float* gy, float* gx,  \
                        int64_t n, float p0, float p1);                                          \
/* operands: 0 = a, 1 = b */                                                                     \
void binary_f32(BinaryOp op, const float* a, const float* b, float* y,                           \
                const BroadcastIndex& index, int64_t n);                                         \
/* out = g * partial(a, b) at the output shape; operands: 0 = g, 1 = a, 2 = b */                 \
void binary_backward_f32(BinaryGradOp op, const float* g, const float* a, const float* b,        \
                         float* out, const BroadcastIndex& index, int64_t n);                    \
/* y = (a op b) ? 1 : 0; operands: 0 = a, 1 = b */                                               \
void compare(CompareOp op, const float* a, const float* b, uint8_t* y,                           \
             const BroadcastIndex& index, int64_t n);                                            \
void compare(CompareOp op, const int32_t* a, const int32_t* b, uint8_t* y,                       \
             const BroadcastIndex& index, int64_t n);                                            \
void compare(CompareOp op, const uint8_t* a, const uint8_t* b, uint8_t* y,                       \
             const BroadcastIndex& index, int64_t n);                                            \
/* y = cond ? a : b; operands: 0 = cond, 1 = a, 2 = b */                                         \
void where_f32(const uint8_t* cond, const float* a, const float* b, float* y,                    \
               const BroadcastIndex& index, int64_t n);                                          \
/* y = x broadcast; operand 0 = x */                                                             \
void expand_f32(const float* x, float* y, const BroadcastIndex& index, int64_t n);               \
/* y[k] = sum of g over the preimage of output element k */                                      \
void sum_to_shape_f32(const float* g, float* y, const SumToIndex& index, int64_t n_out);         \
void cast_dtype(const void* x, DType from, void* y, DType to, int64_t n);                        \

NF_DECLARE_KERNELS(NF_ELEMENTWISE_KERNELS)
