// pool.h — 2-D max / average pooling and global average pooling, like torch.nn.functional.
//
// Shapes (contiguous NCHW, f32):
//   max_pool2d(x [N, C, H, W], kernel, stride, padding)  -> [N, C, OH, OW]
//   avg_pool2d(x [N, C, H, W], kernel, stride, padding, count_include_pad) -> [N, C, OH, OW]
//   global_avg_pool2d(x [N, C, H, W])                     -> [N, C]
// with OH = floor((H + 2*ph - kh) / sh) + 1 (and likewise OW): ceil_mode = false, the PyTorch
// default. A stride of 0 means "equal to the kernel" (PyTorch's stride=None). Padding must
// satisfy 0 <= p <= k/2 (PyTorch's rule), so every window holds at least one real element.
//
// Semantics:
//   max:  padded positions count as -inf. The forward saves, per output, the flat index
//         (h*W + w, i32, within its own H x W plane, as PyTorch's return_indices) of the
//         first maximum in row-major window order (strict '>', NaN wins: PyTorch CPU). The
//         indices are only materialised when a backward will need them.
//   avg:  divisor = kh*kw when count_include_pad (padding zeros count; with ceil_mode=false
//         no window reaches beyond the padding), else the number of real elements covered.
//   global_avg_pool2d == adaptive_avg_pool2d(x, 1).flatten(1).
//
// Gradients (w.r.t. x only):
//   max:  dx[n,c,h,w] = sum of dy over the windows whose saved argmax is (h,w);
//   avg:  dx[n,c,h,w] = sum over windows covering (h,w) of dy / divisor(window);
//   global: dx = dy / (H*W) broadcast over the plane.
// Both devices compute the backward as a gather (one output element per input element), so
// results are deterministic and no atomics are used.
#pragma once
#include <cstdint>
#include <utility>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

// A (height, width) pair; an integer means the same value for both, as in PyTorch.
struct PoolSize {
  int64_t h = 0, w = 0;
  PoolSize() = default;
  PoolSize(int64_t s) : h(s), w(s) {}  // NOLINT: implicit on purpose (max_pool2d(x, 2))
  PoolSize(int64_t h_, int64_t w_) : h(h_), w(w_) {}
};

Tensor max_pool2d(const Tensor& x, PoolSize kernel, PoolSize stride = PoolSize(0),
                  PoolSize padding = PoolSize(0));
// Same, also returning the saved indices (i32 [N, C, OH, OW], flat within each plane).
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, PoolSize kernel,
                                                  PoolSize stride = PoolSize(0),
                                                  PoolSize padding = PoolSize(0));
Tensor avg_pool2d(const Tensor& x, PoolSize kernel, PoolSize stride = PoolSize(0),
                  PoolSize padding = PoolSize(0), bool count_include_pad = true);
Tensor global_avg_pool2d(const Tensor& x);

// Geometry of one pooling call (resolved stride, output size); shared by both devices.
struct Pool2dGeom {
  int64_t N, C, H, W;    // input
  int64_t OH, OW;        // output
  int64_t kh, kw, sh, sw, ph, pw;
};

}  // namespace nanofed

// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_POOL_KERNELS                                                                             \
/* idx may be null (no backward will run): then only y is written. */                               \
void max_pool2d_forward(const float* x, float* y, int32_t* idx, const Pool2dGeom& g);               \
void max_pool2d_backward(const float* dy, const int32_t* idx, float* dx, const Pool2dGeom& g);      \
void avg_pool2d_forward(const float* x, float* y, const Pool2dGeom& g, bool count_include_pad);     \
void avg_pool2d_backward(const float* dy, float* dx, const Pool2dGeom& g, bool count_include_pad);  \
/* planes = N*C, hw = H*W. */                                                                       \
void global_avg_pool2d_forward(const float* x, float* y, int64_t planes, int64_t hw);               \
void global_avg_pool2d_backward(const float* dy, float* dx, int64_t planes, int64_t hw);            \

NF_DECLARE_KERNELS(NF_POOL_KERNELS)
