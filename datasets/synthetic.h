// synthetic.h — generated data sets, all drawn from a Generator passed in (reproducible from
// its seed on the CPU; every tensor is created on the CPU).
//
// Labels of the classification sets are balanced and cyclic, y_i = i mod num_classes (a
// loader shuffles), unlike sklearn's make_blobs which shuffles rows.
#pragma once
#include <vector>

#include "datasets/dataset.h"
#include "engine/random.h"

namespace nanofed::datasets {

// Gaussian blobs: class centers c_k ~ N(0, I) of `sample_shape`, drawn first; then
// x_i = c_{y_i} + spread * N(0, I). Images f32 [n, *sample_shape].
Dataset gaussian_blobs(int64_t n, int64_t num_classes, const Shape& sample_shape, float spread, Generator& gen);

// A linear teacher with label noise. x_i ~ N(0, I_dim).
//  num_classes == 2: w ~ N(0, I_dim), y = 1 if w.x > 0 else 0.
//  num_classes  > 2: W ~ N(0, I) of [num_classes, dim], y = argmax_k (W x)_k.
// Then, with probability `noise` (independently per sample), y is replaced by a different
// class drawn uniformly (for binary: flipped). Labels are NOT cyclic here (they follow x).
// `weight` (optional, [1, dim] for binary or [num_classes, dim]) replaces the drawn teacher
// (e.g. w_k = theta + tau * zeta_k per device); `weight_out`, if given, receives the teacher.
Dataset linear_with_label_noise(int64_t n, int64_t dim, float noise, Generator& gen, int64_t num_classes = 2,
                                const Tensor& weight = Tensor(), Tensor* weight_out = nullptr);

// Learnable images for `--dataset synthetic`: one template t_k ~ U[0, 1) of `shape` per
// class, x_i = 0.5 * t_{y_i} + 0.5 * U[0, 1), so pixels lie in [0, 1) like real images.
Dataset synthetic_images(int64_t n, const Shape& shape, int64_t num_classes, Generator& gen);

// FT-Byzantine's substitute for the LIBSVM phishing set (11,055 x 68 binary features, not
// available offline): `dim` binary features x_k ~ Bernoulli(p_k), p_k ~ U[p_lo, p_hi] drawn
// once; a sparse linear teacher with `active` non-zero weights w_k ~ N(0, 1) on coordinates
// chosen at random, its bias b = -w.p centring the logit so the classes come out about
// balanced; y = 1[w.x + b > 0], then flipped with probability label_noise. The teacher is a
// logistic-regression model, so the best such model scores about 1 - label_noise (the plan
// asks for 92-94 %, real phishing LR's accuracy). Images f32 [n, dim] of 0/1, 2 classes.
// Draws: p, the support (randperm), w, the n x dim uniforms of x, then one uniform per label.
struct PhishingLikeConfig {
  int64_t n = 11055, dim = 68, active = 15;
  double p_lo = 0.05, p_hi = 0.6, label_noise = 0.07;
};
Dataset phishing_like(const PhishingLikeConfig& c, Generator& gen);

// ---- Ditto's federated point estimation (Li et al. 2021, Sec. 2.8 / Figs. 1-2) ----
// theta (global mean, given); device k: w_k = theta + zeta_k, zeta_k ~ N(0, tau^2 I_d) for
// benign devices and N(0, tau_adv^2 I_d) for the first `adversaries` devices; observations
// x_{k,i} = w_k + z, z ~ N(0, sigma^2 I_d), i < n. Local estimates w_hat_k = mean_i x_{k,i}.
struct PointEstimationConfig {
  int64_t devices = 8;       // K
  int64_t samples = 30;      // n per device
  int64_t dim = 1;           // d
  double sigma = 0.8;        // observation noise
  double tau = 0.1;          // task spread of benign devices
  int64_t adversaries = 0;   // K_a (devices 0 .. K_a-1)
  double tau_adv = 0.0;      // task spread of adversarial devices
  double theta = 0.0;
};
struct PointEstimation {
  Tensor w;                  // f32 [K, d] true device means
  Tensor x;                  // f32 [K, n, d] observations
  Tensor w_hat;              // f32 [K, d] local estimates (means of x)
  std::vector<bool> adversarial;  // [K]
};
PointEstimation point_estimation(const PointEstimationConfig& config, Generator& gen);

// Lemma 9 for one device and coordinate: argmin_v F_k(v) + lambda/2 (v - w*)^2 with
// F_k(v) = 1/2 (v - w_hat)^2 is the convex combination below (both forms of Lemma 9).
inline double ditto_point_estimate(double w_star, double w_hat, double lambda) {
  return (lambda * w_star + w_hat) / (1.0 + lambda);
}
// Ditto's closed-form personalized solution (Lemma 9) from the local estimates:
// v_k(lambda) = lambda/(1+lambda) w* + 1/(1+lambda) w_hat_k with w* = mean_k w_hat_k (over
// all devices, adversaries included, as in the paper's notebook). f32 [K, d].
Tensor ditto_point_solution(const Tensor& w_hat, double lambda);
// lambda* (Thms 5-8): sigma^2/n * K / (K tau^2 + K_a/(K-1) (tau_adv^2 - tau^2)); with no
// adversaries this is sigma^2 / (n tau^2).
double ditto_optimal_lambda(const PointEstimationConfig& config);
// sigma_{w,a}^2, the minimal expected per-coordinate test error E(w_k - v_k)^2 at lambda*.
double ditto_optimal_error(const PointEstimationConfig& config);

}  // namespace nanofed::datasets
