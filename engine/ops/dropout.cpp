// dropout.cpp — Tensor-level dropout (see dropout.h).
#include "engine/ops/dropout.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  check_defined("dropout", x, "input");
  check_dtype("dropout", x, DType::f32, "input");
  NF_CHECK(p >= 0.0f && p <= 1.0f, "dropout: probability p must be in [0, 1], got " << p);
  if (!training || p == 0.0f) return x;

  Device dev = x.device();
  const int64_t n = x.numel();
  if (p == 1.0f) {
    // Everything dropped: no draw needed, and the gradient is zero everywhere.
    return record("dropout", zeros(x.shape(), dev), {x}, [](const Tensor& dy, Grads& grads) {
      if (grads.wants(0)) grads.set(0, zeros_like(dy));
    });
  }

  const float scale = 1.0f / (1.0f - p);
  Tensor u = rand(x.shape(), gen, dev);
  Tensor y = empty(x.shape(), dev);
  Tensor mask = empty(x.shape(), dev, DType::u8);
  NF_DISPATCH(dev, dropout_forward, x.data<float>(), u.data<float>(), y.data<float>(),
              mask.data<uint8_t>(), p, scale, n);

  return record("dropout", y, {x}, [mask, scale, n, dev](const Tensor& dy, Grads& grads) {
    if (!grads.wants(0)) return;
    Tensor dx = empty(dy.shape(), dev);
    NF_DISPATCH(dev, dropout_backward, dy.data<float>(), mask.data<uint8_t>(), dx.data<float>(),
                scale, n);
    grads.set(0, dx);
  });
}

}  // namespace nanofed
