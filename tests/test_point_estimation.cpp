// Ditto's federated point estimation (Ditto §2.8, Figs. 1-2): the closed forms against hand
// computation, Lemma 9, and the Monte Carlo of fl/point_estimation.h against the closed forms.
// The engine's Algorithm 2 on the same quadratics is checked in test_fl_simulation.cpp
// (ditto_personal_models_converge_to_lemma9).
#include <cmath>

#include "fl/point_estimation.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using nanofed::test::expect_error;

namespace {
PointSetting fig1(bool adversarial) {
  PointSetting s;  // K = 8, n = 30, sigma = 0.8, tau = 0.1
  if (adversarial) s.devices = 16, s.adversaries = 8, s.tau_adv = 0.5;
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(point_estimation)

BOOST_AUTO_TEST_CASE(closed_forms_match_hand_computation) {
  // Clean: sigma^2/n = 0.64/30 = 0.021333; lambda* = 0.021333 / 0.01 = 2.13333;
  //   1/sigma_w^2 = 1/0.021333 + 7/(8 * 0.01 + 0.021333) = 46.875 + 69.079 = 115.954 -> 0.0086241.
  // Adversarial (K = 16, K_a = 8, tau_a = 0.5): excess K_a/(K-1) (tau_a^2 - tau^2) = 8/15 * 0.24 = 0.128;
  //   lambda_a* = 0.021333 * 16 / (0.16 + 0.128) = 0.341333 / 0.288 = 1.18519;
  //   1/sigma_wa^2 = 46.875 + 15/(0.16 + 0.021333 + 0.128) = 46.875 + 48.491 = 95.366 -> 0.010486.
  BOOST_TEST(datasets::ditto_optimal_lambda(fig1(false)) == 2.13333, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(datasets::ditto_optimal_error(fig1(false)) == 0.0086241, boost::test_tools::tolerance(1e-4));
  BOOST_TEST(datasets::ditto_optimal_lambda(fig1(true)) == 1.18519, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(datasets::ditto_optimal_error(fig1(true)) == 0.010486, boost::test_tools::tolerance(1e-4));
}

BOOST_AUTO_TEST_CASE(lemma9_forms_agree) {
  // Lemma 9: v = lambda/(1+lambda) w* + 1/(1+lambda) w_hat, the point where the gradient of
  // 1/2 (v - w_hat)^2 + lambda/2 (v - w*)^2, (v - w_hat) + lambda (v - w*), vanishes.
  for (double lambda : {0.0, 0.5, 2.1333, 190.0}) {
    const double w_star = 0.3, w_hat = -1.2, v = datasets::ditto_point_estimate(w_star, w_hat, lambda);
    BOOST_TEST(v == lambda / (1 + lambda) * w_star + w_hat / (1 + lambda), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(std::abs((v - w_hat) + lambda * (v - w_star)) < 1e-12);
  }
  BOOST_TEST(datasets::ditto_point_estimate(0.3, -1.2, 0.0) == -1.2);  // local
}

BOOST_AUTO_TEST_CASE(monte_carlo_matches_closed_forms) {
  // 600 trials: the error at lambda* is sigma_w^2 within 4 standard errors (about 2% each), and
  // lambda = 0 (local) is the observation noise sigma^2/n = 0.021333.
  for (bool adversarial : {false, true}) {
    const PointSetting s = fig1(adversarial);
    const double star = datasets::ditto_optimal_lambda(s), sigma2 = datasets::ditto_optimal_error(s);
    const std::vector<ErrorPoint> p = monte_carlo(s, {0.0, star, 190.0}, 600, 3);
    BOOST_TEST_MESSAGE((adversarial ? "adversarial" : "clean") << ": error at lambda* " << p[1].mean_error << " +- "
                                                               << p[1].mean_error_se << ", sigma_w^2 " << sigma2);
    BOOST_TEST(p[1].mean_error_se < 0.05 * sigma2);
    BOOST_TEST(std::abs(p[1].mean_error - sigma2) < 4 * p[1].mean_error_se);
    BOOST_TEST(std::abs(p[0].mean_error - 0.8 * 0.8 / 30) < 4 * p[0].mean_error_se);
    // lambda* beats local and (nearly) global training, and has the smaller spread too.
    BOOST_TEST(p[1].mean_error < p[0].mean_error);
    BOOST_TEST(p[1].mean_error < p[2].mean_error);
    BOOST_TEST(p[1].variance < p[0].variance);
  }
}

BOOST_AUTO_TEST_CASE(monte_carlo_is_deterministic_and_validates) {
  const auto a = monte_carlo(fig1(false), {0.5, 2.0}, 50, 9), b = monte_carlo(fig1(false), {0.5, 2.0}, 50, 9);
  const auto c = monte_carlo(fig1(false), {0.5, 2.0}, 50, 10);
  for (size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].mean_error == b[i].mean_error);
    BOOST_TEST(a[i].variance_se == b[i].variance_se);
    BOOST_TEST(a[i].mean_error != c[i].mean_error);
  }
  // The variance is the population variance over benign devices: one benign device has none.
  PointSetting one = fig1(true);
  one.adversaries = one.devices - 1;
  BOOST_TEST(monte_carlo(one, {1.0}, 20, 1)[0].variance == 0.0);
  expect_error([] { monte_carlo(fig1(false), {1.0}, 1, 0); }, {"monte_carlo", "trials must be >= 2"});
  expect_error([] { monte_carlo(fig1(false), {-1.0}, 10, 0); }, {"monte_carlo", "lambda must be finite and >= 0"});
  PointSetting all_bad = fig1(false);
  all_bad.adversaries = all_bad.devices;
  expect_error([&] { monte_carlo(all_bad, {1.0}, 10, 0); }, {"monte_carlo", "adversaries must be in [0, devices = 8)"});
}

BOOST_AUTO_TEST_SUITE_END()
