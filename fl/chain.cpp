// chain.cpp — names -> enums once (chain_spec), enums -> the aggregator chain (make_chain).
#include "fl/chain.h"

#include <cmath>

#include "engine/common.h"
#include "fl/pre_aggregators.h"

namespace nanofed::fl {

namespace {

// The index of `name` in `names` as enum E; throws naming `key` and the accepted names.
template <typename E>
E kind_of(const std::string& name, const std::vector<std::string>& names, const char* key) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return (E)i;
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  NF_CHECK(false, "config: " << key << " '" << name << "' is not one of " << known);
  return E();
}

std::shared_ptr<PreAggregator> make_pre(const ChainSpec& s, PreAggregatorKind kind, int64_t f) {
  switch (kind) {
    case PreAggregatorKind::clip: return std::make_shared<StaticClip>(s.clip_norm);
    case PreAggregatorKind::median_clip: return std::make_shared<MedianNormClip>();
    case PreAggregatorKind::nnm: return std::make_shared<NNM>(f);
    case PreAggregatorKind::bucketing: return std::make_shared<Bucketing>(s.bucket_size);
  }
  return nullptr;
}

std::shared_ptr<Aggregator> make_aggregator(const ChainSpec& s, int64_t n, int64_t f) {
  switch (s.aggregator) {
    case AggregatorKind::mean: return std::make_shared<Mean>();
    case AggregatorKind::weighted_mean: return std::make_shared<WeightedMean>();
    case AggregatorKind::median: return std::make_shared<CoordinateMedian>();
    case AggregatorKind::trimmed_mean:
      return s.beta >= 0 ? std::make_shared<TrimmedMean>(TrimmedMean::by_fraction(s.beta))
                         : std::make_shared<TrimmedMean>(f);
    case AggregatorKind::krum: return std::make_shared<Krum>(f, 1, s.neighbours, s.enforce_f_bounds);
    case AggregatorKind::multi_krum:
      return std::make_shared<Krum>(f, s.krum_m > 0 ? s.krum_m : aggregator_rows(s, n) - f, s.neighbours,
                                    s.enforce_f_bounds);
    case AggregatorKind::geometric_median: return std::make_shared<GeometricMedian>();
    case AggregatorKind::centered_clipping: return std::make_shared<CenteredClipping>(s.cc_tau, s.cc_iterations);
    case AggregatorKind::k_norm: return std::make_shared<KNorm>(f);
  }
  return nullptr;
}

}  // namespace

// Same order as the enums.
const std::vector<std::string>& aggregator_names() {
  static const std::vector<std::string> names = {"mean",         "weighted_mean",    "median",
                                                 "trimmed_mean", "krum",             "multi_krum",
                                                 "geometric_median", "centered_clipping", "k_norm"};
  return names;
}

const std::vector<std::string>& pre_aggregator_names() {
  static const std::vector<std::string> names = {"clip", "median_clip", "nnm", "bucketing"};
  return names;
}

ChainSpec chain_spec(const FlConfig& c) {
  ChainSpec s;
  s.aggregator = kind_of<AggregatorKind>(c.aggregator, aggregator_names(), "aggregator");
  for (const std::string& p : c.pre_aggregators)
    s.pre.push_back(kind_of<PreAggregatorKind>(p, pre_aggregator_names(), "pre_aggregators entry"));
  s.neighbours = c.krum_neighbours == "n-f" ? KrumNeighbours::n_minus_f : KrumNeighbours::n_minus_f_minus_2;
  s.n = round_size(c);
  s.f = effective_f(c);
  s.beta = c.beta;
  s.clip_norm = c.clip_norm;
  s.cc_tau = c.cc_tau;
  s.krum_m = c.krum_m;
  s.enforce_f_bounds = c.enforce_f_bounds;
  s.bucket_size = c.bucket_size;
  s.cc_iterations = c.cc_iterations;
  return s;
}

int64_t aggregator_rows(const ChainSpec& s, int64_t n) {
  // Bucketing (Karimireddy et al. 2022) averages groups of bucket_size rows: ceil(n / s) remain.
  for (PreAggregatorKind p : s.pre)
    if (p == PreAggregatorKind::bucketing) n = (n + s.bucket_size - 1) / s.bucket_size;
  return n;
}

// Declared in fl/config.h (validation uses it); the one definition of the bucketing count.
int64_t aggregator_rows(const FlConfig& c, int64_t n) { return aggregator_rows(chain_spec(c), n); }

AggregatorChain make_chain(const ChainSpec& s, int64_t n, int64_t f) {
  if (n < 0) n = s.n;
  if (f < 0) f = s.f;
  AggregatorChain chain;
  for (PreAggregatorKind p : s.pre) chain.pre.push_back(make_pre(s, p, f));
  chain.aggregator = make_aggregator(s, n, f);
  return chain;
}

AggregatorChain make_chain(const FlConfig& c, int64_t n, int64_t f) { return make_chain(chain_spec(c), n, f); }

bool aggregator_is_robust(AggregatorKind kind) {
  return kind != AggregatorKind::mean && kind != AggregatorKind::weighted_mean;
}

AttackConfig make_attack(const FlConfig& c) {
  AttackConfig a;
  a.kind = (c.attack == "none" || c.attack == "label_poisoning") ? AttackKind::none
                                                                 : attack_kind_from_string(c.attack);
  a.gaussian_sigma = c.gaussian_sigma;
  a.sign_flip_scale = c.sign_flip_scale;
  a.boost_factor = c.boost_factor > 0 ? c.boost_factor : (double)round_size(c);
  a.alie_fixed_z = c.alie_z != 0;
  a.alie_z = c.alie_z;
  a.ipm_tau = c.ipm_tau;
  a.non_finite_value = c.non_finite_value == "nan" ? std::nan("") : INFINITY;
  return a;
}

}  // namespace nanofed::fl
