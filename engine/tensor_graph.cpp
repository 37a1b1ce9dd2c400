// tensor_graph.cpp — the Tensor methods that record on the autograd tape or run it: the
// differentiable copies and views (to, clone, reshape, flatten, slice), requires_grad_ and
// backward. They sit apart from tensor.cpp so that the tensor itself does not depend on the
// autograd that is built on it (engine/autograd.h includes engine/tensor.h, not the reverse).
#include "engine/autograd.h"
#include "engine/tensor.h"

namespace nanofed {

// ---------------------------------------------------------------- differentiable copies

Tensor Tensor::to(Device device) const {
  check_defined("to");
  if (device == this->device()) return *this;
  Tensor out = empty(shape(), device, dtype());
  copy_bytes(out.raw_data(), device, raw_data(), this->device(), nbytes());
  const Device src = this->device();
  return record("to", out, {*this}, [src](const Tensor& g, Grads& grads) { grads.set(0, g.to(src)); });
}

Tensor Tensor::clone() const {
  check_defined("clone");
  Tensor out = empty(shape(), device(), dtype());
  out.copy_(*this);
  return record("clone", out, {*this}, [](const Tensor& g, Grads& grads) { grads.set(0, g); });
}

// ---------------------------------------------------------------- differentiable views

Tensor Tensor::reshape(Shape new_shape) const {
  check_defined("reshape");
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < new_shape.size(); ++i) {
    if (new_shape[i] == -1) {
      NF_CHECK(infer < 0, "reshape: more than one -1 in " << shape_str(new_shape));
      infer = (int64_t)i;
    } else {
      NF_CHECK(new_shape[i] >= 0, "reshape: negative dimension in " << shape_str(new_shape));
      known *= new_shape[i];
    }
  }
  if (infer >= 0) {
    NF_CHECK(known > 0 && numel() % known == 0,
             "reshape: cannot reshape " << shape_str(shape()) << " into " << shape_str(new_shape));
    new_shape[infer] = numel() / known;
  }
  NF_CHECK(shape_numel(new_shape) == numel(), "reshape: cannot reshape " << shape_str(shape()) << " ("
                                                  << numel() << " elements) into " << shape_str(new_shape));
  Tensor out = view_range(0, new_shape);
  const Shape old_shape = shape();
  return record("reshape", out, {*this},
                [old_shape](const Tensor& g, Grads& grads) { grads.set(0, g.reshape(old_shape)); });
}

Tensor Tensor::flatten(int64_t start_dim) const {
  check_defined("flatten");
  if (dim() == 0) return reshape({1});
  const int64_t s = normalize_dim(start_dim, dim(), "flatten");
  Shape ns(shape().begin(), shape().begin() + s);
  ns.push_back(-1);
  return reshape(ns);
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  check_defined("slice");
  NF_CHECK(dim() >= 1, "slice: needs a tensor of rank >= 1, got " << str());
  const int64_t rows = shape()[0];
  NF_CHECK(0 <= begin && begin <= end && end <= rows,
           "slice: rows [" << begin << ", " << end << ") out of range for " << shape_str(shape()));
  const int64_t row = rows ? numel() / rows : 0;
  Shape ns = shape();
  ns[0] = end - begin;
  Tensor out = view_range(begin * row, ns);
  const Shape full_shape = shape();
  return record("slice", out, {*this}, [full_shape, begin, row](const Tensor& g, Grads& grads) {
    Tensor gx = zeros(full_shape, g.device());
    gx.view_range(begin * row, g.shape()).copy_(g);
    grads.set(0, gx);
  });
}

// ---------------------------------------------------------------- the graph

Tensor& Tensor::requires_grad_(bool on) {
  check_defined("requires_grad_");
  NF_CHECK(!impl_->grad_fn, "requires_grad_: only leaf tensors can be set (this one was made by '"
                                << impl_->grad_fn->name << "'); use detach() first");
  NF_CHECK(!on || dtype() == DType::f32, "requires_grad_: only f32 tensors can require grad, got " << str());
  impl_->requires_grad = on;
  return *this;
}

void Tensor::backward(const Tensor& grad_output) const {
  check_defined("backward");
  run_backward(*this, grad_output);
}

}  // namespace nanofed
