// stats.cpp — Clopper-Pearson, the normal quantile and scipy's two-sided binomial test, with
// Boost.Math (double precision, accurate to a few ulps).
#include "certify/stats.h"

#include <algorithm>
#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <cmath>

#include "engine/common.h"

namespace nanofed::certify {

double clopper_pearson_lower(int64_t nA, int64_t n, double alpha) {
  NF_CHECK(n >= 1 && nA >= 0 && nA <= n,
           "clopper_pearson_lower: need 0 <= nA <= n and n >= 1, got nA " << nA << ", n " << n);
  NF_CHECK(alpha > 0 && alpha < 1, "clopper_pearson_lower: alpha must be in (0, 1), got " << alpha);
  if (nA == 0) return 0.0;  // Beta(0, .) is degenerate; statsmodels returns 0
  // Beta(n, 1) has cdf p^n: the closed form, exact to the last bit.
  if (nA == n) return std::pow(alpha, 1.0 / (double)n);
  return boost::math::ibeta_inv((double)nA, (double)(n - nA + 1), alpha);
}

double phi_inv(double p) {
  NF_CHECK(p > 0 && p < 1, "phi_inv: p must be in (0, 1), got " << p);
  return boost::math::quantile(boost::math::normal_distribution<double>(0.0, 1.0), p);
}

namespace {

// The first i in [lo, hi] with below(i) true, or hi + 1: `below` must be false then true.
template <class Pred>
int64_t first_true(int64_t lo, int64_t hi, Pred below) {
  int64_t end = hi + 1;
  while (lo < end) {
    const int64_t mid = lo + (end - lo) / 2;
    if (below(mid)) end = mid;
    else lo = mid + 1;
  }
  return lo;
}

}  // namespace

// scipy.stats.binom_test (scipy <= 1.11, the version Cohen's code calls): the p-value is the
// probability of every outcome whose pmf is at most pmf(k) * (1 + 1e-7). On the far side of
// the mean those outcomes form a tail, because the pmf is non-increasing on [ceil(np), n] and
// non-decreasing on [0, floor(np)] (the mode floor((n+1)p) lies between); scipy counts them
// by evaluating every pmf, here a binary search finds the tail's end in O(log n) evaluations.
double binom_test_two_sided(int64_t k, int64_t n, double p) {
  NF_CHECK(n >= 0 && k >= 0 && k <= n,
           "binom_test_two_sided: need 0 <= k <= n, got k " << k << ", n " << n);
  NF_CHECK(p > 0 && p < 1, "binom_test_two_sided: p must be in (0, 1), got " << p);
  const double mean = p * (double)n;
  if ((double)k == mean) return 1.0;  // also covers n == 0
  const boost::math::binomial_distribution<double> dist((double)n, p);
  auto pmf = [&](int64_t i) { return boost::math::pdf(dist, (double)i); };
  auto cdf = [&](int64_t i) { return i < 0 ? 0.0 : boost::math::cdf(dist, (double)i); };
  auto sf = [&](int64_t i) {  // P(X > i)
    return i < 0 ? 1.0 : boost::math::cdf(boost::math::complement(dist, (double)i));
  };
  const double d = pmf(k) * (1.0 + 1e-7);
  double pvalue;
  if ((double)k < mean) {
    // y = #{i >= ceil(np) : pmf(i) <= d}: the upper tail [n - y + 1, n].
    const int64_t first =
        first_true((int64_t)std::ceil(mean), n, [&](int64_t i) { return pmf(i) <= d; });
    const int64_t y = n - first + 1;
    pvalue = cdf(k) + sf(n - y);
  } else {
    // y = #{i <= floor(np) : pmf(i) <= d}: the lower tail [0, y - 1].
    const int64_t top = (int64_t)std::floor(mean);
    const int64_t y = first_true(0, top, [&](int64_t i) { return pmf(i) > d; });
    pvalue = cdf(y - 1) + sf(k - 1);
  }
  return std::min(1.0, pvalue);
}

}  // namespace nanofed::certify
