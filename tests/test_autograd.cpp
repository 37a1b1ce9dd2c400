// The tape engine, tested with ops defined here on raw host loops so that the engine is
// checked independently of every op family.
#include <cmath>

#include "engine/autograd.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;

namespace {
// y = a * x + b * w (elementwise, same shapes); dy/dx = a, dy/dw = b.
Tensor lincomb(const Tensor& x, float a, const Tensor& w, float b) {
  std::vector<float> xv = x.to_vector(), wv = w.to_vector(), yv(xv.size());
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = a * xv[i] + b * wv[i];
  Tensor y = from_vector(yv, x.shape());
  return record("lincomb", y, {x, w}, [a, b](const Tensor& g, Grads& grads) {
    std::vector<float> gv = g.to_vector(), gx(gv.size()), gw(gv.size());
    for (size_t i = 0; i < gv.size(); ++i) { gx[i] = a * gv[i]; gw[i] = b * gv[i]; }
    if (grads.wants(0)) grads.set(0, from_vector(gx, g.shape()));
    if (grads.wants(1)) grads.set(1, from_vector(gw, g.shape()));
  });
}
// y = x * x (elementwise); saves x.
Tensor square(const Tensor& x) {
  std::vector<float> xv = x.to_vector(), yv(xv.size());
  for (size_t i = 0; i < yv.size(); ++i) yv[i] = xv[i] * xv[i];
  Tensor saved = x.detach();
  return record("square", from_vector(yv, x.shape()), {x}, [saved](const Tensor& g, Grads& grads) {
    std::vector<float> gv = g.to_vector(), xv = saved.to_vector();
    for (size_t i = 0; i < gv.size(); ++i) gv[i] *= 2 * xv[i];
    grads.set(0, from_vector(gv, g.shape()));
  });
}
// Sum of all elements -> shape [].
Tensor total(const Tensor& x) {
  double s = 0;
  for (float v : x.to_vector()) s += v;
  const Shape shape = x.shape();
  return record("total", scalar_tensor((float)s), {x},
                [shape](const Tensor& g, Grads& grads) { grads.set(0, full(shape, g.item())); });
}
}  // namespace

BOOST_AUTO_TEST_SUITE(autograd)

BOOST_AUTO_TEST_CASE(chain_rule_through_views) {
  Tensor x = from_vector(std::vector<float>{1, -2, 3, 4, 5, -6}, {2, 3}).requires_grad_();
  // loss = sum(square(x.reshape(3,2).slice(1,3)))  -> grad 2x on rows 1..2 of the [3,2] view
  Tensor loss = total(square(x.reshape({3, 2}).slice(1, 3)));
  loss.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({0, 0, 6, 8, 10, -12}), boost::test_tools::per_element());
  BOOST_TEST(x.grad().shape() == x.shape(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fan_out_accumulates_and_leaves_accumulate_across_calls) {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  // y = 3x + 2*(x^2): dy/dx = 3 + 4x  (x used twice: the engine must add both paths)
  Tensor loss = total(lincomb(x, 3.0f, square(x), 2.0f));
  loss.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({7, 11}), boost::test_tools::per_element());
  total(square(x)).backward();  // accumulates: + 2x
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({9, 15}), boost::test_tools::per_element());
  x.zero_grad();
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({0, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(pass_through_gradients_are_not_aliased) {
  // total(x) and total(clone(x)) both hand the same-valued gradient along; accumulating one
  // into the other must not write through a shared buffer.
  Tensor x = from_vector(std::vector<float>{1, 2, 3}, {3}).requires_grad_();
  Tensor c = x.clone();
  Tensor loss = total(lincomb(c, 1.0f, c.reshape({3}), 1.0f));
  loss.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<float>({2, 2, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(only_requested_inputs_get_gradients) {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor w = from_vector(std::vector<float>{5, 6}, {2});  // a "weight" that is frozen
  bool asked_for_w = true;
  Tensor y = from_vector(std::vector<float>{0, 0}, {2});
  y = record("probe", y, {x, w}, [&](const Tensor& g, Grads& grads) {
    asked_for_w = grads.wants(1);
    grads.set(0, g);
  });
  total(y).backward();
  BOOST_TEST(!asked_for_w);  // PGD relies on this to skip weight gradients
  BOOST_TEST(!w.grad().defined());
  BOOST_TEST(x.grad().defined());
}

BOOST_AUTO_TEST_CASE(no_grad_and_detach_stop_the_tape) {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  {
    NoGrad guard;
    BOOST_TEST(!grad_enabled());
    BOOST_TEST(!square(x).requires_grad());
  }
  BOOST_TEST(grad_enabled());
  BOOST_TEST(square(x).requires_grad());
  BOOST_TEST(!square(x.detach()).requires_grad());
  BOOST_TEST(x.detach().same_storage(x));
  expect_error([&] { total(square(x.detach())).backward(); }, {"backward", "does not require grad"});
}

// The scope attacks use for input gradients: parameters frozen, each flag restored after.
BOOST_AUTO_TEST_CASE(requires_grad_off_freezes_for_a_scope) {
  Tensor w = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor b = from_vector(std::vector<float>{3}, {1});  // already frozen: stays so
  Tensor x = from_vector(std::vector<float>{4, 5}, {2}).requires_grad_();
  {
    RequiresGradOff frozen({w, b});
    BOOST_TEST(!w.requires_grad());
    BOOST_TEST(!square(w).requires_grad());  // nothing taped for the parameters
    BOOST_TEST(square(x).requires_grad());   // the input still is
  }
  BOOST_TEST(w.requires_grad());
  BOOST_TEST(!b.requires_grad());
}

BOOST_AUTO_TEST_CASE(errors_are_named) {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor y = square(x);
  expect_error([&] { y.backward(); }, {"backward", "single-element"});
  expect_error([&] { y.backward(ones({3})); }, {"backward", "f32[3]", "f32[2]"});
  expect_error([&] { y.requires_grad_(); }, {"requires_grad_", "square"});
  expect_error([] { zeros({2}, Device::cpu(), DType::i32).requires_grad_(); }, {"requires_grad_", "i32"});
  Tensor loss = total(y);
  loss.backward();
  expect_error([&] { loss.backward(); }, {"already backpropagated"});
  // A closure returning a wrongly shaped gradient is caught at the op that made it.
  Tensor bad = record("broken_op", from_vector(std::vector<float>{0, 0}, {2}), {x},
                      [](const Tensor& g, Grads& grads) { grads.set(0, ones({5})); });
  expect_error([&] { total(bad).backward(); }, {"broken_op backward", "f32[5]", "[2]"});
}

BOOST_AUTO_TEST_CASE(grad_into_arena_view) {
  // nn's flat arena gives each parameter a view into one gradient buffer; backward must
  // accumulate into that view, not replace it.
  Tensor arena = zeros({5});
  Tensor p = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  p.set_grad(arena.view_range(3, {2}));
  total(square(p)).backward();
  BOOST_TEST(arena.to_vector() == std::vector<float>({0, 0, 0, 2, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(anomaly_mode_names_the_op) {
  Tensor x = from_vector(std::vector<float>{1, 2}, {2}).requires_grad_();
  Tensor y = record("makes_nan", from_vector(std::vector<float>{0, 0}, {2}), {x},
                    [](const Tensor& g, Grads& grads) { grads.set(0, full({2}, std::nanf(""))); });
  set_detect_anomaly(true);
  expect_error([&] { total(y).backward(); }, {"anomaly", "makes_nan", "nan"});
  set_detect_anomaly(false);
}

BOOST_AUTO_TEST_CASE(gradcheck_detects_a_wrong_gradient) {
  // The checker itself must be able to fail: a deliberately wrong backward (factor 3, not 2).
  Tensor x = test::random_tensor({4}, 3).requires_grad_();
  auto wrong_square = [](const std::vector<Tensor>& in) {
    std::vector<float> xv = in[0].to_vector(), yv(xv.size());
    for (size_t i = 0; i < yv.size(); ++i) yv[i] = xv[i] * xv[i];
    Tensor saved = in[0].detach();
    return record("wrong_square", from_vector(yv, in[0].shape()), {in[0]}, [saved](const Tensor& g, Grads& grads) {
      std::vector<float> gv = g.to_vector(), xv = saved.to_vector();
      for (size_t i = 0; i < gv.size(); ++i) gv[i] *= 3 * xv[i];
      grads.set(0, from_vector(gv, g.shape()));
    });
  };
  test::GradcheckOptions quiet;
  quiet.report = false;
  BOOST_TEST(test::gradcheck("wrong_square", wrong_square, {x}, quiet) == 4);
  test::gradcheck("square (correct)", [](const std::vector<Tensor>& in) { return square(in[0]); }, {x});
}

NF_CUDA_TEST_CASE(cuda_backward_through_device_copy) {
  Tensor x = test::random_tensor({3, 5}, 9).requires_grad_();
  Tensor xd = x.to(Device::cuda());
  Tensor back = xd.reshape({15}).slice(2, 9).cpu();
  total(square(back)).backward();
  std::vector<float> g = x.grad().to_vector(), xv = x.to_vector();
  for (int i = 0; i < 15; ++i) BOOST_TEST(g[i] == ((i >= 2 && i < 9) ? 2 * xv[i] : 0.0f));
}

BOOST_AUTO_TEST_SUITE_END()
