// nn losses: hand-computed values for every reduction, gradchecks, error cases, CUDA parity.
#include <cmath>

#include "engine/autograd.h"
#include "nn/losses.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;
using nn::Reduction;

namespace {
Tensor leaf(const Tensor& t) {
  Tensor c = t.detach().clone();
  c.requires_grad_();
  return c;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(nn_losses)

BOOST_AUTO_TEST_CASE(mse_loss_values_and_gradients) {
  Tensor x = fv({1, 2, 3}, {3}), t = fv({0, 2, 5}, {3});
  // squared errors 1, 0, 4
  BOOST_TEST(nn::mse_loss(x, t).item() == 5.0f / 3.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(nn::mse_loss(x, t, Reduction::sum).item() == 5.0f);
  BOOST_TEST(nn::mse_loss(x, t, Reduction::none).to_vector() == std::vector<float>({1, 0, 4}),
             boost::test_tools::per_element());
  // d mean / dx = 2 (x - t) / 3
  Tensor xl = leaf(x);
  nn::mse_loss(xl, t).backward();
  expect_close(xl.grad(), fv({2.0f / 3, 0, -4.0f / 3}, {3}), 1e-6f, 1e-6f, "mse grad");
  for (Reduction r : {Reduction::none, Reduction::mean, Reduction::sum})
    gradcheck(std::string("mse_loss ") + reduction_name(r),
              [r](const std::vector<Tensor>& in) { return nn::mse_loss(in[0], in[1], r); },
              {leaf(random_tensor({4, 3}, 1)), leaf(random_tensor({4, 3}, 2))});
  expect_error([] { nn::mse_loss(ones({3}), ones({3, 1})); }, {"mse_loss", "target [3, 1]", "input [3]"});
}

BOOST_AUTO_TEST_CASE(multi_margin_loss_values_and_gradients) {
  // PyTorch's documented example: x = [0.1, 0.2, 0.4, 0.8], y = 3:
  // (max(0, 1-0.8+0.1) + max(0, 1-0.8+0.2) + max(0, 1-0.8+0.4)) / 4 = (0.3 + 0.4 + 0.6) / 4
  Tensor x = fv({0.1f, 0.2f, 0.4f, 0.8f, 2.0f, 0.5f, 1.5f, -1.0f}, {2, 4});
  Tensor y = from_vector(std::vector<int32_t>{3, 0}, {2});
  // row 1, y = 0 (x_y = 2): terms max(0, 1-2+0.5) = 0, max(0, 1-2+1.5) = 0.5, max(0, 1-2-1) = 0 -> 0.5/4
  expect_close(nn::multi_margin_loss(x, y, 1, 1.0f, Tensor(), Reduction::none).to_vector(), std::vector<float>({0.325f, 0.125f}), 1e-6f, 1e-6f, "case 1");
  BOOST_TEST(nn::multi_margin_loss(x, y).item() == 0.225f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(nn::multi_margin_loss(x, y, 1, 1.0f, Tensor(), Reduction::sum).item() == 0.45f,
             boost::test_tools::tolerance(1e-6f));
  // p = 2: (0.09 + 0.16 + 0.36) / 4 and 0.25 / 4
  expect_close(nn::multi_margin_loss(x, y, 2, 1.0f, Tensor(), Reduction::none).to_vector(), std::vector<float>({0.1525f, 0.0625f}), 1e-6f, 1e-6f, "case 2");
  // class weights multiply by w[y]: w[3] = 2, w[0] = 0.5; margin 0.5: row 0 terms 0, 0, 0.1 -> 0.1*2/4
  Tensor w = fv({0.5f, 1, 1, 2}, {4});
  expect_close(nn::multi_margin_loss(x, y, 1, 0.5f, w, Reduction::none).to_vector(), std::vector<float>({0.05f, 0.0f}), 1e-6f, 1e-6f, "case 3");
  // Gradient of row 0 (mean over N = 2): active terms i = 0, 1, 2 each +1/4 to x_i, -3/4 to x_y
  Tensor xl = leaf(x);
  nn::multi_margin_loss(xl, y).backward();
  expect_close(xl.grad(), fv({0.125f, 0.125f, 0.125f, -0.375f, -0.125f, 0, 0.125f, 0}, {2, 4}), 1e-6f, 0,
               "multi_margin grad");
  GradcheckOptions small_step;
  small_step.step = 1e-3f;  // keeps the probes off the hinges' kinks
  for (int p : {1, 2})
    gradcheck("multi_margin_loss p=" + std::to_string(p),
              [p](const std::vector<Tensor>& in) {
                return nn::multi_margin_loss(in[0], from_vector(std::vector<int32_t>{1, 0, 4, 2, 2}, {5}), p, 1.0f,
                                             fv({1, 2, 0.5f, 1, 3}, {5}));
              },
              {leaf(random_tensor({5, 5}, 3))}, small_step);
  expect_error([&] { nn::multi_margin_loss(x, fv({3, 0}, {2})); }, {"multi_margin_loss", "target", "i32"});
  expect_error([&] { nn::multi_margin_loss(x, y, 3); }, {"multi_margin_loss", "p = 1 and p = 2", "3"});
  expect_error([&] { nn::multi_margin_loss(x, from_vector(std::vector<int32_t>{3}, {1})); },
               {"multi_margin_loss", "target i32 [2]", "[1]"});
  expect_error([&] { nn::multi_margin_loss(x, from_vector(std::vector<int32_t>{4, 0}, {2})); }, {"4"});
}

BOOST_AUTO_TEST_CASE(bce_with_logits_values_and_gradients) {
  // softplus(z) = log(1 + e^z): l(x, t) = t softplus(-x) + (1 - t) softplus(x)
  Tensor x = fv({0, 2, -3, 1}, {4}), t = fv({1, 0, 1, 0.25f}, {4});
  expect_close(nn::binary_cross_entropy_with_logits(x, t, Tensor(), Reduction::none).to_vector(), std::vector<float>({0.6931472f, 2.1269280f, 3.0485874f, 1.0632617f}), 1e-6f, 1e-6f, "case 4");
  // pos_weight multiplies the positive term: x = 0, t = 1, pw = 2 -> 2 log 2
  BOOST_TEST(nn::binary_cross_entropy_with_logits(fv({0}, {1}), fv({1}, {1}), Tensor(),
                                                  Reduction::sum, fv({2}, {1}))
                 .item() == 2 * 0.6931472f,
             boost::test_tools::tolerance(1e-6f));
  // weight multiplies each element; mean over elements.
  BOOST_TEST(nn::binary_cross_entropy_with_logits(x, t, fv({1, 0, 0, 2}, {4})).item() ==
                 (0.6931472f + 2 * 1.0632617f) / 4,
             boost::test_tools::tolerance(1e-6f));
  // Large logits do not overflow.
  expect_close(nn::binary_cross_entropy_with_logits(fv({100, -100}, {2}), fv({0, 0}, {2}),
                                                  Tensor(), Reduction::none)
                     .to_vector(), std::vector<float>({100, 0}), 1e-6f, 1e-6f, "case 5");
  // d/dx = sigmoid(x) - t, exactly -0.5 at x = 0, t = 1 (a zero-initialised logistic model).
  Tensor xl = leaf(fv({0, 0}, {2}));
  nn::binary_cross_entropy_with_logits(xl, fv({1, 0}, {2}), Tensor(), Reduction::sum).backward();
  BOOST_TEST(xl.grad().to_vector() == std::vector<float>({-0.5f, 0.5f}), boost::test_tools::per_element());
  GradcheckOptions o;
  o.kinks = {0.0f};  // |x| and min(x, 0): the composite is smooth, but each piece kinks at 0
  gradcheck("bce_with_logits",
            [](const std::vector<Tensor>& in) {
              return nn::binary_cross_entropy_with_logits(in[0], in[1], Tensor(), Reduction::mean, fv({1.5f, 0.5f, 2}, {3}));
            },
            {leaf(random_tensor({4, 3}, 5, 2.0f)), leaf(random_uniform({4, 3}, 6, 0.0f, 1.0f))}, o);
  expect_error([] { nn::binary_cross_entropy_with_logits(ones({2, 3}), ones({2, 3}), ones({4})); },
               {"binary_cross_entropy_with_logits", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(binary_hinge_loss_values_and_gradients) {
  Tensor s = fv({2, 0.5f, -1}, {3}), t = fv({1, -1, 1}, {3});
  // max(0, 1-2) = 0, max(0, 1+0.5) = 1.5, max(0, 1+1) = 2
  BOOST_TEST(nn::binary_hinge_loss(s, t, 1.0f, Reduction::none).to_vector() == std::vector<float>({0, 1.5f, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(nn::binary_hinge_loss(s, t).item() == 3.5f / 3, boost::test_tools::tolerance(1e-6f));
  Tensor sl = leaf(s);
  nn::binary_hinge_loss(sl, t, 1.0f, Reduction::sum).backward();
  BOOST_TEST(sl.grad().to_vector() == std::vector<float>({0, 1, -1}), boost::test_tools::per_element());
  gradcheck("binary_hinge_loss",
            [](const std::vector<Tensor>& in) {
              return nn::binary_hinge_loss(in[0], fv({1, -1, 1, -1, 1, 1}, {6}));
            },
            {leaf(fv({0.3f, 0.2f, -2, 1.7f, 0.5f, 3}, {6}))});
}

BOOST_AUTO_TEST_CASE(cross_entropy_is_re_exported) {
  // uniform logits over 4 classes: log 4
  BOOST_TEST(nn::cross_entropy(zeros({2, 4}), from_vector(std::vector<int32_t>{1, 3}, {2})).item() ==
                 std::log(4.0f),
             boost::test_tools::tolerance(1e-6f));
  nn::CrossEntropyOptions o;
  o.reduction = Reduction::sum;
  BOOST_TEST(nn::cross_entropy(zeros({2, 4}), from_vector(std::vector<int32_t>{1, 3}, {2}), o).item() ==
                 2 * std::log(4.0f),
             boost::test_tools::tolerance(1e-6f));
}

NF_CUDA_TEST_CASE(losses_match_on_cuda) {
  Tensor a = leaf(random_tensor({6, 5}, 1)), b = leaf(random_uniform({6, 5}, 2, 0.0f, 1.0f));
  check_cuda_parity("mse_loss", [](const std::vector<Tensor>& in) { return nn::mse_loss(in[0], in[1]); }, {a, b});
  check_cuda_parity("bce_with_logits",
                    [](const std::vector<Tensor>& in) {
                      return nn::binary_cross_entropy_with_logits(in[0], in[1], Tensor(), Reduction::none);
                    },
                    {a, b});
  check_cuda_parity("multi_margin_loss",
                    [](const std::vector<Tensor>& in) {
                      Tensor y = from_vector(std::vector<int32_t>{0, 4, 2, 1, 3, 3}, {6}, in[0].device());
                      Tensor w = fv({1, 2, 0.5f, 1, 3}, {5}, in[0].device());
                      return nn::multi_margin_loss(in[0], y, 2, 1.0f, w, Reduction::none);
                    },
                    {a});
  check_cuda_parity("binary_hinge_loss",
                    [](const std::vector<Tensor>& in) {
                      std::vector<float> t(30);
                      for (int i = 0; i < 30; ++i) t[i] = i % 3 ? 1.0f : -1.0f;
                      return nn::binary_hinge_loss(in[0], from_vector(t, {6, 5}, in[0].device()), 1.0f, Reduction::sum);
                    },
                    {a});
}

BOOST_AUTO_TEST_SUITE_END()
