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

// `batch` GEMMs with strides (matmul.h's raw kernels); one plain gemm when batch is 1, which
// keeps the CPU gemm's own threading (inside a strided-batched task it runs on one thread).
void gemm_groups(Device dev, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
                 int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float* C,
                 int64_t ldc, int64_t stride_c, int64_t batch) {
  if (batch == 1)
    NF_DISPATCH(dev, gemm, trans_a, trans_b, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
  else
    NF_DISPATCH(dev, gemm_strided_batched, trans_a, trans_b, M, N, K, 1.0f, A, lda, stride_a, B, ldb,
                stride_b, 0.0f, C, ldc, stride_c, batch);
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
  NF_CHECK(weight.dim() == 2 || weight.dim() == 3,
           "linear: weight " << shape_str(weight.shape()) << " must be 2-D [out, in] or 3-D [groups, out, in]");
  const bool grouped = weight.dim() == 3;
  const int64_t groups = grouped ? weight.size(0) : 1;
  const int64_t in = weight.size(-1), out_features = weight.size(-2);
  NF_CHECK(x.size(-1) == in, "linear: input " << shape_str(x.shape()) << " has " << x.size(-1)
                                              << " features but weight "
                                              << shape_str(weight.shape()) << " expects " << in);
  if (bias.defined()) {
    check_dtype("linear", bias, DType::f32, "bias");
    check_same_device("linear", x, bias);
    const Shape expected = grouped ? Shape{groups, out_features} : Shape{out_features};
    NF_CHECK(bias.shape() == expected,
             "linear: bias " << shape_str(bias.shape()) << " does not match weight "
                             << shape_str(weight.shape()) << " (expected " << shape_str(expected) << ")");
  }
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));
  NF_CHECK(!grouped || (x.dim() == 2 && rows % groups == 0),
           "linear: grouped weight " << shape_str(weight.shape()) << " needs a 2-D input whose "
                                     << "rows split into " << groups << " equal groups, got "
                                     << shape_str(x.shape()));
  // Group g's rows [g*n, (g+1)*n) meet weight[g]; ungrouped is the case groups = 1. Each GEMM
  // is one strided-batched call over the groups (FLOPs 2*rows*in*out, as ungrouped); on the CPU
  // every C element is one fma chain in k order, so a group's rows get the bits an ungrouped
  // linear on them alone would.
  const int64_t n = rows / groups, w_size = out_features * in;
  const Device dev = x.device();
  Tensor y = empty(out_shape, dev);
  gemm_groups(dev, false, true, n, out_features, in, x.data<float>(), in, n * in, weight.data<float>(), in,
              w_size, y.data<float>(), out_features, n * out_features, groups);
  if (bias.defined())
    for (int64_t g = 0; g < groups; ++g)
      NF_DISPATCH(dev, add_channel_bias, y.data<float>() + g * n * out_features,
                  bias.data<float>() + g * out_features, n, out_features, 1);

  Tensor x_saved = x.detach(), w_saved = weight.detach();
  return record("linear", y, {x, weight, bias},
                [x_saved, w_saved, n, in, out_features, groups, grouped](const Tensor& dy, Grads& grads) {
                  const Device dev = dy.device();
                  const int64_t w_size = out_features * in;
                  const float* dY = dy.data<float>();
                  if (grads.wants(0)) {  // dx_g = dy_g W_g
                    Tensor dx = empty(x_saved.shape(), dev);
                    gemm_groups(dev, false, false, n, in, out_features, dY, out_features, n * out_features,
                                w_saved.data<float>(), in, w_size, dx.data<float>(), in, n * in, groups);
                    grads.set(0, dx);
                  }
                  if (grads.wants(1)) {  // dW_g = dy_g^T x_g
                    Tensor dw = empty(w_saved.shape(), dev);
                    gemm_groups(dev, true, false, out_features, in, n, dY, out_features, n * out_features,
                                x_saved.data<float>(), in, n * in, dw.data<float>(), in, w_size, groups);
                    grads.set(1, dw);
                  }
                  if (grads.wants(2)) {  // db_g = column sums of dy_g
                    Tensor db = empty(grouped ? Shape{groups, out_features} : Shape{out_features}, dev);
                    for (int64_t g = 0; g < groups; ++g)
                      NF_DISPATCH(dev, sum_channels, dY + g * n * out_features, db.data<float>() + g * out_features,
                                  n, out_features, 1);
                    grads.set(2, db);
                  }
                });
}

}  // namespace nanofed
