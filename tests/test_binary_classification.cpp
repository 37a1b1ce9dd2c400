// FT-Byzantine's binary experiments (RT-A2 of the reproduction): the phishing-like generator, the
// binary relabelling of MNIST, the label-skewed client sampler, logistic regression's gradient and
// accuracy against hand-computed values, the lean IPGD loop against fl::Simulation's ipgd strategy,
// and the small computations RT-A2's criteria are made of.
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include "datasets/synthetic.h"
#include "fl/binary_classification.h"
#include "fl/simulation.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using nanofed::test::expect_error;

namespace {

datasets::Dataset features(const std::vector<float>& x, const std::vector<int32_t>& y, int64_t dim) {
  datasets::Dataset d;
  d.images = from_vector(x, {(int64_t)y.size(), dim});
  d.labels = from_vector(y, {(int64_t)y.size()});
  d.num_classes = 2;
  d.name = "tiny";
  return d;
}

BinaryData rows(const std::vector<double>& x, const std::vector<int32_t>& y, int64_t dim) {
  BinaryData d;
  d.dim = dim, d.x = x, d.y = y;
  return d;
}

double share_of_ones(const std::vector<int32_t>& y) {
  double s = 0;
  for (int32_t v : y) s += v;
  return s / (double)y.size();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binary_classification)

BOOST_AUTO_TEST_CASE(phishing_like_shape_values_balance_and_determinism) {
  Generator g(3);
  const datasets::Dataset d = datasets::phishing_like({}, g);
  BOOST_TEST(d.images.shape() == Shape({11055, 68}), boost::test_tools::per_element());
  BOOST_TEST(d.num_classes == 2);
  d.validate();
  const std::vector<float> x = d.images.to_vector();
  for (float v : x) BOOST_REQUIRE(v == 0.0f || v == 1.0f);
  // Every feature's frequency lies in [p_lo, p_hi] = [0.05, 0.6], up to 4 standard errors (0.019).
  for (int64_t j = 0; j < 68; ++j) {
    double ones = 0;
    for (int64_t i = 0; i < 11055; ++i) ones += x[(size_t)(i * 68 + j)];
    BOOST_TEST(ones / 11055 >= 0.05 - 0.02);
    BOOST_TEST(ones / 11055 <= 0.6 + 0.02);
  }
  // The centred teacher gives about balanced classes.
  const double ones = share_of_ones(d.labels.to_vector<int32_t>());
  BOOST_TEST(ones > 0.35);
  BOOST_TEST(ones < 0.65);
  // Same seed, same bytes; another seed, other data.
  Generator a(3), b(4);
  BOOST_TEST(datasets::phishing_like({}, a).images.to_vector() == x, boost::test_tools::per_element());
  BOOST_TEST(datasets::phishing_like({}, b).labels.to_vector<int32_t>() != d.labels.to_vector<int32_t>());
}

BOOST_AUTO_TEST_CASE(phishing_like_label_noise_flips_that_share) {
  // Noise 0 against noise 0.07 on the same draws (the labels come last): exactly the flipped
  // labels differ, about 7 % of them (sd 0.24 % at n = 11,055).
  datasets::PhishingLikeConfig clean, noisy;
  clean.label_noise = 0;
  Generator a(5), b(5);
  const std::vector<int32_t> y0 = datasets::phishing_like(clean, a).labels.to_vector<int32_t>();
  const std::vector<int32_t> y1 = datasets::phishing_like(noisy, b).labels.to_vector<int32_t>();
  double flipped = 0;
  for (size_t i = 0; i < y0.size(); ++i) flipped += y0[i] != y1[i];
  BOOST_TEST(flipped / (double)y0.size() == 0.07, boost::test_tools::tolerance(0.15));
  datasets::PhishingLikeConfig bad;
  bad.active = 69;
  Generator g(0);
  expect_error([&] { datasets::phishing_like(bad, g); }, {"phishing_like: active must be in [1, dim = 68], got 69"});
}

BOOST_AUTO_TEST_CASE(binary_mnist_labels_and_normalization) {
  // FT-Byzantine §4.4: digit <= 4 is class 1.
  BOOST_TEST(binary_labels({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 4) == std::vector<int32_t>({1, 1, 1, 1, 1, 0, 0, 0, 0, 0}),
             boost::test_tools::per_element());
  // Pixels (v - 0.1307) / 0.3081, rows flattened in order.
  const BinaryData d = binary_data(features({0, 1, 0.5f, 0.25f}, {1, 0}, 2), {1, 0}, 0.1307, 0.3081);
  BOOST_TEST(d.dim == 2);
  BOOST_TEST(d.y == std::vector<int32_t>({1, 0}), boost::test_tools::per_element());
  BOOST_TEST(d.x[0] == -0.1307 / 0.3081, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d.x[1] == 0.8693 / 0.3081, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d.x[2] == 0.3693 / 0.3081, boost::test_tools::tolerance(1e-12));
  expect_error([&] { binary_data(features({0, 1}, {1, 0}, 1), {2, 0}); }, {"labels must be 0 or 1, got 2"});
  expect_error([&] { binary_data(features({0, 1}, {1, 0}, 1), {1}); }, {"1 labels for the 2 samples of tiny"});
}

BOOST_AUTO_TEST_CASE(draw_by_label_follows_the_proportions_without_replacement) {
  // Weight 0 on class 0: only class-1 indices, each at most once.
  Generator g(1);
  const std::vector<int32_t> labels = {0, 1, 0, 1, 1, 0};
  const std::vector<int64_t> only1 = draw_by_label(labels, {0, 1}, 3, g);
  BOOST_TEST(std::set<int64_t>(only1.begin(), only1.end()) == std::set<int64_t>({1, 3, 4}));
  expect_error([&] { draw_by_label(labels, {0, 1}, 4, g); },
               {"cannot draw 4 samples without replacement, 3 have positive weight"});
  // Large pools of both classes, p = (0.2, 0.8): a draw of 20 is 80 % class 1 on average (the
  // pools hardly shrink); 400 draws, sd of the mean 0.0045.
  std::vector<int32_t> big(4000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = (int32_t)(i % 2);
  double ones = 0;
  Generator h(2);
  for (int rep = 0; rep < 400; ++rep) {
    const std::vector<int64_t> idx = draw_by_label(big, {0.2, 0.8}, 20, h);
    BOOST_REQUIRE(std::set<int64_t>(idx.begin(), idx.end()).size() == 20);
    for (int64_t i : idx) ones += big[(size_t)i];
  }
  BOOST_TEST(ones / 8000 == 0.8, boost::test_tools::tolerance(0.03));
  // Seeded: same seed, same draw.
  Generator a(9), b(9);
  BOOST_TEST(draw_by_label(big, {0.3, 0.7}, 50, a) == draw_by_label(big, {0.3, 0.7}, 50, b), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(logistic_gradient_and_accuracy_by_hand) {
  // dim 1, theta = 0: p1 = 1/2 on every row. x = (1, 2), y = (1, 0): e = (p1 - y) / 2 = (-1/4, 1/4);
  // class 1's weight gradient sum e x = 1/4, its bias gradient sum e = 0; class 0 the negatives.
  const BinaryData d = rows({1, 2}, {1, 0}, 1);
  const std::vector<double> g = logistic_gradient({0, 0, 0, 0}, d);
  BOOST_TEST(g == std::vector<double>({-0.25, 0.25, 0, 0}), boost::test_tools::per_element());
  // theta = (w0, w1, b0, b1) = (0, 1, 0, 0): logit gap = x. x = (1, -1, 0): predictions 1, 0, 0 (a tie
  // is class 0).
  const BinaryData e = rows({1, -1, 0}, {1, 0, 0}, 1);
  BOOST_TEST(logistic_accuracy({0, 1, 0, 0}, e) == 100.0);
  BOOST_TEST(logistic_accuracy({0, 1, 0, 0}, rows({1, -1, 0}, {1, 1, 1}, 1)) == 100.0 / 3, boost::test_tools::tolerance(1e-12));
  // With gap 1 at x = 1 (b1 - b0 = 1, weights 0): p1 = sigmoid(1) for both rows.
  const double s = 1 / (1 + std::exp(-1.0));
  const std::vector<double> h = logistic_gradient({0, 0, 0, 1}, d);
  BOOST_TEST(h[1] == ((s - 1) * 1 + s * 2) / 2, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(h[3] == ((s - 1) + s) / 2, boost::test_tools::tolerance(1e-12));
  expect_error([&] { logistic_gradient({0, 0}, d); }, {"theta has 2 values, Linear(1, 2) has 4"});
}

BOOST_AUTO_TEST_CASE(byzantine_vector_is_clipped_sign_flip) {
  // SF on two rows (3, 4): -mean = (-3, -4), norm 5, clipped to norm 1: (-0.6, -0.8).
  const std::vector<double> b = byzantine_vector({3, 4, 3, 4}, 2, sign_flip_attack(), 1);
  BOOST_TEST(b[0] == -0.6, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(b[1] == -0.8, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(byzantine_value({3, 4, 3, 4}, 2, sign_flip_attack(), 1) == -0.7, boost::test_tools::tolerance(1e-6));
}

// 5 clients of 6 rows in 3 features, client 4 Byzantine: SF = ipm with tau 1, unclipped (the
// strategy has no Byzantine clip); lambda 0.5, lr 0.1, 4 full-batch steps from zero.
struct TinyFederation {
  std::vector<ClientData> data;
  std::vector<BinaryClient> clients;
  FlConfig config;
  TinyFederation() {
    Generator g(7);
    const datasets::Dataset all = datasets::linear_with_label_noise(30, 3, 0.1f, g);
    for (int64_t k = 0; k < 5; ++k) {
      const datasets::Dataset part = all.slice(6 * k, 6 * k + 6);
      data.push_back({part, part});
      const BinaryData b = binary_data(part, part.labels.to_vector<int32_t>());
      clients.push_back({b, b});
    }
    FlConfig& c = config;
    c.strategy = "ipgd", c.sampling = "all", c.local_steps = 1, c.batch_size = 1000, c.lr = 0.1, c.lambda = 0.5;
    c.aggregator = "trimmed_mean", c.f = 1, c.num_byzantine = 1, c.attack = "ipm", c.ipm_tau = 1;
    c.poison_labels = "false", c.progress = false;
  }
  // fl::Simulation personalizes every honest client with the ipgd rule; client 0's model.
  std::vector<float> strategy_model() const {
    Simulation sim(config, data, {4}, [] { return std::make_shared<nn::Linear>(3, 2, true, nullptr, nn::Init::zeros); });
    for (int64_t r = 0; r < 4; ++r) sim.run_round(r);
    return sim.personal_params(0).to_vector<float>();
  }
  std::vector<double> lean_model(int64_t byzantine) const {
    IpgdSetting s;
    s.lambda = 0.5, s.lr = 0.1, s.steps = 4, s.byzantine = byzantine, s.attack = sign_flip_attack(), s.byzantine_clip = 0;
    s.chain = make_chain(chain_spec(config), 4 + byzantine, byzantine);
    return ipgd_personal(clients, 4, 0, s, std::vector<double>(8, 0.0));
  }
};

double l1_gap(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t k = 0; k < a.size(); ++k) d += std::abs(a[k] - b[k]);
  return d;
}

BOOST_AUTO_TEST_CASE(ipgd_personal_equals_the_ipgd_strategy) {
  // The lean loop (double) against fl/strategies/ipgd.cpp (f32) on client 0, with the trimmed mean
  // alone and with NNM -> trimmed mean.
  TinyFederation t;
  for (const std::vector<std::string>& pre : {std::vector<std::string>{}, std::vector<std::string>{"nnm"}}) {
    t.config.pre_aggregators = pre;
    const std::vector<float> theirs = t.strategy_model();
    const std::vector<double> ours = t.lean_model(1);
    BOOST_REQUIRE(theirs.size() == ours.size());
    for (size_t k = 0; k < ours.size(); ++k) BOOST_TEST(ours[k] == (double)theirs[k], boost::test_tools::tolerance(1e-4));
  }
  // The Byzantine row enters: under the trimmed mean alone it moves the model. After NNM it does
  // not: every honest row's 4 nearest rows are the 4 honest ones, so 4 of the 5 mixed rows equal
  // the honest mean and the trimmed mean returns it exactly.
  t.config.pre_aggregators = {};
  BOOST_TEST(l1_gap(t.lean_model(1), t.lean_model(0)) > 1e-3);
  t.config.pre_aggregators = {"nnm"};
  BOOST_TEST(l1_gap(t.lean_model(1), t.lean_model(0)) == 0.0);
  IpgdSetting s;
  expect_error([&] { ipgd_personal(t.clients, 4, 4, s, std::vector<double>(8, 0.0)); },
               {"main client 4 is not one of the 4 honest clients"});
}

BOOST_AUTO_TEST_CASE(criteria_pieces_by_hand) {
  BOOST_TEST(largest_fall({1, 3, 2.5, 4, 2}) == 2.0);
  BOOST_TEST(largest_fall({1, 2, 2, 3}) == 0.0);
  BOOST_TEST(first_argmax({1, 3, 3, 2}) == 1u);
  BOOST_TEST(non_increasing({1, 1, 0.5, 0}));
  BOOST_TEST(!non_increasing({1, 0.5, 0.6}));
  const double inf = std::numeric_limits<double>::infinity();
  BOOST_TEST(non_increasing({inf, inf, 6, 3}));
  // Local 70 everywhere; full collaboration 80, 75, 65, 50: local wins first at f = 6.
  BOOST_TEST(crossover_f({0, 3, 6, 9}, {70, 70, 70, 70}, {80, 75, 65, 50}) == 6.0);
  BOOST_TEST(std::isinf(crossover_f({0, 3}, {70, 70}, {80, 70})));  // a tie is not overtaking
}

BOOST_AUTO_TEST_SUITE_END()
