// Reduce family: hand-computed values, shapes (keepdim, negative dims), gradients, errors,
// and CPU-vs-CUDA parity including long reductions that take the two-pass path; bincount.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

Tensor req(Tensor t) { return t.requires_grad_(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(reduce)

BOOST_AUTO_TEST_CASE(sum_mean_values_and_shapes) {
  Tensor x = arange(24).reshape({2, 3, 4});  // x[i,j,k] = 12i + 4j + k
  Tensor s = sum(x);
  BOOST_TEST(s.shape() == Shape({}), boost::test_tools::per_element());
  expect_values(s, {276}, "sum");
  expect_values(mean(x), {11.5f}, "mean");
  // dim 1: sum_j (12i + 4j + k) = 36i + 12 + 3k
  Tensor s1 = sum(x, 1);
  BOOST_TEST(s1.shape() == Shape({2, 4}), boost::test_tools::per_element());
  expect_values(s1, {12, 15, 18, 21, 48, 51, 54, 57}, "sum dim 1");
  BOOST_TEST(sum(x, 1, true).shape() == Shape({2, 1, 4}), boost::test_tools::per_element());
  expect_values(mean(x, 1), {4, 5, 6, 7, 16, 17, 18, 19}, "mean dim 1");
  // dim -1 == dim 2: sum_k = 48i + 16j + 6
  expect_values(sum(x, -1), {6, 22, 38, 54, 70, 86}, "sum dim -1");
  // dim 0: 12 + 8j + 2k... sum_i (12i + 4j + k) = 12 + 8j + 2k
  expect_values(sum(x, 0), {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34}, "sum dim 0");
  expect_values(mean(x, 0, true), {6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, "mean dim 0");
  BOOST_TEST(mean(x, 0, true).shape() == Shape({1, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_argmax_values_ties_and_gradient) {
  Tensor x = req(from_vector(std::vector<float>{1, 5, 5, -2, 7, 0, 7, 3}, {2, 4}));
  expect_values(max(x), {7}, "max");
  expect_values(max(x, 1), {5, 7}, "max dim 1");
  expect_values(max(x, 0), {7, 5, 7, 3}, "max dim 0");
  Tensor am = argmax(x, 1);
  BOOST_CHECK(am.dtype() == DType::i32);
  BOOST_TEST(am.to_vector<int32_t>() == std::vector<int32_t>({1, 0}),
             boost::test_tools::per_element());  // first index on ties
  BOOST_TEST(argmax(x, 0, true).shape() == Shape({1, 4}), boost::test_tools::per_element());
  BOOST_TEST(argmax(x, -2).to_vector<int32_t>() == std::vector<int32_t>({1, 0, 1, 1}),
             boost::test_tools::per_element());
  // full max of [1,5,5,-2,7,0,7,3]: first 7 is flat index 4
  max(x).backward(full({}, 2.0f));
  expect_values(x.grad(), {0, 0, 0, 0, 2, 0, 0, 0}, "max grad to first argmax");
  Tensor y = req(from_vector(std::vector<float>{1, 5, 5, -2, 7, 0, 7, 3}, {2, 4}));
  max(y, 1, true).backward(from_vector(std::vector<float>{10, 20}, {2, 1}));
  expect_values(y.grad(), {0, 10, 0, 0, 20, 0, 0, 0}, "max dim grad");
}

BOOST_AUTO_TEST_CASE(norm_values_and_zero_gradient) {
  Tensor x = req(from_vector(std::vector<float>{3, 4, 0, 0}, {2, 2}));
  expect_values(norm(x), {5}, "norm");
  Tensor n1 = norm(x, 1);
  expect_values(n1, {5, 0}, "norm dim 1");
  n1.backward(ones({2}));
  // x/norm on the first row, 0 where the norm is 0
  expect_values(x.grad(), {0.6f, 0.8f, 0, 0}, "norm grad (0 at norm 0)");
  expect_values(norm(x, 0, true), {3, 4}, "norm dim 0");
}

BOOST_AUTO_TEST_CASE(sum_mean_gradients_broadcast_back) {
  Tensor x = req(zeros({2, 3}));
  mean(x, 0).backward(from_vector(std::vector<float>{1, 2, 3}, {3}));
  expect_values(x.grad(), {0.5f, 1, 1.5f, 0.5f, 1, 1.5f}, "mean dim 0 grad");
  Tensor y = req(zeros({2, 3}));
  sum(y).backward(full({}, 4.0f));
  expect_values(y.grad(), {4, 4, 4, 4, 4, 4}, "sum grad");
}

BOOST_AUTO_TEST_CASE(errors) {
  Tensor x = zeros({2, 3});
  expect_error([&] { sum(x, 2); }, {"sum", "dim 2", "rank 2"});
  expect_error([&] { max(x, -3); }, {"max", "dim -3"});
  expect_error([&] { max(zeros({0, 3}), 0); }, {"max", "empty", "[0, 3]"});
  expect_error([&] { sum(zeros({2}, Device::cpu(), DType::i32)); }, {"sum", "f32", "i32"});
  expect_error([&] { argmax(zeros({2}, Device::cpu(), DType::u8), 0); }, {"argmax", "f32"});
  expect_values(sum(zeros({0, 3}), 0), {0, 0, 0}, "sum over an empty dim");
}

BOOST_AUTO_TEST_CASE(bincount_hand_counts_and_errors) {
  Tensor x = from_vector(std::vector<int32_t>{2, 0, 2, 3, 2, 0, 4}, {7});
  Tensor counts = bincount(x, 6);
  BOOST_CHECK(counts.dtype() == DType::i32);
  BOOST_TEST(counts.shape() == Shape({6}), boost::test_tools::per_element());
  BOOST_TEST(counts.to_vector<int32_t>() == std::vector<int32_t>({2, 0, 3, 1, 1, 0}),
             boost::test_tools::per_element());
  BOOST_TEST(bincount(zeros({0}, Device::cpu(), DType::i32), 3).to_vector<int32_t>() ==
                 std::vector<int32_t>({0, 0, 0}),
             boost::test_tools::per_element());
  expect_error([&] { bincount(x, 4); }, {"bincount", "value 4", "position 6", "[0, 4)"});
  expect_error([] { bincount(from_vector(std::vector<int32_t>{1, -1}, {2}), 3); },
               {"bincount", "value -1", "position 1"});
  expect_error([] { bincount(zeros({3}), 3); }, {"bincount", "i32", "f32"});
  expect_error([&] { bincount(x.reshape({7, 1}), 6); }, {"bincount", "1-D", "[7, 1]"});
  expect_error([&] { bincount(x, 0); }, {"bincount", "minlength", "0"});
}

BOOST_AUTO_TEST_CASE(gradchecks) {
  Tensor x = req(random_tensor({3, 5, 7}, 51));
  gradcheck("sum", [](auto& in) { return sum(in[0]); }, {x});
  gradcheck("mean", [](auto& in) { return mean(in[0]); }, {x});
  gradcheck("norm", [](auto& in) { return norm(in[0]); }, {x});
  for (int64_t dim : {0, 1, -1}) {
    std::string d = " dim " + std::to_string(dim);
    gradcheck("sum" + d, [dim](auto& in) { return sum(in[0], dim); }, {x});
    gradcheck("mean" + d, [dim](auto& in) { return mean(in[0], dim, true); }, {x});
    gradcheck("norm" + d, [dim](auto& in) { return norm(in[0], dim); }, {x});
  }
  Tensor m = req(distinct_values({3, 5, 7}, 0.1f, -5.0f));  // no near-ties: max is smooth here
  gradcheck("max", [](auto& in) { return max(in[0]); }, {m});
  for (int64_t dim : {0, 1, 2})
    gradcheck("max dim " + std::to_string(dim), [dim](auto& in) { return max(in[0], dim); }, {m});
}

// ---------------------------------------------------------------- CUDA

NF_CUDA_TEST_CASE(cuda_parity_reductions) {
  // shapes chosen to hit: inner 1 / small / >= 32, long r (two-pass), many outputs (one pass)
  struct Case { Shape shape; int64_t dim; };
  std::vector<Case> cases = {{{70001, 3}, 0}, {{3, 70001}, 1}, {{257, 263}, 0}, {{257, 263}, 1},
                             {{5, 131, 33}, 1}, {{2, 100003}, -1}, {{1, 7}, 0}, {{131072}, 0}};
  uint64_t seed = 600;
  for (const Case& c : cases) {
    Tensor x = req(random_tensor(c.shape, ++seed));
    Tensor m = req(distinct_values(c.shape, 0.01f, -3.0f));
    std::string s = shape_str(c.shape) + " dim " + std::to_string(c.dim);
    int64_t dim = c.dim;
    check_cuda_parity("sum " + s, [dim](auto& in) { return sum(in[0], dim); }, {x}, 1e-3f, 1e-4f);
    check_cuda_parity("mean " + s, [dim](auto& in) { return mean(in[0], dim, true); }, {x}, 1e-4f,
                      1e-4f);
    check_cuda_parity("norm " + s, [dim](auto& in) { return norm(in[0], dim); }, {x}, 1e-3f, 1e-4f);
    check_cuda_parity("max " + s, [dim](auto& in) { return max(in[0], dim); }, {m});
    check_cuda_parity("argmax " + s,
                      [dim](auto& in) { return cast(argmax(in[0], dim), DType::f32); }, {m}, 0, 0);
    check_cuda_parity("sum all " + s, [](auto& in) { return sum(in[0]); }, {x}, 1e-2f, 1e-4f);
    check_cuda_parity("mean all " + s, [](auto& in) { return mean(in[0]); }, {x}, 1e-5f, 1e-4f);
    check_cuda_parity("norm all " + s, [](auto& in) { return norm(in[0]); }, {x}, 1e-3f, 1e-4f);
    check_cuda_parity("max all " + s, [](auto& in) { return max(in[0]); }, {m});
  }
}

NF_CUDA_TEST_CASE(cuda_reductions_deterministic_and_ties) {
  Tensor x = random_tensor({1000003}, 700).cuda();
  std::vector<float> first = sum(x).to_vector(), second = sum(x).to_vector();
  BOOST_CHECK_EQUAL(first[0], second[0]);  // bitwise: no atomics
  Tensor rows = random_tensor({3, 200001}, 701).cuda();
  BOOST_TEST(sum(rows, 1).to_vector() == sum(rows, 1).to_vector(), boost::test_tools::per_element());
  // ties across chunks of the two-pass argmax: first index wins
  Tensor t = zeros({300000}).cuda();
  std::vector<int32_t> idx = argmax(t.reshape({1, 300000}), 1).to_vector<int32_t>();
  BOOST_CHECK_EQUAL(idx[0], 0);
  Tensor u = from_vector(std::vector<float>(200000, 1.0f), {200000}).cuda();
  BOOST_CHECK_EQUAL(argmax(u, 0).to_vector<int32_t>()[0], 0);
  expect_values(sum(u), {200000}, "sum of ones on cuda", 0);
  // the max's gradient on CUDA lands on the first of the tied maxima
  Tensor v = req(from_vector(std::vector<float>{1, 9, 9, 9}, {4}).cuda());
  max(v).backward(full({}, 1.0f, Device::cuda()));
  expect_values(v.grad().cpu(), {0, 1, 0, 0}, "cuda max grad");
}

NF_CUDA_TEST_CASE(cuda_bincount_parity_and_unchecked_values) {
  // 10 bins take the shared-memory kernel, 20000 the global-atomics one.
  Generator gen(800);
  for (int64_t bins : {1, 10, 20000}) {
    std::vector<int32_t> values(100003);
    for (int32_t& v : values) v = (int32_t)gen.next_below((uint64_t)bins);
    Tensor x = from_vector(values, {(int64_t)values.size()});
    const std::vector<int32_t> on_gpu = bincount(x.cuda(), bins).to_vector<int32_t>();
    BOOST_TEST(on_gpu == bincount(x, bins).to_vector<int32_t>(), boost::test_tools::per_element());
  }
  // The GPU does not validate: out-of-range values are simply not counted.
  Tensor bad = from_vector(std::vector<int32_t>{0, 7, -1, 2, 0}, {5}, Device::cuda());
  BOOST_TEST(bincount(bad, 3).to_vector<int32_t>() == std::vector<int32_t>({2, 0, 1}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
