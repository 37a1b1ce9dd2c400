// stats.h — the statistics of randomized smoothing (Cohen et al. 2019), in double precision
// with Boost.Math.
//
//   clopper_pearson_lower(nA, n, alpha) — the one-sided (1 - alpha) Clopper-Pearson lower
//       confidence bound on a binomial proportion: the alpha-quantile of Beta(nA, n - nA + 1),
//       0 when nA = 0, alpha^(1/n) when nA = n. Equals statsmodels'
//       proportion_confint(nA, n, alpha=2*alpha, method="beta")[0], which Cohen's code calls.
//   phi_inv(p)  — the standard normal quantile (Boost's normal distribution, p in (0, 1)).
//   binom_test_two_sided(k, n, p) — scipy.stats.binom_test(k, n, p) (two-sided, the
//       "minlike" method: the sum of the probabilities of every outcome no more likely than k,
//       with scipy's relative tolerance 1 + 1e-7). Used by PREDICT.
// Reference values: the table of CertFL (004) §2.3 (tested to 1e-8).
#pragma once
#include <cstdint>

namespace nanofed::certify {

double clopper_pearson_lower(int64_t nA, int64_t n, double alpha);
double phi_inv(double p);
double binom_test_two_sided(int64_t k, int64_t n, double p = 0.5);

}  // namespace nanofed::certify
