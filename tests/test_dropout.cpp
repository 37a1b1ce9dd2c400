// test_dropout.cpp — dropout: identities, statistics, exact scaling, backward, seeding, errors.
#include <cmath>
#include <limits>
#include <vector>

#include "engine/ops/dropout.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

// Inputs in [1, 2): never zero, so y == 0 exactly marks a dropped element.
Tensor nonzero_input(const Shape& shape, uint64_t seed) { return random_uniform(shape, seed, 1, 2); }

std::vector<uint8_t> kept_of(const Tensor& y) {
  std::vector<float> v = y.to_vector();
  std::vector<uint8_t> kept(v.size());
  for (size_t i = 0; i < v.size(); ++i) kept[i] = v[i] != 0.0f;
  return kept;
}

// The statistical and exactness checks shared by the CPU and CUDA cases.
void check_dropout_properties(Device dev) {
  const int64_t n = 100000;
  const float p = 0.3f;
  const float scale = 1.0f / (1.0f - p);
  Tensor x = nonzero_input({100, 1000}, 1).to(dev);
  x.requires_grad_();
  Generator gen(123);
  Tensor y = nanofed::dropout(x, p, true, gen);
  BOOST_CHECK(y.shape() == x.shape());
  BOOST_CHECK(y.device() == dev);

  // Fraction of zeros: Binomial(n, p) has sd sqrt(n p (1-p)) ~ 145; allow 5 sd.
  std::vector<float> xv = x.to_vector(), yv = y.to_vector();
  int64_t zeros_count = 0, badly_scaled = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (yv[i] == 0.0f) ++zeros_count;
    else if (yv[i] != xv[i] * scale) ++badly_scaled;  // survivors: exactly x * (1/(1-p))
  }
  const double sd = std::sqrt(n * p * (1.0 - p));
  BOOST_CHECK_LE(std::fabs((double)zeros_count - n * p), 5 * sd);
  BOOST_CHECK_EQUAL(badly_scaled, 0);

  // Backward: dx = mask * dy / (1-p), the mask being the one the forward used.
  Tensor dy = random_tensor({100, 1000}, 2).to(dev);
  y.backward(dy);
  std::vector<float> dyv = dy.to_vector(), dxv = x.grad().to_vector();
  int64_t bad_grad = 0;
  for (int64_t i = 0; i < n; ++i) {
    float expected = yv[i] != 0.0f ? dyv[i] * scale : 0.0f;
    if (dxv[i] != expected) ++bad_grad;
  }
  BOOST_CHECK_EQUAL(bad_grad, 0);
}

void check_dropout_seeding(Device dev) {
  Tensor x = nonzero_input({7, 333}, 3).to(dev);
  Generator a(42), b(42), c(43);
  std::vector<uint8_t> ka = kept_of(nanofed::dropout(x, 0.5f, true, a));
  std::vector<uint8_t> kb = kept_of(nanofed::dropout(x, 0.5f, true, b));
  std::vector<uint8_t> kc = kept_of(nanofed::dropout(x, 0.5f, true, c));
  BOOST_CHECK(ka == kb);  // same seed, same device -> same mask
  BOOST_CHECK(ka != kc);  // different seed -> different mask
  // The generator advanced: the next draw from `a` gives a new mask.
  std::vector<uint8_t> ka2 = kept_of(nanofed::dropout(x, 0.5f, true, a));
  BOOST_CHECK(ka2 != ka);
  // ...and the same one as the second draw of a fresh generator with that seed.
  Generator d(42);
  nanofed::dropout(x, 0.5f, true, d);
  BOOST_CHECK(kept_of(nanofed::dropout(x, 0.5f, true, d)) == ka2);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dropout)

BOOST_AUTO_TEST_CASE(p_zero_and_eval_are_identity) {
  Tensor x = nonzero_input({3, 5}, 4);
  Generator gen(1);
  Tensor y0 = nanofed::dropout(x, 0.0f, true, gen);
  BOOST_CHECK(y0.same_storage(x));
  expect_close(y0, x, 0, 0, "p = 0");
  Tensor ye = nanofed::dropout(x, 0.7f, false, gen);
  BOOST_CHECK(ye.same_storage(x));
  expect_close(ye, x, 0, 0, "eval");
  BOOST_CHECK_EQUAL(gen.offset(), 0u);  // nothing drawn
}

BOOST_AUTO_TEST_CASE(p_one_gives_zeros) {
  Tensor x = nonzero_input({4, 6}, 5);
  x.requires_grad_();
  Generator gen(2);
  Tensor y = nanofed::dropout(x, 1.0f, true, gen);
  expect_close(y, zeros({4, 6}), 0, 0, "p = 1 output");
  y.backward(random_tensor({4, 6}, 6));
  expect_close(x.grad(), zeros({4, 6}), 0, 0, "p = 1 gradient");
}

BOOST_AUTO_TEST_CASE(statistics_scaling_and_backward) { check_dropout_properties(Device::cpu()); }

BOOST_AUTO_TEST_CASE(same_seed_same_mask) { check_dropout_seeding(Device::cpu()); }

BOOST_AUTO_TEST_CASE(small_case_by_hand) {
  // p = 0.5: survivors doubled, the rest 0; the kept pattern is whatever the generator says,
  // so check y against x on the kept positions only, and that both outcomes occur.
  Tensor x = from_vector(std::vector<float>{1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12}, {2, 6});
  Generator gen(9);
  std::vector<float> y = nanofed::dropout(x, 0.5f, true, gen).to_vector();
  std::vector<float> xv = x.to_vector();
  int kept = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] != 0.0f) {
      BOOST_CHECK_EQUAL(y[i], 2.0f * xv[i]);
      ++kept;
    }
  }
  BOOST_CHECK(kept > 0 && kept < 12);
}

BOOST_AUTO_TEST_CASE(gradcheck_fixed_seed) {
  // A fresh generator with the same seed per call: the same mask for every probe.
  Tensor x = random_tensor({3, 7}, 7);
  x.requires_grad_();
  gradcheck("dropout p=0.4", [](const std::vector<Tensor>& in) {
    Generator gen(11);
    return nanofed::dropout(in[0], 0.4f, true, gen);
  }, {x});
}

BOOST_AUTO_TEST_CASE(error_cases) {
  Tensor x = random_tensor({2, 3}, 8);
  Generator gen(0);
  expect_error([&] { nanofed::dropout(x, -0.1f, true, gen); }, {"dropout", "[0, 1]", "-0.1"});
  expect_error([&] { nanofed::dropout(x, 1.5f, true, gen); }, {"dropout", "[0, 1]", "1.5"});
  expect_error([&] { nanofed::dropout(x, std::numeric_limits<float>::quiet_NaN(), true, gen); },
               {"dropout", "[0, 1]"});
  // Checked even in eval mode.
  expect_error([&] { nanofed::dropout(x, 2.0f, false, gen); }, {"dropout", "[0, 1]"});
  expect_error(
      [&] { nanofed::dropout(zeros({2, 3}, Device::cpu(), DType::i32), 0.5f, true, gen); },
      {"dropout"});
}

NF_CUDA_TEST_CASE(cuda_statistics_scaling_and_backward) {
  check_dropout_properties(Device::cuda());
}

NF_CUDA_TEST_CASE(cuda_same_seed_same_mask) { check_dropout_seeding(Device::cuda()); }

NF_CUDA_TEST_CASE(cuda_identities) {
  Tensor x = nonzero_input({3, 5}, 9).to(Device::cuda());
  x.requires_grad_();
  Generator gen(3);
  BOOST_CHECK(nanofed::dropout(x, 0.0f, true, gen).same_storage(x));
  BOOST_CHECK(nanofed::dropout(x, 0.5f, false, gen).same_storage(x));
  Tensor y = nanofed::dropout(x, 1.0f, true, gen);
  BOOST_CHECK(y.device() == Device::cuda());
  expect_close(y.cpu(), zeros({3, 5}), 0, 0, "cuda p = 1");
  // Odd size larger than one block: mask and gradient agree element by element.
  Tensor big = nonzero_input({3, 1001}, 10).to(Device::cuda());
  big.requires_grad_();
  Tensor yb = nanofed::dropout(big, 0.25f, true, gen);
  yb.backward(ones({3, 1001}, Device::cuda()));
  std::vector<float> yv = yb.to_vector(), gv = big.grad().to_vector();
  const float scale = 1.0f / (1.0f - 0.25f);
  int64_t bad = 0;
  for (size_t i = 0; i < yv.size(); ++i) bad += gv[i] != (yv[i] != 0.0f ? scale : 0.0f);
  BOOST_CHECK_EQUAL(bad, 0);
}

BOOST_AUTO_TEST_SUITE_END()
