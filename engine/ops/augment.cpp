// augment.cpp — Tensor-level crop_flip (see augment.h): checks, allocation, dispatch.
#include "engine/ops/augment.h"

#include "engine/dispatch.h"

namespace nanofed {

Tensor crop_flip(const Tensor& x, const Tensor& params, int64_t out_h, int64_t out_w) {
  check_defined("crop_flip", x, "input");
  check_defined("crop_flip", params, "params");
  check_dtype("crop_flip", x, DType::f32, "input");
  check_dtype("crop_flip", params, DType::i32, "params");
  check_same_device("crop_flip", x, params);
  NF_CHECK(x.dim() == 4, "crop_flip: input must be [N, C, H, W], got " << shape_str(x.shape()));
  NF_CHECK(params.dim() == 2 && params.size(0) == x.size(0) && params.size(1) == 3,
           "crop_flip: params must be i32 [N, 3] = (dy, dx, flip) with N = " << x.size(0)
                                                                            << ", got "
                                                                            << shape_str(params.shape()));
  NF_CHECK(out_h > 0 && out_w > 0,
           "crop_flip: output size must be positive, got " << out_h << " x " << out_w);
  NF_CHECK(!x.requires_grad(),
           "crop_flip: not differentiable (a data augmentation); pass a tensor without grad");
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Device dev = x.device();
  Tensor y = empty({N, C, out_h, out_w}, dev);
  NF_DISPATCH(dev, crop_flip_forward, x.data<float>(), params.data<int32_t>(), y.data<float>(),
              N, C, H, W, out_h, out_w);
  return y;
}

}  // namespace nanofed
