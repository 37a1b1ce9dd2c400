// The aggregator chain and the update attack a config describes (declared in fl/simulation.h).
#include <cmath>

#include "engine/common.h"
#include "fl/aggregators.h"
#include "fl/pre_aggregators.h"
#include "fl/simulation.h"

namespace nanofed::fl {

bool aggregator_is_robust(const std::string& name) { return name != "mean" && name != "weighted_mean"; }

AggregatorChain make_chain(const FlConfig& c, int64_t n, int64_t f) {
  if (n < 0) n = round_size(c);
  if (f < 0) f = effective_f(c);
  const KrumNeighbours nb =
      c.krum_neighbours == "n-f" ? KrumNeighbours::n_minus_f : KrumNeighbours::n_minus_f_minus_2;
  AggregatorChain chain;
  for (const std::string& p : c.pre_aggregators) {
    if (p == "clip") chain.pre.push_back(std::make_shared<StaticClip>(c.clip_norm));
    else if (p == "median_clip") chain.pre.push_back(std::make_shared<MedianNormClip>());
    else if (p == "nnm") chain.pre.push_back(std::make_shared<NNM>(f));
    else if (p == "bucketing") chain.pre.push_back(std::make_shared<Bucketing>(c.bucket_size));
    else NF_CHECK(false, "config: pre_aggregators entry '" << p << "' is not one of clip, median_clip, nnm, bucketing");
  }
  const std::string& a = c.aggregator;
  if (a == "mean") chain.aggregator = std::make_shared<Mean>();
  else if (a == "weighted_mean") chain.aggregator = std::make_shared<WeightedMean>();
  else if (a == "median") chain.aggregator = std::make_shared<CoordinateMedian>();
  else if (a == "trimmed_mean")
    chain.aggregator = c.beta >= 0 ? std::make_shared<TrimmedMean>(TrimmedMean::by_fraction(c.beta))
                                   : std::make_shared<TrimmedMean>(f);
  else if (a == "krum") chain.aggregator = std::make_shared<Krum>(f, 1, nb);
  else if (a == "multi_krum") {
    const int64_t rows = aggregator_rows(c, n);
    chain.aggregator = std::make_shared<Krum>(f, c.krum_m > 0 ? c.krum_m : rows - f, nb);
  }
  else if (a == "geometric_median") chain.aggregator = std::make_shared<GeometricMedian>();
  else if (a == "centered_clipping") chain.aggregator = std::make_shared<CenteredClipping>(c.cc_tau, c.cc_iterations);
  else if (a == "k_norm") chain.aggregator = std::make_shared<KNorm>(f);
  else NF_CHECK(false, "config: aggregator '" << a << "' is unknown");
  return chain;
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
