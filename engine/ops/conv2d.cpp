// conv2d.cpp — convolution as im2col + GEMM, forward and backward side by side.
#include "engine/ops/conv2d.h"

#include <algorithm>
#include <atomic>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops/channel_bias.h"
#include "engine/ops/matmul.h"
#include "engine/text.h"

namespace nanofed {
namespace {

// Upper bound for one chunk's column matrix; larger batches are processed in chunks.
std::atomic<int64_t> column_budget_bytes{int64_t(256) << 20};

// The convolution's sizes; `groups` receives G for a grouped weight [G, K, C, R, S] (1 otherwise).
ConvGeometry make_geometry(const Tensor& x, const Tensor& weight, const Tensor& bias,
                           std::array<int64_t, 2> stride, std::array<int64_t, 2> padding, int64_t* groups) {
  check_defined("conv2d", x, "input");
  check_defined("conv2d", weight, "weight");
  check_dtype("conv2d", x, DType::f32, "input");
  check_dtype("conv2d", weight, DType::f32, "weight");
  check_same_device("conv2d", x, weight);
  NF_CHECK(x.dim() == 4, "conv2d: input " << shape_str(x.shape()) << " must be 4-D [N, C, H, W]");
  NF_CHECK(weight.dim() == 4 || weight.dim() == 5,
           "conv2d: weight " << shape_str(weight.shape()) << " must be 4-D [K, C, R, S] or 5-D [groups, K, C, R, S]");
  const bool grouped = weight.dim() == 5;
  *groups = grouped ? weight.size(0) : 1;
  NF_CHECK(x.size(1) == weight.size(-3),
           "conv2d: input " << shape_str(x.shape()) << " has " << x.size(1)
                            << " channels but weight " << shape_str(weight.shape()) << " expects "
                            << weight.size(-3));
  NF_CHECK(!grouped || (*groups >= 1 && x.size(0) % *groups == 0),
           "conv2d: grouped weight " << shape_str(weight.shape()) << " needs an input whose "
                                     << x.size(0) << " images split into " << *groups << " equal groups");
  if (bias.defined()) {
    check_dtype("conv2d", bias, DType::f32, "bias");
    check_same_device("conv2d", x, bias);
    const Shape expected = grouped ? Shape{*groups, weight.size(1)} : Shape{weight.size(0)};
    NF_CHECK(bias.shape() == expected,
             "conv2d: bias " << shape_str(bias.shape()) << " does not match weight "
                             << shape_str(weight.shape()) << " (expected " << shape_str(expected) << ")");
  }
  NF_CHECK(stride[0] >= 1 && stride[1] >= 1,
           "conv2d: stride " << pair_str(stride[0], stride[1]) << " must be positive");
  NF_CHECK(padding[0] >= 0 && padding[1] >= 0,
           "conv2d: padding " << pair_str(padding[0], padding[1]) << " must be non-negative");
  ConvGeometry g;
  g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.K = weight.size(-4), g.R = weight.size(-2), g.S = weight.size(-1);
  g.sh = stride[0], g.sw = stride[1], g.ph = padding[0], g.pw = padding[1];
  const int64_t padded_h = g.H + 2 * g.ph, padded_w = g.W + 2 * g.pw;
  NF_CHECK(g.R <= padded_h && g.S <= padded_w,
           "conv2d: kernel " << g.R << "x" << g.S << " of weight " << shape_str(weight.shape())
                             << " is larger than the padded input " << padded_h << "x"
                             << padded_w << " (input " << shape_str(x.shape()) << ", padding "
                             << pair_str(padding[0], padding[1]) << ")");
  g.Ho = (padded_h - g.R) / g.sh + 1;
  g.Wo = (padded_w - g.S) / g.sw + 1;
  return g;
}

// 1x1, stride 1, no padding: each image x_n [C, H*W] is its own column matrix.
bool is_pointwise(const ConvGeometry& g) {
  return g.R == 1 && g.S == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
}

// Images per chunk so that a [rows, n*Ho*Wo] buffer (the column matrix: rows = C*R*S) stays
// within the budget.
int64_t images_per_chunk(const ConvGeometry& g, int64_t N, int64_t rows) {
  const int64_t per_image = std::max<int64_t>(1, rows * g.out_hw() * (int64_t)sizeof(float));
  return std::max<int64_t>(1, std::min<int64_t>(N, column_budget_bytes.load() / per_image));
}

// y [N, K, Ho, Wo] for the N images at x with one weight W [K, CRS] (no bias).
// conv2d_forward: on the GPU im2col + ONE GEMM for every image of a chunk (one large GEMM runs
// faster than n small ones) + a permute, in a scratch buffer; on the CPU one packed GEMM per
// image reading x directly (conv2d.h), no scratch. FLOPs: 2*N*K*CRS*P. Pointwise convs
// multiply each image directly (x_n is its own column).
void forward_images(Device dev, const ConvGeometry& g, const float* x, const float* W, float* y, int64_t N) {
  const int64_t P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  const bool pointwise = is_pointwise(g);
  const bool scratch_needed = !pointwise && dev.is_cuda();
  const int64_t chunk = scratch_needed ? images_per_chunk(g, N, CRS + g.K) : N;
  Tensor scratch = scratch_needed && N > 0 ? empty({CRS + g.K, chunk * P}, dev) : Tensor();
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t n = std::min(chunk, N - n0);
    const float* x_chunk = x + n0 * image;
    float* y_chunk = y + n0 * g.K * P;
    if (pointwise)
      NF_DISPATCH(dev, gemm_strided_batched, false, false, g.K, P, g.C, 1.0f, W, g.C, 0, x_chunk,
                  P, image, 0.0f, y_chunk, P, g.K * P, n);
    else
      NF_DISPATCH(dev, conv2d_forward, x_chunk, W, y_chunk,
                  scratch.defined() ? scratch.data<float>() : nullptr, g, n);
  }
}

// dx (unless null) and dW [K, CRS] (unless null) for the N > 0 images at x with weight W and
// output gradient dy, chunk by chunk within the column budget.
void backward_images(Device dev, const ConvGeometry& g, const float* x, const float* W, const float* dY,
                     float* dx, float* dw, int64_t N) {
  const int64_t P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  const bool pointwise = is_pointwise(g);
  // A scratch for the column matrix [CRS, n*P] and dy' [K, n*P] beside it: dW (always) and
  // dx (unless pointwise) need them. Budget both.
  const bool need_col = dw || !pointwise;
  const int64_t chunk = need_col ? images_per_chunk(g, N, CRS + g.K) : N;
  Tensor scratch = need_col ? empty({CRS + g.K, chunk * P}, dev) : Tensor();
  float* col = need_col ? scratch.data<float>() : nullptr;
  float* dy_perm = need_col ? col + CRS * chunk * P : nullptr;
  for (int64_t n0 = 0; n0 < N; n0 += chunk) {
    const int64_t n = std::min(chunk, N - n0);
    const float* x_chunk = x + n0 * image;
    const float* dy_chunk = dY + n0 * g.K * P;
    float* dx_chunk = dx ? dx + n0 * image : nullptr;
    const float beta_w = n0 == 0 ? 0.0f : 1.0f;  // dW accumulates across chunks
    if (!pointwise) {
      // dW [K, CRS] (+)= dy' [K, n*P] col^T [n*P, CRS] and dx = col2im(W^T [CRS, K] dy'),
      // FLOPs 2*n*K*CRS*P each; conv2d.h says how each device runs them.
      NF_DISPATCH(dev, conv2d_backward, x_chunk, W, dy_chunk, dx_chunk, dw, col, g, n, beta_w);
      continue;
    }
    if (dw) {
      // dW [K, C] (+)= dy' [K, n*P] x'^T [n*P, C], x' = x permuted to [C, n*H*W].
      NF_DISPATCH(dev, swap_leading_axes, dy_chunk, dy_perm, n, g.K, P);
      NF_DISPATCH(dev, swap_leading_axes, x_chunk, col, n, g.C, P);
      NF_DISPATCH(dev, gemm, false, true, g.K, CRS, n * P, 1.0f, dy_perm, n * P, col, n * P,
                  beta_w, dw, CRS);
    }
    if (dx)  // dx_n [C, P] = W^T [C, K] dy_n [K, P], image by image
      NF_DISPATCH(dev, gemm_strided_batched, true, false, g.C, P, g.K, 1.0f, W, g.C, 0,
                  dy_chunk, P, g.K * P, 0.0f, dx_chunk, P, image, n);
  }
}

}  // namespace

int64_t set_conv2d_column_budget(int64_t bytes) {
  NF_CHECK(bytes > 0, "set_conv2d_column_budget: budget " << bytes << " must be positive");
  return column_budget_bytes.exchange(bytes);
}

// Grouped (weight [G, K, C, R, S]): images [g*n, (g+1)*n) meet weight[g], each group run as an
// ungrouped convolution of its n images would be (the same kernels, chunks and bits).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
              std::array<int64_t, 2> stride, std::array<int64_t, 2> padding) {
  int64_t groups = 1;
  const ConvGeometry g = make_geometry(x, weight, bias, stride, padding, &groups);
  const Device dev = x.device();
  const int64_t N = x.size(0), n = N / groups, P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
  Tensor y = empty({N, g.K, g.Ho, g.Wo}, dev);
  for (int64_t k = 0; k < groups; ++k) {
    forward_images(dev, g, x.data<float>() + k * n * image, weight.data<float>() + k * g.K * CRS,
                   y.data<float>() + k * n * g.K * P, n);
    if (bias.defined() && n > 0)
      NF_DISPATCH(dev, add_channel_bias, y.data<float>() + k * n * g.K * P, bias.data<float>() + k * g.K, n,
                  g.K, P);
  }

  Tensor x_saved = x.detach(), w_saved = weight.detach();
  const bool grouped = weight.dim() == 5;
  return record("conv2d", y, {x, weight, bias}, [x_saved, w_saved, g, groups, grouped](
                                                    const Tensor& dy, Grads& grads) {
    const bool want_x = grads.wants(0), want_w = grads.wants(1), want_b = grads.wants(2);
    const Device dev = dy.device();
    const int64_t N = x_saved.size(0), n = N / groups, P = g.out_hw(), CRS = g.crs(), image = g.C * g.H * g.W;
    const float* dY = dy.data<float>();

    if (want_b) {  // db[k] = sum over n, ho, wo of dy (per group)
      Tensor db = empty(grouped ? Shape{groups, g.K} : Shape{g.K}, dev);
      for (int64_t k = 0; k < groups; ++k)
        NF_DISPATCH(dev, sum_channels, dY + k * n * g.K * P, db.data<float>() + k * g.K, n, g.K, P);
      grads.set(2, db);
    }
    if (!want_x && !want_w) return;
    if (n == 0) {
      if (want_x) grads.set(0, zeros(x_saved.shape(), dev));
      if (want_w) grads.set(1, zeros(w_saved.shape(), dev));
      return;
    }
    Tensor dx = want_x ? empty(x_saved.shape(), dev) : Tensor();
    Tensor dw = want_w ? empty(w_saved.shape(), dev) : Tensor();
    for (int64_t k = 0; k < groups; ++k)
      backward_images(dev, g, x_saved.data<float>() + k * n * image, w_saved.data<float>() + k * g.K * CRS,
                      dY + k * n * g.K * P, want_x ? dx.data<float>() + k * n * image : nullptr,
                      want_w ? dw.data<float>() + k * g.K * CRS : nullptr, n);
    if (want_x) grads.set(0, dx);
    if (want_w) grads.set(1, dw);
  });
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding) {
  return conv2d(x, weight, bias, {stride, stride}, {padding, padding});
}

}  // namespace nanofed
