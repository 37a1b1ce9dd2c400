// batchnorm.cpp — Tensor-level batch_norm: checks, statistics, running-stat update,
// normalisation, and the backward closure right below the forward.
#include "engine/ops/batchnorm.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace nanofed {

namespace {

const float* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }
float* mut_ptr_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// A per-channel argument (running stat, weight, bias): if defined, f32 [C] on x's device.
void check_channel_arg(const Tensor& t, const char* arg, const Tensor& x, int64_t C) {
  if (!t.defined()) return;
  check_dtype("batch_norm", t, DType::f32, arg);
  check_same_device("batch_norm", x, t);
  NF_CHECK(t.dim() == 1 && t.size(0) == C,
           "batch_norm: " << arg << " " << shape_str(t.shape()) << " does not match the " << C
                          << " channels of input " << shape_str(x.shape()) << " (expected ["
                          << C << "])");
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum,
                  float eps) {
  const char* op = "batch_norm";
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
  NF_CHECK(x.dim() == 2 || x.dim() == 4,
           op << ": expected a 2-D [N, C] or 4-D [N, C, H, W] input, got " << shape_str(x.shape()));
  const int64_t N = x.size(0), C = x.size(1), HW = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  const int64_t M = N * HW;  // values per channel
  check_channel_arg(running_mean, "running_mean", x, C);
  check_channel_arg(running_var, "running_var", x, C);
  check_channel_arg(weight, "weight", x, C);
  check_channel_arg(bias, "bias", x, C);
  NF_CHECK(running_mean.defined() == running_var.defined(),
           op << ": running_mean and running_var must be given together");
  NF_CHECK(training || running_mean.defined(),
           op << ": eval mode (training=false) needs running_mean and running_var");
  NF_CHECK(!training || M > 1, op << ": expected more than 1 value per channel when training, got input "
                                  << shape_str(x.shape()));
  NF_CHECK(eps > 0.0f, op << ": eps must be positive, got " << eps);

  const Device dev = x.device();
  // Saved for the backward: the statistics the output was normalised with.
  Tensor mean = empty({C}, dev), invstd = empty({C}, dev);
  if (training) {
    NF_DISPATCH(dev, batch_norm_stats, x.data<float>(), N, C, HW, eps, momentum,
                mean.data<float>(), invstd.data<float>(), mut_ptr_or_null(running_mean),
                mut_ptr_or_null(running_var));
  } else {
    // Copies, not views: the running stats may be updated in place before this backward runs.
    mean.copy_(running_mean);
    NF_DISPATCH(dev, batch_norm_invstd, running_var.data<float>(), invstd.data<float>(), C, eps);
  }
  Tensor y = empty(x.shape(), dev);
  NF_DISPATCH(dev, batch_norm_apply, x.data<float>(), mean.data<float>(), invstd.data<float>(),
              ptr_or_null(weight), ptr_or_null(bias), y.data<float>(), N, C, HW);

  return record(op, y, {x, weight, bias},
                [x, weight, bias, mean, invstd, training, N, C, HW, dev](const Tensor& dy,
                                                                          Grads& grads) {
    const bool want_x = grads.wants(0);
    const bool want_gamma = weight.defined() && grads.wants(1);
    const bool want_beta = bias.defined() && grads.wants(2);
    // dx in training needs both sums (the batch statistics depend on x); in eval it does not.
    const bool need_sums = want_gamma || want_beta || (want_x && training);
    Tensor sum_dy, sum_dy_xhat;
    if (need_sums) {
      sum_dy = empty({C}, dev);
      sum_dy_xhat = empty({C}, dev);
      NF_DISPATCH(dev, batch_norm_backward_reduce, dy.data<float>(), x.data<float>(),
                  mean.data<float>(), invstd.data<float>(), sum_dy.data<float>(),
                  sum_dy_xhat.data<float>(), N, C, HW);
    }
    if (want_x) {
      Tensor dx = empty(x.shape(), dev);
      NF_DISPATCH(dev, batch_norm_backward_dx, dy.data<float>(), x.data<float>(),
                  mean.data<float>(), invstd.data<float>(), ptr_or_null(weight),
                  ptr_or_null(sum_dy), ptr_or_null(sum_dy_xhat), dx.data<float>(), N, C, HW,
                  training);
      grads.set(0, dx);
    }
    if (want_gamma) grads.set(1, sum_dy_xhat);
    if (want_beta) grads.set(2, sum_dy);
  });
}

}  // namespace nanofed
