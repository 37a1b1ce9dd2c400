// mean_estimation.h — FT-Byzantine §2.5's federated mean estimation (its Figure 1) by Monte Carlo,
// exactly as the paper's notebook runs it, and the two closed forms of the optimal lambda.
//
// One repetition: N honest clients with means mu_i = mean + sigma_h xi_i; client i holds m samples
// x_ik = mu_i + sigma eps_ik (its raw "sample vector" X_i in R^m) and estimates x̄_i. The f
// Byzantine clients all send one scalar: the attack applied to the honest raw sample VECTORS
// (SF: -mean over clients of X_j), clipped to L2 norm 1, averaged over its m coordinates (≈ -1/√m
// for SF: a weak attack). The n = N + f scalars (Byzantine first, as the notebook's list) go
// through server_clip -> NNM -> coordinate-wise trimmed mean (FT-Byzantine §2.3), giving R; the
// personalized estimate is theta_i(lambda) = (1 - lambda) x̄_i + lambda R, and only the LAST
// honest client is scored: error(lambda) = (theta(lambda) - mu_last)^2, averaged over
// repetitions. Every lambda is judged on the same draws (paired, smooth curves).
//
// Draws: repetition r uses Generator(seed).derive({r}) and standard_normal (fl/host_draws.h):
// the N xi_i, then the N x m eps row by row. They do not depend on sigma, sigma_h or f, so every
// value of a sweep reuses the same draws, as the notebook reuses its 20 seeds.
#pragma once
#include <cstdint>
#include <vector>

#include "fl/byzantine.h"
#include "fl/chain.h"
#include "fl/updates.h"

namespace nanofed::fl {

// The attacks of the paper's code (FT-Byzantine §2.4) in fl/byzantine.h's terms: SF = -mean
// (ipm, tau 1); FOE(tau) = (1 - tau) mean (ipm, tau - 1); ALIE(tau) = mean + tau std, unbiased
// std (alie with a fixed z = -tau).
AttackConfig sign_flip_attack();
AttackConfig foe_attack(double tau = 3);
AttackConfig alie_attack(double tau = 3);

struct MeanEstimationSetting {
  int64_t honest = 500;     // N = n - f
  int64_t byzantine = 100;  // f, all sending the same value
  int64_t told_n = 0;       // the n server_clip is told; 0 = honest + byzantine (the f sweep tells 500)
  int64_t samples = 20;     // m
  double sigma = 15;        // sample noise
  double sigma_h = 2;       // heterogeneity of the honest means
  double mean = 10;         // mu bar
  AttackConfig attack = sign_flip_attack();
  double byzantine_clip = 1;  // L2 norm the Byzantine vector is clipped to; <= 0: not clipped
  AggregatorKind aggregator = AggregatorKind::trimmed_mean;  // after server_clip -> NNM
};

// One repetition's draws: mu[i] and samples[i * m + k], i < N.
struct MeanDraws {
  std::vector<double> mu, samples;
};
MeanDraws draw_clients(const MeanEstimationSetting& s, Generator gen);

// x̄_i: the mean of each row of m samples.
std::vector<double> local_means(const std::vector<double>& samples, int64_t m);

// The Byzantine clients' common scalar: `attack` on the honest rows (samples, N x m) as the
// corrupted row's vector, clipped to `clip` (<= 0: not clipped), then averaged over its m
// coordinates. Needs N >= 1 (ALIE: N >= 2).
double byzantine_value(const std::vector<double>& samples, int64_t m, const AttackConfig& attack, double clip);
// The vector itself before that average (any row width m: FT-Byzantine's RT-A2 attacks the
// honest gradient rows the same way).
std::vector<double> byzantine_vector(const std::vector<double>& samples, int64_t m, const AttackConfig& attack,
                                     double clip);
// The same on f32 rows [N, P] (no host copy of the rows: RT-A3's CNN gradients have 1.1M
// columns); returns the Byzantine row [1, P].
Tensor byzantine_row(const Tensor& honest, const AttackConfig& attack, double clip);

// server_clip(f, told_n) -> nnm(f) -> `last`: trimmed_mean(f) (the paper), median, krum (f, the
// ByzFL n - f neighbour convention) or geometric_median; other kinds throw.
AggregatorChain paper_chain(int64_t f, int64_t told_n, AggregatorKind last = AggregatorKind::trimmed_mean);

// The chain on scalars (rows of width 1).
double aggregate_scalars(const AggregatorChain& chain, const std::vector<double>& values);

inline double personalized(double local, double aggregate, double lambda) {
  return (1 - lambda) * local + lambda * aggregate;
}

struct MeanCurve {
  std::vector<double> lambda, error, error_se;  // error_se: sd over repetitions / sqrt(repetitions)
  double byzantine_value = 0;                   // the Byzantine scalar, mean over repetitions
  double aggregate = 0;                         // R, mean over repetitions
};

// The Monte Carlo above for every lambda in `lambdas` (each in [0, 1]). Repetitions run on the
// thread pool; the result does not depend on the thread count. Throws one line naming the bad
// argument.
MeanCurve mean_estimation_curve(const MeanEstimationSetting& s, const std::vector<double>& lambdas,
                                int64_t repetitions, uint64_t seed);

// The grid value with the smallest error (the first one on ties): the empirical lambda*.
double empirical_lambda_star(const MeanCurve& curve);

// linspace(0, 1, points), the notebook's 200-point grid; points >= 2.
std::vector<double> lambda_grid(int64_t points);

// kappa = f / (n - 2f), the (f, kappa)-robustness lower bound the notebook plugs in for
// NNM + trimmed mean (FT-Byzantine §2.3). n = 2f gives +inf; n < 2f throws.
double trimmed_mean_kappa(int64_t n, int64_t f);

// FT-Byzantine §2.5, the boxed minimizer of the derived error bound, with N = honest, a = sigma^2/m:
//   lambda* = (1 - 1/N) a / ((1 - 1/N)(1 + kappa) a + gap2 + kappa delta2),
// gap2 = (mu_i - mu_H)^2 and delta2 = the honest means' spread (both ~ sigma_h^2).
double derived_lambda_star(int64_t honest, int64_t m, double sigma, double kappa, double gap2, double delta2);

// The notebook's "theoretical lambda*" (what its Figure 1 plots), with kappa = f / (n - 2f),
// A = sigma_c^2 (1 + kappa): (1 - 1/(n-f)) sigma^2 / ((kappa (n-f-1)/(n-f) + 1 - 1/(n-f)) sigma^2 + A^2).
// The notebook calls it with sigma_c = sqrt(2) sigma_h; m does not enter. n = 2f gives its
// limit 0 (the notebook's f = 250 of n = 500).
double notebook_lambda_star(int64_t n, int64_t f, double sigma, double sigma_client);

}  // namespace nanofed::fl
