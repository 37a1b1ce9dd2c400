#include "fl/point_estimation.h"

#include <cmath>
#include <tuple>
#include <utility>

#include "engine/common.h"
#include "fl/host_draws.h"

namespace nanofed::fl {
namespace {

void check(const PointSetting& s, const std::vector<double>& lambdas, int64_t trials) {
  const char* who = "monte_carlo";
  NF_CHECK(trials >= 2, who << ": trials must be >= 2 (standard errors), got " << trials);
  NF_CHECK(s.devices >= 1 && s.samples >= 1, who << ": devices and samples must be >= 1, got " << s.devices << ", "
                                                 << s.samples);
  NF_CHECK(s.adversaries >= 0 && s.adversaries < s.devices,
           who << ": adversaries must be in [0, devices = " << s.devices << "), got " << s.adversaries);
  NF_CHECK(s.sigma >= 0 && s.tau >= 0 && s.tau_adv >= 0, who << ": sigma, tau and tau_adv must be >= 0");
  NF_CHECK(!lambdas.empty(), who << ": no lambda given");
  for (double l : lambdas) NF_CHECK(l >= 0 && std::isfinite(l), who << ": lambda must be finite and >= 0, got " << l);
}

// One trial's draws: the true w_k and the local estimates w_hat_k; returns w*.
double draw_trial(const PointSetting& s, Generator gen, std::vector<double>& w, std::vector<double>& w_hat) {
  const double noise = s.sigma / std::sqrt((double)s.samples);
  double w_star = 0;
  for (int64_t k = 0; k < s.devices; ++k) {
    const double spread = k < s.adversaries ? s.tau_adv : s.tau;
    w[k] = spread * standard_normal(gen);
    w_hat[k] = w[k] + noise * standard_normal(gen);
    w_star += w_hat[k];
  }
  return w_star / (double)s.devices;
}

// Mean and standard error of per-trial values.
std::pair<double, double> mean_se(const std::vector<double>& v) {
  double m = 0, ss = 0;
  for (double x : v) m += x;
  m /= (double)v.size();
  for (double x : v) ss += (x - m) * (x - m);
  return {m, std::sqrt(ss / (double)(v.size() - 1) / (double)v.size())};
}

}  // namespace

std::vector<ErrorPoint> monte_carlo(const PointSetting& s, const std::vector<double>& lambdas, int64_t trials,
                                    uint64_t seed) {
  check(s, lambdas, trials);
  const size_t L = lambdas.size(), K = (size_t)s.devices, first_benign = (size_t)s.adversaries;
  const double benign = (double)(K - first_benign);
  std::vector<std::vector<double>> means(L, std::vector<double>((size_t)trials)), vars = means;
  std::vector<double> w(K), w_hat(K), err(K);
  const Generator base(seed);
  for (int64_t t = 0; t < trials; ++t) {
    const double w_star = draw_trial(s, base.derive({(uint64_t)t}), w, w_hat);
    for (size_t l = 0; l < L; ++l) {
      double m = 0, v = 0;
      for (size_t k = first_benign; k < K; ++k) {
        const double e = w[k] - datasets::ditto_point_estimate(w_star, w_hat[k], lambdas[l]);
        err[k] = e * e;
        m += err[k];
      }
      m /= benign;
      for (size_t k = first_benign; k < K; ++k) v += (err[k] - m) * (err[k] - m);
      means[l][(size_t)t] = m;
      vars[l][(size_t)t] = v / benign;
    }
  }
  std::vector<ErrorPoint> out(L);
  for (size_t l = 0; l < L; ++l) {
    out[l].lambda = lambdas[l];
    std::tie(out[l].mean_error, out[l].mean_error_se) = mean_se(means[l]);
    std::tie(out[l].variance, out[l].variance_se) = mean_se(vars[l]);
  }
  return out;
}

}  // namespace nanofed::fl
