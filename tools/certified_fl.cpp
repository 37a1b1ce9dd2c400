#include "tools/certified_fl.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"
#include "engine/text.h"

namespace nanofed::report::certfl {

Spread spread_of(const std::vector<double>& values) {
  NF_CHECK(!values.empty(), "certified_fl: no client values to summarize");
  Spread s;
  for (double v : values) s.mean += v / values.size();
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

MeanSd mean_sd(const std::vector<double>& values) {
  NF_CHECK(!values.empty(), "certified_fl: no seed values to summarize");
  MeanSd m;
  for (double v : values) m.mean += v / values.size();
  if (values.size() < 2) return m;
  double ss = 0;
  for (double v : values) ss += (v - m.mean) * (v - m.mean);
  m.sd = std::sqrt(ss / (values.size() - 1));
  return m;
}

std::string mean_sd_text(const std::vector<double>& values, const char* format) {
  const MeanSd m = mean_sd(values);
  return fmt(m.mean, format) + (values.size() > 1 ? " ± " + fmt(m.sd, format) : "");
}

Measure measure(const std::vector<std::vector<certify::CertifyRow>>& clients) {
  std::vector<double> acr, ca0;
  for (const auto& rows : clients) {
    acr.push_back(certify::average_certified_radius(rows));
    ca0.push_back(certify::certified_accuracy(rows, 0.0));
  }
  return {spread_of(acr), spread_of(ca0)};
}

double relative_gap(double a, double b) {
  if (b == 0) return a > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  return (a - b) / b;
}

bool non_increasing_within(const std::vector<double>& v, double tolerance) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[i - 1] + tolerance) return false;
  return true;
}

bool every(const std::vector<bool>& per_seed) {
  return !per_seed.empty() && std::all_of(per_seed.begin(), per_seed.end(), [](bool b) { return b; });
}

bool fed_beats_local(const Measure& fed, const Measure& local, double min_gap) {
  return fed.acr.mean > local.acr.mean && fed.ca0.mean > local.ca0.mean &&
         relative_gap(fed.acr.mean, local.acr.mean) >= min_gap;
}

bool local_spread_larger(const Measure& local, const Measure& fed) { return local.ca0.range() > fed.ca0.range(); }

bool close_in_acr(const Measure& personalized, const Measure& fed, double tolerance) {
  return std::fabs(relative_gap(personalized.acr.mean, fed.acr.mean)) <= tolerance;
}

MixtureVerdict judge_mixture(const std::vector<Measure>& by_lambda, const Measure& fedavg, const Measure& finetune) {
  NF_CHECK(by_lambda.size() >= 2, "certified_fl: the mixture needs at least two lambdas, got " << by_lambda.size());
  std::vector<double> acr;
  for (const Measure& m : by_lambda) acr.push_back(m.acr.mean);
  MixtureVerdict v;
  v.beats_fedavg = acr.front() >= fedavg.acr.mean;
  v.beats_local_end = acr.front() > acr.back();
  // "Roughly": a rise smaller than 5% of the best-lambda ACR is within the noise of 2 seeds.
  v.non_increasing = non_increasing_within(acr, 0.05 * acr.front());
  v.narrower_than_ft = by_lambda.front().acr.range() <= finetune.acr.range();
  return v;
}

Series client_band(const std::string& label, const std::vector<double>& radii,
                   const std::vector<std::vector<certify::CertifyRow>>& clients) {
  NF_CHECK(!clients.empty(), "certified_fl: no clients for the curve '" << label << "'");
  std::vector<std::vector<double>> curves;
  for (const auto& rows : clients) curves.push_back(certify::certified_accuracy_curve(rows, radii));
  return mean_band(label, radii, curves);
}

}  // namespace nanofed::report::certfl
