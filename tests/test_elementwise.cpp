// Elementwise family: hand-computed values, broadcasting forward and backward, gradchecks of
// every differentiable op, error messages, and CPU-vs-CUDA parity.
#include <cmath>

#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

Tensor vec(std::vector<float> v, Shape shape = {}) {
  if (shape.empty()) shape = {(int64_t)v.size()};
  return from_vector(v, shape);
}

Tensor req(Tensor t) { return t.requires_grad_(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(elementwise)

// ---------------------------------------------------------------- hand-computed values

BOOST_AUTO_TEST_CASE(broadcast_add_values_and_gradient) {
  // a[i,0,k] = 3i + k  ([2,1,3]),  b[j,0] = 10(j+1)  ([4,1])  ->  out[i,j,k] = 3i + k + 10(j+1)
  Tensor a = req(vec({0, 1, 2, 3, 4, 5}, {2, 1, 3}));
  Tensor b = req(vec({10, 20, 30, 40}, {4, 1}));
  Tensor y = a + b;
  BOOST_TEST(y.shape() == Shape({2, 4, 3}), boost::test_tools::per_element());
  expect_values(y, {10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42,
                    13, 14, 15, 23, 24, 25, 33, 34, 35, 43, 44, 45}, "add [2,1,3]+[4,1]");
  // g[i,j,k] = 12i + 3j + k: ga[i,k] = sum_j g = 48i + 18 + 4k; gb[j] = sum_{i,k} g = 42 + 18j
  y.backward(arange(24).reshape({2, 4, 3}));
  BOOST_TEST(a.grad().shape() == a.shape(), boost::test_tools::per_element());
  BOOST_TEST(b.grad().shape() == b.shape(), boost::test_tools::per_element());
  expect_values(a.grad(), {18, 22, 26, 66, 70, 74}, "add grad a (summed over j)");
  expect_values(b.grad(), {42, 60, 78, 96}, "add grad b (summed over i, k)");
}

BOOST_AUTO_TEST_CASE(binary_values) {
  Tensor a = vec({1, -2, 3, 0.5f}), b = vec({2, 2, -1, 0.5f});
  expect_values(add(a, b), {3, 0, 2, 1}, "add");
  expect_values(a - b, {-1, -4, 4, 0}, "sub");
  expect_values(a * b, {2, -4, -3, 0.25f}, "mul");
  expect_values(a / b, {0.5f, -1, -3, 1}, "div");
  expect_values(maximum(a, b), {2, 2, 3, 0.5f}, "maximum");
  expect_values(minimum(a, b), {1, -2, -1, 0.5f}, "minimum");
  expect_values(pow(vec({2, 3, 4}), vec({3, 0.5f, -1})), {8, std::sqrt(3.0f), 0.25f}, "pow", 1e-6f);
  // a scalar tensor [] broadcasts against anything
  expect_values(mul(vec({1, 2, 3}), full({}, 2.0f)), {2, 4, 6}, "mul by []");
}

BOOST_AUTO_TEST_CASE(maximum_minimum_ties_split_gradient) {
  Tensor a = req(vec({1, -2, 3, 0.5f})), b = req(vec({2, 2, -1, 0.5f}));
  maximum(a, b).backward(ones({4}));
  expect_values(a.grad(), {0, 0, 1, 0.5f}, "maximum grad a");
  expect_values(b.grad(), {1, 1, 0, 0.5f}, "maximum grad b");
  Tensor c = req(vec({1, -2, 3, 0.5f})), d = req(vec({2, 2, -1, 0.5f}));
  minimum(c, d).backward(ones({4}));
  expect_values(c.grad(), {1, 1, 0, 0.5f}, "minimum grad a");
  expect_values(d.grad(), {0, 0, 1, 0.5f}, "minimum grad b");
}

BOOST_AUTO_TEST_CASE(scalar_forms_and_operators) {
  Tensor x = vec({1, 2, -4});
  expect_values(x + 1.0f, {2, 3, -3}, "x+1");
  expect_values(1.0f + x, {2, 3, -3}, "1+x");
  expect_values(x - 1.0f, {0, 1, -5}, "x-1");
  expect_values(1.0f - x, {0, -1, 5}, "1-x");
  expect_values(x * 2.0f, {2, 4, -8}, "x*2");
  expect_values(2.0f * x, {2, 4, -8}, "2*x");
  expect_values(x / 2.0f, {0.5f, 1, -2}, "x/2");
  expect_values(2.0f / x, {2, 1, -0.5f}, "2/x");
  expect_values(pow(x, 2.0f), {1, 4, 16}, "x^2");
  expect_values(-x, {-1, -2, 4}, "-x");
  // gradients of the scalar forms at x = [1, 2, -4]
  Tensor t = req(vec({1, 2, -4}));
  (2.0f / t).backward(ones({3}));  // -2/x^2
  expect_values(t.grad(), {-2, -0.5f, -0.125f}, "d(2/x)");
  Tensor u = req(vec({1, 2, -4}));
  pow(u, 3.0f).backward(ones({3}));  // 3x^2
  expect_values(u.grad(), {3, 12, 48}, "d(x^3)");
  Tensor w = req(vec({1, 2, -4}));
  (1.0f - w / 4.0f).backward(ones({3}));
  expect_values(w.grad(), {-0.25f, -0.25f, -0.25f}, "d(1 - x/4)");
}

BOOST_AUTO_TEST_CASE(unary_values) {
  Tensor x = vec({-1, 0, 2});
  expect_values(relu(x), {0, 0, 2}, "relu");
  expect_values(leaky_relu(x, 0.1f), {-0.1f, 0, 2}, "leaky_relu");
  expect_values(leaky_relu(x), {-0.01f, 0, 2}, "leaky_relu default slope");
  expect_values(sign(x), {-1, 0, 1}, "sign");
  expect_values(abs(x), {1, 0, 2}, "abs");
  expect_values(neg(x), {1, 0, -2}, "neg");
  expect_values(clamp(vec({-2, 0.5f, 3}), -1, 1), {-1, 0.5f, 1}, "clamp");
  expect_values(sigmoid(vec({0, 2})), {0.5f, 1.0f / (1.0f + std::exp(-2.0f))}, "sigmoid");
  expect_values(tanh(vec({0, 1})), {0, std::tanh(1.0f)}, "tanh");
  expect_values(exp(vec({0, 1})), {1, std::exp(1.0f)}, "exp");
  expect_values(log(vec({1, std::exp(1.0f)})), {0, 1}, "log", 1e-6f);
  expect_values(sqrt(vec({4, 2.25f})), {2, 1.5f}, "sqrt");
}

BOOST_AUTO_TEST_CASE(unary_gradients_at_kinks_follow_pytorch) {
  Tensor x = req(vec({-1, 0, 2}));
  relu(x).backward(ones({3}));
  expect_values(x.grad(), {0, 0, 1}, "relu'(0) = 0");
  Tensor y = req(vec({-1, 0, 2}));
  abs(y).backward(ones({3}));
  expect_values(y.grad(), {-1, 0, 1}, "abs'(0) = 0");
  Tensor z = req(vec({-1, 0, 2}));
  sign(z).backward(ones({3}));
  expect_values(z.grad(), {0, 0, 0}, "sign' = 0");
  Tensor c = req(vec({-1.5f, -1, 0.5f, 1, 2}));
  clamp(c, -1, 1).backward(ones({5}));
  expect_values(c.grad(), {0, 1, 1, 1, 0}, "clamp passes [lo, hi] inclusive");
  Tensor l = req(vec({-1, 0, 2}));
  leaky_relu(l, 0.1f).backward(ones({3}));
  expect_values(l.grad(), {0.1f, 0.1f, 1}, "leaky_relu'(0) = slope");
}

BOOST_AUTO_TEST_CASE(where_values_and_gradient) {
  Tensor cond = from_vector(std::vector<uint8_t>{1, 0, 1}, {3});
  Tensor a = req(vec({1, 2, 3, 4, 5, 6}, {2, 3}));
  Tensor b = req(full({}, -1.0f));
  Tensor y = where(cond, a, b);
  expect_values(y, {1, -1, 3, 4, -1, 6}, "where u8");
  y.backward(ones({2, 3}));
  expect_values(a.grad(), {1, 0, 1, 1, 0, 1}, "where grad a");
  expect_values(b.grad(), {2}, "where grad b (summed)");
  // f32 condition: nonzero is true; cond broadcast along rows
  Tensor fcond = vec({0.5f, 0}, {2, 1});
  expect_values(where(fcond, vec({1, 2, 3}), vec({7, 8, 9})), {1, 2, 3, 7, 8, 9}, "where f32");
}

BOOST_AUTO_TEST_CASE(comparisons) {
  Tensor a = vec({1, 2, 3}), b = vec({2, 2, 2});
  expect_values(eq(a, b), {0, 1, 0}, "eq");
  expect_values(ne(a, b), {1, 0, 1}, "ne");
  expect_values(lt(a, b), {1, 0, 0}, "lt");
  expect_values(le(a, b), {1, 1, 0}, "le");
  expect_values(gt(a, b), {0, 0, 1}, "gt");
  expect_values(ge(a, b), {0, 1, 1}, "ge");
  BOOST_CHECK(eq(a, b).dtype() == DType::u8);
  expect_values(gt(a, 1.5f), {0, 1, 1}, "gt scalar");
  expect_values(le(a, 2.0f), {1, 1, 0}, "le scalar");
  // broadcast [3,1] vs [2] -> [3,2]
  expect_values(lt(vec({1, 2, 3}, {3, 1}), vec({2, 3})), {1, 1, 0, 1, 0, 0}, "lt broadcast");
  // i32 labels vs predictions, and an i32 tensor against a float scalar
  Tensor p = from_vector(std::vector<int32_t>{0, 3, 2}, {3});
  Tensor q = from_vector(std::vector<int32_t>{0, 1, 2}, {3});
  expect_values(eq(p, q), {1, 0, 1}, "eq i32");
  expect_values(ge(p, 2.0f), {0, 1, 1}, "ge i32 vs scalar");
  Tensor m = from_vector(std::vector<uint8_t>{0, 1, 1}, {3});
  expect_values(ne(m, from_vector(std::vector<uint8_t>{1}, {1})), {1, 0, 0}, "ne u8");
}

BOOST_AUTO_TEST_CASE(casts) {
  Tensor x = vec({1.7f, -1.7f, 300});
  Tensor xi = cast(x, DType::i32);
  BOOST_CHECK(xi.dtype() == DType::i32);
  BOOST_TEST(xi.to_vector<int32_t>() == std::vector<int32_t>({1, -1, 300}),
             boost::test_tools::per_element());
  BOOST_TEST(cast(x, DType::u8).to_vector<uint8_t>() == std::vector<uint8_t>({1, 255, 44}),
             boost::test_tools::per_element());
  Tensor m = from_vector(std::vector<uint8_t>{0, 1, 200}, {3});
  expect_values(cast(m, DType::f32), {0, 1, 200}, "u8 -> f32");
  BOOST_TEST(cast(m, DType::i32).to_vector<int32_t>() == std::vector<int32_t>({0, 1, 200}),
             boost::test_tools::per_element());
  BOOST_CHECK(cast(x, DType::f32).same_storage(x));  // no-op cast returns x
  // Defined (and the same on both devices) where a C++ cast is not: NaN -> 0, saturation.
  Tensor odd = vec({std::nanf(""), 3e9f, -3e9f});
  BOOST_TEST(cast(odd, DType::i32).to_vector<int32_t>() ==
                 std::vector<int32_t>({0, 2147483647, -2147483647 - 1}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sum_to_shape_and_broadcast_to) {
  Tensor g = arange(24).reshape({2, 3, 4});  // g[i,j,k] = 12i + 4j + k
  expect_values(sum_to_shape(g, {3, 1}), {60, 92, 124}, "[2,3,4] -> [3,1] (two summed runs)");
  expect_values(sum_to_shape(g, {2, 1, 4}), {12, 15, 18, 21, 48, 51, 54, 57},
                "[2,3,4] -> [2,1,4] (one summed run)");
  expect_values(sum_to_shape(g, {4}), {60, 66, 72, 78}, "[2,3,4] -> [4]");
  expect_values(sum_to_shape(g, {}), {276}, "[2,3,4] -> []");
  BOOST_TEST(sum_to_shape(g, {1, 3, 1}).shape() == Shape({1, 3, 1}),
             boost::test_tools::per_element());
  BOOST_CHECK(sum_to_shape(g, {2, 3, 4}).same_storage(g));  // nothing to sum: no copy
  expect_values(broadcast_to(vec({1, 2}, {2, 1}), {2, 3}), {1, 1, 1, 2, 2, 2}, "broadcast_to");
  expect_error([&] { sum_to_shape(g, {3}); }, {"sum_to_shape", "[3]", "[2, 3, 4]"});
  expect_error([&] { broadcast_to(vec({1, 2}), {3}); }, {"broadcast_to", "[2]", "[3]"});
}

BOOST_AUTO_TEST_CASE(in_place_helpers) {
  Tensor y = vec({1, 2, 3});
  add_(y, vec({1, 1, 1}), 0.5f);
  expect_values(y, {1.5f, 2.5f, 3.5f}, "add_");
  mul_(y, 2.0f);
  expect_values(y, {3, 5, 7}, "mul_");
  expect_error([&] { add_(y, vec({1, 1})); }, {"add_", "[3]", "[2]"});
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(shape_and_dtype_errors) {
  Tensor a = zeros({3, 4}), b = zeros({5});
  expect_error([&] { add(a, b); }, {"add", "[3, 4]", "[5]", "cannot be broadcast"});
  expect_error([&] { maximum(a, zeros({2, 1, 5})); }, {"maximum", "[3, 4]", "[2, 1, 5]"});
  expect_error([&] { eq(a, b); }, {"eq", "[3, 4]", "[5]"});
  expect_error([&] { where(ones({2}, Device::cpu(), DType::u8), a, a); }, {"where", "[2]"});
  Tensor i = zeros({3, 4}, Device::cpu(), DType::i32);
  expect_error([&] { mul(a, i); }, {"mul", "f32", "i32"});
  expect_error([&] { relu(i); }, {"relu", "f32", "i32"});
  expect_error([&] { eq(a, i); }, {"eq", "f32", "i32"});
  expect_error([&] { where(i, a, a); }, {"where", "i32"});
}

// ---------------------------------------------------------------- gradchecks (CPU)

BOOST_AUTO_TEST_CASE(gradcheck_broadcast_binary) {
  // a and b on interleaved grids 0.25 apart: no ties for maximum/minimum
  Tensor a = req(distinct_values({3, 1, 5}, 0.5f, -3.0f));
  Tensor b = req(distinct_values({4, 1}, 0.5f, -0.75f));
  gradcheck("add", [](auto& in) { return add(in[0], in[1]); }, {a, b});
  gradcheck("sub", [](auto& in) { return sub(in[0], in[1]); }, {a, b});
  gradcheck("mul", [](auto& in) { return mul(in[0], in[1]); }, {a, b});
  gradcheck("maximum", [](auto& in) { return maximum(in[0], in[1]); }, {a, b});
  gradcheck("minimum", [](auto& in) { return minimum(in[0], in[1]); }, {a, b});
  Tensor d = req(random_uniform({4, 1}, 11, 0.5f, 2.0f));
  gradcheck("div", [](auto& in) { return div(in[0], in[1]); }, {a, d});
  Tensor base = req(random_uniform({2, 3, 1}, 12, 0.5f, 2.0f));
  Tensor expo = req(random_tensor({7}, 13));
  gradcheck("pow", [](auto& in) { return pow(in[0], in[1]); }, {base, expo});
  // only one side requires grad
  Tensor c = random_tensor({4, 1}, 14);
  gradcheck("mul (a only)", [](auto& in) { return mul(in[0], in[1]); }, {a, c});
}

BOOST_AUTO_TEST_CASE(gradcheck_scalar_forms) {
  Tensor x = req(random_tensor({3, 7}, 21));
  Tensor pos = req(random_uniform({3, 7}, 22, 0.5f, 2.0f));
  gradcheck("add s", [](auto& in) { return add(in[0], 1.5f); }, {x});
  gradcheck("sub s", [](auto& in) { return sub(in[0], 1.5f); }, {x});
  gradcheck("rsub s", [](auto& in) { return sub(1.5f, in[0]); }, {x});
  gradcheck("mul s", [](auto& in) { return mul(in[0], -3.0f); }, {x});
  gradcheck("div s", [](auto& in) { return div(in[0], 4.0f); }, {x});
  gradcheck("rdiv s", [](auto& in) { return div(2.0f, in[0]); }, {pos});
  gradcheck("pow s", [](auto& in) { return pow(in[0], 2.5f); }, {pos});
  gradcheck("neg", [](auto& in) { return -in[0]; }, {x});
}

BOOST_AUTO_TEST_CASE(gradcheck_unary) {
  Tensor x = req(random_tensor({5, 11}, 31, 2.0f));
  Tensor pos = req(random_uniform({5, 11}, 32, 0.3f, 3.0f));
  GradcheckOptions at_zero;
  at_zero.kinks = {0.0f};
  gradcheck("exp", [](auto& in) { return exp(in[0]); }, {x});
  gradcheck("log", [](auto& in) { return log(in[0]); }, {pos});
  gradcheck("sqrt", [](auto& in) { return sqrt(in[0]); }, {pos});
  gradcheck("sigmoid", [](auto& in) { return sigmoid(in[0]); }, {x});
  gradcheck("tanh", [](auto& in) { return tanh(in[0]); }, {x});
  gradcheck("relu", [](auto& in) { return relu(in[0]); }, {x}, at_zero);
  gradcheck("leaky_relu", [](auto& in) { return leaky_relu(in[0], 0.2f); }, {x}, at_zero);
  gradcheck("abs", [](auto& in) { return abs(in[0]); }, {x}, at_zero);
  gradcheck("sign", [](auto& in) { return sign(in[0]); }, {x}, at_zero);
  GradcheckOptions at_bounds;
  at_bounds.kinks = {-0.5f, 1.0f};
  gradcheck("clamp", [](auto& in) { return clamp(in[0], -0.5f, 1.0f); }, {x}, at_bounds);
}

BOOST_AUTO_TEST_CASE(gradcheck_where_sum_to_shape_broadcast_to) {
  Tensor cond = gt(random_tensor({3, 1, 5}, 41), 0.0f);
  Tensor a = req(random_tensor({4, 5}, 42));
  Tensor b = req(random_tensor({3, 4, 1}, 43));
  gradcheck("where", [cond](auto& in) { return where(cond, in[0], in[1]); }, {a, b});
  Tensor g = req(random_tensor({2, 3, 4, 5}, 44));
  gradcheck("sum_to_shape [3,1,5]", [](auto& in) { return sum_to_shape(in[0], {3, 1, 5}); }, {g});
  gradcheck("sum_to_shape [2,1,4,1]",
            [](auto& in) { return sum_to_shape(in[0], {2, 1, 4, 1}); }, {g});
  Tensor s = req(random_tensor({3, 1}, 45));
  gradcheck("broadcast_to", [](auto& in) { return broadcast_to(in[0], {2, 3, 4}); }, {s});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(cuda_device_mismatch) {
  Tensor a = zeros({3}), b = zeros({3}, Device::cuda());
  expect_error([&] { add(a, b); }, {"add", "cpu", "cuda"});
  expect_error([&] { where(ones({3}, Device::cpu(), DType::u8), b, b); }, {"where", "cpu", "cuda"});
}

NF_CUDA_TEST_CASE(cuda_parity_binary_broadcast) {
  // > 65536 outputs, odd sizes, several broadcast patterns
  struct Case { Shape a, b; };
  std::vector<Case> cases = {{{257, 263}, {257, 263}}, {{257, 1}, {263}},
                             {{3, 1, 129, 1}, {5, 1, 171}}, {{1}, {70001}}, {{}, {7, 9}}};
  uint64_t seed = 100;
  for (const Case& c : cases) {
    Tensor a = req(distinct_values(c.a, 4.0f / (float)shape_numel(c.a), -2.0f));  // in [-2, 2)
    Tensor b = req(random_tensor(c.b, ++seed));
    Tensor bpos = req(random_uniform(c.b, ++seed, 0.5f, 2.0f));
    Tensor apos = req(random_uniform(c.a, ++seed, 0.5f, 2.0f));
    std::string s = shape_str(c.a) + " with " + shape_str(c.b);
    // atol 1e-3: broadcast gradients sum up to 70001 terms (float on the GPU, double on the CPU)
    check_cuda_parity("add " + s, [](auto& in) { return add(in[0], in[1]); }, {a, b}, 1e-3f, 1e-4f);
    check_cuda_parity("sub " + s, [](auto& in) { return sub(in[0], in[1]); }, {a, b}, 1e-3f, 1e-4f);
    check_cuda_parity("mul " + s, [](auto& in) { return mul(in[0], in[1]); }, {a, b}, 1e-3f, 1e-4f);
    check_cuda_parity("div " + s, [](auto& in) { return div(in[0], in[1]); }, {a, bpos}, 1e-3f, 1e-4f);
    check_cuda_parity("maximum " + s, [](auto& in) { return maximum(in[0], in[1]); }, {a, b}, 1e-3f, 1e-4f);
    check_cuda_parity("minimum " + s, [](auto& in) { return minimum(in[0], in[1]); }, {a, b}, 1e-3f, 1e-4f);
    check_cuda_parity("pow " + s, [](auto& in) { return pow(in[0], in[1]); }, {apos, b}, 1e-3f, 1e-3f);
    check_cuda_parity("where " + s, [](auto& in) { return where(gt(in[0], in[1]), in[0], in[1]); },
                      {a, b}, 1e-3f, 1e-4f);
    using Cmp = Tensor (*)(const Tensor&, const Tensor&);
    for (Cmp cmp : std::vector<Cmp>{&eq, &ne, &lt, &le, &gt, &ge}) {
      check_cuda_parity("compare " + s,
                        [cmp](auto& in) { return cast(cmp(in[0], in[1]), DType::f32); }, {a, b});
    }
  }
}

NF_CUDA_TEST_CASE(cuda_parity_unary_and_scalar) {
  Tensor x = req(random_tensor({263, 257}, 201, 2.0f));
  Tensor pos = req(random_uniform({263, 257}, 202, 0.3f, 3.0f));
  using F = Tensor (*)(const Tensor&);
  std::vector<std::pair<std::string, F>> plain = {
      {"neg", &neg}, {"exp", &exp}, {"abs", &abs}, {"sign", &sign},
      {"relu", &relu}, {"sigmoid", &sigmoid}, {"tanh", &tanh}};
  for (auto& [name, fn] : plain)
    check_cuda_parity(name, [fn = fn](auto& in) { return fn(in[0]); }, {x}, 1e-4f, 1e-4f);
  check_cuda_parity("log", [](auto& in) { return log(in[0]); }, {pos}, 1e-4f, 1e-4f);
  check_cuda_parity("sqrt", [](auto& in) { return sqrt(in[0]); }, {pos}, 1e-4f, 1e-4f);
  check_cuda_parity("leaky_relu", [](auto& in) { return leaky_relu(in[0], 0.2f); }, {x});
  check_cuda_parity("clamp", [](auto& in) { return clamp(in[0], -0.5f, 1.0f); }, {x});
  check_cuda_parity("x+s", [](auto& in) { return in[0] + 1.5f; }, {x});
  check_cuda_parity("x-s", [](auto& in) { return in[0] - 1.5f; }, {x});
  check_cuda_parity("s-x", [](auto& in) { return 1.5f - in[0]; }, {x});
  check_cuda_parity("x*s", [](auto& in) { return in[0] * 3.0f; }, {x});
  check_cuda_parity("x/s", [](auto& in) { return in[0] / 3.0f; }, {x});
  check_cuda_parity("s/x", [](auto& in) { return 2.0f / in[0]; }, {pos}, 1e-4f, 1e-4f);
  check_cuda_parity("x^s", [](auto& in) { return pow(in[0], 2.5f); }, {pos}, 1e-4f, 1e-4f);
  check_cuda_parity("gt s", [](auto& in) { return cast(gt(in[0], 0.1f), DType::f32); }, {x});
}

NF_CUDA_TEST_CASE(cuda_parity_sum_to_shape_cast_inplace) {
  Tensor g = req(random_tensor({3, 129, 5, 37}, 301));  // 71595 elements
  for (Shape target : std::vector<Shape>{{129, 1, 37}, {3, 1, 5, 1}, {37}, {}, {3, 1, 1, 1},
                                         {1, 129, 5, 37}})
    check_cuda_parity("sum_to_shape " + shape_str(target),
                      [target](auto& in) { return sum_to_shape(in[0], target); }, {g}, 1e-3f,
                      1e-4f);
  Tensor x = random_tensor({70001}, 302, 50.0f);
  for (DType to : {DType::i32, DType::u8}) {
    Tensor yc = cast(x, to), yd = cast(x.cuda(), to);
    expect_close(cast(yd.cpu(), DType::f32), cast(yc, DType::f32), 0, 0, "cast");
    expect_close(cast(cast(yd, DType::f32).cpu(), DType::f32), cast(cast(yc, DType::f32), DType::f32),
                 0, 0, "cast back");
  }
  Tensor y = random_tensor({70001}, 303), d = random_tensor({70001}, 304);
  Tensor yd = y.cuda();
  add_(y, d, 0.5f);
  add_(yd, d.cuda(), 0.5f);
  mul_(y, -2.0f);
  mul_(yd, -2.0f);
  expect_close(yd.cpu(), y, 1e-6f, 1e-6f, "add_/mul_");
}

BOOST_AUTO_TEST_SUITE_END()
