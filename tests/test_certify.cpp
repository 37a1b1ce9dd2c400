// test_certify.cpp — certify/: the statistics against the reference table, SAMPLE / CERTIFY /
// PREDICT (counts, stream separation, modes), the certificates of exactly solvable smoothed
// classifiers (Gaussian linear, uniform 1-D), the DeformRS warps against hand values, the
// perturbation draws, radii, metrics and the TSV.
#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "certify/certify.h"
#include "certify/results.h"
#include "certify/smoothing.h"
#include "certify/stats.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/warp.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;
using namespace nanofed::certify;
namespace rs = nanofed::certify;  // the suite below is also named certify

namespace {

const double kPi = 3.14159265358979323846;

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * kPi); }

// ---------------------------------------------------------------- models

// Records every batch it classifies, and the train and grad modes it was called in.
class Recorder : public nn::Module {
 public:
  explicit Recorder(std::shared_ptr<nn::Module> inner)
      : inner(register_module("inner", std::move(inner))) {}
  Tensor forward(const Tensor& x) override {
    inputs.push_back(x.cpu().clone());
    training_seen.push_back(is_training());
    grad_seen.push_back(grad_enabled());
    return (*inner)(x);
  }
  std::string repr() const override { return "Recorder"; }
  void clear() {
    inputs.clear();
    training_seen.clear();
    grad_seen.clear();
  }
  std::shared_ptr<nn::Module> inner;
  std::vector<Tensor> inputs;
  std::vector<bool> training_seen, grad_seen;
};

// Flatten + Linear(d, 2) with logits [0, w.x + b]: class 1 iff w.x + b > 0.
std::shared_ptr<nn::Module> binary_linear(const std::vector<float>& w, float b) {
  const int64_t d = (int64_t)w.size();
  Generator init(0);
  auto linear = std::make_shared<nn::Linear>(d, 2, true, &init);
  std::vector<float> weight(2 * w.size(), 0.0f);
  std::copy(w.begin(), w.end(), weight.begin() + d);
  linear->weight.copy_(from_vector(weight, {2, d}));
  linear->bias.copy_(from_vector(std::vector<float>{0.0f, b}, {2}));
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(), linear);
}

// Flatten + a random Linear(d, 3): under unit noise every class is drawn often.
std::shared_ptr<nn::Module> three_classes(int64_t d, uint64_t seed) {
  Generator init(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(),
                                          std::make_shared<nn::Linear>(d, 3, true, &init));
}

int64_t total(const std::vector<int64_t>& counts) {
  int64_t s = 0;
  for (int64_t c : counts) s += c;
  return s;
}

// ---------------------------------------------------------------- exactly solvable scenarios

// A smoothed classifier whose top-class probability pA and exact radius R* are known.
struct Scenario {
  std::string name;
  std::shared_ptr<nn::Module> model;
  Tensor x;
  Smoothing smoothing;
  int64_t true_class;
  double pA;           // exact probability of true_class under the smoothing noise
  double radius_star;  // exact certified radius: scale * PhiInv(pA) or scale * (2 pA - 1)
};

// Gaussian pixel smoothing of the binary linear classifier on a 2x2 image: with margin
// m = w.x + b, pA = Phi(|m| / (sigma ||w||)) and R* = |m| / ||w|| (the distance to the plane).
Scenario gaussian_linear(const std::string& name, double margin) {
  const std::vector<float> x = {0.3f, -0.2f, 0.5f, 0.1f}, w = {1.0f, -2.0f, 0.5f, 1.0f};
  const double wx = 1.05, norm_w = 2.5;  // w.x and ||w||
  Scenario s;
  s.name = name;
  s.model = binary_linear(w, (float)(margin - wx));
  s.x = from_vector(x, {1, 2, 2});
  s.smoothing.sigma = 0.5f;
  s.true_class = margin > 0 ? 1 : 0;
  s.pA = normal_cdf(std::fabs(margin) / (s.smoothing.sigma * norm_w));
  s.radius_star = std::fabs(margin) / norm_w;
  return s;
}

// Uniform smoothing in 1-D: beta ~ U[-sigma, sigma] added to a one-pixel image 0, and
// f(beta) = 1[beta < t] (logits [0, t - beta]): pA = (sigma + |t|) / (2 sigma) for the class on
// t's side, and R* = sigma (2 pA - 1) = |t|.
Scenario uniform_threshold(const std::string& name, float t) {
  Scenario s;
  s.name = name;
  Generator init(0);
  auto linear = std::make_shared<nn::Linear>(1, 2, true, &init);
  linear->weight.copy_(from_vector(std::vector<float>{0.0f, -1.0f}, {2, 1}));
  linear->bias.copy_(from_vector(std::vector<float>{0.0f, t}, {2}));
  s.model = std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(), linear);
  s.x = zeros({1, 1, 1});
  s.smoothing.sigma = 1.0f;
  s.smoothing.distribution = Distribution::uniform;
  s.true_class = t > 0 ? 1 : 0;
  s.pA = (1.0 + std::fabs(t)) / 2.0;
  s.radius_star = std::fabs(t);
  return s;
}

// Repeated CERTIFY with independent generators. Per run P(R > R*) <= P(pA_lower > pA) <= alpha,
// so the number of runs with R > R* is stochastically below Binomial(runs, alpha): allowed up
// to its 1e-6 upper quantile. A wrong class needs the wrong selection AND a bound >= 1/2 for a
// class of probability < 1/2: far below 1e-4 per run here, so it must never happen.
void check_repeated_runs(const Scenario& sc, int runs, uint64_t seed) {
  CertifyOptions o;
  o.smoothing = sc.smoothing;
  o.n0 = 100;
  o.n = 1000;
  o.alpha = 0.05;
  o.batch = 1000;
  int wrong = 0, above = 0, certified = 0;
  for (int r = 0; r < runs; ++r) {
    Generator gen = Generator(seed).derive({(uint64_t)r});
    const Certificate c = rs::certify(*sc.model, sc.x, o, gen);
    if (c.predict != -1 && c.predict != sc.true_class) ++wrong;
    if (c.predict == sc.true_class) ++certified;
    if (c.radius > sc.radius_star) ++above;
  }
  namespace bm = boost::math;
  const double limit = bm::quantile(bm::complement(bm::binomial(runs, o.alpha), 1e-6));
  BOOST_TEST_MESSAGE(sc.name << ": " << certified << " certified, " << above << " with R > R*");
  BOOST_CHECK_MESSAGE(wrong == 0, sc.name << ": " << wrong << " runs returned the wrong class");
  BOOST_CHECK_MESSAGE(above <= limit, sc.name << ": R > R* in " << above << " of " << runs
                                              << " runs (allowed " << limit << ")");
  BOOST_CHECK_MESSAGE(certified > 0, sc.name << ": never certified (the test would be vacuous)");
}

// R approaches R* as n grows, as the Clopper-Pearson bound predicts: R lies within 4 sampling
// standard deviations (delta method) of the radius of the bound at nA = pA n, and the gap to R*
// shrinks from n = 1e3 to n = 1e5.
void check_convergence(const Scenario& sc, uint64_t seed) {
  const bool uniform = sc.smoothing.resolved() == Distribution::uniform;
  const double scale = sc.smoothing.scale();
  double gaps[2];
  const int64_t sizes[2] = {1000, 100000};
  for (int k = 0; k < 2; ++k) {
    CertifyOptions o;
    o.smoothing = sc.smoothing;
    o.n = sizes[k];
    o.batch = 10000;
    Generator gen(seed + k);
    const Certificate c = rs::certify(*sc.model, sc.x, o, gen);
    BOOST_REQUIRE_EQUAL(c.predict, sc.true_class);
    const double p_pred = clopper_pearson_lower(std::llround(sc.pA * o.n), o.n, o.alpha);
    const double predicted = radius(sc.smoothing, p_pred);
    const double dR_dp = uniform ? 2 * scale : scale / normal_pdf(phi_inv(p_pred));
    const double spread = dR_dp * std::sqrt(sc.pA * (1 - sc.pA) / (double)o.n);
    BOOST_CHECK_MESSAGE(std::fabs(c.radius - predicted) <= 4 * spread,
                        sc.name << " n " << o.n << ": R " << c.radius << ", predicted " << predicted
                                << " +- " << spread);
    BOOST_CHECK_LE(c.radius, sc.radius_star);
    gaps[k] = sc.radius_star - c.radius;
  }
  BOOST_CHECK_MESSAGE(gaps[1] < gaps[0] / 3, sc.name << ": gap " << gaps[0] << " at n = 1e3, "
                                                     << gaps[1] << " at n = 1e5");
}

// ---------------------------------------------------------------- warps

// A 4x4 image with distinct values (not linear, so swapped weights would show).
Tensor scrambled_4x4(Device dev) {
  return from_vector(std::vector<float>{3, 14, 1, 9, 12, 5, 16, 7, 2, 11, 8, 15, 10, 6, 13, 4},
                     {1, 1, 4, 4}, dev);
}

Tensor params_of(const std::vector<float>& values, Device dev = Device::cpu()) {
  return from_vector(values, {1, (int64_t)values.size()}, dev);
}

// The parameters that leave the image in place.
std::vector<float> identity_params(Transform t) {
  switch (t) {
    case Transform::scaling: return {1.0f};
    default: return std::vector<float>((size_t)num_params(t), 0.0f);
  }
}

const Transform kWarps[] = {Transform::rotation, Transform::translation, Transform::scaling,
                            Transform::affine};

// DeformRS' sampling grid (deform_wrapper.py) computed on the host in double: X the row and Y
// the column coordinate of the base grid, grid = (Y + Yv, X + Xv). Grid::centers swaps the
// base for the pixel centres.
Tensor deformrs_grid(int64_t H, int64_t W, Transform t, const std::vector<double>& p, Grid grid,
                     Device dev) {
  auto base = [grid](int64_t k, int64_t n) {
    return grid == Grid::linspace ? -1.0 + 2.0 * (double)k / (double)(n - 1)
                                  : (2.0 * (double)k + 1.0) / (double)n - 1.0;
  };
  std::vector<float> g;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const double X = base(i, H), Y = base(j, W);
      double Xv = 0, Yv = 0;
      switch (t) {
        case Transform::rotation:
          Xv = X * std::cos(p[0]) - Y * std::sin(p[0]) - X;
          Yv = X * std::sin(p[0]) + Y * std::cos(p[0]) - Y;
          break;
        case Transform::translation: Xv = p[0]; Yv = p[1]; break;
        case Transform::scaling: Xv = X * p[0] - X; Yv = Y * p[0] - Y; break;
        case Transform::affine:
          Xv = p[0] * X + p[1] * Y + p[2];
          Yv = p[3] * X + p[4] * Y + p[5];
          break;
        case Transform::pixel: break;
      }
      g.push_back((float)(Y + Yv));
      g.push_back((float)(X + Xv));
    }
  return from_vector(g, {1, H, W, 2}, dev);
}

// Every warp check against hand values; run on the CPU and on CUDA with the same numbers.
void check_warps_on(Device dev) {
  const Tensor img = scrambled_4x4(dev);
  const std::vector<float> raw = img.to_vector();

  // Identity parameters, pixel-centre grid: the exact identity for every warp.
  for (Transform t : kWarps)
    expect_close(deform(img, params_of(identity_params(t), dev), t, Grid::centers).to_vector(),
                 raw, 0, 0, std::string("centers identity ") + transform_name(t));

  // Identity parameters, linspace grid: pixel j is sampled at j * 4/3 - 1/2 = -1/2, 5/6, 13/6,
  // 7/2 along both axes, i.e. out = A img A^T with A = [[1/2, 0, 0, 0], [1/6, 5/6, 0, 0],
  // [0, 0, 5/6, 1/6], [0, 0, 0, 1/2]] (the outer half pixels blend with the zero padding).
  const std::vector<float> linspace_identity = {
      3 / 4.f,  73 / 12.f,  7 / 6.f,   9 / 4.f,    21 / 4.f, 43 / 6.f, 449 / 36.f, 11 / 3.f,
      5 / 3.f,  325 / 36.f, 86 / 9.f,  79 / 12.f,  5 / 2.f,  10 / 3.f, 23 / 4.f,   1.0f};
  for (Transform t : kWarps)
    expect_close(deform(img, params_of(identity_params(t), dev), t, Grid::linspace).to_vector(),
                 linspace_identity, 1e-5f, 1e-5f,
                 std::string("linspace identity ") + transform_name(t));

  // beta = 90 degrees on a square image: the symmetric base grid maps onto itself, so the warp
  // is rot90 of the beta = 0 warp: out[i][j] = out0[3 - j][i] (content turned clockwise).
  for (Grid grid : {Grid::linspace, Grid::centers}) {
    const std::vector<float> out0 =
        deform(img, params_of({0.0f}, dev), Transform::rotation, grid).to_vector();
    const std::vector<float> out90 =
        deform(img, params_of({(float)(kPi / 2)}, dev), Transform::rotation, grid).to_vector();
    std::vector<float> rot90(16);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) rot90[i * 4 + j] = out0[(3 - j) * 4 + i];
    expect_close(out90, rot90, 1e-5f, 1e-5f,
                 grid == Grid::linspace ? "rot90 (linspace)" : "rot90 (centers)");
  }

  // Translation by t = 2k/W moves every sample position by exactly k pixels. A ramp image
  // (value = column index, or row index) shows the sample position wherever the bilinear
  // stencil lies inside the image; W = 8, k = 1 or 3: t_v shifts columns, t_u rows.
  const int64_t W = 8;
  std::vector<float> cols(W * W), rows(W * W);
  for (int64_t i = 0; i < W; ++i)
    for (int64_t j = 0; j < W; ++j) {
      cols[i * W + j] = (float)j;
      rows[i * W + j] = (float)i;
    }
  const Tensor col_ramp = from_vector(cols, {1, 1, W, W}, dev);
  const Tensor row_ramp = from_vector(rows, {1, 1, W, W}, dev);
  for (int k : {1, 3}) {
    const float t = 2.0f * (float)k / (float)W;
    for (bool along_columns : {true, false}) {
      const Tensor& ramp = along_columns ? col_ramp : row_ramp;
      const std::vector<float> shift = along_columns ? std::vector<float>{0, t}
                                                     : std::vector<float>{t, 0};
      const std::vector<float> at0 =
          deform(ramp, params_of({0, 0}, dev), Transform::translation, Grid::linspace).to_vector();
      const std::vector<float> moved =
          deform(ramp, params_of(shift, dev), Transform::translation, Grid::linspace).to_vector();
      auto position = [W](int64_t q) { return (double)q * W / (W - 1) - 0.5; };  // linspace
      int compared = 0;
      for (int64_t i = 0; i < W; ++i)
        for (int64_t j = 0; j < W; ++j) {
          const int64_t q = along_columns ? j : i, other = along_columns ? i : j;
          // Compare where the bilinear stencil lies inside the image before and after the shift.
          if (position(q) < 0 || position(q) + k > W - 1 || position(other) < 0 ||
              position(other) > W - 1)
            continue;
          ++compared;
          BOOST_CHECK_SMALL(moved[i * W + j] - at0[i * W + j] - (float)k, 1e-4f);
          BOOST_CHECK_SMALL(at0[i * W + j] - (float)position(q), 1e-4f);
        }
      BOOST_CHECK_GE(compared, 12);
    }
  }
  // With Grid::centers the same translation is an exact k-pixel shift of the raw image, zeros
  // coming in: out[i][j] = img[i][j + k] (t_v) or img[i + k][j] (t_u).
  for (int k : {1, 2}) {
    const float t = 2.0f * (float)k / 4.0f;
    std::vector<float> left(16, 0.0f), up(16, 0.0f);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        if (j + k < 4) left[i * 4 + j] = raw[i * 4 + j + k];
        if (i + k < 4) up[i * 4 + j] = raw[(i + k) * 4 + j];
      }
    expect_close(deform(img, params_of({0, t}, dev), Transform::translation, Grid::centers)
                     .to_vector(), left, 0, 0, "centers: exact shift by t_v");
    expect_close(deform(img, params_of({t, 0}, dev), Transform::translation, Grid::centers)
                     .to_vector(), up, 0, 0, "centers: exact shift by t_u");
  }

  // The port: deform == grid_sample at DeformRS' grid, on a non-square image (a swapped X / Y
  // or H / W would show), for random parameters of every warp and both grids.
  const Tensor wide = random_tensor({1, 2, 5, 7}, 90).to(dev);
  const std::vector<std::vector<double>> params = {
      {0.4}, {0.15, -0.3}, {0.8}, {0.1, -0.2, 0.05, 0.12, -0.07, 0.2}};
  for (size_t k = 0; k < 4; ++k)
    for (Grid grid : {Grid::linspace, Grid::centers}) {
      const Transform t = kWarps[k];
      std::vector<float> pf(params[k].begin(), params[k].end());
      const Tensor want = grid_sample(wide, deformrs_grid(5, 7, t, params[k], grid, dev));
      expect_close(deform(wide, params_of(pf, dev), t, grid).to_vector(), want.to_vector(), 1e-5f,
                   1e-5f, std::string("DeformRS grid ") + transform_name(t));
    }

  // Affine parameters equivalent to a rotation, a translation and a scaling give their warps:
  // theta = [[1 + a4, a3, a5], [a1, 1 + a0, a2]].
  const float b = 0.3f, c = std::cos(b) - 1.0f, s = std::sin(b);
  expect_close(deform(wide, params_of({c, -s, 0, s, c, 0}, dev), Transform::affine).to_vector(),
               deform(wide, params_of({b}, dev), Transform::rotation).to_vector(), 1e-5f, 1e-5f,
               "affine == rotation");
  expect_close(
      deform(wide, params_of({0, 0, 0.25f, 0, 0, -0.5f}, dev), Transform::affine).to_vector(),
      deform(wide, params_of({0.25f, -0.5f}, dev), Transform::translation).to_vector(), 0, 0,
      "affine == translation");
  expect_close(deform(wide, params_of({0.25f, 0, 0, 0, 0.25f, 0}, dev), Transform::affine)
                   .to_vector(),
               deform(wide, params_of({1.25f}, dev), Transform::scaling).to_vector(), 0, 0,
               "affine == scaling");
}

// ---------------------------------------------------------------- TSV

const std::string kHeader = "idx\tlabel\tpredict\tradius\tcorrect\ttime\n";  // Cohen's
const std::string kFullHeader = "idx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_full\n";  // what TsvWriter writes

// The line TsvWriter writes for `row`: Cohen's columns, then the radius with 17 digits.
std::string written_line(const CertifyRow& row) {
  char full[32];
  std::snprintf(full, sizeof full, "%.17g", row.radius);
  return format_row(row) + "\t" + full + "\n";
}

CertifyRow row_of(int64_t idx, int64_t label, int64_t predict, double radius, double seconds) {
  CertifyRow r;
  r.idx = idx;
  r.label = label;
  r.predict = predict;
  r.radius = radius;
  r.correct = predict == label;
  r.seconds = seconds;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(certify)

// ---------------------------------------------------------------- statistics

BOOST_AUTO_TEST_CASE(clopper_pearson_and_phi_inv_match_the_reference_table) {
  // 004_certified_fl.md §2.3, alpha = 0.001: n, nA, pA (10 digits), PhiInv(pA), 2 pA - 1 (6
  // decimals; NaN where the table abstains).
  struct Row { int64_t n, nA; double pA, phi, uniform; };
  const double nan = std::nan("");
  const Row table[] = {
      {100, 100, 0.9332543008, 1.500475, 0.866509},
      {100, 90, 0.7753298802, 0.756515, 0.550660},
      {1000, 990, 0.9760361872, 1.978010, 0.952072},
      {1000, 1000, 0.9931160484, 2.463263, 0.986232},
      {1000, 600, 0.5510754739, 0.128379, 0.102151},
      {10000, 9900, 0.9865311593, 2.212420, 0.973062},
      {10000, 10000, 0.9993094630, 3.198578, 0.998619},
      {10000, 5100, 0.4944993067, nan, nan},
      {100000, 99000, 0.9889893404, 2.290000, 0.977979},
      {100000, 100000, 0.9999309248, 3.811457, 0.999862},
      {100000, 50500, 0.5001089517, 0.000273, 0.000218}};
  for (const Row& r : table) {
    const double pA = clopper_pearson_lower(r.nA, r.n, 0.001);
    const std::string what = "n " + std::to_string(r.n) + ", nA " + std::to_string(r.nA);
    // The table prints 10 decimals: agreement to 1e-8 relative (and to its last digit).
    BOOST_CHECK_MESSAGE(std::fabs(pA - r.pA) <= 1e-8 * r.pA && std::fabs(pA - r.pA) <= 6e-11,
                        what << ": pA " << pA << ", table " << r.pA);
    if (std::isnan(r.phi)) {
      BOOST_CHECK_LT(pA, 0.5);  // the abstain row
      continue;
    }
    BOOST_CHECK_MESSAGE(std::fabs(phi_inv(pA) - r.phi) <= 5e-7,
                        what << ": PhiInv " << phi_inv(pA) << ", table " << r.phi);
    BOOST_CHECK_MESSAGE(std::fabs(2 * pA - 1 - r.uniform) <= 5e-7,
                        what << ": 2pA-1 " << 2 * pA - 1 << ", table " << r.uniform);
  }
  // Edge cases: nA = 0 -> 0; nA = n -> alpha^(1/n) (the quantile of Beta(n, 1)).
  for (int64_t n : {1, 7, 100, 100000}) {
    BOOST_CHECK_EQUAL(clopper_pearson_lower(0, n, 0.001), 0.0);
    BOOST_CHECK_CLOSE(clopper_pearson_lower(n, n, 0.05), std::pow(0.05, 1.0 / n), 1e-12);
  }
  // The defining property, summed independently in log space: P[Bin(n, pA) >= nA] = alpha.
  for (auto [n, nA] : {std::pair<int64_t, int64_t>{100, 90}, {1000, 600}, {57, 3}}) {
    const double p = clopper_pearson_lower(nA, n, 0.001);
    double tail = 0;
    for (int64_t k = nA; k <= n; ++k)
      tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) +
                       k * std::log(p) + (n - k) * std::log1p(-p));
    BOOST_CHECK_CLOSE(tail, 0.001, 1e-6);
  }
  // PhiInv: known quantiles to 1e-8 relative, and the inverse of Phi (erfc) to 1e-10.
  BOOST_CHECK_CLOSE(phi_inv(0.975), 1.959963984540054, 1e-8);
  BOOST_CHECK_CLOSE(phi_inv(0.99), 2.3263478740408408, 1e-8);
  BOOST_CHECK_CLOSE(phi_inv(0.001), -3.090232306167813, 1e-8);
  BOOST_CHECK_EQUAL(phi_inv(0.5), 0.0);
  for (double z : {-4.0, -1.3, 0.02, 0.7, 2.9, 3.8})
    BOOST_CHECK_CLOSE(phi_inv(normal_cdf(z)), z, 1e-8);
}

BOOST_AUTO_TEST_CASE(binom_test_matches_scipy) {
  // scipy.stats.binom_test(k, n, p) values (two-sided, minlike; computed exactly).
  struct Case { int64_t k, n; double p, want; };
  const Case cases[] = {{5, 10, 0.5, 1.0},
                        {0, 10, 0.5, 2 * std::pow(0.5, 10)},
                        {9, 10, 0.5, 0.021484375},
                        {10, 10, 0.5, 0.001953125},
                        {3, 10, 0.5, 0.34375},
                        {60, 100, 0.5, 0.05688793364098079},
                        {530, 1000, 0.5, 0.06202319509836318},
                        {1, 10, 0.3, 0.2995766785},
                        {7, 20, 0.2, 0.09822172861346873},
                        {0, 5, 0.3, 0.33115},
                        {3, 15, 0.1, 0.184061069106391},
                        {3, 10, 0.3, 1.0}};
  for (const Case& c : cases) {
    const double got = binom_test_two_sided(c.k, c.n, c.p);
    BOOST_CHECK_MESSAGE(std::fabs(got - c.want) <= 1e-12 + 1e-9 * c.want,
                        "binom_test(" << c.k << ", " << c.n << ", " << c.p << ") = " << got
                                      << ", want " << c.want);
  }
  expect_error([] { binom_test_two_sided(11, 10); }, {"binom_test_two_sided", "k 11"});
  expect_error([] { clopper_pearson_lower(5, 4, 0.1); },
                        {"clopper_pearson_lower", "nA 5"});
  expect_error([] { clopper_pearson_lower(1, 4, 1.0); },
                        {"clopper_pearson_lower", "alpha"});
  expect_error([] { phi_inv(1.0); }, {"phi_inv", "(0, 1)"});
}

// ---------------------------------------------------------------- SAMPLE

BOOST_AUTO_TEST_CASE(sample_counts_draws_exactly_num_in_batches) {
  auto model = std::make_shared<Recorder>(three_classes(4, 1));
  const Tensor x = random_tensor({1, 2, 2}, 5);
  Smoothing s;
  s.sigma = 1.0f;
  struct Case { int64_t num, batch; std::vector<int64_t> sizes; };
  const Case cases[] = {{1001, 100, {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 1}},
                        {50, 100, {50}},
                        {200, 100, {100, 100}},
                        {3, 1, {1, 1, 1}}};
  for (const Case& c : cases) {
    model->clear();
    Generator gen(3);
    const std::vector<int64_t> counts = sample_counts(*model, x, c.num, s, c.batch, gen);
    BOOST_CHECK_EQUAL(counts.size(), 3u);
    BOOST_CHECK_EQUAL(total(counts), c.num);
    std::vector<int64_t> sizes;
    for (const Tensor& in : model->inputs) sizes.push_back(in.size(0));
    BOOST_TEST(sizes == c.sizes, boost::test_tools::per_element());
    // Draws come from gen in order: 4 normals per copy (each batch a whole Philox block).
    BOOST_CHECK_EQUAL(gen.offset(), (uint64_t)(4 * c.num));
  }
  // x may also be given as [1, C, H, W]; anything else is refused.
  Generator gen(3);
  BOOST_CHECK_EQUAL(total(sample_counts(*model, x.reshape({1, 1, 2, 2}), 10, s, 4, gen)), 10);
  expect_error([&] { sample_counts(*model, zeros({2, 1, 2, 2}), 10, s, 4, gen); },
                        {"sample_counts", "one image", "[2, 1, 2, 2]"});
  expect_error([&] { sample_counts(*model, x, 0, s, 4, gen); }, {"sample_counts", "num"});
}

BOOST_AUTO_TEST_CASE(sample_counts_is_determined_by_the_generator) {
  auto model = three_classes(4, 2);
  const Tensor x = zeros({1, 2, 2});
  Smoothing s;
  s.sigma = 1.0f;
  auto counts = [&](uint64_t seed, int64_t batch) {
    Generator gen(seed);
    return sample_counts(*model, x, 1000, s, batch, gen);
  };
  const std::vector<int64_t> a = counts(11, 100);
  for (int64_t c : a) BOOST_CHECK_GT(c, 20);  // every class is drawn: comparisons mean something
  BOOST_TEST(counts(11, 100) == a, boost::test_tools::per_element());
  BOOST_CHECK(counts(12, 100) != a);
  BOOST_CHECK(counts(13, 100) != counts(12, 100));
  // On the CPU element i of a draw depends only on (seed, offset + i) and each batch here draws
  // a whole number of Philox blocks, so the split into batches does not change the counts.
  BOOST_TEST(counts(11, 1000) == a, boost::test_tools::per_element());
  BOOST_TEST(counts(11, 7) == a, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(selection_estimation_and_predict_draw_from_separate_streams) {
  auto inner = three_classes(4, 3);
  auto model = std::make_shared<Recorder>(inner);
  const Tensor x = random_tensor({1, 2, 2}, 6);
  CertifyOptions o;
  o.smoothing.sigma = 1.0f;
  o.n0 = 8;
  o.n = 24;
  o.batch = 8;
  o.alpha = 0.2;
  Generator gen(21);
  const Certificate c = rs::certify(*model, x, o, gen);
  BOOST_REQUIRE_EQUAL(model->inputs.size(), 4u);  // 1 selection batch, 3 estimation batches
  // The batches are the perturbations drawn from gen.derive({0}) and gen.derive({1}).
  const Tensor copies = broadcast_to(x.reshape({1, 1, 2, 2}), {8, 1, 2, 2});
  Generator selection = gen.derive({0}), estimation = gen.derive({1});
  expect_close(model->inputs[0], perturb(copies, o.smoothing, selection), 0, 0, "selection batch");
  for (int k = 1; k < 4; ++k)
    expect_close(model->inputs[k], perturb(copies, o.smoothing, estimation), 0, 0,
                 "estimation batch " + std::to_string(k));
  // So the n0 selection draws are not the first n0 estimation draws: not one value shared.
  const std::vector<float> sel = model->inputs[0].to_vector(), est = model->inputs[1].to_vector();
  int shared = 0;
  for (size_t i = 0; i < sel.size(); ++i) shared += sel[i] == est[i];
  BOOST_CHECK_EQUAL(shared, 0);
  // And the certificate is computed from those counts.
  Generator g0 = gen.derive({0}), g1 = gen.derive({1});
  const std::vector<int64_t> counts0 = sample_counts(*inner, x, o.n0, o.smoothing, o.batch, g0);
  const std::vector<int64_t> counts = sample_counts(*inner, x, o.n, o.smoothing, o.batch, g1);
  BOOST_CHECK_EQUAL(c.cA, std::max_element(counts0.begin(), counts0.end()) - counts0.begin());
  BOOST_CHECK_EQUAL(c.count_selected, counts[c.cA]);
  BOOST_CHECK_EQUAL(c.pA_lower, clopper_pearson_lower(counts[c.cA], o.n, o.alpha));
  BOOST_CHECK_EQUAL(gen.offset(), 0u);  // gen itself is only derived from
  // PREDICT draws a third stream, gen.derive({2}).
  model->clear();
  rs::predict(*model, x, o, gen);
  BOOST_REQUIRE_EQUAL(model->inputs.size(), 3u);
  Generator third = gen.derive({2});
  expect_close(model->inputs[0], perturb(copies, o.smoothing, third), 0, 0, "predict batch");
}

BOOST_AUTO_TEST_CASE(certify_runs_in_eval_mode_without_tape_and_restores_every_mode) {
  auto model = std::make_shared<Recorder>(three_classes(4, 4));
  model->train();
  model->inner->eval();  // a mixed tree: the parent trains, its child does not
  CertifyOptions o;
  o.n0 = 5;
  o.n = 10;
  o.batch = 4;
  Generator gen(5);
  rs::certify(*model, zeros({1, 2, 2}), o, gen);
  rs::predict(*model, zeros({1, 2, 2}), o, gen);
  BOOST_CHECK_EQUAL(model->training_seen.size(), 2u + 3u + 3u);
  for (size_t k = 0; k < model->training_seen.size(); ++k) {
    BOOST_CHECK(!model->training_seen[k]);
    BOOST_CHECK(!model->grad_seen[k]);
  }
  BOOST_CHECK(model->is_training());
  BOOST_CHECK(!model->inner->is_training());
  BOOST_CHECK(grad_enabled());
}

// ---------------------------------------------------------------- CERTIFY and PREDICT

BOOST_AUTO_TEST_CASE(abstain_keeps_its_bound_and_unanimity_gives_the_largest_radius) {
  // w = 0, b = 1: every draw is class 1, so nA = n and pA = alpha^(1/n) (table: n = 1000).
  CertifyOptions o;
  o.smoothing.sigma = 0.5f;
  o.n = 1000;
  Generator gen(7);
  const Certificate all = rs::certify(*binary_linear({0, 0, 0, 0}, 1.0f), zeros({1, 2, 2}), o, gen);
  BOOST_CHECK_EQUAL(all.predict, 1);
  BOOST_CHECK_EQUAL(all.cA, 1);
  BOOST_CHECK_EQUAL(all.count_selected, 1000);
  BOOST_CHECK_CLOSE(all.pA_lower, 0.9931160484, 1e-8);
  BOOST_CHECK_CLOSE(all.radius, 0.5 * 2.463263, 1e-4);
  // m = w.x + b = 0: pA = 1/2 exactly, so the bound falls below 1/2 and CERTIFY abstains with
  // radius 0; the bound is reported as it is (Cohen's code substitutes 0.5).
  const Tensor x = from_vector(std::vector<float>{0.3f, 0, 0, 0}, {1, 2, 2});
  const Certificate tie = rs::certify(*binary_linear({1, 0, 0, 0}, -0.3f), x, o, gen);
  BOOST_CHECK_EQUAL(tie.predict, -1);
  BOOST_CHECK_EQUAL(tie.radius, 0.0);
  BOOST_CHECK_LT(tie.pA_lower, 0.5);
  BOOST_CHECK_EQUAL(tie.pA_lower, clopper_pearson_lower(tie.count_selected, o.n, o.alpha));
  BOOST_CHECK(tie.cA == 0 || tie.cA == 1);
}

BOOST_AUTO_TEST_CASE(gaussian_linear_certificates_are_sound_and_tight) {
  // Far from the plane (pA = Phi(1) = 0.841, class 0) and near it (pA = Phi(0.1) = 0.540,
  // class 1: the selection often picks the wrong class, then CERTIFY must abstain).
  const Scenario far = gaussian_linear("gaussian far", -1.25);
  const Scenario near = gaussian_linear("gaussian near", 0.125);
  BOOST_CHECK_CLOSE(far.pA, 0.8413447460685429, 1e-9);
  check_repeated_runs(far, 200, 100);
  check_repeated_runs(near, 200, 200);
  check_convergence(far, 300);
}

BOOST_AUTO_TEST_CASE(uniform_threshold_certificates_are_sound_and_tight) {
  // f(beta) = 1[beta < t] under U[-1, 1]: t = 0.5 gives pA = 0.75, R* = 0.5 (class 1); t = -0.06
  // gives class 0 with pA = 0.53, R* = 0.06.
  const Scenario far = uniform_threshold("uniform far", 0.5f);
  const Scenario near = uniform_threshold("uniform near", -0.06f);
  check_repeated_runs(far, 200, 400);
  check_repeated_runs(near, 200, 500);
  check_convergence(far, 600);
}

BOOST_AUTO_TEST_CASE(predict_uses_the_binomial_test_on_the_top_two) {
  const auto constant = binary_linear({0, 0, 0, 0}, 1.0f);  // always class 1: counts [0, n]
  CertifyOptions o;
  o.n0 = 10;
  o.n = 10;
  o.batch = 4;
  Generator gen(8);
  // binom_test(10, 10) = 2^-9 = 0.00195: significant at alpha = 0.01, not at 0.001.
  o.alpha = 0.01;
  BOOST_CHECK_EQUAL(rs::predict(*constant, zeros({1, 2, 2}), o, gen), 1);
  o.alpha = 0.001;
  BOOST_CHECK_EQUAL(rs::predict(*constant, zeros({1, 2, 2}), o, gen), -1);
  // A clear linear case predicts its class; an exact tie abstains.
  o.n0 = 100;
  o.n = 1000;
  const Scenario far = gaussian_linear("far", -1.25);
  BOOST_CHECK_EQUAL(rs::predict(*far.model, far.x, o, gen), 0);
  const Tensor x = from_vector(std::vector<float>{0.3f, 0, 0, 0}, {1, 2, 2});
  BOOST_CHECK_EQUAL(rs::predict(*binary_linear({1, 0, 0, 0}, -0.3f), x, o, gen), -1);
}

BOOST_AUTO_TEST_CASE(bad_arguments_give_one_line_naming_the_argument) {
  auto model = binary_linear({1, 0, 0, 0}, 0.0f);
  const Tensor x = zeros({1, 2, 2});
  Generator gen(9);
  auto with = [](auto change) {
    CertifyOptions o;
    change(o);
    return o;
  };
  struct Bad { CertifyOptions o; std::vector<std::string> frags; };
  std::vector<Bad> bad = {
      {with([](CertifyOptions& o) { o.smoothing.sigma = 0; }), {"sigma", "> 0"}},
      {with([](CertifyOptions& o) { o.smoothing.sigma = -0.5f; }), {"sigma", "-0.5"}},
      {with([](CertifyOptions& o) { o.smoothing.sigma = std::nanf(""); }), {"sigma"}},
      {with([](CertifyOptions& o) { o.n0 = 0; }), {"n0", ">= 1"}},
      {with([](CertifyOptions& o) { o.n0 = 200; o.n = 100; }), {"n0 (200)", "n (100)"}},
      {with([](CertifyOptions& o) { o.n = 0; }), {"n must be >= 1"}},
      {with([](CertifyOptions& o) { o.alpha = 0; }), {"alpha", "(0, 1)"}},
      {with([](CertifyOptions& o) { o.alpha = 1; }), {"alpha", "(0, 1)"}},
      {with([](CertifyOptions& o) { o.alpha = -0.1; }), {"alpha", "-0.1"}},
      {with([](CertifyOptions& o) { o.alpha = 1.5; }), {"alpha", "1.5"}},
      {with([](CertifyOptions& o) { o.batch = 0; }), {"batch", ">= 1"}}};
  for (const Bad& b : bad) {
    std::vector<std::string> frags = b.frags;
    frags.insert(frags.begin(), "certify:");
    expect_error([&] { validate(b.o); }, frags);
    expect_error([&] { rs::certify(*model, x, b.o, gen); }, frags);
    frags[0] = "predict:";
    expect_error([&] { rs::predict(*model, x, b.o, gen); }, frags);
  }
  Smoothing s;
  s.sigma = 0;
  expect_error([&] { perturb(zeros({1, 1, 2, 2}), s, gen); }, {"perturb", "sigma"});
}

// ---------------------------------------------------------------- smoothing

BOOST_AUTO_TEST_CASE(transform_names_parameters_and_families) {
  for (Transform t : {Transform::pixel, Transform::rotation, Transform::translation,
                      Transform::scaling, Transform::affine})
    BOOST_CHECK(parse_transform(transform_name(t)) == t);
  BOOST_CHECK_EQUAL(num_params(Transform::pixel), 0);
  BOOST_CHECK_EQUAL(num_params(Transform::rotation), 1);
  BOOST_CHECK_EQUAL(num_params(Transform::translation), 2);
  BOOST_CHECK_EQUAL(num_params(Transform::scaling), 1);
  BOOST_CHECK_EQUAL(num_params(Transform::affine), 6);
  expect_error([] { parse_transform("rotate", "--transform"); },
                        {"--transform", "'rotate'", "pixel, rotation, translation"});
  Smoothing s;
  const std::pair<Transform, Distribution> families[] = {
      {Transform::pixel, Distribution::gaussian}, {Transform::rotation, Distribution::uniform},
      {Transform::translation, Distribution::gaussian}, {Transform::scaling, Distribution::uniform},
      {Transform::affine, Distribution::gaussian}};
  for (auto [t, family] : families) {
    s.transform = t;
    BOOST_CHECK(s.resolved() == family);
  }
  s.distribution = Distribution::gaussian;
  BOOST_CHECK(s.resolved() == Distribution::gaussian);
}

BOOST_AUTO_TEST_CASE(radius_formulas) {
  Smoothing s;
  s.sigma = 0.5f;  // pixel, Gaussian
  BOOST_CHECK_CLOSE(radius(s, 0.9), 0.5 * 1.2815515655446004, 1e-10);
  BOOST_CHECK_EQUAL(radius(s, 0.5), 0.0);
  BOOST_CHECK_EQUAL(radius(s, 0.4999), 0.0);
  BOOST_CHECK_EQUAL(radius(s, 0.0), 0.0);
  s.transform = Transform::translation;
  s.sigma = 0.25f;
  BOOST_CHECK_CLOSE(radius(s, 0.99), 0.25 * 2.3263478740408408, 1e-10);
  s.transform = Transform::rotation;  // uniform, radians: sigma * pi * (2 pA - 1)
  s.sigma = 0.125f;
  BOOST_CHECK_CLOSE(radius(s, 0.9), 0.125 * kPi * 0.8, 1e-10);
  BOOST_CHECK_EQUAL(radius(s, 0.3), 0.0);
  s.distribution = Distribution::gaussian;  // the override keeps rotation's scale sigma * pi
  BOOST_CHECK_CLOSE(radius(s, 0.9), 0.125 * kPi * 1.2815515655446004, 1e-10);
  s = Smoothing();
  s.transform = Transform::scaling;  // uniform, |delta s|
  s.sigma = 0.25f;
  BOOST_CHECK_CLOSE(radius(s, 0.75), 0.125, 1e-10);
  s.transform = Transform::pixel;
  s.distribution = Distribution::uniform;
  s.sigma = 1.0f;
  BOOST_CHECK_CLOSE(radius(s, 0.75), 0.5, 1e-10);
  expect_error([&] { radius(s, 1.5); }, {"radius", "pA_lower", "1.5"});
}

BOOST_AUTO_TEST_CASE(warps_match_hand_values) { check_warps_on(Device::cpu()); }

NF_CUDA_TEST_CASE(cuda_warps_match_hand_values) { check_warps_on(Device::cuda()); }

BOOST_AUTO_TEST_CASE(deform_rejects_bad_params) {
  const Tensor img = zeros({2, 1, 4, 4});
  expect_error([&] { deform(img, zeros({2, 1}), Transform::translation); },
                        {"deform", "translation", "[2, 2]", "[2, 1]"});
  expect_error([&] { deform(img, zeros({2, 0}), Transform::pixel); }, {"deform", "pixel"});
  expect_error([&] { deform(zeros({4, 4}), zeros({1, 1}), Transform::rotation); },
                        {"deform", "[N, C, H, W]"});
}

BOOST_AUTO_TEST_CASE(perturb_pixel_noise_has_the_right_moments_and_no_clipping) {
  const int64_t n = 64 * 3 * 8 * 8;
  Tensor images = full({64, 3, 8, 8}, 0.5f);
  images.requires_grad_();
  for (Distribution d : {Distribution::gaussian, Distribution::uniform}) {
    Smoothing s;
    s.sigma = 0.75f;
    s.distribution = d;
    Generator gen(31);
    const Tensor out = perturb(images, s, gen);
    BOOST_CHECK(out.shape() == images.shape());
    BOOST_CHECK(!out.requires_grad());
    BOOST_CHECK_EQUAL(gen.offset(), (uint64_t)n);  // one draw per element
    const std::vector<float> v = out.to_vector();
    double mean = 0, sq = 0, lo = 1e9, hi = -1e9;
    for (float y : v) {
      const double e = y - 0.5;
      mean += e;
      sq += e * e;
      lo = std::min(lo, e);
      hi = std::max(hi, e);
    }
    mean /= n;
    const double std_dev = std::sqrt(sq / n - mean * mean);
    const double want_std = d == Distribution::gaussian ? 0.75 : 0.75 / std::sqrt(3.0);
    BOOST_CHECK_SMALL(mean, 5 * want_std / std::sqrt((double)n));
    BOOST_CHECK_CLOSE(std_dev, want_std, 3.0);  // percent; its standard error is ~0.6 %
    BOOST_CHECK_GT(*std::max_element(v.begin(), v.end()), 1.0f);  // no clipping to [0, 1]
    BOOST_CHECK_LT(*std::min_element(v.begin(), v.end()), 0.0f);
    if (d == Distribution::uniform) {
      BOOST_CHECK_GE(lo, -0.75 - 1e-6);
      BOOST_CHECK_LE(hi, 0.75 + 1e-6);
    }
    // One independent draw per image: no two images of the batch got the same noise.
    const int64_t per_image = 3 * 8 * 8;
    for (int64_t a = 0; a < 8; ++a)
      for (int64_t b = a + 1; b < 8; ++b)
        BOOST_CHECK(!std::equal(v.begin() + a * per_image, v.begin() + (a + 1) * per_image,
                                v.begin() + b * per_image));
  }
}

BOOST_AUTO_TEST_CASE(perturb_warps_draw_one_parameter_sample_per_image) {
  const int64_t N = 8;
  const Tensor images = broadcast_to(random_tensor({1, 2, 6, 6}, 40), {N, 2, 6, 6});
  for (Transform t : kWarps) {
    Smoothing s;
    s.transform = t;
    s.sigma = 0.2f;
    Generator gen(41), replay(41);
    const Tensor out = perturb(images, s, gen);
    // The documented draws, replayed from the same stream: rotation U[-sigma pi, sigma pi],
    // scaling 1 + U[-sigma, sigma], translation and affine N(0, sigma^2) per parameter.
    const float scale = (float)s.scale();
    const Shape shape = {N, num_params(t)};
    Tensor params;
    switch (t) {
      case Transform::rotation: params = uniform(shape, -scale, scale, replay); break;
      case Transform::scaling: params = add(uniform(shape, -scale, scale, replay), 1.0f); break;
      default: params = normal(shape, 0.0f, scale, replay); break;
    }
    BOOST_CHECK_EQUAL(gen.offset(), replay.offset());
    expect_close(out, deform(images, params, t, s.grid), 0, 0,
                 std::string("perturb == deform of the documented draws: ") + transform_name(t));
    if (t == Transform::rotation) {
      double largest = 0;
      for (float b : params.to_vector()) {
        BOOST_CHECK_LE(std::fabs(b), 0.2 * kPi + 1e-6);
        largest = std::max(largest, (double)std::fabs(b));
      }
      BOOST_CHECK_GT(largest, 0.1 * kPi);  // the range is used, not e.g. sigma alone
    }
    // Different images of the batch get different warps.
    const std::vector<float> v = out.to_vector();
    const int64_t per_image = 2 * 6 * 6;
    for (int64_t a = 0; a < N; ++a)
      for (int64_t b = a + 1; b < N; ++b)
        BOOST_CHECK(!std::equal(v.begin() + a * per_image, v.begin() + (a + 1) * per_image,
                                v.begin() + b * per_image));
  }
}

// ---------------------------------------------------------------- metrics and TSV

BOOST_AUTO_TEST_CASE(acr_is_the_area_under_the_certified_accuracy_curve) {
  const std::vector<CertifyRow> rows = {
      row_of(0, 1, 1, 0.5, 1),   row_of(1, 2, 2, 1.25, 1), row_of(2, 3, -1, 0.0, 1),  // abstain
      row_of(3, 4, 7, 0.9, 1),   // wrong with a positive radius: counts nowhere
      row_of(4, 5, 5, 0.5, 1),   row_of(5, 6, 6, 0.0, 1),  row_of(6, 0, 0, 2.0, 1)};
  const double acr = average_certified_radius(rows);
  BOOST_CHECK_CLOSE(acr, (0.5 + 1.25 + 0.5 + 0.0 + 2.0) / 7, 1e-12);  // over ALL rows
  // Exactly at the breakpoints: CA is constant on (r_{k-1}, r_k].
  std::vector<double> radii;
  for (const CertifyRow& r : rows) radii.push_back(r.radius);
  std::sort(radii.begin(), radii.end());
  double area = 0, previous = 0;
  for (double r : radii) {
    area += (r - previous) * certified_accuracy(rows, r);
    previous = r;
  }
  BOOST_CHECK_CLOSE(area, acr, 1e-12);
  // And numerically on a fine grid (midpoint rule, step 1e-4).
  std::vector<double> grid;
  for (int k = 0; k < 25000; ++k) grid.push_back((k + 0.5) * 1e-4);
  double riemann = 0;
  for (double ca : certified_accuracy_curve(rows, grid)) riemann += ca * 1e-4;
  BOOST_CHECK_CLOSE(riemann, acr, 1e-3);
  BOOST_CHECK_CLOSE(certified_accuracy(rows, 0.0), 5.0 / 7, 1e-12);  // abstain and wrong: 0
  BOOST_CHECK_CLOSE(certified_accuracy(rows, 0.5), 4.0 / 7, 1e-12);  // radius >= r
  BOOST_CHECK_CLOSE(certified_accuracy(rows, 0.51), 2.0 / 7, 1e-12);
  BOOST_CHECK_EQUAL(certified_accuracy(rows, 2.01), 0.0);
  expect_error([] { average_certified_radius({}); }, {"average_certified_radius"});
}

BOOST_AUTO_TEST_CASE(tsv_numbers_are_formatted_like_python) {
  const std::pair<double, const char*> radii[] = {
      {0.0, "0.0"},        {1.5, "1.5"},         {0.52345, "0.523"},  {0.000273, "0.000273"},
      {1.23e-05, "1.23e-05"}, {12.345, "12.3"},  {1234.5, "1.23e+03"}, {100.0, "1e+02"},
      {99.95, "1e+02"},    {0.99951, "1.0"},     {1.0, "1.0"},        {10.0, "10.0"},
      {123.0, "1.23e+02"}, {0.0001, "0.0001"},   {1e-05, "1e-05"},    {0.00012345, "0.000123"},
      {-0.5, "-0.5"},      {1.125, "1.12"},      {2.463263, "2.46"},  {0.1, "0.1"}};
  for (auto [r, want] : radii) BOOST_CHECK_EQUAL(format_radius(r), want);
  BOOST_CHECK_EQUAL(format_radius(INFINITY), "inf");
  BOOST_CHECK_EQUAL(format_radius(std::nan("")), "nan");
  const std::pair<double, const char*> times[] = {
      {3.412345, "0:00:03.412345"}, {0.0, "0:00:00"}, {3723.000001, "1:02:03.000001"},
      {86400.0, "1 day, 0:00:00"},  {172805.5, "2 days, 0:00:05.500000"},
      {1.5e-6, "0:00:00.000002"},   {5e-7, "0:00:00"}, {59.9999996, "0:01:00"},
      {36000.25, "10:00:00.250000"}};
  for (auto [s, want] : times) BOOST_CHECK_EQUAL(format_time(s), want);
  BOOST_CHECK_EQUAL(format_row(row_of(0, 7, 7, 0.52345, 3.412345)),
                    "0\t7\t7\t0.523\t1\t0:00:03.412345");
  BOOST_CHECK_EQUAL(format_row(row_of(12, 3, -1, 0.0, 0.5)), "12\t3\t-1\t0.0\t0\t0:00:00.500000");
}

BOOST_AUTO_TEST_CASE(tsv_round_trip_resume_and_no_overwrite) {
  TempDir dir;
  const std::string path = dir / "certify.tsv";
  const std::vector<CertifyRow> rows = {row_of(0, 7, 7, 0.523, 3.412345), row_of(5, 2, -1, 0, 12),
                                        row_of(10, 1, 3, 1.23e-05, 90061.000001)};
  {
    TsvWriter w(path, false);
    BOOST_CHECK(w.done().empty());
    for (const CertifyRow& r : rows) w.write(r);
    // Flushed row by row: the file is complete while the writer is still open.
    BOOST_CHECK_EQUAL(read_text(path), kFullHeader + written_line(rows[0]) + written_line(rows[1]) +
                                           written_line(rows[2]));
  }
  const std::vector<CertifyRow> back = read_tsv(path);
  BOOST_REQUIRE_EQUAL(back.size(), rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    BOOST_CHECK_EQUAL(back[k].idx, rows[k].idx);
    BOOST_CHECK_EQUAL(back[k].label, rows[k].label);
    BOOST_CHECK_EQUAL(back[k].predict, rows[k].predict);
    BOOST_CHECK_EQUAL(back[k].correct, rows[k].correct);
    BOOST_CHECK_EQUAL(back[k].radius, rows[k].radius);  // radius_full reads back bit for bit
    BOOST_CHECK_CLOSE(back[k].seconds, rows[k].seconds, 1e-9);
  }
  // Never overwritten without resume.
  const std::string before = read_text(path);
  expect_error([&] { TsvWriter w(path, false); }, {path, "resume"});
  BOOST_CHECK_EQUAL(read_text(path), before);
  // A killed run left a torn line: resume cuts it, keeps the rows and appends.
  write_text(path, before + "11\t4\t4\t0.2");  // torn
  {
    TsvWriter w(path, true);
    BOOST_CHECK_EQUAL(w.done().size(), 3u);
    BOOST_CHECK(w.has(5) && w.has(10) && !w.has(11));
    w.write(row_of(11, 4, 4, 0.25, 1));
    BOOST_CHECK(w.has(11));
  }
  BOOST_CHECK_EQUAL(read_text(path), before + "11\t4\t4\t0.25\t1\t0:00:01\t0.25\n");
  // Resume of a missing file, an empty one, or one with only a torn header starts afresh.
  for (const std::string& start : {std::string(), std::string("idx\tla"), std::string("none")}) {
    const std::string p = dir / "fresh.tsv";
    std::remove(p.c_str());
    if (start != "none") write_text(p, start);
    TsvWriter(p, true).write(rows[0]);
    BOOST_CHECK_EQUAL(read_text(p), kFullHeader + written_line(rows[0]));
  }
  // Resume never cuts a file that is not a certification TSV.
  const std::string other = dir / "other.txt";
  for (const std::string& content : {std::string("hello"), std::string("a\tb\nc")}) {
    write_text(other, content);
    expect_error([&] { TsvWriter w(other, true); }, {other, ":1:", "header"});
    BOOST_CHECK_EQUAL(read_text(other), content);
  }
  // An empty file may be written without resume.
  const std::string empty_path = dir / "empty.tsv";
  write_text(empty_path, "");
  TsvWriter(empty_path, false).write(rows[1]);
  BOOST_CHECK_EQUAL(read_tsv(empty_path).size(), 1u);
}

// The summaries of a resumed file are those of the rows as certified: the radii read back are
// the full-precision ones, not the 3 digits of Cohen's radius column.
BOOST_AUTO_TEST_CASE(tsv_resume_keeps_the_acr_of_an_uninterrupted_run) {
  TempDir dir;
  const std::string path = dir / "certify.tsv";
  const std::vector<CertifyRow> rows = {row_of(0, 7, 7, 0.52345678, 1), row_of(1, 2, 2, 1.23456789, 1),
                                        row_of(2, 1, 1, 0.0123456, 1)};
  const double uninterrupted = average_certified_radius(rows);
  {
    TsvWriter w(path, false);
    w.write(rows[0]);
    w.write(rows[1]);
  }  // killed here
  TsvWriter resumed(path, true);
  resumed.write(rows[2]);
  BOOST_CHECK_EQUAL(average_certified_radius(resumed.done()), uninterrupted);
  BOOST_CHECK_EQUAL(average_certified_radius(read_tsv(path)), uninterrupted);
  BOOST_CHECK_EQUAL(certified_accuracy(read_tsv(path), 0.5234567), certified_accuracy(rows, 0.5234567));
}

// Cohen's own 6-column files are read (3-digit radii) and continued in their format.
BOOST_AUTO_TEST_CASE(tsv_cohens_six_columns_are_read_and_continued) {
  TempDir dir;
  const std::string path = dir / "cohen.tsv";
  const std::string cohen = kHeader + "0\t7\t7\t0.523\t1\t0:00:03.412345\n";
  write_text(path, cohen);
  BOOST_CHECK_EQUAL(read_tsv(path).at(0).radius, 0.523);
  TsvWriter(path, true).write(row_of(1, 2, 2, 0.25, 1));
  BOOST_CHECK_EQUAL(read_text(path), cohen + "1\t2\t2\t0.25\t1\t0:00:01\n");
  // radius_full is what a file with the column is read by, and it must be a number.
  write_text(path, kFullHeader + "0\t7\t7\t0.523\t1\t0:00:01\t0.52345\n");
  BOOST_CHECK_EQUAL(read_tsv(path).at(0).radius, 0.52345);
  write_text(path, kFullHeader + "0\t7\t7\t0.523\t1\t0:00:01\tx\n");
  expect_error([&] { read_tsv(path); }, {path + ":2:", "radius_full", "a number", "'x'"});
  write_text(path, kFullHeader + "0\t7\t7\t0.523\t1\t0:00:01\n");
  expect_error([&] { read_tsv(path); }, {path + ":2:", "7 tab-separated columns", "got 6"});
}

BOOST_AUTO_TEST_CASE(tsv_malformed_files_name_the_file_and_line) {
  TempDir dir;
  const std::string path = dir / "bad.tsv";
  const std::string good = "0\t7\t7\t0.523\t1\t0:00:03.412345\n";
  struct Case { std::string content; std::vector<std::string> frags; };
  const Case cases[] = {
      {"idx\tlabel\tpredict\tradius\tcorrect\n" + good, {".tsv:1:", "header"}},
      {kHeader + good + "1\t2\t3\t0.5\t1\n", {".tsv:3:", "6 tab-separated columns", "got 5"}},
      {kHeader + good + good + "1\t2\t3\t0.5\t1\t0:00:01\textra\n", {".tsv:4:", "got 7"}},
      {kHeader + "1\t2\t3\tabc\t0\t0:00:01\n", {".tsv:2:", "radius", "a number", "'abc'"}},
      {kHeader + "x\t2\t3\t0.5\t0\t0:00:01\n", {".tsv:2:", "idx", "an integer"}},
      {kHeader + "1\t2\t3\t0.5\t2\t0:00:01\n", {".tsv:2:", "correct", "0 or 1"}},
      {kHeader + "1\t2\t3\t0.5\t0\t1:2:3\n", {".tsv:2:", "time", "'1:2:3'"}},
      {kHeader + "1\t2\t3\t0.5\t0\t0:00:01.5\n", {".tsv:2:", "time"}},
      {kHeader + "\n", {".tsv:2:", "columns"}},
      {"", {".tsv:1:", "header"}}};
  for (const Case& c : cases) {
    write_text(path, c.content);
    std::vector<std::string> frags = c.frags;
    frags.insert(frags.begin(), path);
    expect_error([&] { read_tsv(path); }, frags);
  }
  // A missing newline at the end is a torn write, not an error: that row is dropped.
  write_text(path, kHeader + good + "1\t2\t3\tab");
  BOOST_CHECK_EQUAL(read_tsv(path).size(), 1u);
  write_text(path, kHeader + good + "1\t2\t2\t0.5\t1\t0:00:01");
  BOOST_CHECK_EQUAL(read_tsv(path).size(), 1u);
  expect_error([&] { read_tsv(dir / "missing.tsv"); }, {"cannot open", "missing.tsv"});
}

// ---------------------------------------------------------------- CUDA

NF_CUDA_TEST_CASE(cuda_sample_counts_perturb_and_certify) {
  auto model = three_classes(4, 50);
  model->to(Device::cuda());
  const Tensor x = zeros({1, 2, 2}, Device::cuda());
  Smoothing s;
  s.sigma = 1.0f;
  for (auto [num, batch] : {std::pair<int64_t, int64_t>{1001, 100}, {50, 100}}) {
    Generator gen(51);
    const std::vector<int64_t> counts = sample_counts(*model, x, num, s, batch, gen);
    BOOST_CHECK_EQUAL(total(counts), num);
    Generator again(51);
    BOOST_TEST(sample_counts(*model, x, num, s, batch, again) == counts,
               boost::test_tools::per_element());
  }
  // Pixel noise drawn on the device: the moments, no clipping.
  Generator gen(52);
  const Tensor images = full({32, 3, 8, 8}, 0.9f, Device::cuda());
  const std::vector<float> v = perturb(images, s, gen).to_vector();
  double mean = 0, sq = 0;
  for (float y : v) {
    mean += y - 0.9;
    sq += (y - 0.9) * (y - 0.9);
  }
  mean /= (double)v.size();
  BOOST_CHECK_SMALL(mean, 5.0 / std::sqrt((double)v.size()));
  BOOST_CHECK_CLOSE(std::sqrt(sq / (double)v.size()), 1.0, 4.0);
  // Unanimous class on the device: pA = alpha^(1/n).
  auto constant = binary_linear({0, 0, 0, 0}, 1.0f);
  constant->to(Device::cuda());
  CertifyOptions o;
  o.n = 1000;
  const Certificate c = rs::certify(*constant, x, o, gen);
  BOOST_CHECK_EQUAL(c.predict, 1);
  BOOST_CHECK_CLOSE(c.pA_lower, 0.9931160484, 1e-8);
}

BOOST_AUTO_TEST_SUITE_END()
