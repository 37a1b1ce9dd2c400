// Synthetic generators: shapes, label ranges, seeded reproducibility, and statistics (with
// tolerances several standard errors wide), plus Ditto's point-estimation problem against the
// paper's closed forms (lambda*, sigma_w^2) and a Monte-Carlo check of them.
#include <cmath>

#include "datasets/synthetic.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::datasets;
using nanofed::test::expect_close;
using nanofed::test::expect_error;

namespace {
std::vector<int32_t> cyclic(int64_t n, int64_t c) {
  std::vector<int32_t> y((size_t)n);
  for (int64_t i = 0; i < n; ++i) y[(size_t)i] = (int32_t)(i % c);
  return y;
}
double mean_sq(const std::vector<float>& a, const std::vector<float>& b, size_t begin = 0, size_t end = SIZE_MAX) {
  end = std::min(end, a.size());
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return s / (double)(end - begin);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(synthetic)

BOOST_AUTO_TEST_CASE(gaussian_blobs_shapes_labels_and_spread) {
  Generator gen(7);
  Dataset d = gaussian_blobs(3000, 3, {2, 2}, 0.5f, gen);
  BOOST_TEST(d.images.shape() == Shape({3000, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(d.labels.to_vector<int32_t>() == cyclic(3000, 3), boost::test_tools::per_element());
  BOOST_TEST(d.num_classes == 3);
  d.validate();
  // Within-class variance per coordinate is spread^2 = 0.25 (12,000 values per estimate).
  const std::vector<float> x = d.images.to_vector();
  std::vector<double> mean(12, 0.0);
  for (int i = 0; i < 3000; ++i)
    for (int j = 0; j < 4; ++j) mean[(i % 3) * 4 + j] += x[i * 4 + j] / 1000.0;
  double var = 0;
  for (int i = 0; i < 3000; ++i)
    for (int j = 0; j < 4; ++j) var += std::pow(x[i * 4 + j] - mean[(i % 3) * 4 + j], 2) / 12000.0;
  BOOST_TEST(var == 0.25, boost::test_tools::tolerance(0.05));
  // Centers are distinct draws: class means differ by far more than their standard error.
  BOOST_TEST(std::fabs(mean[0] - mean[4]) + std::fabs(mean[1] - mean[5]) > 0.1);

  // spread 0: every sample is its class center exactly.
  Generator g0(7);
  const std::vector<float> c = gaussian_blobs(6, 3, {2}, 0.0f, g0).images.to_vector();
  BOOST_TEST(c[0] == c[6]);
  BOOST_TEST(c[1] == c[7]);
  BOOST_TEST(c[2] == c[8]);
  BOOST_TEST(c[0] != c[2]);
  // Seeded: same seed, same data; another seed, other data.
  Generator a(11), b(11), other(12);
  BOOST_TEST(gaussian_blobs(20, 4, {3}, 1.0f, a).images.to_vector() ==
                 gaussian_blobs(20, 4, {3}, 1.0f, b).images.to_vector(),
             boost::test_tools::per_element());
  Generator a2(11);
  BOOST_TEST(gaussian_blobs(20, 4, {3}, 1.0f, a2).images.to_vector() !=
             gaussian_blobs(20, 4, {3}, 1.0f, other).images.to_vector());
  expect_error([&] { gaussian_blobs(5, 0, {2}, 1.0f, gen); }, {"gaussian_blobs", "num_classes must be >= 1"});
  expect_error([&] { gaussian_blobs(5, 2, {2}, -1.0f, gen); }, {"gaussian_blobs", "spread must be >= 0"});
  expect_error([&] { gaussian_blobs(5, 2, {2, 0}, 1.0f, gen); }, {"gaussian_blobs", "sample shape"});
}

BOOST_AUTO_TEST_CASE(linear_teacher_and_label_noise_binary) {
  Generator g(3);
  Tensor w;
  Dataset clean = linear_with_label_noise(4000, 5, 0.0f, g, 2, Tensor(), &w);
  BOOST_TEST(clean.images.shape() == Shape({4000, 5}), boost::test_tools::per_element());
  BOOST_TEST(w.shape() == Shape({1, 5}), boost::test_tools::per_element());
  clean.validate();
  const std::vector<float> x = clean.images.to_vector(), wv = w.to_vector();
  const std::vector<int32_t> y = clean.labels.to_vector<int32_t>();
  int ones = 0, agree = 0;
  for (int i = 0; i < 4000; ++i) {
    float s = 0;
    for (int j = 0; j < 5; ++j) s += wv[j] * x[i * 5 + j];
    agree += y[i] == (s > 0 ? 1 : 0);
    ones += y[i];
  }
  BOOST_TEST(agree == 4000);
  BOOST_TEST(ones / 4000.0 == 0.5, boost::test_tools::tolerance(0.1));  // P(w.x > 0) = 1/2
  // Same seed, noise 0.2: same teacher and x (drawn first), about 20% labels flipped.
  Generator g2(3);
  Dataset noisy = linear_with_label_noise(4000, 5, 0.2f, g2);
  BOOST_TEST(noisy.images.to_vector() == x, boost::test_tools::per_element());
  const std::vector<int32_t> yn = noisy.labels.to_vector<int32_t>();
  int flipped = 0;
  for (int i = 0; i < 4000; ++i) flipped += yn[i] != y[i];
  BOOST_TEST(std::abs(flipped / 4000.0 - 0.2) < 0.025);  // 4 standard errors
  // A given teacher: e_0 labels by the sign of the first feature.
  Generator g3(5);
  Dataset e0 = linear_with_label_noise(50, 3, 0.0f, g3, 2, from_vector(std::vector<float>{1, 0, 0}, {1, 3}));
  const std::vector<float> ex = e0.images.to_vector();
  const std::vector<int32_t> ey = e0.labels.to_vector<int32_t>();
  for (int i = 0; i < 50; ++i) BOOST_TEST(ey[i] == (ex[i * 3] > 0 ? 1 : 0));
  expect_error([&] { linear_with_label_noise(5, 3, 1.5f, g3); }, {"linear_with_label_noise", "noise must be a probability"});
  expect_error([&] { linear_with_label_noise(5, 3, 0.1f, g3, 2, zeros({2, 3})); },
               {"linear_with_label_noise", "weight must be f32 [1, 3]"});
  expect_error([&] { linear_with_label_noise(5, 3, 0.1f, g3, 1); }, {"num_classes must be >= 2"});
}

BOOST_AUTO_TEST_CASE(linear_teacher_and_label_noise_multiclass) {
  Generator g(9), g2(9);
  Tensor w;
  Dataset clean = linear_with_label_noise(3000, 6, 0.0f, g, 4, Tensor(), &w);
  Dataset noisy = linear_with_label_noise(3000, 6, 0.3f, g2, 4);
  BOOST_TEST(w.shape() == Shape({4, 6}), boost::test_tools::per_element());
  const std::vector<float> x = clean.images.to_vector(), wv = w.to_vector();
  const std::vector<int32_t> y = clean.labels.to_vector<int32_t>(), yn = noisy.labels.to_vector<int32_t>();
  std::vector<int> hist(4, 0);
  int changed = 0;
  for (int i = 0; i < 3000; ++i) {
    int best = 0;
    float best_s = -1e30f;
    for (int k = 0; k < 4; ++k) {
      float s = 0;
      for (int j = 0; j < 6; ++j) s += wv[k * 6 + j] * x[i * 6 + j];
      if (s > best_s) best_s = s, best = k;
    }
    BOOST_TEST(y[i] == best);
    BOOST_TEST((yn[i] >= 0 && yn[i] < 4));
    changed += yn[i] != y[i];  // a noisy label is always a different class
    hist[y[i]]++;
  }
  BOOST_TEST(std::abs(changed / 3000.0 - 0.3) < 0.034);  // 4 standard errors
  for (int k = 0; k < 4; ++k) BOOST_TEST(hist[k] > 0);
  noisy.validate();
}

BOOST_AUTO_TEST_CASE(synthetic_images_range_classes_and_seed) {
  Generator g(1);
  Dataset d = synthetic_images(400, {3, 4, 4}, 4, g);
  BOOST_TEST(d.images.shape() == Shape({400, 3, 4, 4}), boost::test_tools::per_element());
  BOOST_TEST(d.labels.to_vector<int32_t>() == cyclic(400, 4), boost::test_tools::per_element());
  d.validate();
  const std::vector<float> x = d.images.to_vector();
  double mean = 0;
  for (float v : x) {
    BOOST_TEST((v >= 0.0f && v < 1.0f));
    mean += v / (double)x.size();
  }
  BOOST_TEST(mean == 0.5, boost::test_tools::tolerance(0.03));
  // Same class: x_i - x_j = 0.5 (u_i - u_j), so every pixel differs by less than 0.5.
  float same_max = 0, other_max = 0;
  for (int p = 0; p < 48; ++p) {
    same_max = std::max(same_max, std::fabs(x[0 * 48 + p] - x[4 * 48 + p]));  // samples 0 and 4: class 0
    other_max = std::max(other_max, std::fabs(x[0 * 48 + p] - x[1 * 48 + p]));
  }
  BOOST_TEST(same_max < 0.5f);
  // Class means (100 samples each) separate: the templates differ.
  std::vector<double> m0(48, 0), m1(48, 0);
  for (int i = 0; i < 400; i += 4)
    for (int p = 0; p < 48; ++p) m0[p] += x[i * 48 + p] / 100.0, m1[p] += x[(i + 1) * 48 + p] / 100.0;
  double dist = 0;
  for (int p = 0; p < 48; ++p) dist += std::fabs(m0[p] - m1[p]) / 48.0;
  BOOST_TEST(dist > 0.05);  // E|t0 - t1| / 2 = 1/6; noise in the means is ~0.015
  Generator g2(1);
  BOOST_TEST(synthetic_images(400, {3, 4, 4}, 4, g2).images.to_vector() == x, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(point_estimation_model_and_closed_forms) {
  PointEstimationConfig c;  // Fig. 1 clean: K = 8, n = 30, sigma = 0.8, tau = 0.1
  c.dim = 3;
  Generator g(4);
  PointEstimation p = point_estimation(c, g);
  BOOST_TEST(p.w.shape() == Shape({8, 3}), boost::test_tools::per_element());
  BOOST_TEST(p.x.shape() == Shape({8, 30, 3}), boost::test_tools::per_element());
  BOOST_TEST(p.w_hat.shape() == Shape({8, 3}), boost::test_tools::per_element());
  BOOST_TEST(p.adversarial == std::vector<bool>(8, false), boost::test_tools::per_element());
  // w_hat is the mean of the observations.
  const std::vector<float> x = p.x.to_vector(), wh = p.w_hat.to_vector();
  for (int k = 0; k < 8; ++k)
    for (int j = 0; j < 3; ++j) {
      double s = 0;
      for (int i = 0; i < 30; ++i) s += x[(k * 30 + i) * 3 + j];
      BOOST_TEST(wh[k * 3 + j] == s / 30.0, boost::test_tools::tolerance(1e-5));
    }
  // tau = 0, sigma = 0: every w_k and every observation is theta.
  PointEstimationConfig flat;
  flat.tau = 0;
  flat.sigma = 0;
  flat.theta = 5;
  Generator gf(4);
  PointEstimation pf = point_estimation(flat, gf);
  BOOST_TEST(pf.x.to_vector() == std::vector<float>(8 * 30, 5.0f), boost::test_tools::per_element());

  // Closed forms, by hand: lambda* = sigma^2 / (n tau^2) = 0.64 / 30 / 0.01 = 2.1333;
  // 1/sigma_w^2 = 30/0.64 + 7 / (8 * 0.01 + 0.64/30) = 46.875 + 69.0789 -> 0.0086241.
  BOOST_TEST(ditto_optimal_lambda(c) == 2.133333, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(ditto_optimal_error(c) == 0.0086241, boost::test_tools::tolerance(1e-4));
  // Adversarial Fig. 1: K = 16, K_a = 8, tau_a = 0.5; excess = 8/15 * (0.25 - 0.01) = 0.128.
  // lambda_a* = 0.64/30 * 16 / (0.16 + 0.128) = 1.18519;
  // 1/sigma^2 = 46.875 + 15 / (0.16 + 0.021333 + 0.128) = 46.875 + 48.4914 -> 0.0104859.
  PointEstimationConfig adv = c;
  adv.devices = 16;
  adv.adversaries = 8;
  adv.tau_adv = 0.5;
  BOOST_TEST(ditto_optimal_lambda(adv) == 1.185185, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(ditto_optimal_error(adv) == 0.0104859, boost::test_tools::tolerance(1e-4));

  // Lemma 9 by hand: w_hat = [[1, 0], [3, 4]], w* = [2, 2]; lambda = 1 -> the midpoints.
  Tensor w_hat = from_vector(std::vector<float>{1, 0, 3, 4}, {2, 2});
  expect_close(ditto_point_solution(w_hat, 1.0), from_vector(std::vector<float>{1.5f, 1, 2.5f, 3}, {2, 2}), 1e-6f, 0,
               "lambda = 1");
  expect_close(ditto_point_solution(w_hat, 0.0), w_hat, 0, 0, "lambda = 0 is local");
  expect_close(ditto_point_solution(w_hat, 3.0), from_vector(std::vector<float>{1.75f, 1.5f, 2.25f, 2.5f}, {2, 2}),
               1e-6f, 0, "lambda = 3");

  PointEstimationConfig bad = c;
  bad.adversaries = 9;
  expect_error([&] { point_estimation(bad, g); }, {"point_estimation", "adversaries must be in [0, devices = 8]"});
  bad = c;
  bad.samples = 0;
  expect_error([&] { point_estimation(bad, g); }, {"point_estimation", "must be >= 1"});
  expect_error([&] { ditto_point_solution(w_hat, -1.0); }, {"ditto_point_solution", "lambda must be >= 0"});
  expect_error([&] { ditto_optimal_lambda(flat); }, {"ditto_optimal_lambda", "tau = 0"});
}

BOOST_AUTO_TEST_CASE(point_estimation_monte_carlo_matches_theory) {
  // Each coordinate is an independent trial: dim = 4000 trials of the Fig. 1 clean setting.
  PointEstimationConfig c;
  c.dim = 4000;
  Generator g(2021);
  PointEstimation p = point_estimation(c, g);
  const std::vector<float> w = p.w.to_vector();
  // Spread of the device means around theta = 0 is tau^2 = 0.01; local error is sigma^2/n.
  BOOST_TEST(mean_sq(w, std::vector<float>(w.size(), 0.0f)) == 0.01, boost::test_tools::tolerance(0.05));
  const double local = mean_sq(p.w_hat.to_vector(), w);
  const double at_star = mean_sq(ditto_point_solution(p.w_hat, ditto_optimal_lambda(c)).to_vector(), w);
  const double global = mean_sq(ditto_point_solution(p.w_hat, 1e4).to_vector(), w);
  BOOST_TEST(local == 0.64 / 30, boost::test_tools::tolerance(0.05));
  BOOST_TEST(at_star == ditto_optimal_error(c), boost::test_tools::tolerance(0.05));
  BOOST_TEST(at_star < local);
  BOOST_TEST(at_star < global);
  // lambda* beats its neighbours on the grid of Fig. 1 (0.2 steps).
  BOOST_TEST(at_star <= mean_sq(ditto_point_solution(p.w_hat, 1.4).to_vector(), w));
  BOOST_TEST(at_star <= mean_sq(ditto_point_solution(p.w_hat, 3.0).to_vector(), w));

  // Adversarial: the error over the benign devices (8..15) at lambda_a* is sigma_{w,a}^2.
  PointEstimationConfig adv = c;
  adv.devices = 16;
  adv.adversaries = 8;
  adv.tau_adv = 0.5;
  adv.dim = 2000;
  Generator ga(2022);
  PointEstimation pa = point_estimation(adv, ga);
  BOOST_TEST(pa.adversarial[7]);
  BOOST_TEST(!pa.adversarial[8]);
  const std::vector<float> wa = pa.w.to_vector();
  const size_t half = 8 * 2000;
  BOOST_TEST(mean_sq(wa, std::vector<float>(wa.size(), 0.0f), 0, half) == 0.25, boost::test_tools::tolerance(0.05));
  BOOST_TEST(mean_sq(wa, std::vector<float>(wa.size(), 0.0f), half) == 0.01, boost::test_tools::tolerance(0.05));
  const double benign = mean_sq(ditto_point_solution(pa.w_hat, ditto_optimal_lambda(adv)).to_vector(), wa, half);
  BOOST_TEST(benign == ditto_optimal_error(adv), boost::test_tools::tolerance(0.05));
}

BOOST_AUTO_TEST_SUITE_END()
