// softmax.cpp — Tensor-level softmax, log_softmax, cross_entropy, nll_loss.
#include "engine/ops/softmax.h"

#include <algorithm>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/reduce.h"

namespace nanofed {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
  }
  return "?";
}

namespace {

Tensor softmax_impl(const char* op, const Tensor& x, int64_t dim, bool log) {
  check_defined(op, x);
  check_dtype(op, x, DType::f32);
  // A 0-d tensor is treated as [1], like PyTorch.
  const int64_t rank = std::max<int64_t>(x.dim(), 1);
  const int64_t d = normalize_dim(dim, rank, op);
  const ReduceGeometry l = reduce_geometry(x.shape(), d);  // [1, 1, 1] for a 0-d x
  Tensor y = empty(x.shape(), x.device());
  if (x.numel() > 0)
    NF_DISPATCH(x.device(), softmax_forward, x.data<float>(), y.data<float>(), l.outer, l.r,
                l.inner, log);
  Tensor y_saved = y.detach();
  return record(op, y, {x}, [y_saved, l, log](const Tensor& grad_y, Grads& grads) {
    Tensor grad_x = empty(y_saved.shape(), y_saved.device());
    if (y_saved.numel() > 0)
      NF_DISPATCH(y_saved.device(), softmax_backward, y_saved.data<float>(),
                  grad_y.data<float>(), grad_x.data<float>(), l.outer, l.r, l.inner, log);
    grads.set(0, grad_x);
  });
}

// Host-side label check (CPU tensors only: the GPU path marks bad rows NaN instead of syncing).
void check_labels(const char* op, const Tensor& target, int64_t C) {
  if (!target.device().is_cpu()) return;
  const int32_t* y = target.data<int32_t>();
  for (int64_t n = 0; n < target.numel(); ++n)
    NF_CHECK(y[n] >= 0 && y[n] < C, op << ": target label " << y[n] << " at row " << n
                                       << " is out of range for C = " << C
                                       << " classes (expected 0 <= label < " << C << ")");
}

void check_weights(const char* op, const Tensor& logits, const CrossEntropyOptions& o,
                   int64_t N, int64_t C) {
  if (o.weight.defined()) {
    check_dtype(op, o.weight, DType::f32, "weight");
    check_same_device(op, logits, o.weight);
    NF_CHECK(o.weight.shape() == Shape{C}, op << ": class weight " << shape_str(o.weight.shape())
                                              << " must have shape [" << C << "] for logits "
                                              << shape_str(logits.shape()));
  }
  if (o.sample_weight.defined()) {
    check_dtype(op, o.sample_weight, DType::f32, "sample_weight");
    check_same_device(op, logits, o.sample_weight);
    NF_CHECK(o.sample_weight.shape() == Shape{N},
             op << ": sample_weight " << shape_str(o.sample_weight.shape())
                << " must have shape [" << N << "] for logits " << shape_str(logits.shape()));
  }
}

// Reduces per-row losses [N] to the op's output; `den` receives the mean divisor (device
// scalar) so the backward can scale without reading it on the host.
Tensor reduce_rows(const Tensor& row_loss, const Tensor& row_den, Reduction reduction,
                   Tensor* den) {
  if (reduction == Reduction::none) return row_loss;
  Tensor out = empty({}, row_loss.device());
  *den = empty({1}, row_loss.device());
  NF_DISPATCH(row_loss.device(), loss_reduce, row_loss.data<float>(), row_den.data<float>(),
              row_loss.numel(), reduction == Reduction::mean, out.data<float>(),
              den->data<float>());
  return out;
}

template <typename T> const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// cross_entropy's and nll_loss's common checks: `scores` (named `name`) and target defined,
// the scores f32 [N, C] on the target's device.
void check_scores(const char* op, const Tensor& scores, const char* name, const Tensor& target) {
  check_defined(op, scores, name);
  check_defined(op, target, "target");
  check_dtype(op, scores, DType::f32, name);
  check_same_device(op, scores, target);
  NF_CHECK(scores.dim() == 2, op << ": " << name << " " << shape_str(scores.shape()) << " must be 2-D [N, C]");
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("log_softmax", x, dim, true);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  check_scores(op, logits, "logits", target);
  const int64_t N = logits.size(0), C = logits.size(1);
  const bool hard = target.dtype() == DType::i32;
  if (hard) {
    NF_CHECK(target.shape() == Shape{N}, op << ": class-index target " << shape_str(target.shape())
                                            << " must have shape [" << N << "] for logits "
                                            << shape_str(logits.shape()));
  } else {
    NF_CHECK(target.dtype() == DType::f32,
             op << ": target must be i32 class indices [N] or f32 probabilities [N, C], got "
                << target.str());
    NF_CHECK(target.shape() == logits.shape(),
             op << ": soft target " << shape_str(target.shape()) << " must match logits "
                << shape_str(logits.shape()));
  }
  NF_CHECK(options.label_smoothing >= 0.0f && options.label_smoothing <= 1.0f,
           op << ": label_smoothing must be in [0, 1], got " << options.label_smoothing);
  check_weights(op, logits, options, N, C);
  if (hard) check_labels(op, target, C);

  const Device dev = logits.device();
  Tensor row_loss = empty({N}, dev);
  Tensor stats = empty({3, N}, dev);  // per row: lse, target mass A_n, denominator share
  NF_DISPATCH(dev, cross_entropy_forward, logits.data<float>(),
              hard ? target.data<int32_t>() : nullptr, hard ? nullptr : target.data<float>(),
              ptr_or_null<float>(options.weight), ptr_or_null<float>(options.sample_weight),
              options.label_smoothing, N, C, row_loss.data<float>(), stats.data<float>());
  Tensor den;
  Tensor out = reduce_rows(row_loss, stats.slice(2, 3).reshape({N}), options.reduction, &den);

  // Backward: dlogits = g_n * s_n * (A_n * softmax - a_n), from the saved lse (no softmax
  // pass). Targets and weights are captured by handle (ops never write their inputs).
  const Tensor x_saved = logits.detach(), target_saved = target.detach();
  const CrossEntropyOptions o = options;
  return record(op, out, {logits}, [=](const Tensor& grad_out, Grads& grads) {
    Tensor grad_logits = empty({N, C}, dev);
    NF_DISPATCH(dev, cross_entropy_backward, x_saved.data<float>(),
                hard ? target_saved.data<int32_t>() : nullptr,
                hard ? nullptr : target_saved.data<float>(), ptr_or_null<float>(o.weight),
                ptr_or_null<float>(o.sample_weight), o.label_smoothing, stats.data<float>(),
                grad_out.data<float>(), o.reduction == Reduction::none ? 1 : 0,
                o.reduction == Reduction::mean ? den.data<float>() : nullptr, N, C,
                grad_logits.data<float>());
    grads.set(0, grad_logits);
  });
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                const CrossEntropyOptions& options) {
  const char* op = "nll_loss";
  check_scores(op, log_probs, "log_probs", target);
  check_dtype(op, target, DType::i32, "target");
  const int64_t N = log_probs.size(0), C = log_probs.size(1);
  NF_CHECK(target.shape() == Shape{N}, op << ": target " << shape_str(target.shape())
                                          << " must have shape [" << N << "] for log_probs "
                                          << shape_str(log_probs.shape()));
  NF_CHECK(options.label_smoothing == 0.0f && !options.sample_weight.defined(),
           op << ": label_smoothing and sample_weight are cross_entropy options only");
  check_weights(op, log_probs, options, N, C);
  check_labels(op, target, C);

  const Device dev = log_probs.device();
  Tensor row_loss = empty({N}, dev), row_den = empty({N}, dev);
  NF_DISPATCH(dev, nll_loss_forward, log_probs.data<float>(), target.data<int32_t>(),
              ptr_or_null<float>(options.weight), N, C, row_loss.data<float>(),
              row_den.data<float>());
  Tensor den;
  Tensor out = reduce_rows(row_loss, row_den, options.reduction, &den);

  const Tensor target_saved = target.detach(), weight = options.weight;
  const Reduction reduction = options.reduction;
  return record(op, out, {log_probs}, [=](const Tensor& grad_out, Grads& grads) {
    Tensor grad = empty({N, C}, dev);
    NF_DISPATCH(dev, nll_loss_backward, target_saved.data<int32_t>(), ptr_or_null<float>(weight),
                grad_out.data<float>(), reduction == Reduction::none ? 1 : 0,
                reduction == Reduction::mean ? den.data<float>() : nullptr, N, C,
                grad.data<float>());
    grads.set(0, grad);
  });
}

}  // namespace nanofed
