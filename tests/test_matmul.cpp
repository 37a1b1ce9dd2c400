// test_matmul.cpp — matmul and linear against a naive triple loop, hand-computed values,
// gradchecks, error messages, and CUDA parity (strict fp32 and TF32).
#include <boost/test/unit_test.hpp>

#include <array>

#include "engine/autograd.h"
#include "engine/ops/matmul.h"
#include "tests/test_util.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

using namespace nanofed;
using namespace nanofed::test;

namespace {

// op(A) [M,K] op(B) [K,N] from the stored matrices, accumulated in double.
std::vector<float> naive_matmul(const std::vector<float>& a, const std::vector<float>& b,
                                int64_t M, int64_t N, int64_t K, bool ta, bool tb) {
  std::vector<float> c(M * N);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const float av = ta ? a[k * M + i] : a[i * K + k];
        const float bv = tb ? b[j * K + k] : b[k * N + j];
        acc += (double)av * bv;
      }
      c[i * N + j] = (float)acc;
    }
  return c;
}

Shape stored_shape(int64_t rows, int64_t cols, bool transposed) {
  return transposed ? Shape{cols, rows} : Shape{rows, cols};
}

std::string combo_name(const char* what, bool ta, bool tb) {
  return std::string(what) + " trans_a=" + std::to_string(ta) + " trans_b=" + std::to_string(tb);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(matmul)

BOOST_AUTO_TEST_CASE(hand_computed_2x2) {
  Tensor a = fv({1, 2, 3, 4}, {2, 2});
  Tensor b = fv({5, 6, 7, 8}, {2, 2});
  expect_close(nanofed::matmul(a, b).to_vector(), {19, 22, 43, 50}, 0, 0, "a b");
  expect_close(nanofed::matmul(a, b, true, false).to_vector(), {26, 30, 38, 44}, 0, 0, "a^T b");
  expect_close(nanofed::matmul(a, b, false, true).to_vector(), {17, 23, 39, 53}, 0, 0, "a b^T");
  expect_close(nanofed::matmul(a, b, true, true).to_vector(), {23, 31, 34, 46}, 0, 0, "a^T b^T");
}

BOOST_AUTO_TEST_CASE(matches_naive_all_transposes) {
  const std::vector<std::array<int64_t, 3>> sizes = {{7, 13, 5}, {1, 1, 1}, {33, 17, 65}, {2, 9, 1}};
  uint64_t seed = 1;
  for (auto [M, N, K] : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = random_tensor(stored_shape(M, K, ta), seed++);
        Tensor b = random_tensor(stored_shape(K, N, tb), seed++);
        Tensor c = nanofed::matmul(a, b, ta, tb);
        BOOST_CHECK(c.shape() == (Shape{M, N}));
        expect_close(c.to_vector(), naive_matmul(a.to_vector(), b.to_vector(), M, N, K, ta, tb),
                     1e-4f, 1e-4f, combo_name("matmul", ta, tb));
      }
}

BOOST_AUTO_TEST_CASE(batched_matches_naive) {
  const int64_t B = 3, M = 5, N = 7, K = 3;
  uint64_t seed = 100;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = stored_shape(M, K, ta), sb = stored_shape(K, N, tb);
      Tensor a = random_tensor({B, sa[0], sa[1]}, seed++);
      Tensor b = random_tensor({B, sb[0], sb[1]}, seed++);
      Tensor c = nanofed::matmul(a, b, ta, tb);
      BOOST_CHECK(c.shape() == (Shape{B, M, N}));
      std::vector<float> av = a.to_vector(), bv = b.to_vector(), expected;
      for (int64_t i = 0; i < B; ++i) {
        std::vector<float> ai(av.begin() + i * M * K, av.begin() + (i + 1) * M * K);
        std::vector<float> bi(bv.begin() + i * K * N, bv.begin() + (i + 1) * K * N);
        std::vector<float> ci = naive_matmul(ai, bi, M, N, K, ta, tb);
        expected.insert(expected.end(), ci.begin(), ci.end());
      }
      expect_close(c.to_vector(), expected, 1e-5f, 1e-5f, combo_name("batched", ta, tb));
    }
}

BOOST_AUTO_TEST_CASE(empty_inner_dim_gives_zeros) {
  Tensor a = nanofed::zeros({3, 0}), b = nanofed::zeros({0, 2});
  expect_close(nanofed::matmul(a, b).to_vector(), std::vector<float>(6, 0.0f), 0, 0, "K = 0");
}

BOOST_AUTO_TEST_CASE(raw_gemm_alpha_beta_and_ld) {
  // C (2x2 inside a row stride of 3) = 2 * A B + 0.5 * C, A [2,1], B [1,2].
  std::vector<float> A = {1, 2}, B = {3, 4}, C = {10, 20, -1, 30, 40, -1};
  nanofed::cpu::gemm(false, false, 2, 2, 1, 2.0f, A.data(), 1, B.data(), 2, 0.5f, C.data(), 3);
  expect_close(C, {11, 18, -1, 27, 36, -1}, 0, 0, "gemm alpha/beta/ldc");
}

BOOST_AUTO_TEST_CASE(linear_hand_computed) {
  Tensor x = fv({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = fv({1, 0, -1, 0.5f, 0.5f, 0.5f}, {2, 3});
  Tensor b = fv({10, -1}, {2});
  // rows: [1-3, 3] = [-2, 3] and [4-6, 7.5] = [-2, 7.5]
  expect_close(nanofed::linear(x, w).to_vector(), {-2, 3, -2, 7.5f}, 0, 0, "no bias");
  Tensor y = nanofed::linear(x, w, b);
  BOOST_CHECK(y.shape() == (Shape{2, 2}));
  expect_close(y.to_vector(), {8, 2, 8, 6.5f}, 0, 0, "with bias");
  // Leading dims are kept: [2, 1, 3] -> [2, 1, 2]; a 1-D input gives a 1-D output.
  Tensor y3 = nanofed::linear(x.reshape({2, 1, 3}), w, b);
  BOOST_CHECK(y3.shape() == (Shape{2, 1, 2}));
  expect_close(y3.to_vector(), {8, 2, 8, 6.5f}, 0, 0, "3-D input");
  Tensor y1 = nanofed::linear(fv({1, 2, 3}, {3}), w, b);
  BOOST_CHECK(y1.shape() == (Shape{2}));
  expect_close(y1.to_vector(), {8, 2}, 0, 0, "1-D input");
}

BOOST_AUTO_TEST_CASE(linear_backward_hand_computed) {
  // loss = sum(y): dx rows = column sums of W, dW rows = column sums of x, db = rows.
  Tensor x = fv({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = fv({1, 0, -1, 0.5f, 0.5f, 0.5f}, {2, 3});
  Tensor b = fv({10, -1}, {2});
  x.requires_grad_(), w.requires_grad_(), b.requires_grad_();
  Tensor y = nanofed::linear(x, w, b);
  y.backward(nanofed::ones_like(y));
  expect_close(x.grad().to_vector(), {1.5f, 0.5f, -0.5f, 1.5f, 0.5f, -0.5f}, 0, 0, "dx");
  expect_close(w.grad().to_vector(), {5, 7, 9, 5, 7, 9}, 0, 0, "dW");
  expect_close(b.grad().to_vector(), {2, 2}, 0, 0, "db");
}

BOOST_AUTO_TEST_CASE(input_only_gradient_skips_weight) {
  // PGD: the weight does not require grad, so it must get none (and none is computed).
  Tensor x = random_tensor({4, 3}, 7).requires_grad_();
  Tensor w = random_tensor({5, 3}, 8);
  Tensor b = random_tensor({5}, 9);
  Tensor y = nanofed::linear(x, w, b);
  y.backward(nanofed::ones_like(y));
  BOOST_CHECK(x.grad().defined());
  BOOST_CHECK(!w.grad().defined());
  BOOST_CHECK(!b.grad().defined());
}

BOOST_AUTO_TEST_CASE(gradcheck_matmul) {
  uint64_t seed = 200;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Tensor a = random_tensor(stored_shape(3, 5, ta), seed++).requires_grad_();
      Tensor b = random_tensor(stored_shape(5, 4, tb), seed++).requires_grad_();
      gradcheck(combo_name("matmul", ta, tb),
                [ta, tb](const std::vector<Tensor>& in) {
                  return nanofed::matmul(in[0], in[1], ta, tb);
                },
                {a, b});
      Tensor ab = random_tensor({2, a.size(0), a.size(1)}, seed++).requires_grad_();
      Tensor bb = random_tensor({2, b.size(0), b.size(1)}, seed++).requires_grad_();
      gradcheck(combo_name("batched matmul", ta, tb),
                [ta, tb](const std::vector<Tensor>& in) {
                  return nanofed::matmul(in[0], in[1], ta, tb);
                },
                {ab, bb});
    }
}

BOOST_AUTO_TEST_CASE(gradcheck_linear) {
  Tensor x = random_tensor({3, 5}, 300).requires_grad_();
  Tensor w = random_tensor({4, 5}, 301).requires_grad_();
  Tensor b = random_tensor({4}, 302).requires_grad_();
  auto with_bias = [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1], in[2]); };
  auto no_bias = [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1]); };
  gradcheck("linear", with_bias, {x, w, b});
  gradcheck("linear no bias", no_bias, {x, w});
  Tensor x3 = random_tensor({2, 3, 5}, 303).requires_grad_();
  gradcheck("linear 3-D input", with_bias, {x3, w, b});
}

BOOST_AUTO_TEST_CASE(errors) {
  Tensor a = nanofed::zeros({2, 3}), b = nanofed::zeros({4, 5});
  expect_error([&] { nanofed::matmul(a, b); }, {"matmul: [2, 3] x [4, 5]: inner dims 3 and 4 differ"});
  expect_error([&] { nanofed::matmul(a, b, true, true); }, {"matmul", "inner dims 2 and 5 differ"});
  expect_error([&] { nanofed::matmul(a, nanofed::zeros({2, 3, 4})); },
               {"matmul: [2, 3] x [2, 3, 4]", "2-D or two 3-D"});
  expect_error([&] { nanofed::matmul(nanofed::zeros({2, 3, 4}), nanofed::zeros({3, 4, 5})); },
               {"matmul: [2, 3, 4] x [3, 4, 5]", "batch sizes 2 and 3 differ"});
  expect_error([&] { nanofed::matmul(a, nanofed::zeros({3, 2}, nanofed::Device::cpu(), nanofed::DType::i32)); },
               {"matmul"});
  Tensor x = nanofed::zeros({2, 3}), w = nanofed::zeros({4, 5});
  expect_error([&] { nanofed::linear(x, w); },
               {"linear: input [2, 3] has 3 features but weight [4, 5] expects 5"});
  expect_error([&] { nanofed::linear(x, nanofed::zeros({4, 3}), nanofed::zeros({3})); },
               {"linear: bias [3] does not match weight [4, 3]"});
  expect_error([&] { nanofed::linear(x, nanofed::zeros({12})); }, {"linear: weight [12]", "2-D"});
}

// ---- CUDA parity ----

NF_CUDA_TEST_CASE(cuda_parity_matmul) {
  uint64_t seed = 400;
  const std::vector<std::array<int64_t, 3>> sizes = {{7, 13, 5}, {67, 129, 45}, {1, 300, 2}};
  for (auto [M, N, K] : sizes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = random_tensor(stored_shape(M, K, ta), seed++).requires_grad_();
        Tensor b = random_tensor(stored_shape(K, N, tb), seed++).requires_grad_();
        check_cuda_parity(combo_name("matmul", ta, tb),
                          [ta, tb](const std::vector<Tensor>& in) {
                            return nanofed::matmul(in[0], in[1], ta, tb);
                          },
                          {a, b}, 5e-4f, 1e-4f);
      }
}

NF_CUDA_TEST_CASE(cuda_parity_batched_matmul) {
  uint64_t seed = 500;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape sa = stored_shape(9, 33, ta), sb = stored_shape(33, 17, tb);
      Tensor a = random_tensor({5, sa[0], sa[1]}, seed++).requires_grad_();
      Tensor b = random_tensor({5, sb[0], sb[1]}, seed++).requires_grad_();
      check_cuda_parity(combo_name("batched matmul", ta, tb),
                        [ta, tb](const std::vector<Tensor>& in) {
                          return nanofed::matmul(in[0], in[1], ta, tb);
                        },
                        {a, b}, 5e-4f, 1e-4f);
    }
}

NF_CUDA_TEST_CASE(cuda_parity_linear) {
  Tensor x = random_tensor({70, 300}, 600).requires_grad_();
  Tensor w = random_tensor({10, 300}, 601, 0.1f).requires_grad_();
  Tensor b = random_tensor({10}, 602).requires_grad_();
  check_cuda_parity("linear",
                    [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1], in[2]); },
                    {x, w, b}, 5e-4f, 1e-4f);
  Tensor x3 = random_tensor({3, 5, 33}, 603).requires_grad_();
  Tensor w3 = random_tensor({257, 33}, 604).requires_grad_();
  check_cuda_parity("linear 3-D no bias",
                    [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1]); },
                    {x3, w3}, 5e-4f, 1e-4f);
  // PGD-style: only the input wants a gradient.
  Tensor w_frozen = random_tensor({10, 300}, 605, 0.1f);
  check_cuda_parity("linear input-only grad",
                    [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1], in[2]); },
                    {x, w_frozen, random_tensor({10}, 606)}, 5e-4f, 1e-4f);
}

#if NANOFED_CUDA
NF_CUDA_TEST_CASE(cuda_parity_tf32) {
  // TF32 rounds GEMM inputs to a 10-bit mantissa: compare with a looser tolerance, and
  // restore strict fp32 even if a check throws.
  {
    nanofed::cuda::Tf32Scope tf32;
    BOOST_CHECK(nanofed::cuda::tf32_enabled());
    Tensor a = random_tensor({65, 64}, 700).requires_grad_();
    Tensor b = random_tensor({64, 33}, 701).requires_grad_();
    check_cuda_parity("matmul tf32",
                      [](const std::vector<Tensor>& in) { return nanofed::matmul(in[0], in[1]); },
                      {a, b}, 6e-2f, 2e-2f);
    Tensor x = random_tensor({32, 64}, 702).requires_grad_();
    Tensor w = random_tensor({16, 64}, 703).requires_grad_();
    Tensor bias = random_tensor({16}, 704).requires_grad_();
    check_cuda_parity("linear tf32",
                      [](const std::vector<Tensor>& in) { return nanofed::linear(in[0], in[1], in[2]); },
                      {x, w, bias}, 6e-2f, 2e-2f);
  }
  BOOST_CHECK(!nanofed::cuda::tf32_enabled());
}
#endif

BOOST_AUTO_TEST_SUITE_END()
