// FT-Byzantine §2.5's federated mean estimation (fl/mean_estimation.h): the closed forms, the
// Byzantine value and the aggregation chain on hand-made inputs, the personalized estimate's
// endpoints, and the Monte Carlo against what it must give in expectation.
#include <cmath>

#include "engine/threads.h"
#include "fl/mean_estimation.h"
#include "fl/pre_aggregators.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using nanofed::test::expect_error;

namespace {

// Two honest clients with m = 2 samples each: X_1 = [2, 6], X_2 = [4, 2]; mean [3, 4] (norm 5).
const std::vector<double> kTwoClients = {2, 6, 4, 2};

MeanEstimationSetting small(int64_t byzantine, double sigma_h) {
  MeanEstimationSetting s;
  s.honest = 100;
  s.byzantine = byzantine;
  s.sigma_h = sigma_h;
  return s;  // m = 20, sigma = 15: the local error is sigma^2/m = 11.25
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mean_estimation)

BOOST_AUTO_TEST_CASE(closed_forms_match_hand_computation) {
  // Defaults n = 600, f = 100 (N = 500), m = 20, sigma = 15, sigma_h = 2: kappa = 100/400 = 0.25.
  BOOST_TEST(trimmed_mean_kappa(600, 100) == 0.25);
  // Derived (gap2 = delta2 = sigma_h^2 = 4, a = 225/20 = 11.25, 1 - 1/N = 0.998):
  //   0.998 * 11.25 / (0.998 * 1.25 * 11.25 + 4 + 0.25 * 4) = 11.2275 / 19.034375 = 0.589854.
  // Notebook (sigma_c^2 = 2 * 4 = 8, A = 8 * 1.25 = 10):
  //   0.998 * 225 / ((0.25 * 499/500 + 0.998) * 225 + 100) = 224.55 / 380.6875 = 0.589854, the
  //   same number: 20 times the derived fraction, term by term (the reference's "both 0.590").
  const double derived = derived_lambda_star(500, 20, 15, 0.25, 4, 4);
  const double notebook = notebook_lambda_star(600, 100, 15, std::sqrt(2.0) * 2);
  BOOST_TEST(derived == 11.2275 / 19.034375, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(notebook == 224.55 / 380.6875, boost::test_tools::tolerance(1e-12));
  // sigma_h = 4 they part: derived 11.2275 / (14.034375 + 16 + 4) = 0.329887; notebook
  //   A = 32 * 1.25 = 40: 224.55 / (280.6875 + 1600) = 0.119398.
  BOOST_TEST(derived_lambda_star(500, 20, 15, 0.25, 16, 16) == 11.2275 / 34.034375, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(notebook_lambda_star(600, 100, 15, std::sqrt(2.0) * 4) == 224.55 / 1880.6875,
             boost::test_tools::tolerance(1e-12));
  // kappa = 0, homogeneous: lambda* = 1; the notebook's f = 250 of n = 500 (kappa = inf): 0.
  BOOST_TEST(derived_lambda_star(500, 20, 15, 0, 0, 0) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(notebook_lambda_star(500, 250, 15, 2) == 0.0);
  BOOST_TEST(std::isinf(trimmed_mean_kappa(500, 250)));
  const std::vector<double> grid = lambda_grid(200);
  BOOST_TEST(grid.size() == 200u);
  BOOST_TEST(grid.front() == 0.0);
  BOOST_TEST(grid.back() == 1.0);
  BOOST_TEST(grid[1] == 1.0 / 199);
}

BOOST_AUTO_TEST_CASE(byzantine_value_on_raw_sample_vectors) {
  // SF: -[3, 4], clipped to norm 1: [-0.6, -0.8], mean -0.7; unclipped: mean -3.5.
  BOOST_TEST(byzantine_value(kTwoClients, 2, sign_flip_attack(), 1) == -0.7, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(byzantine_value(kTwoClients, 2, sign_flip_attack(), 0) == -3.5, boost::test_tools::tolerance(1e-6));
  // FOE(3): (1 - 3) [3, 4] = [-6, -8]: mean -7; clipped, the same direction as SF: -0.7.
  BOOST_TEST(byzantine_value(kTwoClients, 2, foe_attack(3), 0) == -7.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(byzantine_value(kTwoClients, 2, foe_attack(3), 1) == -0.7, boost::test_tools::tolerance(1e-6));
  // ALIE(3): mean + 3 std (ddof 1): columns {2, 4} std sqrt(2), {6, 2} std sqrt(8) = 2 sqrt(2):
  //   [3 + 3 sqrt(2), 4 + 6 sqrt(2)], mean 3.5 + 4.5 sqrt(2) = 9.864; clipped: that / its norm.
  const double a = 3 + 3 * std::sqrt(2.0), b = 4 + 6 * std::sqrt(2.0);
  BOOST_TEST(byzantine_value(kTwoClients, 2, alie_attack(3), 0) == (a + b) / 2, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(byzantine_value(kTwoClients, 2, alie_attack(3), 1) == (a + b) / 2 / std::hypot(a, b),
             boost::test_tools::tolerance(1e-6));
  expect_error([] { byzantine_value({1, 2, 3}, 2, sign_flip_attack(), 1); }, {"mean_estimation", "3 samples", "m = 2"});
}

BOOST_AUTO_TEST_CASE(paper_chain_on_five_scalars) {
  // f = 1, n = 5: f < floor(5/3) = 1 fails, so server_clip's cut-off is n - f = 4 and the norm
  // ranked 5th (20) is clipped to the 4th (4): {-1, 2, 3, 4, 4}. NNM(1), the 4 nearest:
  //   -1 -> {-1, 2, 3, 4} = 2; 2 -> {2, 3, 4, 4} = 3.25; 3, 4, 4 -> {3, 2, 4, 4} = 3.25.
  // Trimmed mean(1) drops 2 and one 3.25: 3.25.
  const std::vector<double> five = {-1, 2, 3, 4, 20};
  const AggregatorChain chain = paper_chain(1, 0);
  BOOST_TEST(chain.describe() == "server_clip(f=1) -> nnm(f=1) -> trimmed_mean(f=1)");
  BOOST_TEST(aggregate_scalars(chain, five) == 3.25);
  // Without server_clip 20 pulls its neighbours: NNM gives {2, 2, 2, 2, 29/4}; trimmed: 2.
  AggregatorChain no_clip = chain;
  no_clip.pre.erase(no_clip.pre.begin());
  BOOST_TEST(aggregate_scalars(no_clip, five) == 2.0);
  BOOST_TEST(aggregate_scalars(paper_chain(1, 0, AggregatorKind::median), five) == 3.25);
  BOOST_TEST(paper_chain(1, 500, AggregatorKind::krum).describe() ==
             "server_clip(f=1, n=500) -> nnm(f=1) -> krum(f=1, neighbours=n-f)");
  expect_error([] { paper_chain(1, 0, AggregatorKind::mean); }, {"mean_estimation", "trimmed_mean, median"});
}

BOOST_AUTO_TEST_CASE(personalized_endpoints_and_shared_draws) {
  BOOST_TEST(personalized(3, 7, 0) == 3.0);  // local
  BOOST_TEST(personalized(3, 7, 1) == 7.0);  // the aggregate
  BOOST_TEST(personalized(3, 7, 0.25) == 4.0);
  // Every lambda on the same draws: at lambda = 0 the aggregator does not matter (same bytes),
  // at lambda = 1 it does.
  MeanEstimationSetting tm = small(20, 2), med = tm;
  med.aggregator = AggregatorKind::median;
  const MeanCurve a = mean_estimation_curve(tm, {0.0, 1.0}, 20, 4), b = mean_estimation_curve(med, {0.0, 1.0}, 20, 4);
  BOOST_TEST(a.error[0] == b.error[0]);
  BOOST_TEST(a.error[1] != b.error[1]);
  // The draws: sigma = 0 makes every sample its client's mean; sigma_h = 0 every mean 10.
  MeanEstimationSetting flat = small(0, 0);
  flat.sigma = 0;
  const MeanDraws d = draw_clients(flat, Generator(1));
  BOOST_TEST(d.mu.size() == 100u);
  BOOST_TEST(d.samples.size() == 2000u);
  for (double x : d.samples) BOOST_TEST(x == 10.0);
  BOOST_TEST(local_means({1, 2, 3, 5, 7, 9}, 3) == std::vector<double>({2, 7}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(monte_carlo_sanity) {
  // f = 0, sigma_h = 0: the chain is the plain mean of the x̄_i, so error(1) = sigma^2/(m N) =
  // 0.1125 and error(0) = sigma^2/m = 11.25, each within 4 standard errors.
  const MeanCurve clean = mean_estimation_curve(small(0, 0), {0.0, 1.0}, 400, 7);
  BOOST_TEST(std::abs(clean.error[0] - 11.25) < 4 * clean.error_se[0]);
  BOOST_TEST(std::abs(clean.error[1] - 0.1125) < 4 * clean.error_se[1]);
  BOOST_TEST(clean.byzantine_value == 0.0);
  // f = 20 (kappa = 0.25), sigma_h = 2: a lambda inside beats both ends, and the SF value is
  // about -1/sqrt(m) = -0.224 (the honest mean vector ~ 10 * ones(20), clipped to norm 1).
  const MeanCurve attacked = mean_estimation_curve(small(20, 2), lambda_grid(21), 400, 7);
  const double star = empirical_lambda_star(attacked);
  BOOST_TEST_MESSAGE("empirical lambda* " << star << ", errors " << attacked.error.front() << " .. "
                                          << attacked.error.back() << ", byzantine " << attacked.byzantine_value);
  BOOST_TEST(star > 0.0);
  BOOST_TEST(star < 1.0);
  BOOST_TEST(std::abs(attacked.byzantine_value + 1 / std::sqrt(20.0)) < 0.01);
}

BOOST_AUTO_TEST_CASE(deterministic_and_thread_count_free) {
  const MeanEstimationSetting s = small(20, 2);
  const MeanCurve a = mean_estimation_curve(s, {0.0, 0.5, 1.0}, 30, 9);
  const int threads = num_threads();
  set_num_threads(1);
  const MeanCurve b = mean_estimation_curve(s, {0.0, 0.5, 1.0}, 30, 9);
  set_num_threads(threads);
  const MeanCurve c = mean_estimation_curve(s, {0.0, 0.5, 1.0}, 30, 10);
  BOOST_TEST(a.error == b.error, boost::test_tools::per_element());
  BOOST_TEST(a.error_se == b.error_se, boost::test_tools::per_element());
  BOOST_TEST(a.aggregate == b.aggregate);
  BOOST_TEST(a.error[1] != c.error[1]);
}

BOOST_AUTO_TEST_CASE(bad_inputs_name_the_argument) {
  const MeanEstimationSetting s = small(20, 2);
  expect_error([&] { mean_estimation_curve(s, {0.5}, 1, 0); }, {"mean_estimation", "repetitions must be >= 2"});
  expect_error([&] { mean_estimation_curve(s, {1.5}, 10, 0); }, {"mean_estimation", "lambda must be in [0, 1]"});
  expect_error([&] { mean_estimation_curve(s, {}, 10, 0); }, {"mean_estimation", "no lambda"});
  MeanEstimationSetting bad = s;
  bad.honest = 1;
  expect_error([&] { mean_estimation_curve(bad, {0.5}, 10, 0); }, {"mean_estimation", "honest must be >= 2"});
  bad = s;
  bad.sigma = -1;
  expect_error([&] { mean_estimation_curve(bad, {0.5}, 10, 0); }, {"mean_estimation", "sigma and sigma_h"});
  bad = s;
  bad.told_n = 1000;  // cut-off 1000 - 20 * (1 + 20/960) = 980 > K = 120
  expect_error([&] { mean_estimation_curve(bad, {0.5}, 10, 0); }, {"server_clip", "c = 980", "K = 120"});
  expect_error([] { trimmed_mean_kappa(5, 3); }, {"mean_estimation", "n >= 2f", "n = 5, f = 3"});
  expect_error([] { derived_lambda_star(500, 20, 0, 0.25, 4, 4); }, {"mean_estimation", "sigma > 0"});
  expect_error([] { lambda_grid(1); }, {"mean_estimation", ">= 2 points"});
}

BOOST_AUTO_TEST_SUITE_END()
