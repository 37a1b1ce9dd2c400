#include "fl/byzantine.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <sstream>

#include "engine/text.h"
#include "fl/host_draws.h"

namespace nanofed::fl {

std::vector<int64_t> choose_corrupted(int64_t num_clients, int64_t num_corrupted, uint64_t seed) {
  NF_CHECK(num_clients >= 1, "choose_corrupted: num_clients must be >= 1, got " << num_clients);
  NF_CHECK(num_corrupted >= 0 && num_corrupted <= num_clients,
           "choose_corrupted: num_corrupted must be in [0, " << num_clients << "], got "
                                                             << num_corrupted);
  Generator gen(seed);
  std::vector<int64_t> perm = randperm(num_clients, gen);
  std::vector<int64_t> chosen(perm.begin(), perm.begin() + num_corrupted);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

double alie_z_max(int64_t n, int64_t f) {
  NF_CHECK(n >= 1 && f >= 0 && f <= n, "alie z_max: need n >= 1 and 0 <= f <= n, got n = "
                                           << n << ", f = " << f);
  const int64_t s = n / 2 + 1 - f;  // floor(n/2 + 1) - f for integer n
  const double p = (double)(n - s) / (double)n;
  NF_CHECK(p > 0.0 && p < 1.0, "alie z_max: (n - s) / n = " << p << " (n = " << n << ", f = " << f
                                   << ", s = floor(n/2 + 1) - f = " << s
                                   << ") must be in (0, 1); use a fixed z");
  return boost::math::quantile(boost::math::normal_distribution<double>(0.0, 1.0), p);
}


namespace {

// The rows of an Updates on the host in double, split into corrupted and benign ones.
struct AttackRows {
  int64_t K = 0, P = 0;
  std::vector<double> x;
  std::vector<int64_t> corrupted, benign;
  std::vector<bool> is_corrupted;
  double& at(int64_t k, int64_t j) { return x[(size_t)(k * P + j)]; }
};

AttackRows attack_rows(const Updates& u, const std::vector<int64_t>& corrupted_rows) {
  AttackRows r;
  r.K = u.count();
  r.P = u.dim();
  r.corrupted = corrupted_rows;
  r.is_corrupted.assign(r.K, false);
  for (int64_t k : corrupted_rows) {
    NF_CHECK(k >= 0 && k < r.K, "byzantine attack: corrupted row " << k << " out of range [0, " << r.K << ")");
    NF_CHECK(!r.is_corrupted[k], "byzantine attack: corrupted row " << k << " listed twice");
    r.is_corrupted[k] = true;
  }
  for (int64_t k = 0; k < r.K; ++k)
    if (!r.is_corrupted[k]) r.benign.push_back(k);
  const std::vector<float> in = u.rows.to_vector<float>();
  r.x.assign(in.begin(), in.end());
  return r;
}

// Coordinate-wise mean of the benign rows (omniscient attacks estimate the honest distribution).
std::vector<double> benign_mean(AttackRows& r) {
  std::vector<double> mean(r.P, 0.0);
  for (int64_t k : r.benign)
    for (int64_t j = 0; j < r.P; ++j) mean[j] += r.at(k, j);
  for (int64_t j = 0; j < r.P; ++j) mean[j] /= (double)r.benign.size();
  return mean;
}

// Every corrupted row's entries <- value(j).
template <typename F>
void set_corrupted(AttackRows& r, F value) {
  for (int64_t k : r.corrupted)
    for (int64_t j = 0; j < r.P; ++j) r.at(k, j) = value(k, j);
}

void gaussian(const AttackConfig& c, AttackRows& r, Generator& gen) {
  for (int64_t k : r.corrupted) {
    double sigma = c.gaussian_sigma;
    if (sigma <= 0.0) {  // the row's own population std (Ditto A2)
      double m = 0.0, v = 0.0;
      for (int64_t j = 0; j < r.P; ++j) m += r.at(k, j);
      m /= (double)r.P;
      for (int64_t j = 0; j < r.P; ++j) v += (r.at(k, j) - m) * (r.at(k, j) - m);
      sigma = std::sqrt(v / (double)r.P);
    }
    for (int64_t j = 0; j < r.P; ++j) r.at(k, j) = sigma * standard_normal(gen);
  }
}

void sign_flip(const AttackConfig& c, AttackRows& r, Generator&) {
  set_corrupted(r, [&](int64_t k, int64_t j) { return r.at(k, j) * -c.sign_flip_scale; });
}

void boosting(const AttackConfig& c, AttackRows& r, Generator&) {
  set_corrupted(r, [&](int64_t k, int64_t j) { return r.at(k, j) * c.boost_factor; });
}

void alie(const AttackConfig& c, AttackRows& r, Generator&) {
  NF_CHECK(r.benign.size() >= 2, "byzantine attack alie: needs >= 2 benign rows for the unbiased "
                                 "std, got " << r.benign.size());
  const std::vector<double> mean = benign_mean(r);
  std::vector<double> stdv(r.P, 0.0);
  for (int64_t k : r.benign)
    for (int64_t j = 0; j < r.P; ++j) stdv[j] += (r.at(k, j) - mean[j]) * (r.at(k, j) - mean[j]);
  for (int64_t j = 0; j < r.P; ++j) stdv[j] = std::sqrt(stdv[j] / (double)(r.benign.size() - 1));
  const int64_t n = c.alie_n > 0 ? c.alie_n : r.K;
  const double z = c.alie_fixed_z ? c.alie_z : alie_z_max(n, (int64_t)r.corrupted.size());
  set_corrupted(r, [&](int64_t, int64_t j) { return mean[j] - z * stdv[j]; });
}

void ipm(const AttackConfig& c, AttackRows& r, Generator&) {
  const std::vector<double> mean = benign_mean(r);
  set_corrupted(r, [&](int64_t, int64_t j) { return -c.ipm_tau * mean[j]; });
}

void mimic(const AttackConfig& c, AttackRows& r, Generator& gen) {
  int64_t victim = c.mimic_victim;
  if (victim < 0) {
    victim = r.benign[(size_t)gen.next_below(r.benign.size())];
  } else {
    NF_CHECK(victim < r.K && !r.is_corrupted[victim],
             "byzantine attack mimic: victim " << victim << " must be a benign row in [0, " << r.K << ")");
  }
  set_corrupted(r, [&](int64_t, int64_t j) { return r.at(victim, j); });
}

void non_finite(const AttackConfig& c, AttackRows& r, Generator&) {
  NF_CHECK(!std::isfinite(c.non_finite_value),
           "byzantine attack non_finite: value must be NaN or +-inf, got " << c.non_finite_value);
  set_corrupted(r, [&](int64_t, int64_t) { return c.non_finite_value; });
}

struct AttackEntry {
  void (*apply)(const AttackConfig&, AttackRows&, Generator&);
  bool omniscient;  // reads the benign rows, so needs at least one
};

// One entry per AttackKind, in the enum's order (none has no function).
const AttackEntry& entry_of(AttackKind kind) {
  static const AttackEntry table[] = {{nullptr, false}, {gaussian, false}, {sign_flip, false},
                                      {boosting, false}, {alie, true},     {ipm, true},
                                      {mimic, true},     {non_finite, false}};
  return table[(size_t)kind];
}

}  // namespace

void apply_update_attack(const AttackConfig& config, Updates& u,
                         const std::vector<int64_t>& corrupted_rows, Generator& gen) {
  u.validate("byzantine attack");
  if (config.kind == AttackKind::none || corrupted_rows.empty()) return;
  AttackRows r = attack_rows(u, corrupted_rows);
  const AttackEntry& attack = entry_of(config.kind);
  if (attack.omniscient)
    NF_CHECK(!r.benign.empty(), "byzantine attack " << to_string(config.kind)
                                                    << ": needs at least one benign row, all " << r.K
                                                    << " are corrupted");
  attack.apply(config, r, gen);
  std::vector<float> out(r.x.begin(), r.x.end());
  u.rows = from_vector(out, u.rows.shape(), u.rows.device());
}

std::string to_string(AttackKind kind) {
  switch (kind) {
    case AttackKind::none: return "none";
    case AttackKind::gaussian: return "gaussian";
    case AttackKind::sign_flip: return "sign_flip";
    case AttackKind::boosting: return "boosting";
    case AttackKind::alie: return "alie";
    case AttackKind::ipm: return "ipm";
    case AttackKind::mimic: return "mimic";
    case AttackKind::non_finite: return "non_finite";
  }
  return "?";
}

AttackKind attack_kind_from_string(const std::string& name) {
  for (AttackKind k : {AttackKind::none, AttackKind::gaussian, AttackKind::sign_flip,
                       AttackKind::boosting, AttackKind::alie, AttackKind::ipm, AttackKind::mimic,
                       AttackKind::non_finite})
    if (to_string(k) == name) return k;
  NF_CHECK(false, "attack: unknown kind '" << name << "', expected one of none, gaussian, "
                  "sign_flip, boosting, alie, ipm, mimic, non_finite");
  return AttackKind::none;
}

std::string describe(const AttackConfig& c) {
  switch (c.kind) {
    case AttackKind::none: return "none";
    case AttackKind::gaussian:
      return c.gaussian_sigma > 0 ? "gaussian(sigma=" + fmt(c.gaussian_sigma) + ")"
                                  : "gaussian(sigma=row std)";
    case AttackKind::sign_flip: return "sign_flip(scale=" + fmt(c.sign_flip_scale) + ")";
    case AttackKind::boosting: return "boosting(factor=" + fmt(c.boost_factor) + ")";
    case AttackKind::alie:
      if (c.alie_fixed_z) return "alie(z=" + fmt(c.alie_z) + ")";
      return c.alie_n > 0 ? "alie(z=baruch z_max(n=" + std::to_string(c.alie_n) + ", f))"
                          : "alie(z=baruch z_max(n, f))";
    case AttackKind::ipm: return "ipm(tau=" + fmt(c.ipm_tau) + ")";
    case AttackKind::mimic:
      return c.mimic_victim >= 0 ? "mimic(victim=" + std::to_string(c.mimic_victim) + ")"
                                 : "mimic(victim=random benign)";
    case AttackKind::non_finite: return "non_finite(value=" + fmt(c.non_finite_value) + ")";
  }
  return "?";
}

datasets::Dataset poison_labels(const datasets::Dataset& data, Generator& gen, bool binary_flip) {
  const std::string who = "poison_labels(" + data.name + ")";
  NF_CHECK(data.labels.defined() && data.labels.dtype() == DType::i32 && data.labels.dim() == 1,
           who << ": labels must be i32 [N]");
  NF_CHECK(data.num_classes >= 1, who << ": num_classes must be >= 1, got " << data.num_classes);
  if (binary_flip)
    NF_CHECK(data.num_classes == 2,
             who << ": binary flip needs num_classes = 2, got " << data.num_classes);
  std::vector<int32_t> y = data.labels.to_vector<int32_t>();
  for (int32_t& v : y) {
    if (binary_flip) {
      NF_CHECK(v == 0 || v == 1, who << ": binary flip needs labels in {0, 1}, got " << v);
      v = 1 - v;
    } else {
      v = (int32_t)gen.next_below((uint64_t)data.num_classes);
    }
  }
  datasets::Dataset out = data;
  out.labels = from_vector(y, data.labels.shape(), data.labels.device());
  return out;
}

}  // namespace nanofed::fl
