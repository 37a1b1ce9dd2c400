// softmax family: softmax, log_softmax, cross_entropy (hard / soft / weighted / smoothed /
// sample-weighted, every reduction), nll_loss.
#include <cmath>
#include <limits>

#include "engine/ops/softmax.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {


// Rows of positive numbers summing to 1 (soft targets).
Tensor random_distribution(int64_t n, int64_t classes, uint64_t seed) {
  std::vector<float> v = random_uniform({n, classes}, seed, 0.05f, 1.0f).to_vector<float>();
  for (int64_t r = 0; r < n; ++r) {
    double s = 0;
    for (int64_t c = 0; c < classes; ++c) s += v[r * classes + c];
    for (int64_t c = 0; c < classes; ++c) v[r * classes + c] = (float)(v[r * classes + c] / s);
  }
  return fv(v, {n, classes});
}

// Independent naive softmax over `dim` of a 3-D tensor (index arithmetic, double precision).
std::vector<float> naive_softmax_3d(const Tensor& x, int64_t dim, bool log) {
  const Shape s = x.shape();
  const std::vector<float> v = x.to_vector<float>();
  std::vector<float> out(v.size());
  auto at = [&](int64_t i, int64_t j, int64_t k) { return (i * s[1] + j) * s[2] + k; };
  for (int64_t i = 0; i < s[0]; ++i)
    for (int64_t j = 0; j < s[1]; ++j)
      for (int64_t k = 0; k < s[2]; ++k) {
        double denom = 0;
        for (int64_t t = 0; t < s[dim]; ++t) {
          int64_t c[3] = {i, j, k};
          c[dim] = t;
          denom += std::exp((double)v[at(c[0], c[1], c[2])]);
        }
        const double p = std::exp((double)v[at(i, j, k)]) / denom;
        out[at(i, j, k)] = (float)(log ? std::log(p) : p);
      }
  return out;
}

// PyTorch's formula, written out naively: log_softmax, then per-class weighted, smoothed
// target, then the reduction. Hard labels: mean divides by sum of w_y; soft: by N.
std::vector<float> naive_cross_entropy(const Tensor& logits, const Tensor& target,
                                       const CrossEntropyOptions& o) {
  const int64_t N = logits.size(0), C = logits.size(1);
  const std::vector<float> x = logits.to_vector<float>();
  const bool hard = target.dtype() == DType::i32;
  std::vector<float> w(C, 1.0f), s(N, 1.0f);
  if (o.weight.defined()) w = o.weight.to_vector<float>();
  if (o.sample_weight.defined()) s = o.sample_weight.to_vector<float>();
  std::vector<int32_t> y;
  std::vector<float> soft;
  if (hard) y = target.to_vector<int32_t>();
  else soft = target.to_vector<float>();
  std::vector<double> losses(N);
  double total = 0, den = 0;
  for (int64_t n = 0; n < N; ++n) {
    double z = 0;
    for (int64_t c = 0; c < C; ++c) z += std::exp((double)x[n * C + c]);
    double l = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double logp = x[n * C + c] - std::log(z);
      double t = hard ? (y[n] == c ? 1.0 : 0.0) : soft[n * C + c];
      t = (1 - o.label_smoothing) * t + o.label_smoothing / C;
      l -= w[c] * t * logp;
    }
    losses[n] = s[n] * l;
    total += losses[n];
    den += hard ? w[y[n]] : 1.0;
  }
  if (o.reduction == Reduction::none) return std::vector<float>(losses.begin(), losses.end());
  if (o.reduction == Reduction::sum) return {(float)total};
  return {(float)(total / den)};
}

CrossEntropyOptions ce(Reduction r, Tensor weight = Tensor(), float smoothing = 0.0f,
                       Tensor sample_weight = Tensor()) {
  CrossEntropyOptions o;
  o.reduction = r;
  o.weight = weight;
  o.label_smoothing = smoothing;
  o.sample_weight = sample_weight;
  return o;
}

// The 2x3 example used by the hand-computed cases.
const std::vector<float> kLogits = {1, 2, 3, 1, 0, -1};
const std::vector<int32_t> kLabels = {2, 1};
const std::vector<float> kClassWeight = {0.5f, 2.0f, 1.0f};
const std::vector<float> kSoft = {0.2f, 0.3f, 0.5f, 0.6f, 0.4f, 0.0f};

std::vector<float> loss_values(const Tensor& logits, const Tensor& target,
                               const CrossEntropyOptions& o) {
  return cross_entropy(logits, target, o).to_vector<float>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(softmax)

// ---------------------------------------------------------------- hand-computed values

BOOST_AUTO_TEST_CASE(softmax_of_1_2_3) {
  // e^k / (e + e^2 + e^3), and log of it = k - 3 - log(1 + e^-1 + e^-2) = k - 3.40760596.
  const Tensor x = fv({1, 2, 3}, {3});
  expect_close(nanofed::softmax(x).to_vector<float>(), {0.09003057f, 0.24472847f, 0.66524096f}, 1e-6f,
               1e-5f, "softmax([1,2,3])");
  expect_close(log_softmax(x).to_vector<float>(), {-2.40760596f, -1.40760596f, -0.40760596f},
               1e-6f, 1e-5f, "log_softmax([1,2,3])");
  // Max subtraction: a huge common offset changes nothing (exp(1002) overflows f32).
  expect_close(nanofed::softmax(fv({1001, 1002, 1003}, {3})).to_vector<float>(),
               {0.09003057f, 0.24472847f, 0.66524096f}, 1e-6f, 1e-5f, "softmax(+1000)");
  expect_close(log_softmax(fv({-1001, -1000, -999}, {3})).to_vector<float>(),
               {-2.40760596f, -1.40760596f, -0.40760596f}, 1e-5f, 1e-5f, "log_softmax(-1000)");
}

BOOST_AUTO_TEST_CASE(softmax_any_dim_matches_naive) {
  const Tensor x = random_tensor({3, 4, 5}, 11, 2.0f);
  for (int64_t dim : {0, 1, 2}) {
    for (bool log : {false, true}) {
      const Tensor y = log ? log_softmax(x, dim) : nanofed::softmax(x, dim);
      expect_close(y.to_vector<float>(), naive_softmax_3d(x, dim, log), 1e-5f, 1e-5f,
                   std::string(log ? "log_softmax" : "softmax") + " dim " + std::to_string(dim));
    }
  }
  // Negative dim = counted from the end.
  expect_close(nanofed::softmax(x, -1), nanofed::softmax(x, 2), 0, 0, "softmax dim -1 == dim 2");
  expect_close(log_softmax(x, -3), log_softmax(x, 0), 0, 0, "log_softmax dim -3 == dim 0");
}

BOOST_AUTO_TEST_CASE(cross_entropy_hard_labels_every_reduction) {
  // log p row 0 = [1,2,3] - 3.40760596; row 1 = [1,0,-1] - 1.40760596.
  // l = [-log p_{0,2}, -log p_{1,1}] = [0.40760596, 1.40760596].
  const Tensor x = fv(kLogits, {2, 3}), y = labels(kLabels);
  expect_close(loss_values(x, y, ce(Reduction::none)), {0.40760596f, 1.40760596f}, 1e-6f, 1e-5f,
               "none");
  expect_close(loss_values(x, y, ce(Reduction::sum)), {1.81521193f}, 1e-6f, 1e-5f, "sum");
  expect_close(loss_values(x, y, ce(Reduction::mean)), {0.90760596f}, 1e-6f, 1e-5f, "mean");
  BOOST_TEST(cross_entropy(x, y).shape() == Shape{}, boost::test_tools::per_element());
  // nll_loss of log_softmax is the same loss.
  expect_close(nll_loss(log_softmax(x), y).to_vector<float>(), {0.90760596f}, 1e-6f, 1e-5f,
               "nll_loss(log_softmax)");
}

BOOST_AUTO_TEST_CASE(cross_entropy_class_weights_follow_pytorch) {
  // w = [0.5, 2, 1]; w_y = [1, 2]: l = [0.40760596, 2 * 1.40760596];
  // mean = sum(l) / sum(w_y) = 3.22281789 / 3.
  const Tensor x = fv(kLogits, {2, 3}), y = labels(kLabels), w = fv(kClassWeight, {3});
  expect_close(loss_values(x, y, ce(Reduction::none, w)), {0.40760596f, 2.81521193f}, 1e-6f,
               1e-5f, "weighted none");
  expect_close(loss_values(x, y, ce(Reduction::sum, w)), {3.22281789f}, 1e-6f, 1e-5f,
               "weighted sum");
  expect_close(loss_values(x, y, ce(Reduction::mean, w)), {1.07427263f}, 1e-6f, 1e-5f,
               "weighted mean");
  expect_close(nll_loss(log_softmax(x), y, ce(Reduction::mean, w)).to_vector<float>(),
               {1.07427263f}, 1e-6f, 1e-5f, "weighted nll_loss mean");
  expect_close(nll_loss(log_softmax(x), y, ce(Reduction::none, w)).to_vector<float>(),
               {0.40760596f, 2.81521193f}, 1e-6f, 1e-5f, "weighted nll_loss none");
}

BOOST_AUTO_TEST_CASE(cross_entropy_soft_targets) {
  // l0 = 0.2*2.40760596 + 0.3*1.40760596 + 0.5*0.40760596 = 1.10760596
  // l1 = 0.6*0.40760596 + 0.4*1.40760596                  = 0.80760596
  const Tensor x = fv(kLogits, {2, 3}), t = fv(kSoft, {2, 3});
  expect_close(loss_values(x, t, ce(Reduction::none)), {1.10760596f, 0.80760596f}, 1e-6f, 1e-5f,
               "soft none");
  expect_close(loss_values(x, t, ce(Reduction::sum)), {1.91521193f}, 1e-6f, 1e-5f, "soft sum");
  expect_close(loss_values(x, t, ce(Reduction::mean)), {0.95760596f}, 1e-6f, 1e-5f, "soft mean");
  // With class weights the soft mean still divides by N (PyTorch):
  // l0 = 0.5*0.2*2.40760596 + 2*0.3*1.40760596 + 0.5*0.40760596 = 1.28912716
  // l1 = 0.5*0.6*0.40760596 + 2*0.4*1.40760596                  = 1.24836656
  const Tensor w = fv(kClassWeight, {3});
  expect_close(loss_values(x, t, ce(Reduction::none, w)), {1.28912716f, 1.24836656f}, 1e-6f,
               1e-5f, "soft weighted none");
  expect_close(loss_values(x, t, ce(Reduction::mean, w)), {1.26874686f}, 1e-6f, 1e-5f,
               "soft weighted mean");
}

BOOST_AUTO_TEST_CASE(cross_entropy_label_smoothing) {
  // eps = 0.1: l = 0.9 * nll + (0.1 / 3) * sum_c(-log p_c); sum_c(-log p_c) = 4.22281789 in
  // both rows: l = [0.9*0.40760596 + 0.14076060, 0.9*1.40760596 + 0.14076060].
  const Tensor x = fv(kLogits, {2, 3}), y = labels(kLabels);
  expect_close(loss_values(x, y, ce(Reduction::none, Tensor(), 0.1f)),
               {0.50760596f, 1.40760596f}, 1e-6f, 1e-5f, "smoothed none");
  expect_close(loss_values(x, y, ce(Reduction::mean, Tensor(), 0.1f)), {0.95760596f}, 1e-6f,
               1e-5f, "smoothed mean");
  // With class weights: the smoothing term weights each class, mean divides by sum w_y = 3.
  // row 0: 0.9*1*0.40760596 + (0.1/3)*(0.5*2.40760596 + 2*1.40760596 + 0.40760596) = 0.51439940
  // row 1: 0.9*2*1.40760596 + (0.1/3)*(0.5*0.40760596 + 2*1.40760596 + 2.40760596) = 2.71457810
  const Tensor w = fv(kClassWeight, {3});
  expect_close(loss_values(x, y, ce(Reduction::none, w, 0.1f)), {0.51439940f, 2.71457810f},
               1e-6f, 1e-5f, "smoothed weighted none");
  expect_close(loss_values(x, y, ce(Reduction::sum, w, 0.1f)), {3.22897750f}, 1e-6f, 1e-5f,
               "smoothed weighted sum");
  expect_close(loss_values(x, y, ce(Reduction::mean, w, 0.1f)), {1.07632583f}, 1e-6f, 1e-5f,
               "smoothed weighted mean");
  // Soft targets with smoothing = hand-smoothed soft targets without it.
  const Tensor t = fv(kSoft, {2, 3});
  std::vector<float> smoothed = kSoft;
  for (float& v : smoothed) v = 0.9f * v + 0.1f / 3;
  expect_close(loss_values(x, t, ce(Reduction::none, Tensor(), 0.1f)),
               loss_values(x, fv(smoothed, {2, 3}), ce(Reduction::none)), 1e-6f, 1e-5f,
               "soft smoothing");
}

BOOST_AUTO_TEST_CASE(cross_entropy_sample_weights) {
  // s = [2, 0.5]: l = [0.81521193, 0.70380298]; mean = sum / N (not / sum s).
  const Tensor x = fv(kLogits, {2, 3}), y = labels(kLabels), s = fv({2.0f, 0.5f}, {2});
  expect_close(loss_values(x, y, ce(Reduction::none, Tensor(), 0, s)), {0.81521193f, 0.70380298f},
               1e-6f, 1e-5f, "sample-weighted none");
  expect_close(loss_values(x, y, ce(Reduction::mean, Tensor(), 0, s)), {0.75950745f}, 1e-6f,
               1e-5f, "sample-weighted mean");
  // With class weights too: mean = sum_n s_n w_{y_n} l_n / sum_n w_{y_n}
  //   = (2*0.40760596 + 0.5*2.81521193) / 3.
  const Tensor w = fv(kClassWeight, {3});
  expect_close(loss_values(x, y, ce(Reduction::mean, w, 0, s)), {0.74093930f}, 1e-6f, 1e-5f,
               "sample- and class-weighted mean");
}

BOOST_AUTO_TEST_CASE(cross_entropy_masked_logit_is_harmless) {
  // A -inf logit in a class with no target weight: l = -log p_y over the other classes.
  // Row [1, -inf, 3], label 2: l = log(e + e^3) - 3 = log(1 + e^-2) = 0.12692801.
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = fv({1, -inf, 3}, {1, 3});
  expect_close(loss_values(x, labels({2}), ce(Reduction::sum)), {0.12692801f}, 1e-6f, 1e-5f,
               "hard label, masked logit");
  expect_close(loss_values(x, fv({0.5f, 0.0f, 0.5f}, {1, 3}), ce(Reduction::sum)),
               {0.5f * 2.12692801f + 0.5f * 0.12692801f}, 1e-6f, 1e-5f,
               "soft target, masked logit");
  Tensor xg = x.detach().requires_grad_();
  cross_entropy(xg, labels({2})).backward();
  // softmax = [e^-2, 0, 1] / (1 + e^-2) = [0.11920292, 0, 0.88079708]; minus onehot(2).
  expect_close(xg.grad().to_vector<float>(), {0.11920292f, 0.0f, -0.11920292f}, 1e-6f, 1e-5f,
               "gradient with masked logit");
}

BOOST_AUTO_TEST_CASE(cross_entropy_gradient_is_softmax_minus_onehot) {
  // mean over N = 2: dlogits = (softmax - onehot) / 2.
  Tensor x = fv(kLogits, {2, 3}).requires_grad_();
  cross_entropy(x, labels(kLabels)).backward();
  const float p0 = 0.09003057f, p1 = 0.24472847f, p2 = 0.66524096f;
  expect_close(x.grad().to_vector<float>(),
               {p0 / 2, p1 / 2, (p2 - 1) / 2, p2 / 2, (p1 - 1) / 2, p0 / 2}, 1e-6f, 1e-5f,
               "d cross_entropy / d logits");
}

BOOST_AUTO_TEST_CASE(cross_entropy_random_matches_naive_pytorch_formula) {
  const Tensor x = random_tensor({9, 7}, 3, 3.0f), y = random_labels(9, 7, 4);
  const Tensor t = random_distribution(9, 7, 5), w = random_uniform({7}, 6, 0.2f, 2.0f);
  const Tensor s = random_uniform({9}, 7, 0.2f, 2.0f);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean})
    for (const Tensor& target : {y, t})
      for (bool weighted : {false, true})
        for (float eps : {0.0f, 0.25f}) {
          const CrossEntropyOptions o =
              ce(r, weighted ? w : Tensor(), eps, weighted ? s : Tensor());
          expect_close(loss_values(x, target, o), naive_cross_entropy(x, target, o), 1e-5f, 1e-5f,
                       std::string("cross_entropy ") + reduction_name(r) +
                           (target.dtype() == DType::i32 ? " hard" : " soft") +
                           (weighted ? " weighted" : "") + " eps " + std::to_string(eps));
        }
}

// ---------------------------------------------------------------- gradients

BOOST_AUTO_TEST_CASE(gradcheck_softmax_and_log_softmax) {
  const Tensor x3 = random_tensor({3, 5, 4}, 21).requires_grad_();
  for (int64_t dim : {0, 1, -1}) {
    gradcheck("softmax dim " + std::to_string(dim),
              [dim](const std::vector<Tensor>& in) { return nanofed::softmax(in[0], dim); }, {x3});
    gradcheck("log_softmax dim " + std::to_string(dim),
              [dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); }, {x3});
  }
  const Tensor x2 = random_tensor({7, 13}, 22, 2.0f).requires_grad_();
  gradcheck("softmax [7, 13]", [](const std::vector<Tensor>& in) { return nanofed::softmax(in[0]); },
            {x2});
  gradcheck("log_softmax [7, 13] dim 0",
            [](const std::vector<Tensor>& in) { return log_softmax(in[0], 0); }, {x2});
}

BOOST_AUTO_TEST_CASE(gradcheck_cross_entropy_all_variants) {
  const int64_t N = 5, C = 11;
  const Tensor x = random_tensor({N, C}, 31, 2.0f).requires_grad_();
  const Tensor y = random_labels(N, C, 32), t = random_distribution(N, C, 33);
  const Tensor w = random_uniform({C}, 34, 0.2f, 2.0f), s = random_uniform({N}, 35, 0.2f, 2.0f);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean})
    for (const Tensor& target : {y, t})
      for (int variant = 0; variant < 3; ++variant) {
        // 0: plain; 1: class weights + smoothing; 2: sample weights + smoothing.
        const CrossEntropyOptions o = ce(r, variant == 1 ? w : Tensor(), variant ? 0.2f : 0.0f,
                                         variant == 2 ? s : Tensor());
        gradcheck(std::string("cross_entropy ") + reduction_name(r) +
                      (target.dtype() == DType::i32 ? " hard" : " soft") + " variant " +
                      std::to_string(variant),
                  [o](const std::vector<Tensor>& in) { return cross_entropy(in[0], in[1], o); },
                  {x, target});
      }
}

BOOST_AUTO_TEST_CASE(gradcheck_nll_loss) {
  const Tensor lp = random_tensor({6, 9}, 41).requires_grad_();
  const Tensor y = random_labels(6, 9, 42), w = random_uniform({9}, 43, 0.2f, 2.0f);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean})
    for (bool weighted : {false, true}) {
      const CrossEntropyOptions o = ce(r, weighted ? w : Tensor());
      gradcheck(std::string("nll_loss ") + reduction_name(r) + (weighted ? " weighted" : ""),
                [o](const std::vector<Tensor>& in) { return nll_loss(in[0], in[1], o); },
                {lp, y});
    }
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_the_problem) {
  const Tensor x = fv(kLogits, {2, 3});
  expect_error([&] { cross_entropy(x, labels({2, 3})); }, {"cross_entropy", "label 3", "C = 3"});
  expect_error([&] { cross_entropy(x, labels({-1, 0})); }, {"cross_entropy", "label -1"});
  expect_error([&] { cross_entropy(x, labels({0, 1, 2})); },
               {"cross_entropy", "[3]", "[2]", "[2, 3]"});
  expect_error([&] { cross_entropy(x, zeros({2, 4})); }, {"cross_entropy", "[2, 4]", "[2, 3]"});
  expect_error([&] { cross_entropy(x, zeros({2}, Device::cpu(), DType::u8)); },
               {"cross_entropy", "i32", "f32"});
  expect_error([&] { cross_entropy(fv({1, 2, 3}, {3}), labels({0})); },
               {"cross_entropy", "[3]", "2-D"});
  expect_error([&] { cross_entropy(x, labels(kLabels), ce(Reduction::mean, zeros({4}))); },
               {"cross_entropy", "weight", "[4]", "[3]"});
  expect_error(
      [&] { cross_entropy(x, labels(kLabels), ce(Reduction::mean, Tensor(), 0, zeros({3}))); },
      {"cross_entropy", "sample_weight", "[3]", "[2]"});
  expect_error([&] { cross_entropy(x, labels(kLabels), ce(Reduction::mean, Tensor(), 1.5f)); },
               {"cross_entropy", "label_smoothing", "1.5"});
  expect_error([&] { nll_loss(x, labels({0, 7})); }, {"nll_loss", "label 7", "C = 3"});
  expect_error([&] { nll_loss(x, zeros({2})); }, {"nll_loss", "target"});
  expect_error([&] { nanofed::softmax(x, 2); }, {"softmax"});
  expect_error([&] { log_softmax(zeros({2}, Device::cpu(), DType::i32)); }, {"log_softmax"});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(cuda_parity_softmax) {
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const std::vector<Case> cases = {{{3, 5, 7}, 0},   {{3, 5, 7}, 1},  {{3, 5, 7}, -1},
                                   {{1000, 10}, -1}, {{1000, 1000}, 1}, {{1000, 1000}, 0},
                                   {{1, 1}, 0},      {{2, 3000}, 1},  {{300, 4, 33}, 1}};
  uint64_t seed = 100;
  for (const Case& c : cases) {
    const Tensor x = random_tensor(c.shape, ++seed, 3.0f).requires_grad_();
    const std::string tag = shape_str(c.shape) + " dim " + std::to_string(c.dim);
    const int64_t dim = c.dim;
    check_cuda_parity("softmax " + tag,
                      [dim](const std::vector<Tensor>& in) { return nanofed::softmax(in[0], dim); }, {x},
                      1e-5f, 1e-4f);
    check_cuda_parity("log_softmax " + tag,
                      [dim](const std::vector<Tensor>& in) { return log_softmax(in[0], dim); },
                      {x}, 1e-4f, 1e-4f);
  }
}

NF_CUDA_TEST_CASE(cuda_parity_cross_entropy) {
  uint64_t seed = 200;
  for (int64_t N : {1, 1000})
    for (int64_t C : {10, 1000}) {
      const Tensor x = random_tensor({N, C}, ++seed, 3.0f).requires_grad_();
      const Tensor y = random_labels(N, C, ++seed), t = random_distribution(N, C, ++seed);
      const Tensor w = random_uniform({C}, ++seed, 0.2f, 2.0f);
      const Tensor s = random_uniform({N}, ++seed, 0.2f, 2.0f);
      for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean})
        for (const Tensor& target : {y, t})
          for (int variant = 0; variant < 3; ++variant) {
            const CrossEntropyOptions o = ce(r, variant == 1 ? w : Tensor(),
                                             variant ? 0.1f : 0.0f, variant == 2 ? s : Tensor());
            // Tensors captured by the options live on the CPU; move them with the inputs.
            auto f = [o](const std::vector<Tensor>& in) {
              CrossEntropyOptions od = o;
              const Device dev = in[0].device();
              if (od.weight.defined()) od.weight = od.weight.to(dev);
              if (od.sample_weight.defined()) od.sample_weight = od.sample_weight.to(dev);
              return cross_entropy(in[0], in[1], od);
            };
            check_cuda_parity("cross_entropy N " + std::to_string(N) + " C " +
                                  std::to_string(C) + " " + reduction_name(r) +
                                  (target.dtype() == DType::i32 ? " hard" : " soft") +
                                  " variant " + std::to_string(variant),
                              f, {x, target}, 1e-4f, 1e-4f);
          }
      for (Reduction r : {Reduction::none, Reduction::mean}) {
        auto f = [r, w](const std::vector<Tensor>& in) {
          return nll_loss(in[0], in[1], ce(r, w.to(in[0].device())));
        };
        check_cuda_parity("nll_loss N " + std::to_string(N) + " C " + std::to_string(C) + " " +
                              reduction_name(r),
                          f, {x, y}, 1e-5f, 1e-4f);
      }
    }
}

NF_CUDA_TEST_CASE(cuda_out_of_range_label_poisons_the_row) {
  // The GPU does not sync to validate labels: the bad row's loss (hence the mean) is NaN.
  const Tensor x = fv(kLogits, {2, 3}).cuda();
  const Tensor y = labels({2, 5}).cuda();
  const std::vector<float> none = cross_entropy(x, y, ce(Reduction::none)).to_vector<float>();
  BOOST_TEST(std::fabs(none[0] - 0.40760596f) < 1e-5f);
  BOOST_TEST(std::isnan(none[1]));
  BOOST_TEST(std::isnan(cross_entropy(x, y).item()));
  BOOST_TEST(std::isnan(nll_loss(x, y).item()));
  // A masked (-inf) logit with zero target weight stays harmless on the GPU too.
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor xm = fv({1, -inf, 3}, {1, 3}).cuda();
  BOOST_TEST(std::fabs(cross_entropy(xm, labels({2}).cuda()).item() - 0.12692801f) < 1e-5f);
  BOOST_TEST(std::fabs(cross_entropy(xm, fv({0.5f, 0.0f, 0.5f}, {1, 3}).cuda()).item() -
                       1.12692801f) < 1e-5f);
  BOOST_TEST(std::fabs(cross_entropy(xm, labels({2}).cuda(), ce(Reduction::mean, Tensor(), 0.1f))
                           .item()) == inf);  // smoothing puts weight on -inf: PyTorch gives inf
  // The label itself on the masked logit, with class weight 0: the row contributes 0, not NaN.
  const Tensor w = fv({1, 0, 1}, {3});
  BOOST_TEST(cross_entropy(xm, labels({1}).cuda(), ce(Reduction::none, w.cuda())).item() == 0.0f);
  BOOST_TEST(cross_entropy(xm, labels({1}), ce(Reduction::none, w)).item() == 0.0f);
}

BOOST_AUTO_TEST_SUITE_END()
