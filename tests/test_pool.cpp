// test_pool.cpp — max_pool2d, avg_pool2d, global_avg_pool2d: hand values, gradchecks,
// errors, CUDA parity.
#include <algorithm>
#include <cmath>

#include "engine/ops/pool.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

// The 4x4 plane every hand-computed case uses (distinct values, maxima off the corners).
//   1  5  2  0
//   3 -1  4  8
//   7  6 -2  9
//  -3  2  5  1
Tensor plane4x4() {
  return from_vector(std::vector<float>{1, 5, 2, 0, 3, -1, 4, 8, 7, 6, -2, 9, -3, 2, 5, 1},
                     {1, 1, 4, 4});
}

// A shuffled grid of distinct values 0.1 apart: no ties and no argmax change under the
// gradcheck step (1e-2), so max_pool2d is smooth at every probed point.
Tensor distinct_tensor(const Shape& shape, uint64_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 0.1f * (float)(i - n / 2);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[i], v[gen.next_below((uint64_t)i + 1)]);
  return from_vector(v, shape);
}

Tensor with_grad(Tensor t) {
  t.requires_grad_();
  return t;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pool)

// ---------------------------------------------------------------- hand-computed values

BOOST_AUTO_TEST_CASE(max_pool2d_2x2_values_indices_and_grad) {
  Tensor x = with_grad(plane4x4());
  auto [y, idx] = max_pool2d_with_indices(x, 2);  // stride defaults to the kernel
  BOOST_CHECK(y.shape() == (Shape{1, 1, 2, 2}));
  // Windows {1,5,3,-1} {2,0,4,8} {7,6,-3,2} {-2,9,5,1}.
  expect_close(y.to_vector(), {5, 8, 7, 9}, 0, 0, "max 2x2");
  BOOST_CHECK(idx.to_vector<int32_t>() == (std::vector<int32_t>{1, 7, 8, 11}));
  y.backward(ones_like(y));
  expect_close(x.grad().to_vector(), {0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0}, 0, 0,
               "max 2x2 grad");
}

BOOST_AUTO_TEST_CASE(max_pool2d_3x3_stride1_pad1) {
  Tensor x = with_grad(plane4x4());
  Tensor y = max_pool2d(x, 3, 1, 1);
  BOOST_CHECK(y.shape() == (Shape{1, 1, 4, 4}));
  expect_close(y.to_vector(), {5, 5, 8, 8, 7, 7, 9, 9, 7, 7, 9, 9, 7, 7, 9, 9}, 0, 0, "max 3x3 p1");
  y.backward(ones_like(y));
  // 5 (at 1) wins 2 windows, 8 (at 7) 2, 7 (at 8) 6, 9 (at 11) 6.
  expect_close(x.grad().to_vector(), {0, 2, 0, 0, 0, 0, 0, 2, 6, 0, 0, 6, 0, 0, 0, 0}, 0, 0,
               "max 3x3 p1 grad");
}

BOOST_AUTO_TEST_CASE(max_pool2d_ties_take_first_and_nograd_path) {
  Tensor x = full({1, 1, 2, 4}, 3.0f);
  auto [y, idx] = max_pool2d_with_indices(x, 2);
  BOOST_CHECK(idx.to_vector<int32_t>() == (std::vector<int32_t>{0, 2}));
  NoGrad no_grad;
  Tensor p = plane4x4();
  p.requires_grad_();
  Tensor z = max_pool2d(p, {2, 2}, {1, 2});  // no indices kept under NoGrad
  BOOST_CHECK(z.shape() == (Shape{1, 1, 3, 2}));
  expect_close(z.to_vector(), {5, 8, 7, 9, 7, 9}, 0, 0, "max nograd, stride (1,2)");
}

BOOST_AUTO_TEST_CASE(avg_pool2d_2x2) {
  Tensor x = plane4x4();
  expect_close(avg_pool2d(x, 2).to_vector(), {2.0f, 3.5f, 3.0f, 3.25f}, 1e-6f, 0, "avg 2x2");
}

BOOST_AUTO_TEST_CASE(avg_pool2d_3x3_stride2_pad1_both_divisors) {
  Tensor x = with_grad(plane4x4());
  // Windows (real parts): {1,5,3,-1}=8, {5,2,0,-1,4,8}=18, {3,-1,7,6,-3,2}=14,
  // {-1,4,8,6,-2,9,2,5,1}=32.
  Tensor y = avg_pool2d(x, 3, 2, 1);
  expect_close(y.to_vector(), {8.f / 9, 18.f / 9, 14.f / 9, 32.f / 9}, 1e-6f, 1e-6f,
               "avg count_include_pad");
  expect_close(avg_pool2d(x, 3, 2, 1, /*count_include_pad=*/false).to_vector(),
               {8.f / 4, 18.f / 6, 14.f / 6, 32.f / 9}, 1e-6f, 1e-6f, "avg exclude pad");
  y.backward(ones_like(y));
  // Rows/cols covered by [1, 2, 1, 1] windows; each window contributes 1/9.
  const float u = 1.f / 9;
  expect_close(x.grad().to_vector(),
               {u, 2 * u, u, u, 2 * u, 4 * u, 2 * u, 2 * u, u, 2 * u, u, u, u, 2 * u, u, u},
               1e-6f, 1e-6f, "avg grad");
}

BOOST_AUTO_TEST_CASE(global_avg_pool2d_values_and_grad) {
  Tensor x = with_grad(plane4x4());
  Tensor y = global_avg_pool2d(x);
  BOOST_CHECK(y.shape() == (Shape{1, 1}));
  expect_close(y.to_vector(), {47.f / 16}, 1e-6f, 0, "global avg");
  y.backward(full({1, 1}, 2.0f));
  expect_close(x.grad().to_vector(), std::vector<float>(16, 2.f / 16), 1e-7f, 0, "global grad");

  // Several planes against a naive sum in the test.
  Tensor z = random_tensor({2, 3, 3, 5}, 7);
  std::vector<float> zv = z.to_vector(), expected(6, 0.0f);
  for (int p = 0; p < 6; ++p) {
    for (int i = 0; i < 15; ++i) expected[p] += zv[p * 15 + i];
    expected[p] /= 15;
  }
  Tensor gz = global_avg_pool2d(z);
  BOOST_CHECK(gz.shape() == (Shape{2, 3}));
  expect_close(gz.to_vector(), expected, 1e-5f, 1e-5f, "global avg planes");
}

// ---------------------------------------------------------------- gradchecks

BOOST_AUTO_TEST_CASE(gradcheck_max_pool2d) {
  gradcheck("max_pool2d k3 s2 p1",
            [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); },
            {with_grad(distinct_tensor({2, 3, 7, 9}, 1))});
  gradcheck("max_pool2d k(2,3) s(1,2) p(1,1)",
            [](const std::vector<Tensor>& in) { return max_pool2d(in[0], {2, 3}, {1, 2}, {1, 1}); },
            {with_grad(distinct_tensor({1, 2, 5, 6}, 2))});
}

BOOST_AUTO_TEST_CASE(gradcheck_avg_pool2d) {
  for (bool include_pad : {true, false}) {
    gradcheck(std::string("avg_pool2d k3 s2 p1 include_pad=") + (include_pad ? "1" : "0"),
              [include_pad](const std::vector<Tensor>& in) {
                return avg_pool2d(in[0], 3, 2, 1, include_pad);
              },
              {with_grad(random_tensor({2, 2, 7, 6}, 3))});
  }
  gradcheck("avg_pool2d k(3,2) s(1,2) p(1,0)",
            [](const std::vector<Tensor>& in) { return avg_pool2d(in[0], {3, 2}, {1, 2}, {1, 0}); },
            {with_grad(random_tensor({1, 3, 5, 7}, 4))});
}

BOOST_AUTO_TEST_CASE(gradcheck_global_avg_pool2d) {
  gradcheck("global_avg_pool2d",
            [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
            {with_grad(random_tensor({2, 3, 5, 3}, 5))});
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(errors) {
  Tensor x3 = random_tensor({1, 4, 4}, 1);
  Tensor x = random_tensor({1, 1, 4, 4}, 1);
  expect_error([&] { max_pool2d(x3, 2); }, {"max_pool2d", "4-D", "[1, 4, 4]"});
  expect_error([&] { avg_pool2d(x3, 2); }, {"avg_pool2d", "[1, 4, 4]"});
  expect_error([&] { global_avg_pool2d(x3); }, {"global_avg_pool2d", "[1, 4, 4]"});
  expect_error([&] { max_pool2d(x, 3, 1, 2); }, {"max_pool2d", "padding (2, 2)", "kernel (3, 3)"});
  expect_error([&] { avg_pool2d(x, {4, 2}, 1, {1, 2}); }, {"avg_pool2d", "padding (1, 2)"});
  expect_error([&] { max_pool2d(x, 5); }, {"max_pool2d", "[1, 1, 4, 4]", "smaller than kernel"});
  expect_error([&] { max_pool2d(x, 0); }, {"max_pool2d", "kernel must be positive"});
  expect_error([&] { avg_pool2d(x, 2, {1, -1}); }, {"avg_pool2d", "stride must be positive"});
  expect_error([&] { max_pool2d(zeros({1, 1, 4, 4}, Device::cpu(), DType::i32), 2); },
               {"max_pool2d"});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(cuda_parity_max_pool2d) {
  check_cuda_parity("max_pool2d k3 s2 p1 odd",
                    [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); },
                    {with_grad(random_tensor({2, 3, 7, 9}, 11))});
  check_cuda_parity("max_pool2d k(3,2) s(2,1) p(1,0)",
                    [](const std::vector<Tensor>& in) { return max_pool2d(in[0], {3, 2}, {2, 1}, {1, 0}); },
                    {with_grad(random_tensor({3, 5, 13, 11}, 12))});
  check_cuda_parity("max_pool2d k2 N8 C64 16x16",
                    [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 2); },
                    {with_grad(random_tensor({8, 64, 16, 16}, 13))});
  check_cuda_parity("max_pool2d k3 s1 p1 N8 C64 16x16 (overlapping windows)",
                    [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 1, 1); },
                    {with_grad(random_tensor({8, 64, 16, 16}, 14))});
  // The indices themselves, and the no-indices (NoGrad) path.
  Tensor x = random_tensor({3, 4, 9, 7}, 15);
  auto [y_c, i_c] = max_pool2d_with_indices(x, 3, 2, 1);
  auto [y_g, i_g] = max_pool2d_with_indices(x.cuda(), 3, 2, 1);
  BOOST_CHECK(i_g.cpu().to_vector<int32_t>() == i_c.to_vector<int32_t>());
  NoGrad no_grad;
  expect_close(max_pool2d(x.cuda(), 3, 2, 1).cpu(), y_c, 0, 0, "max_pool2d NoGrad path");
}

NF_CUDA_TEST_CASE(cuda_parity_avg_pool2d) {
  for (bool include_pad : {true, false}) {
    const std::string tag = include_pad ? " include_pad" : " exclude_pad";
    check_cuda_parity("avg_pool2d k3 s2 p1 odd" + tag,
                      [include_pad](const std::vector<Tensor>& in) {
                        return avg_pool2d(in[0], 3, 2, 1, include_pad);
                      },
                      {with_grad(random_tensor({2, 3, 7, 9}, 21))});
    check_cuda_parity("avg_pool2d k(3,2) s(1,2) p(1,1) odd" + tag,
                      [include_pad](const std::vector<Tensor>& in) {
                        return avg_pool2d(in[0], {3, 2}, {1, 2}, {1, 1}, include_pad);
                      },
                      {with_grad(random_tensor({3, 5, 13, 11}, 22))});
    check_cuda_parity("avg_pool2d k3 s1 p1 N8 C64 16x16" + tag,
                      [include_pad](const std::vector<Tensor>& in) {
                        return avg_pool2d(in[0], 3, 1, 1, include_pad);
                      },
                      {with_grad(random_tensor({8, 64, 16, 16}, 23))});
  }
  check_cuda_parity("avg_pool2d k2 N8 C64 16x16",
                    [](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 2); },
                    {with_grad(random_tensor({8, 64, 16, 16}, 24))});
}

NF_CUDA_TEST_CASE(cuda_parity_global_avg_pool2d) {
  check_cuda_parity("global_avg_pool2d odd",
                    [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                    {with_grad(random_tensor({3, 5, 7, 9}, 31))});
  check_cuda_parity("global_avg_pool2d N8 C64 16x16",
                    [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                    {with_grad(random_tensor({8, 64, 16, 16}, 32))});
  check_cuda_parity("global_avg_pool2d 1x1 planes",
                    [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                    {with_grad(random_tensor({5, 37, 1, 1}, 33))});
}

BOOST_AUTO_TEST_SUITE_END()
