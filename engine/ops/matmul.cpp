// matmul.cpp — matmul and linear: checks, one GEMM forward, GEMMs backward.
#include "engine/ops/matmul.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/channel_bias.h"

namespace nanofed {
namespace {

// "[2, 3] x [3, 4]": the operands of a failed matmul.
std::string shapes_str(const Tensor& a, const Tensor& b) {
  return shape_str(a.shape()) + " x " + shape_str(b.shape());
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_defined("matmul", a, "a");
  check_defined("matmul", b, "b");
  check_dtype("matmul", a, DType::f32, "a");
  check_dtype("matmul", b, DType::f32, "b");
  check_same_device("matmul", a, b);
  NF_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
           "matmul: " << shapes_str(a, b) << ": expected two 2-D or two 3-D (batched) tensors");
  const bool batched = a.dim() == 3;
  const int64_t batch = batched ? a.size(0) : 1;
  NF_CHECK(!batched || b.size(0) == batch,
           "matmul: " << shapes_str(a, b) << ": batch sizes " << a.size(0) << " and " << b.size(0)
                      << " differ");
  // op(a) is [M, K], op(b) is [K, N]; the stored matrices are transposed when flagged.
  const int64_t M = trans_a ? a.size(-1) : a.size(-2);
  const int64_t K = trans_a ? a.size(-2) : a.size(-1);
  const int64_t K_b = trans_b ? b.size(-1) : b.size(-2);
  const int64_t N = trans_b ? b.size(-2) : b.size(-1);
  NF_CHECK(K == K_b, "matmul: " << shapes_str(a, b) << ": inner dims " << K << " and " << K_b
                                << " differ" << (trans_a ? " (a transposed)" : "")
                                << (trans_b ? " (b transposed)" : ""));

  Tensor out = empty(batched ? Shape{batch, M, N} : Shape{M, N}, a.device());
  const float* A = a.data<float>();
  const float* B = b.data<float>();
  float* C = out.data<float>();
  if (batched)
    NF_DISPATCH(a.device(), gemm_strided_batched, trans_a, trans_b, M, N, K, 1.0f, A, a.size(-1),
                M * K, B, b.size(-1), K * N, 0.0f, C, N, M * N, batch);
  else
    NF_DISPATCH(a.device(), gemm, trans_a, trans_b, M, N, K, 1.0f, A, a.size(-1), B, b.size(-1),
                0.0f, C, N);

  // d op(a) = dC op(b)^T and d op(b) = op(a)^T dC; a transposed input gets the transpose,
  // which is again one matmul with flags (no transpose kernel).
  Tensor a_saved = a.detach(), b_saved = b.detach();
  return record("matmul", out, {a, b},
                [a_saved, b_saved, trans_a, trans_b](const Tensor& dC, Grads& grads) {
                  if (grads.wants(0))
                    grads.set(0, trans_a ? matmul(b_saved, dC, trans_b, true)
                                         : matmul(dC, b_saved, false, !trans_b));
                  if (grads.wants(1))
                    grads.set(1, trans_b ? matmul(dC, a_saved, true, trans_a)
                                         : matmul(a_saved, dC, !trans_a, false));
                });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_defined("linear", x, "input");
  check_defined("linear", weight, "weight");
  check_dtype("linear", x, DType::f32, "input");
  check_dtype("linear", weight, DType::f32, "weight");
  check_same_device("linear", x, weight);
  NF_CHECK(x.dim() >= 1, "linear: input " << shape_str(x.shape()) << " must have at least 1 dim");
  NF_CHECK(weight.dim() == 2,
           "linear: weight " << shape_str(weight.shape()) << " must be 2-D [out, in]");
  const int64_t in = weight.size(1), out_features = weight.size(0);
  NF_CHECK(x.size(-1) == in, "linear: input " << shape_str(x.shape()) << " has " << x.size(-1)
                                              << " features but weight "
                                              << shape_str(weight.shape()) << " expects " << in);
  if (bias.defined()) {
    check_dtype("linear", bias, DType::f32, "bias");
    check_same_device("linear", x, bias);
    NF_CHECK(bias.dim() == 1 && bias.size(0) == out_features,
             "linear: bias " << shape_str(bias.shape()) << " does not match weight "
                             << shape_str(weight.shape()) << " (expected [" << out_features
                             << "])");
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));

  // y [rows, out] = x [rows, in] * W^T, then y += b row by row.
  Tensor y = empty(out_shape, x.device());
  NF_DISPATCH(x.device(), gemm, false, true, rows, out_features, in, 1.0f, x.data<float>(), in,
              weight.data<float>(), in, 0.0f, y.data<float>(), out_features);
  if (bias.defined())
    NF_DISPATCH(x.device(), add_channel_bias, y.data<float>(), bias.data<float>(), rows,
                out_features, 1);

  Tensor x_saved = x.detach(), w_saved = weight.detach();
  return record("linear", y, {x, weight, bias},
                [x_saved, w_saved, rows, in, out_features](const Tensor& dy, Grads& grads) {
                  Tensor dy2 = dy.reshape({rows, out_features});
                  if (grads.wants(0))  // dx = dy W
                    grads.set(0, matmul(dy2, w_saved).reshape(x_saved.shape()));
                  if (grads.wants(1))  // dW = dy^T x
                    grads.set(1, matmul(dy2, x_saved.reshape({rows, in}), true, false));
                  if (grads.wants(2)) {  // db = column sums of dy
                    Tensor db = empty({out_features}, dy.device());
                    NF_DISPATCH(dy.device(), sum_channels, dy.data<float>(), db.data<float>(),
                                rows, out_features, 1);
                    grads.set(2, db);
                  }
                });
}

}  // namespace nanofed
