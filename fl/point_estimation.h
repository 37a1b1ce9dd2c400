// point_estimation.h — Monte Carlo of Ditto's federated point estimation (Ditto §2.8, Figs. 1-2):
// the test error of Lemma 9's personalized estimate for a list of lambdas, measured on benign
// devices, as the paper's notebook does. The model, Lemma 9 and the closed forms lambda*
// (Thms 5-8) and sigma_{w,a}^2 live with the data generator in datasets/synthetic.h
// (PointEstimationConfig, ditto_point_estimate, ditto_optimal_lambda, ditto_optimal_error).
//
// One trial: w_k = theta + zeta_k (zeta_k ~ N(0, tau^2), N(0, tau_adv^2) for the first K_a
// devices), w_hat_k = mean of n observations w_k + N(0, sigma^2), drawn as w_k + sigma/sqrt(n) z
// (the same law, n times fewer draws); w* = mean_k w_hat_k over ALL devices; device k's error
// is (w_k - v_k(lambda))^2. Every lambda is judged on the same draws, so the curves are smooth
// and their differences are paired. theta = 0: no error depends on it. dim is ignored (d = 1).
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/synthetic.h"

namespace nanofed::fl {

using PointSetting = datasets::PointEstimationConfig;  // K, n, sigma, tau, K_a, tau_adv

struct ErrorPoint {
  double lambda = 0;
  double mean_error = 0;     // mean over trials of the mean error over benign devices
  double mean_error_se = 0;  // its standard error (sd over trials / sqrt(trials))
  double variance = 0;       // mean over trials of the population variance (ddof 0) over benign devices
  double variance_se = 0;
};

// One ErrorPoint per lambda (same order). Trial t draws from Generator(seed).derive({t}), so the
// same seed gives the same numbers. Throws one line naming the bad argument.
std::vector<ErrorPoint> monte_carlo(const PointSetting& setting, const std::vector<double>& lambdas, int64_t trials,
                                    uint64_t seed);

}  // namespace nanofed::fl
