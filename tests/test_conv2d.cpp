// test_conv2d.cpp — conv2d against a naive direct 7-loop convolution, hand-computed values,
// the chunked path, gradchecks, error messages, and CUDA parity (strict fp32 and TF32).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/autograd.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/matmul.h"
#include "engine/threads.h"
#include "tests/test_util.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

using namespace nanofed;
using namespace nanofed::test;

namespace {

struct Config {
  int64_t N, C, H, W, K, R, S, sh, sw, ph, pw;
  bool bias;
  std::string name() const {
    std::ostringstream os;
    os << "x[" << N << "," << C << "," << H << "," << W << "] w[" << K << "," << C << "," << R
       << "," << S << "] stride (" << sh << "," << sw << ") pad (" << ph << "," << pw << ")"
       << (bias ? " bias" : "");
    return os.str();
  }
};

// Direct convolution: y[n,k,i,j] = b[k] + sum_{c,r,s} x[n,c,i*sh-ph+r, j*sw-pw+s] w[k,c,r,s].
std::vector<float> naive_conv2d(const Config& f, const std::vector<float>& x,
                                const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t Ho = (f.H + 2 * f.ph - f.R) / f.sh + 1, Wo = (f.W + 2 * f.pw - f.S) / f.sw + 1;
  std::vector<float> y(f.N * f.K * Ho * Wo);
  for (int64_t n = 0; n < f.N; ++n)
    for (int64_t k = 0; k < f.K; ++k)
      for (int64_t i = 0; i < Ho; ++i)
        for (int64_t j = 0; j < Wo; ++j) {
          double acc = f.bias ? b[k] : 0.0;
          for (int64_t c = 0; c < f.C; ++c)
            for (int64_t r = 0; r < f.R; ++r)
              for (int64_t s = 0; s < f.S; ++s) {
                const int64_t h = i * f.sh - f.ph + r, ww = j * f.sw - f.pw + s;
                if (h < 0 || h >= f.H || ww < 0 || ww >= f.W) continue;
                acc += (double)x[((n * f.C + c) * f.H + h) * f.W + ww] *
                       w[((k * f.C + c) * f.R + r) * f.S + s];
              }
          y[((n * f.K + k) * Ho + i) * Wo + j] = (float)acc;
        }
  return y;
}

Tensor run_conv(const Config& f, const Tensor& x, const Tensor& w, const Tensor& b) {
  return nanofed::conv2d(x, w, f.bias ? b : Tensor(), {f.sh, f.sw}, {f.ph, f.pw});
}

const std::vector<Config> kConfigs = {
    {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, false},   // smallest 3x3
    {3, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, true},    // same padding, odd H/W, batch 3
    {2, 3, 8, 8, 5, 3, 3, 2, 2, 1, 1, true},    // stride 2
    {1, 3, 9, 7, 2, 5, 5, 1, 1, 2, 2, false},   // 5x5 pad 2
    {3, 1, 11, 10, 3, 5, 5, 2, 2, 2, 2, true},  // 5x5 stride 2, C = 1
    {2, 4, 6, 5, 3, 1, 1, 1, 1, 0, 0, true},    // pointwise (skips im2col)
    {3, 3, 7, 7, 2, 1, 1, 2, 2, 0, 0, false},   // 1x1 stride 2 (ResNet downsample)
    {1, 3, 5, 6, 3, 1, 1, 1, 1, 1, 1, true},    // 1x1 padded: not pointwise
    {1, 2, 5, 6, 3, 3, 2, 2, 1, 0, 2, true},    // rectangular kernel, mixed stride/padding
    {2, 3, 4, 4, 2, 3, 3, 1, 1, 2, 2, true},    // padding 2 > needed: output grows
    {1, 1, 3, 3, 1, 5, 5, 1, 1, 1, 1, false},   // kernel == padded input
};

// The explicit path, written out: a bounds-checked im2col, one cpu::gemm per product over all
// images, plain permutes and a col2im adding in (r, s, ho, wo) order. The CPU conv (packing
// B from the image, image-by-image backward) must give exactly these bits.
struct ExplicitConv {
  std::vector<float> y, dx, dw;
};

ExplicitConv explicit_conv(const Config& f, const std::vector<float>& x,
                           const std::vector<float>& w, const std::vector<float>& dy) {
  const int64_t Ho = (f.H + 2 * f.ph - f.R) / f.sh + 1, Wo = (f.W + 2 * f.pw - f.S) / f.sw + 1;
  const int64_t P = Ho * Wo, NP = f.N * P, CRS = f.C * f.R * f.S;
  // col[(c, r, s)][(n, i, j)] and where it reads from (-1: outside the image)
  std::vector<int64_t> src(CRS * NP, -1);
  for (int64_t c = 0; c < f.C; ++c)
    for (int64_t r = 0; r < f.R; ++r)
      for (int64_t s = 0; s < f.S; ++s)
        for (int64_t n = 0; n < f.N; ++n)
          for (int64_t i = 0; i < Ho; ++i)
            for (int64_t j = 0; j < Wo; ++j) {
              const int64_t h = i * f.sh - f.ph + r, ww = j * f.sw - f.pw + s;
              if (h >= 0 && h < f.H && ww >= 0 && ww < f.W)
                src[((c * f.R + r) * f.S + s) * NP + n * P + i * Wo + j] =
                    ((n * f.C + c) * f.H + h) * f.W + ww;
            }
  std::vector<float> col(CRS * NP), y_perm(f.K * NP), dy_perm(f.K * NP), out(f.K * NP);
  for (int64_t e = 0; e < CRS * NP; ++e) col[e] = src[e] < 0 ? 0.0f : x[src[e]];
  ExplicitConv r{std::vector<float>(f.N * f.K * P), std::vector<float>(x.size(), 0.0f),
                 std::vector<float>(w.size())};
  nanofed::cpu::gemm(false, false, f.K, NP, CRS, 1.0f, w.data(), CRS, col.data(), NP, 0.0f,
                     y_perm.data(), NP);
  for (int64_t k = 0; k < f.K; ++k)
    for (int64_t n = 0; n < f.N; ++n)
      for (int64_t p = 0; p < P; ++p) {
        r.y[(n * f.K + k) * P + p] = y_perm[k * NP + n * P + p];
        dy_perm[k * NP + n * P + p] = dy[(n * f.K + k) * P + p];
      }
  nanofed::cpu::gemm(false, true, f.K, CRS, NP, 1.0f, dy_perm.data(), NP, col.data(), NP, 0.0f,
                     r.dw.data(), CRS);
  nanofed::cpu::gemm(true, false, CRS, NP, f.K, 1.0f, w.data(), CRS, dy_perm.data(), NP, 0.0f,
                     col.data(), NP);
  for (int64_t e = 0; e < CRS * NP; ++e)  // rows (c, r, s) outer: (r, s, i, j) order per element
    if (src[e] >= 0) r.dx[src[e]] += col[e];
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv2d)

BOOST_AUTO_TEST_CASE(cpu_same_bits_as_explicit_im2col_gemm_col2im_any_thread_count) {
  // The configurations above, plus: 3x1 same padding (shifted rows), rows crossing GEMM panels,
  // more output positions than one forward task (30 x 30 > 768), a 7x7 stride 2 stem.
  std::vector<Config> configs = kConfigs;
  configs.push_back({2, 3, 6, 5, 4, 3, 1, 1, 1, 1, 0, false});
  configs.push_back({3, 5, 12, 12, 20, 3, 3, 1, 1, 1, 1, false});
  configs.push_back({1, 2, 30, 30, 3, 3, 3, 1, 1, 1, 1, false});
  configs.push_back({2, 3, 15, 13, 4, 7, 7, 2, 2, 3, 3, false});
  uint64_t seed = 300;
  for (const Config& f : configs) {
    Tensor x = random_tensor({f.N, f.C, f.H, f.W}, seed++);
    Tensor w = random_tensor({f.K, f.C, f.R, f.S}, seed++);
    const int64_t Ho = (f.H + 2 * f.ph - f.R) / f.sh + 1, Wo = (f.W + 2 * f.pw - f.S) / f.sw + 1;
    Tensor dy = random_tensor({f.N, f.K, Ho, Wo}, seed++);
    const ExplicitConv expected =
        explicit_conv(f, x.to_vector<float>(), w.to_vector<float>(), dy.to_vector<float>());
    for (int threads : {1, 3}) {
      const int before = nanofed::num_threads();
      nanofed::set_num_threads(threads);
      Tensor xg = x.detach().requires_grad_(), wg = w.detach().requires_grad_();
      Tensor y = nanofed::conv2d(xg, wg, Tensor(), {f.sh, f.sw}, {f.ph, f.pw});
      y.backward(dy);
      nanofed::set_num_threads(before);
      const std::string what = f.name() + " threads " + std::to_string(threads);
      BOOST_CHECK_MESSAGE(same_bits(y.to_vector<float>(), expected.y), what << ": y");
      BOOST_CHECK_MESSAGE(same_bits(xg.grad().to_vector<float>(), expected.dx), what << ": dx");
      BOOST_CHECK_MESSAGE(same_bits(wg.grad().to_vector<float>(), expected.dw), what << ": dw");
    }
  }
}

BOOST_AUTO_TEST_CASE(hand_computed) {
  // x = 1..9 in a 3x3 image, w = [[1, 0], [0, -1]]: y[i][j] = x[i][j] - x[i+1][j+1] = -4.
  Tensor x = fv({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  Tensor w = fv({1, 0, 0, -1}, {1, 1, 2, 2});
  Tensor y = nanofed::conv2d(x, w);
  BOOST_CHECK(y.shape() == (Shape{1, 1, 2, 2}));
  expect_close(y.to_vector(), {-4, -4, -4, -4}, 0, 0, "valid");
  expect_close(nanofed::conv2d(x, w, fv({0.5f}, {1})).to_vector(),
               {-3.5f, -3.5f, -3.5f, -3.5f}, 0, 0, "bias");
  // padding 1, stride 2: windows start at (-1,-1), (-1,1), (1,-1), (1,1) of the padded image:
  // 0 - x[0][0], 0 - x[0][2], 0 - x[2][0], x[1][1] - x[2][2].
  expect_close(nanofed::conv2d(x, w, Tensor(), 2, 1).to_vector(), {-1, -3, -7, -4}, 0, 0,
               "stride 2 pad 1");
}

BOOST_AUTO_TEST_CASE(hand_computed_backward) {
  // loss = sum(y) for the valid 2x2 conv above: dW[r][s] = sum of the 2x2 window of x that
  // w[r][s] touches; dx[h][w] = sum of the w taps covering (h, w); db = number of outputs.
  Tensor x = fv({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}).requires_grad_();
  Tensor w = fv({1, 0, 0, -1}, {1, 1, 2, 2}).requires_grad_();
  Tensor b = fv({0.5f}, {1}).requires_grad_();
  Tensor y = nanofed::conv2d(x, w, b);
  y.backward(nanofed::ones_like(y));
  expect_close(w.grad().to_vector(), {1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9},
               0, 0, "dW");
  // taps: w00 = 1 covers x[0..1][0..1], w11 = -1 covers x[1..2][1..2].
  expect_close(x.grad().to_vector(), {1, 1, 0, 1, 0, -1, 0, -1, -1}, 0, 0, "dx");
  expect_close(b.grad().to_vector(), {4}, 0, 0, "db");
}

BOOST_AUTO_TEST_CASE(matches_naive_direct_convolution) {
  uint64_t seed = 1;
  for (const Config& f : kConfigs) {
    Tensor x = random_tensor({f.N, f.C, f.H, f.W}, seed++);
    Tensor w = random_tensor({f.K, f.C, f.R, f.S}, seed++);
    Tensor b = random_tensor({f.K}, seed++);
    Tensor y = run_conv(f, x, w, b);
    const int64_t Ho = (f.H + 2 * f.ph - f.R) / f.sh + 1, Wo = (f.W + 2 * f.pw - f.S) / f.sw + 1;
    BOOST_CHECK_MESSAGE(y.shape() == (Shape{f.N, f.K, Ho, Wo}), f.name() << " shape");
    expect_close(y.to_vector(), naive_conv2d(f, x.to_vector(), w.to_vector(), b.to_vector()),
                 1e-4f, 1e-4f, f.name());
  }
}

BOOST_AUTO_TEST_CASE(chunked_batch_matches_whole_batch) {
  // A tiny column budget forces one image per chunk (and 2 per chunk): forward and every
  // gradient must equal the single-chunk result (dW accumulates across chunks with beta = 1).
  for (const Config& f : {Config{5, 3, 7, 6, 4, 3, 3, 2, 1, 1, 0, true},
                          Config{3, 4, 5, 5, 6, 1, 1, 1, 1, 0, 0, true}}) {
    auto grads_of = [&f](uint64_t seed) {
      Tensor x = random_tensor({f.N, f.C, f.H, f.W}, seed).requires_grad_();
      Tensor w = random_tensor({f.K, f.C, f.R, f.S}, seed + 1).requires_grad_();
      Tensor b = random_tensor({f.K}, seed + 2).requires_grad_();
      Tensor y = run_conv(f, x, w, b);
      y.backward(random_tensor(y.shape(), seed + 3));
      return std::vector<Tensor>{y.detach(), x.grad(), w.grad(), b.grad()};
    };
    std::vector<Tensor> whole = grads_of(50);
    const int64_t per_image = std::max(f.C * f.R * f.S, f.K) * 4 * 4 * 4;  // >= one image
    for (int64_t budget : {int64_t(1), 2 * per_image}) {
      const int64_t previous = nanofed::set_conv2d_column_budget(budget);
      std::vector<Tensor> chunked = grads_of(50);
      nanofed::set_conv2d_column_budget(previous);
      const char* names[] = {"y", "dx", "dW", "db"};
      for (int i = 0; i < 4; ++i)
        expect_close(chunked[i], whole[i], 1e-5f, 1e-5f,
                     f.name() + " chunked " + names[i] + " budget " + std::to_string(budget));
    }
  }
}

BOOST_AUTO_TEST_CASE(input_only_gradient_skips_weight) {
  Tensor x = random_tensor({2, 3, 5, 5}, 60).requires_grad_();
  Tensor w = random_tensor({4, 3, 3, 3}, 61);
  Tensor b = random_tensor({4}, 62);
  Tensor y = nanofed::conv2d(x, w, b, 1, 1);
  y.backward(nanofed::ones_like(y));
  BOOST_CHECK(x.grad().defined());
  BOOST_CHECK(!w.grad().defined());
  BOOST_CHECK(!b.grad().defined());
}

BOOST_AUTO_TEST_CASE(gradcheck_conv2d) {
  const std::vector<Config> configs = {
      {2, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, true},   // 3x3 same
      {1, 3, 6, 7, 2, 3, 3, 2, 2, 0, 0, false},  // stride 2, odd W
      {2, 3, 4, 3, 2, 1, 1, 1, 1, 0, 0, true},   // pointwise
      {1, 1, 7, 7, 2, 5, 5, 2, 2, 2, 2, true},   // 5x5 stride 2 pad 2
      {1, 2, 5, 4, 2, 2, 3, 1, 2, 1, 0, true},   // rectangular, mixed
  };
  uint64_t seed = 80;
  for (const Config& f : configs) {
    Tensor x = random_tensor({f.N, f.C, f.H, f.W}, seed++).requires_grad_();
    Tensor w = random_tensor({f.K, f.C, f.R, f.S}, seed++).requires_grad_();
    Tensor b = random_tensor({f.K}, seed++).requires_grad_();
    std::vector<Tensor> inputs = {x, w};
    if (f.bias) inputs.push_back(b);
    gradcheck(f.name(),
              [f](const std::vector<Tensor>& in) {
                return nanofed::conv2d(in[0], in[1], f.bias ? in[2] : Tensor(), {f.sh, f.sw},
                                       {f.ph, f.pw});
              },
              inputs);
  }
}

BOOST_AUTO_TEST_CASE(errors) {
  expect_error([] { nanofed::conv2d(nanofed::zeros({2, 3, 8, 8}), nanofed::zeros({4, 5, 3, 3})); },
               {"conv2d: input [2, 3, 8, 8] has 3 channels but weight [4, 5, 3, 3] expects 5"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({3, 8, 8}), nanofed::zeros({4, 3, 3, 3})); },
               {"conv2d: input [3, 8, 8] must be 4-D"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({1, 3, 8, 8}), nanofed::zeros({4, 3, 3})); },
               {"conv2d: weight [4, 3, 3] must be 4-D"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({1, 1, 4, 4}), nanofed::zeros({1, 1, 5, 5})); },
               {"conv2d: kernel 5x5", "larger than the padded input 4x4"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({1, 1, 4, 4}), nanofed::zeros({1, 1, 3, 3}), Tensor(), {0, 1}); },
               {"conv2d: stride (0, 1) must be positive"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({1, 1, 4, 4}), nanofed::zeros({1, 1, 3, 3}), Tensor(), {1, 1}, {-1, 0}); },
               {"conv2d: padding (-1, 0) must be non-negative"});
  expect_error([] { nanofed::conv2d(nanofed::zeros({1, 1, 4, 4}), nanofed::zeros({2, 1, 3, 3}), nanofed::zeros({3})); },
               {"conv2d: bias [3] does not match weight [2, 1, 3, 3]"});
}

// ---- CUDA parity ----

namespace {
// Forward and gradients of one configuration on the GPU against the CPU; random inputs drawn
// from seeds seed, seed + 1, seed + 2 (the weights scaled by w_scale).
void check_conv_parity(const Config& f, uint64_t seed, float w_scale, float rtol, float atol) {
  Tensor x = random_tensor({f.N, f.C, f.H, f.W}, seed).requires_grad_();
  Tensor w = random_tensor({f.K, f.C, f.R, f.S}, seed + 1, w_scale).requires_grad_();
  Tensor b = random_tensor({f.K}, seed + 2).requires_grad_();
  check_cuda_parity(f.name(),
                    [f](const std::vector<Tensor>& in) {
                      return nanofed::conv2d(in[0], in[1], f.bias ? in[2] : Tensor(), {f.sh, f.sw}, {f.ph, f.pw});
                    },
                    {x, w, b}, rtol, atol);
}
}  // namespace

NF_CUDA_TEST_CASE(cuda_parity_conv2d) {
  uint64_t seed = 900;
  for (const Config& f : kConfigs) {
    check_conv_parity(f, seed, 1.0f, 2e-4f, 1e-4f);
    seed += 3;
  }
}

NF_CUDA_TEST_CASE(cuda_parity_conv2d_resnet_like) {
  // ResNet stage transition: 3x3 stride 2, 64 channels, batch 8, 16x16; its 1x1 stride-2
  // shortcut; a pointwise 1x1 and the 7x7 stride-2 stem. Weights scaled like Kaiming init.
  struct Case { Config f; float w_scale; };
  const std::vector<Case> cases = {
      {{8, 64, 16, 16, 64, 3, 3, 2, 2, 1, 1, true}, 0.06f},
      {{8, 64, 16, 16, 128, 1, 1, 2, 2, 0, 0, false}, 0.18f},
      {{8, 64, 16, 16, 32, 1, 1, 1, 1, 0, 0, true}, 0.18f},
      {{4, 3, 32, 32, 16, 7, 7, 2, 2, 3, 3, false}, 0.2f},
  };
  uint64_t seed = 1000;
  for (const Case& c : cases) {
    check_conv_parity(c.f, seed, c.w_scale, 2e-3f, 1e-3f);
    seed += 3;
  }
  // PGD-style: only the input requires grad.
  Tensor x = random_tensor({8, 64, 16, 16}, 1100).requires_grad_();
  Tensor w = random_tensor({64, 64, 3, 3}, 1101, 0.06f);
  check_cuda_parity("conv2d input-only grad",
                    [](const std::vector<Tensor>& in) {
                      return nanofed::conv2d(in[0], in[1], Tensor(), 1, 1);
                    },
                    {x, w}, 2e-3f, 1e-3f);
}

NF_CUDA_TEST_CASE(cuda_parity_conv2d_chunked) {
  const int64_t previous = nanofed::set_conv2d_column_budget(1);  // one image per chunk
  Tensor x = random_tensor({3, 5, 9, 8}, 1200).requires_grad_();
  Tensor w = random_tensor({7, 5, 3, 3}, 1201).requires_grad_();
  Tensor b = random_tensor({7}, 1202).requires_grad_();
  check_cuda_parity("conv2d chunked",
                    [](const std::vector<Tensor>& in) {
                      return nanofed::conv2d(in[0], in[1], in[2], 2, 1);
                    },
                    {x, w, b}, 2e-4f, 1e-4f);
  nanofed::set_conv2d_column_budget(previous);
}

#if NANOFED_CUDA
NF_CUDA_TEST_CASE(cuda_parity_conv2d_tf32) {
  {
    nanofed::cuda::Tf32Scope tf32;
    Tensor x = random_tensor({4, 16, 12, 12}, 1300).requires_grad_();
    Tensor w = random_tensor({32, 16, 3, 3}, 1301, 0.1f).requires_grad_();
    Tensor b = random_tensor({32}, 1302).requires_grad_();
    check_cuda_parity("conv2d tf32",
                      [](const std::vector<Tensor>& in) {
                        return nanofed::conv2d(in[0], in[1], in[2], 1, 1);
                      },
                      {x, w, b}, 6e-2f, 2e-2f);
  }
  BOOST_CHECK(!nanofed::cuda::tf32_enabled());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
