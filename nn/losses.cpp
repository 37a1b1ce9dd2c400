#include "nn/losses.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"

namespace nanofed::nn {

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return loss;
    case Reduction::sum: return sum(loss);
    case Reduction::mean: return mean(loss);
  }
  return loss;
}

void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  check_defined(op, input, "input");
  check_defined(op, target, "target");
  check_dtype(op, input, DType::f32, "input");
  check_dtype(op, target, DType::f32, "target");
  check_same_device(op, input, target);
  NF_CHECK(input.shape() == target.shape(), op << ": target " << shape_str(target.shape())
                                                << " must have the shape of input " << shape_str(input.shape()));
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape("mse_loss", input, target);
  const Tensor d = sub(input, target);
  return reduce(mul(d, d), reduction);
}

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int p, float margin,
                         const Tensor& weight, Reduction reduction) {
  const char* op = "multi_margin_loss";
  check_defined(op, input, "input");
  check_defined(op, target, "target");
  check_dtype(op, input, DType::f32, "input");
  check_dtype(op, target, DType::i32, "target");
  check_same_device(op, input, target);
  NF_CHECK(p == 1 || p == 2, op << ": only p = 1 and p = 2 are supported, got " << p);
  NF_CHECK(input.dim() == 2, op << ": expected input [N, C], got " << shape_str(input.shape()));
  const int64_t N = input.size(0), C = input.size(1);
  NF_CHECK(target.dim() == 1 && target.size(0) == N,
           op << ": expected target i32 [" << N << "], got " << shape_str(target.shape()));
  const Tensor y = target.reshape({N, 1});
  const Tensor x_y = gather(input, 1, y);                    // [N, 1] (CPU: labels range-checked)
  Tensor z = relu(add(sub(input, x_y), margin));             // margin - x_y + x_i, hinged
  if (p == 2) z = mul(z, z);
  if (weight.defined()) {
    check_dtype(op, weight, DType::f32, "weight");
    check_same_device(op, input, weight);
    NF_CHECK(weight.dim() == 1 && weight.size(0) == C,
             op << ": expected weight [" << C << "], got " << shape_str(weight.shape()));
    z = mul(z, index_select(weight, 0, target).reshape({N, 1}));
  }
  // Drop the i == y term (it would add margin^p).
  const Tensor classes = arange(C, input.device(), DType::i32).reshape({1, C});
  z = where(ne(classes, y), z, scalar_tensor(0.0f, input.device()));
  return reduce(div(sum(z, 1), (float)C), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        Reduction reduction, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  check_same_shape(op, input, target);
  const Tensor zero = scalar_tensor(0.0f, input.device());
  const Tensor log_sigmoid = sub(minimum(input, zero), log(add(exp(neg(abs(input))), 1.0f)));
  // weight and pos_weight must broadcast to input without growing it.
  auto check_broadcast = [&](const Tensor& t, const char* arg) {
    check_dtype(op, t, DType::f32, arg);
    check_same_device(op, input, t);
    NF_CHECK(broadcast_shapes(op, input.shape(), t.shape()) == input.shape(),
             op << ": " << arg << " " << shape_str(t.shape()) << " must broadcast to input " << shape_str(input.shape()));
  };
  Tensor coef;  // multiplies -log sigmoid(x): 1, or 1 + (pos_weight - 1) t
  if (pos_weight.defined()) {
    check_broadcast(pos_weight, "pos_weight");
    coef = add(mul(sub(pos_weight, 1.0f), target), 1.0f);
  }
  Tensor loss = sub(mul(sub(1.0f, target), input), coef.defined() ? mul(coef, log_sigmoid) : log_sigmoid);
  if (weight.defined()) {
    check_broadcast(weight, "weight");
    loss = mul(loss, weight);
  }
  return reduce(loss, reduction);
}

Tensor binary_hinge_loss(const Tensor& scores, const Tensor& target, float margin, Reduction reduction) {
  check_same_shape("binary_hinge_loss", scores, target);
  return reduce(relu(sub(margin, mul(target, scores))), reduction);
}

}  // namespace nanofed::nn
