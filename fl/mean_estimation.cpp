#include "fl/mean_estimation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "engine/common.h"
#include "engine/threads.h"
#include "fl/host_draws.h"
#include "fl/pre_aggregators.h"

namespace nanofed::fl {
namespace {

constexpr const char* kWho = "mean_estimation";

Updates scalar_rows(const std::vector<double>& values) {
  Updates u;
  u.rows = detail::to_tensor(values, {(int64_t)values.size(), 1}, Device::cpu());
  return u;
}

void check(const MeanEstimationSetting& s, const std::vector<double>& lambdas, int64_t repetitions) {
  NF_CHECK(repetitions >= 2, kWho << ": repetitions must be >= 2 (standard errors), got " << repetitions);
  NF_CHECK(s.honest >= 2, kWho << ": honest must be >= 2, got " << s.honest);
  NF_CHECK(s.byzantine >= 0 && s.told_n >= 0, kWho << ": byzantine and told_n must be >= 0, got " << s.byzantine
                                                   << " and " << s.told_n);
  NF_CHECK(s.samples >= 1, kWho << ": samples (m) must be >= 1, got " << s.samples);
  NF_CHECK(s.sigma >= 0 && s.sigma_h >= 0 && std::isfinite(s.sigma) && std::isfinite(s.sigma_h) &&
               std::isfinite(s.mean),
           kWho << ": sigma and sigma_h must be finite and >= 0 and mean finite, got " << s.sigma << ", "
                << s.sigma_h << ", " << s.mean);
  NF_CHECK(!lambdas.empty(), kWho << ": no lambda given");
  for (double l : lambdas) NF_CHECK(l >= 0 && l <= 1, kWho << ": lambda must be in [0, 1], got " << l);
}

// What one repetition contributes: the last honest client's x̄ and mu, R, the Byzantine value.
struct Repetition {
  double local = 0, target = 0, aggregate = 0, byzantine = 0;
};

Repetition one_repetition(const MeanEstimationSetting& s, const AggregatorChain& chain, Generator gen) {
  const MeanDraws d = draw_clients(s, gen);
  const std::vector<double> local = local_means(d.samples, s.samples);
  Repetition r;
  r.local = local.back();
  r.target = d.mu.back();
  if (s.byzantine > 0) r.byzantine = byzantine_value(d.samples, s.samples, s.attack, s.byzantine_clip);
  std::vector<double> values((size_t)s.byzantine, r.byzantine);  // Byzantine first, as the notebook
  values.insert(values.end(), local.begin(), local.end());
  r.aggregate = aggregate_scalars(chain, values);
  return r;
}

double mean_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  return m / (double)v.size();
}

// Appends the mean over repetitions of the last honest client's squared error at lambda, and
// its standard error.
void add_error_at(const std::vector<Repetition>& reps, double lambda, MeanCurve& c) {
  std::vector<double> err;
  for (const Repetition& r : reps) {
    const double e = personalized(r.local, r.aggregate, lambda) - r.target;
    err.push_back(e * e);
  }
  const double m = mean_of(err), n = (double)err.size();
  double ss = 0;
  for (double e : err) ss += (e - m) * (e - m);
  c.error.push_back(m);
  c.error_se.push_back(std::sqrt(ss / (n - 1) / n));
}

}  // namespace

AttackConfig sign_flip_attack() {
  AttackConfig c;
  c.kind = AttackKind::ipm;
  c.ipm_tau = 1;
  return c;
}

AttackConfig foe_attack(double tau) {
  AttackConfig c;
  c.kind = AttackKind::ipm;
  c.ipm_tau = tau - 1;
  return c;
}

AttackConfig alie_attack(double tau) {
  AttackConfig c;
  c.kind = AttackKind::alie;
  c.alie_fixed_z = true;
  c.alie_z = -tau;
  return c;
}

MeanDraws draw_clients(const MeanEstimationSetting& s, Generator gen) {
  const size_t N = (size_t)s.honest, m = (size_t)s.samples;
  MeanDraws d;
  d.mu.resize(N);
  d.samples.resize(N * m);
  for (size_t i = 0; i < N; ++i) d.mu[i] = s.mean + s.sigma_h * standard_normal(gen);
  for (size_t i = 0; i < N; ++i)
    for (size_t k = 0; k < m; ++k) d.samples[i * m + k] = d.mu[i] + s.sigma * standard_normal(gen);
  return d;
}

std::vector<double> local_means(const std::vector<double>& samples, int64_t m) {
  NF_CHECK(m >= 1 && !samples.empty() && samples.size() % (size_t)m == 0,
           kWho << ": " << samples.size() << " samples do not form rows of m = " << m);
  std::vector<double> out(samples.size() / (size_t)m, 0.0);
  for (size_t i = 0; i < out.size(); ++i) {
    for (int64_t k = 0; k < m; ++k) out[i] += samples[i * (size_t)m + (size_t)k];
    out[i] /= (double)m;
  }
  return out;
}

// The attack sees the N honest rows plus one corrupted row (the f copies are identical).
Tensor byzantine_row(const Tensor& honest, const AttackConfig& attack, double clip) {
  NF_CHECK(honest.defined() && honest.dim() == 2 && honest.size(0) >= 1,
           kWho << ": the Byzantine row needs honest rows [N >= 1, P]");
  const int64_t N = honest.size(0), P = honest.size(1);
  Updates u;
  u.rows = zeros({N + 1, P}, honest.device());
  u.rows.slice(0, N).copy_(honest);
  Generator unused(0);  // SF, FOE and ALIE draw nothing
  apply_update_attack(attack, u, {N}, unused);
  Updates byz;
  byz.rows = u.rows.slice(N, N + 1);
  if (clip > 0) byz = StaticClip(clip).apply(byz, unused);
  return byz.rows;
}

std::vector<double> byzantine_vector(const std::vector<double>& samples, int64_t m, const AttackConfig& attack,
                                     double clip) {
  NF_CHECK(m >= 1 && !samples.empty() && samples.size() % (size_t)m == 0,
           kWho << ": " << samples.size() << " samples do not form rows of m = " << m);
  const int64_t N = (int64_t)samples.size() / m;
  Updates byz;
  byz.rows = byzantine_row(detail::to_tensor(samples, {N, m}, Device::cpu()), attack, clip);
  return detail::to_host(byz, kWho).x;
}

double byzantine_value(const std::vector<double>& samples, int64_t m, const AttackConfig& attack, double clip) {
  return mean_of(byzantine_vector(samples, m, attack, clip));
}

AggregatorChain paper_chain(int64_t f, int64_t told_n, AggregatorKind last) {
  AggregatorChain c;
  c.pre = {std::make_shared<ServerClip>(f, told_n), std::make_shared<NNM>(f)};
  switch (last) {
    case AggregatorKind::trimmed_mean: c.aggregator = std::make_shared<TrimmedMean>(f); break;
    case AggregatorKind::median: c.aggregator = std::make_shared<CoordinateMedian>(); break;
    case AggregatorKind::krum: c.aggregator = std::make_shared<Krum>(f, 1, KrumNeighbours::n_minus_f); break;
    case AggregatorKind::geometric_median: c.aggregator = std::make_shared<GeometricMedian>(); break;
    default: NF_CHECK(false, kWho << ": the last aggregator must be trimmed_mean, median, krum or geometric_median");
  }
  return c;
}

double aggregate_scalars(const AggregatorChain& chain, const std::vector<double>& values) {
  Generator unused(0);  // server_clip, NNM and the four last rules draw nothing
  return (double)chain(scalar_rows(values), unused).to_vector<float>()[0];
}

MeanCurve mean_estimation_curve(const MeanEstimationSetting& s, const std::vector<double>& lambdas,
                                int64_t repetitions, uint64_t seed) {
  check(s, lambdas, repetitions);
  const AggregatorChain chain = paper_chain(s.byzantine, s.told_n, s.aggregator);
  const int64_t K = s.honest + s.byzantine;
  std::vector<Repetition> reps((size_t)repetitions);
  const Generator base(seed);
  // NNM dominates: K^2 distances per repetition. Each repetition writes its own slot only.
  parallel_ranges(repetitions, K * K, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) reps[(size_t)r] = one_repetition(s, chain, base.derive({(uint64_t)r}));
  });
  MeanCurve c;
  std::vector<double> byz, agg;
  for (const Repetition& r : reps) byz.push_back(r.byzantine), agg.push_back(r.aggregate);
  c.byzantine_value = mean_of(byz);
  c.aggregate = mean_of(agg);
  for (double l : lambdas) {
    c.lambda.push_back(l);
    add_error_at(reps, l, c);
  }
  return c;
}

double empirical_lambda_star(const MeanCurve& curve) {
  NF_CHECK(!curve.error.empty() && curve.error.size() == curve.lambda.size(), kWho << ": empty or ragged curve");
  return curve.lambda[(size_t)(std::min_element(curve.error.begin(), curve.error.end()) - curve.error.begin())];
}

std::vector<double> lambda_grid(int64_t points) {
  NF_CHECK(points >= 2, kWho << ": the lambda grid needs >= 2 points, got " << points);
  std::vector<double> g((size_t)points);
  for (int64_t i = 0; i < points; ++i) g[i] = (double)i / (double)(points - 1);
  return g;
}

double trimmed_mean_kappa(int64_t n, int64_t f) {
  NF_CHECK(f >= 0 && n >= 2 * f && n > 0, kWho << ": kappa = f / (n - 2f) needs 0 <= f and n >= 2f, got n = " << n
                                                << ", f = " << f);
  return n == 2 * f ? std::numeric_limits<double>::infinity() : (double)f / (double)(n - 2 * f);
}

double derived_lambda_star(int64_t honest, int64_t m, double sigma, double kappa, double gap2, double delta2) {
  NF_CHECK(honest >= 2 && m >= 1, kWho << ": derived lambda* needs honest >= 2 and m >= 1, got " << honest << ", "
                                      << m);
  NF_CHECK(sigma > 0 && kappa >= 0 && gap2 >= 0 && delta2 >= 0 && std::isfinite(kappa),
           kWho << ": derived lambda* needs sigma > 0 and finite kappa, gap2, delta2 >= 0, got sigma = " << sigma
                << ", kappa = " << kappa << ", gap2 = " << gap2 << ", delta2 = " << delta2);
  const double keep = 1 - 1 / (double)honest, a = sigma * sigma / (double)m;
  return keep * a / (keep * (1 + kappa) * a + gap2 + kappa * delta2);
}

double notebook_lambda_star(int64_t n, int64_t f, double sigma, double sigma_client) {
  const double kappa = trimmed_mean_kappa(n, f);
  NF_CHECK(n - f >= 2 && sigma > 0 && sigma_client >= 0,
           kWho << ": the notebook's lambda* needs n - f >= 2, sigma > 0, sigma_client >= 0, got n = " << n
                << ", f = " << f << ", sigma = " << sigma << ", sigma_client = " << sigma_client);
  if (std::isinf(kappa)) return 0;  // its limit; numpy returns the same 0 after a warning
  const double c = (double)(n - f), s2 = sigma * sigma;
  const double A = sigma_client * sigma_client * (1 + kappa);
  return (1 - 1 / c) * s2 / ((kappa * (c - 1) / c + 1 - 1 / c) * s2 + A * A);
}

}  // namespace nanofed::fl
