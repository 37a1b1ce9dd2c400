// FT-Byzantine's MNIST CNN experiment (RT-A3 of the reproduction): the client draw, the gradient
// statistics of the empirical-kappa extension and the lambda* they give, RT-A3's criterion
// pieces, all against hand-computed values; IPGD on a module against a hand-written loop; and
// NNM's column-blocked pass against the plain definition on rows wider than one block.
#include <algorithm>
#include <cmath>
#include <set>

#include "engine/ops/elementwise.h"
#include "engine/threads.h"
#include "fl/aggregators.h"
#include "fl/host_draws.h"
#include "fl/ipgd_model.h"
#include "fl/mean_estimation.h"
#include "fl/pre_aggregators.h"
#include "nn/models.h"
#include "nn/training.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using nanofed::test::expect_error;

BOOST_AUTO_TEST_SUITE(ipgd_on_a_model)

BOOST_AUTO_TEST_CASE(client_split_sizes_disjoint_and_by_label) {
  // 30 samples of 3 classes; class 1 has weight 0, so only classes 0 and 2 may be drawn.
  std::vector<int32_t> labels;
  for (int i = 0; i < 30; ++i) labels.push_back(i % 3);
  Generator gen(5);
  const ClientSplit c = draw_client_split(labels, {1, 0, 1}, 6, 9, gen);
  BOOST_TEST(c.train.size() == 6u);
  BOOST_TEST(c.test.size() == 9u);
  std::set<int64_t> seen(c.train.begin(), c.train.end());
  for (int64_t i : c.test) BOOST_TEST(seen.insert(i).second);  // no sample in both
  for (int64_t i : seen) BOOST_TEST(labels[(size_t)i] != 1);
  // 20 of the 20 weighted samples: every one of them, whatever the order.
  Generator all(1);
  const ClientSplit whole = draw_client_split(labels, {1, 0, 1}, 10, 10, all);
  BOOST_TEST(std::set<int64_t>(whole.train.begin(), whole.train.end()).size() + whole.test.size() == 20u);
  expect_error([&] { draw_client_split(labels, {1, 0, 1}, 11, 10, gen); }, {"cannot draw 21"});
}

BOOST_AUTO_TEST_CASE(federation_shares_the_dirichlet_across_runs) {
  std::vector<int32_t> labels;
  for (int i = 0; i < 400; ++i) labels.push_back(i % 10);
  const LabelSkewFederation r0 = label_skew_federation(labels, 10, 4, 3.0, 5, 7, 0, 0);
  const LabelSkewFederation r1 = label_skew_federation(labels, 10, 4, 3.0, 5, 7, 0, 1);
  BOOST_TEST(r0.proportions == r1.proportions);  // drawn once, from the seed alone
  BOOST_TEST(r0.proportions.size() == 4u);
  BOOST_TEST(r0.proportions[0] != r0.proportions[1]);  // one draw per client
  BOOST_TEST(!(r0.clients == r1.clients));              // the samples are redrawn per run
  BOOST_TEST(r0.clients == label_skew_federation(labels, 10, 4, 3.0, 5, 7, 0, 0).clients);  // deterministic
  for (const ClientSplit& c : r0.clients) BOOST_TEST((c.train.size() == 5u && c.test.size() == 7u));
  BOOST_TEST(!(r0.proportions == label_skew_federation(labels, 10, 4, 3.0, 5, 7, 1, 0).proportions));
}

BOOST_AUTO_TEST_CASE(gradient_spread_kappa_and_noise_by_hand) {
  // g = (0,0), (2,0), (1,3): mean (1,1); squared distances 2, 2, 4 -> spread 8/3.
  const Tensor rows = from_vector(std::vector<float>{0, 0, 2, 0, 1, 3}, {3, 2});
  const GradientSpread s = gradient_spread(rows, 1, from_vector(std::vector<float>{2, 2}, {2}));
  BOOST_TEST(s.spread == 8.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(s.gap2 == 2.0, boost::test_tools::tolerance(1e-12));   // ||(2,0) - (1,1)||^2
  BOOST_TEST(s.kappa == 0.75, boost::test_tools::tolerance(1e-12));  // ||(2,2) - (1,1)||^2 / (8/3)
  // R = the honest mean: kappa 0 (f = 0's chain is the mean).
  BOOST_TEST(gradient_spread(rows, 0, from_vector(std::vector<float>{1, 1}, {2})).kappa == 0.0);
  // The same rows as per-sample gradients: 8 / (3 * 2).
  BOOST_TEST(mean_noise(rows) == 4.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(std::isnan(gradient_spread(from_vector(std::vector<float>{1, 1, 1, 1}, {2, 2}), 0,
                                        from_vector(std::vector<float>{0, 0}, {2}))
                            .kappa));
  expect_error([&] { gradient_spread(rows, 3, from_vector(std::vector<float>{1, 1}, {2})); }, {"main row 3"});
  expect_error([&] { mean_noise(rows.slice(0, 1)); }, {"N >= 2"});
}

BOOST_AUTO_TEST_CASE(plug_in_lambda_star_by_hand) {
  // N = 4, a = 2: noise in the spread and gap (1 - 1/4) 2 = 1.5; gap2 1 -> 0, spread 3 -> 1.5;
  // lambda* = 1.5 / (1.5 (1 + 0.5) + 0 + 0.5 * 1.5) = 0.5.
  BOOST_TEST(plug_in_lambda_star(4, 2, 0.5, 3, 1) == 0.5, boost::test_tools::tolerance(1e-12));
  // kappa 0, no heterogeneity beyond the noise: full collaboration.
  BOOST_TEST(plug_in_lambda_star(4, 2, 0, 1.5, 1.5) == 1.0, boost::test_tools::tolerance(1e-12));
  expect_error([&] { plug_in_lambda_star(4, -1, 0, 1, 1); }, {"non-negative"});
}

BOOST_AUTO_TEST_CASE(rt_a3_criterion_pieces_by_hand) {
  const std::vector<double> l = {0, 0.5, 1};
  const std::vector<double> path = argmax_path({{1, 3, 2}, {5, 1, 5}, {0, 0, 9}}, l);
  BOOST_TEST(path == (std::vector<double>{0.5, 0, 1}), boost::test_tools::per_element());  // first on ties
  BOOST_TEST(largest_gap({{1, 2}, {3, 4}}, {{1.5, 2}, {0, 4.25}}) == 3.0);
  expect_error([&] { argmax_path({{1, 2}}, l); }, {"2 values for 3"});
  expect_error([&] { largest_gap({{1, 2}}, {{1}}); }, {"row 0"});
}

// IPGD on a module with lambda = 0 is plain full-batch GD on the main client's data; with
// f = 0 and lambda = 1 the chain is the mean, so it is GD on the honest clients' mean gradient.
BOOST_AUTO_TEST_CASE(ipgd_model_equals_hand_written_steps) {
  Generator init(3), data(4);
  auto model = nn::make_model("mlp", [&] {
    nn::ModelOptions o;
    o.in_channels = 1, o.image_size = 2, o.num_classes = 3, o.hidden = {4}, o.gen = &init;
    return o;
  }());
  const Tensor theta0 = model->flat_parameters().clone();
  const int64_t m = 3, clients = 3;
  std::vector<float> xs;
  for (int64_t i = 0; i < clients * m * 4; ++i) xs.push_back((float)(uniform_open(data) - 0.5));
  const Tensor x = from_vector(xs, {clients * m, 1, 2, 2});
  const Tensor y = from_vector(std::vector<int32_t>{0, 1, 2, 1, 1, 0, 2, 0, 1}, {clients * m});
  for (double lambda : {0.0, 1.0}) {
    IpgdSetting s;
    s.lambda = lambda, s.lr = 0.5, s.steps = 3, s.byzantine = 0, s.chain = paper_chain(0, 0);
    const IpgdTrace t = ipgd_model(*model, theta0, x, y, m, clients, 1, x, y, s, 2);
    BOOST_TEST(t.step == (std::vector<int64_t>{0, 2, 3}), boost::test_tools::per_element());
    const std::vector<float> got = model->flat_parameters().to_vector<float>();
    // By hand: theta -= lr * g, g = client 1's gradient (lambda 0) or the mean of the three.
    Tensor theta = model->flat_parameters();
    theta.copy_(theta0);
    for (int step = 0; step < 3; ++step) {
      Tensor g = zeros_like(theta);
      const int64_t first = lambda == 0 ? 1 : 0, last = lambda == 0 ? 2 : clients;
      std::vector<Tensor> each;
      for (int64_t j = first; j < last; ++j) {
        nn::batch_gradients(*model, x.slice(j * m, (j + 1) * m), y.slice(j * m, (j + 1) * m));
        each.push_back(model->flat_gradients().clone());
      }
      for (const Tensor& e : each) add_(g, e, 1.0f / (float)each.size());
      add_(theta, g, -0.5f);
    }
    test::expect_close(got, theta.to_vector<float>(), 1e-5f, 1e-5f, lambda == 0 ? "lambda 0" : "lambda 1");
    BOOST_TEST(std::isnan(t.kappa[0]) == (lambda == 0));
    if (lambda == 1) BOOST_TEST(t.kappa[0] < 1e-10);  // f = 0: R is the honest mean
  }
}

// RT-A3 runs blocks on the thread pool, one model each: two trainings at once give the bits of
// the same trainings one after the other.
BOOST_AUTO_TEST_CASE(ipgd_model_same_bits_on_two_threads) {
  const int64_t m = 4, clients = 5;
  Generator data(7);
  std::vector<float> xs;
  for (int64_t i = 0; i < clients * m * 64; ++i) xs.push_back((float)uniform_open(data));
  std::vector<int32_t> ys;
  for (int64_t i = 0; i < clients * m; ++i) ys.push_back((int32_t)(i % 3));
  const Tensor x = from_vector(xs, {clients * m, 1, 8, 8}), y = from_vector(ys, {clients * m});
  auto train = [&](double lambda) {
    Generator init(3);
    nn::ModelOptions o;
    o.in_channels = 1, o.image_size = 8, o.num_classes = 3, o.hidden = {32}, o.gen = &init;
    auto model = nn::make_model("mlp", o);
    IpgdSetting s;
    s.lambda = lambda, s.lr = 0.3, s.steps = 4, s.byzantine = 1, s.chain = paper_chain(1, 0);
    const Tensor theta0 = model->flat_parameters().clone();
    const IpgdTrace t = ipgd_model(*model, theta0, x, y, m, clients - 1, 0, x, y, s, 2);
    std::vector<float> out = model->flat_parameters().to_vector<float>();
    out.insert(out.end(), t.kappa.begin(), t.kappa.end());
    return out;
  };
  const std::vector<double> lambdas = {0.4, 1.0};
  std::vector<std::vector<float>> one, two(lambdas.size());
  for (double l : lambdas) one.push_back(train(l));
  const int before = num_threads();
  set_num_threads(2);
  parallel_ranges((int64_t)lambdas.size(), int64_t(1) << 30, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) two[(size_t)i] = train(lambdas[(size_t)i]);
  });
  set_num_threads(before);
  BOOST_TEST(one == two);
}

// NNM's blocked pass against its definition (each row := the mean of its K - f nearest rows by
// squared distance, ties to the lower index, summed in index order), on rows of 5,000 columns:
// more than two column blocks, and K = 7 leaves a remainder after the four-pair groups.
BOOST_AUTO_TEST_CASE(nnm_blocked_equals_the_definition_on_wide_rows) {
  const int64_t K = 7, P = 5000, f = 2;
  Generator gen(9);
  std::vector<double> x((size_t)(K * P));
  for (double& v : x) v = standard_normal(gen);
  Updates u;
  u.rows = fl::detail::to_tensor(x, {K, P}, Device::cpu());
  const std::vector<float> rows = u.rows.to_vector<float>();
  std::vector<double> want((size_t)(K * P), 0.0);
  for (int64_t i = 0; i < K; ++i) {
    std::vector<std::pair<double, int64_t>> d;
    for (int64_t j = 0; j < K; ++j) {
      double s = 0;
      for (int64_t c = 0; c < P; ++c) s += ((double)rows[i * P + c] - rows[j * P + c]) * ((double)rows[i * P + c] - rows[j * P + c]);
      d.push_back({s, j});
    }
    std::sort(d.begin(), d.end());
    std::vector<int64_t> near;
    for (int64_t r = 0; r < K - f; ++r) near.push_back(d[(size_t)r].second);
    std::sort(near.begin(), near.end());
    for (int64_t c = 0; c < P; ++c) {
      double s = 0;
      for (int64_t j : near) s += rows[j * P + c];
      want[(size_t)(i * P + c)] = s / (double)(K - f);
    }
  }
  Generator unused(0);
  const std::vector<float> got = NNM(f).apply(u, unused).rows.to_vector<float>();
  const std::vector<float> expected = fl::detail::to_tensor(want, {K, P}, Device::cpu()).to_vector<float>();
  BOOST_TEST(got == expected);  // the same bits
}

BOOST_AUTO_TEST_SUITE_END()
