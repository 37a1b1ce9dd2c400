#include "datasets/synthetic.h"

#include <cmath>

namespace nanofed::datasets {

namespace {
std::vector<int32_t> cyclic_labels(int64_t n, int64_t classes) {
  std::vector<int32_t> y((size_t)n);
  for (int64_t i = 0; i < n; ++i) y[(size_t)i] = (int32_t)(i % classes);
  return y;
}
Shape with_batch(int64_t n, const Shape& s) {
  Shape out = s;
  out.insert(out.begin(), n);
  return out;
}
void check_common(const char* who, int64_t n, int64_t classes, const Shape& shape) {
  NF_CHECK(n >= 0, who << ": n must be >= 0, got " << n);
  NF_CHECK(classes >= 1, who << ": num_classes must be >= 1, got " << classes);
  NF_CHECK(!shape.empty() && shape_numel(shape) > 0, who << ": sample shape must be non-empty with positive dims, got "
                                                         << shape_str(shape));
}
}  // namespace

Dataset gaussian_blobs(int64_t n, int64_t num_classes, const Shape& sample_shape, float spread, Generator& gen) {
  check_common("gaussian_blobs", n, num_classes, sample_shape);
  NF_CHECK(spread >= 0, "gaussian_blobs: spread must be >= 0, got " << spread);
  const int64_t row = shape_numel(sample_shape);
  const std::vector<float> centers = randn({num_classes, row}, gen).to_vector();
  std::vector<float> x = randn({n, row}, gen).to_vector();
  const std::vector<int32_t> y = cyclic_labels(n, num_classes);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < row; ++j) x[i * row + j] = centers[y[i] * row + j] + spread * x[i * row + j];
  return {from_vector(x, with_batch(n, sample_shape)), from_vector(y, {n}), num_classes, "gaussian_blobs"};
}

Dataset linear_with_label_noise(int64_t n, int64_t dim, float noise, Generator& gen, int64_t num_classes,
                                const Tensor& weight, Tensor* weight_out) {
  const char* who = "linear_with_label_noise";
  check_common(who, n, num_classes, {dim});
  NF_CHECK(num_classes >= 2, who << ": num_classes must be >= 2, got " << num_classes);
  NF_CHECK(noise >= 0.0f && noise <= 1.0f, who << ": noise must be a probability in [0, 1], got " << noise);
  const int64_t rows = num_classes == 2 ? 1 : num_classes;
  Tensor w = weight;
  if (w.defined()) {
    NF_CHECK(w.dtype() == DType::f32 && w.dim() == 2 && w.size(0) == rows && w.size(1) == dim,
             who << ": weight must be f32 [" << rows << ", " << dim << "], got " << w.str());
    w = w.cpu();
  } else {
    w = randn({rows, dim}, gen);
  }
  if (weight_out) *weight_out = w;
  const std::vector<float> wv = w.to_vector(), x = randn({n, dim}, gen).to_vector();
  std::vector<int32_t> y((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    int32_t best = 0;
    float best_score = -INFINITY;
    for (int64_t k = 0; k < rows; ++k) {
      float s = 0;
      for (int64_t j = 0; j < dim; ++j) s += wv[k * dim + j] * x[i * dim + j];
      if (s > best_score) best_score = s, best = (int32_t)k;
    }
    y[i] = rows == 1 ? (best_score > 0 ? 1 : 0) : best;
  }
  // Noise: one uniform per sample decides; a second draw picks the wrong class (multi-class).
  for (int64_t i = 0; i < n; ++i) {
    if (gen.next_uniform() >= noise) continue;
    const int32_t other = (int32_t)gen.next_below((uint64_t)num_classes - 1);
    y[i] = other >= y[i] ? other + 1 : other;
  }
  return {from_vector(x, {n, dim}), from_vector(y, {n}), num_classes, who};
}

Dataset phishing_like(const PhishingLikeConfig& c, Generator& gen) {
  const char* who = "phishing_like";
  check_common(who, c.n, 2, {c.dim});
  NF_CHECK(c.active >= 1 && c.active <= c.dim, who << ": active must be in [1, dim = " << c.dim << "], got " << c.active);
  NF_CHECK(0 <= c.p_lo && c.p_lo <= c.p_hi && c.p_hi <= 1, who << ": need 0 <= p_lo <= p_hi <= 1, got " << c.p_lo << ", "
                                                               << c.p_hi);
  NF_CHECK(c.label_noise >= 0 && c.label_noise <= 1, who << ": label_noise must be in [0, 1], got " << c.label_noise);
  const int64_t n = c.n, d = c.dim;
  std::vector<float> p = rand({d}, gen).to_vector();
  for (float& v : p) v = (float)(c.p_lo + (c.p_hi - c.p_lo) * v);
  std::vector<int64_t> support = randperm(d, gen);
  support.resize((size_t)c.active);
  const std::vector<float> normal = randn({c.active}, gen).to_vector();
  std::vector<double> w((size_t)d, 0.0);
  double bias = 0;
  for (int64_t k = 0; k < c.active; ++k) w[(size_t)support[k]] = normal[(size_t)k];
  for (int64_t j = 0; j < d; ++j) bias -= w[j] * p[j];
  std::vector<float> x = rand({n, d}, gen).to_vector();
  std::vector<int32_t> y((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    double z = bias;
    for (int64_t j = 0; j < d; ++j) {
      float& v = x[(size_t)(i * d + j)];
      v = v < p[j] ? 1.0f : 0.0f;
      z += w[j] * v;
    }
    y[(size_t)i] = z > 0 ? 1 : 0;
  }
  for (int32_t& label : y)
    if (gen.next_uniform() < c.label_noise) label = 1 - label;
  return {from_vector(x, {n, d}), from_vector(y, {n}), 2, who};
}

Dataset synthetic_images(int64_t n, const Shape& shape, int64_t num_classes, Generator& gen) {
  check_common("synthetic_images", n, num_classes, shape);
  const int64_t row = shape_numel(shape);
  const std::vector<float> templates = rand({num_classes, row}, gen).to_vector();
  std::vector<float> x = rand({n, row}, gen).to_vector();
  const std::vector<int32_t> y = cyclic_labels(n, num_classes);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < row; ++j) x[i * row + j] = 0.5f * templates[y[i] * row + j] + 0.5f * x[i * row + j];
  return {from_vector(x, with_batch(n, shape)), from_vector(y, {n}), num_classes, "synthetic"};
}

PointEstimation point_estimation(const PointEstimationConfig& c, Generator& gen) {
  const char* who = "point_estimation";
  NF_CHECK(c.devices >= 1 && c.samples >= 1 && c.dim >= 1,
           who << ": devices, samples and dim must be >= 1, got " << c.devices << ", " << c.samples << ", " << c.dim);
  NF_CHECK(c.adversaries >= 0 && c.adversaries <= c.devices,
           who << ": adversaries must be in [0, devices = " << c.devices << "], got " << c.adversaries);
  NF_CHECK(c.sigma >= 0 && c.tau >= 0 && c.tau_adv >= 0, who << ": sigma, tau and tau_adv must be >= 0");
  const int64_t K = c.devices, n = c.samples, d = c.dim;
  const std::vector<float> zeta = randn({K, d}, gen).to_vector(), z = randn({K, n, d}, gen).to_vector();
  std::vector<float> w((size_t)(K * d)), x((size_t)(K * n * d)), w_hat((size_t)(K * d));
  PointEstimation out;
  for (int64_t k = 0; k < K; ++k) {
    const bool adv = k < c.adversaries;
    out.adversarial.push_back(adv);
    for (int64_t j = 0; j < d; ++j) {
      const double wk = c.theta + (adv ? c.tau_adv : c.tau) * zeta[k * d + j];
      double sum = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double xi = wk + c.sigma * z[(k * n + i) * d + j];
        x[(k * n + i) * d + j] = (float)xi;
        sum += xi;
      }
      w[k * d + j] = (float)wk;
      w_hat[k * d + j] = (float)(sum / (double)n);
    }
  }
  out.w = from_vector(w, {K, d});
  out.x = from_vector(x, {K, n, d});
  out.w_hat = from_vector(w_hat, {K, d});
  return out;
}

Tensor ditto_point_solution(const Tensor& w_hat, double lambda) {
  NF_CHECK(w_hat.defined() && w_hat.dtype() == DType::f32 && w_hat.dim() == 2 && w_hat.size(0) > 0,
           "ditto_point_solution: w_hat must be f32 [K, d], got " << (w_hat.defined() ? w_hat.str() : "undefined"));
  NF_CHECK(lambda >= 0, "ditto_point_solution: lambda must be >= 0, got " << lambda);
  const int64_t K = w_hat.size(0), d = w_hat.size(1);
  const std::vector<float> wh = w_hat.to_vector();
  std::vector<float> v((size_t)(K * d));
  for (int64_t j = 0; j < d; ++j) {
    double global = 0;
    for (int64_t k = 0; k < K; ++k) global += wh[k * d + j];
    global /= (double)K;
    for (int64_t k = 0; k < K; ++k)
      v[k * d + j] = (float)ditto_point_estimate(global, wh[k * d + j], lambda);
  }
  return from_vector(v, {K, d}, w_hat.device());
}

namespace {
// The adversaries' extra spread K_a/(K-1) (tau_a^2 - tau^2) that appears in Thms 7-8.
double adversarial_excess(const PointEstimationConfig& c) {
  if (c.adversaries == 0 || c.devices < 2) return 0.0;
  return (double)c.adversaries / (double)(c.devices - 1) * (c.tau_adv * c.tau_adv - c.tau * c.tau);
}
}  // namespace

double ditto_optimal_lambda(const PointEstimationConfig& c) {
  const double K = (double)c.devices, sigma_n2 = c.sigma * c.sigma / (double)c.samples;
  const double denom = K * c.tau * c.tau + adversarial_excess(c);
  NF_CHECK(denom > 0, "ditto_optimal_lambda: tau = 0 with no adversaries gives lambda* = infinity (use the global model)");
  return sigma_n2 * K / denom;
}

double ditto_optimal_error(const PointEstimationConfig& c) {
  const double K = (double)c.devices, sigma_n2 = c.sigma * c.sigma / (double)c.samples;
  NF_CHECK(sigma_n2 > 0, "ditto_optimal_error: sigma must be > 0");
  return 1.0 / (1.0 / sigma_n2 + (K - 1) / (K * c.tau * c.tau + sigma_n2 + adversarial_excess(c)));
}

}  // namespace nanofed::datasets
