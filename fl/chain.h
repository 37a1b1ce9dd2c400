// chain.h — the aggregator chain and the update attack a config describes, with every name
// (aggregator, pre-aggregators, krum_neighbours, attack) parsed once into enums: the simulation
// builds a ChainSpec when it is constructed, and a round that must rebuild its chain (rows
// rejected as non-finite) does so from the enums, comparing no strings.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fl/aggregators.h"
#include "fl/byzantine.h"
#include "fl/config.h"
#include "fl/updates.h"

namespace nanofed::fl {

enum class AggregatorKind {
  mean, weighted_mean, median, trimmed_mean, krum, multi_krum, geometric_median, centered_clipping, k_norm
};
enum class PreAggregatorKind { clip, median_clip, nnm, bucketing };

// The accepted names, in the order messages list them (the config's key table uses these).
const std::vector<std::string>& aggregator_names();
const std::vector<std::string>& pre_aggregator_names();

// A config's chain in parsed form, with the parameters the rules take.
struct ChainSpec {
  AggregatorKind aggregator = AggregatorKind::weighted_mean;
  std::vector<PreAggregatorKind> pre;
  KrumNeighbours neighbours = KrumNeighbours::n_minus_f_minus_2;
  bool enforce_f_bounds = true;  // FlConfig::enforce_f_bounds
  int64_t n = 0;  // rows per aggregation: round_size(config)
  int64_t f = 0;  // Byzantine count per round: effective_f(config)
  double beta = -1, clip_norm = 10, cc_tau = 10;
  int64_t krum_m = 0, bucket_size = 2, cc_iterations = 1;
};
// Throws naming the key when a name is not one of the accepted ones.
ChainSpec chain_spec(const FlConfig& config);

// The chain for n rows and Byzantine count f (defaults: spec.n and spec.f).
AggregatorChain make_chain(const ChainSpec& spec, int64_t n = -1, int64_t f = -1);
AggregatorChain make_chain(const FlConfig& config, int64_t n = -1, int64_t f = -1);
// The rows the aggregator receives when n updates enter the pre-aggregators (each bucketing
// shrinks them to ceil(n / bucket_size)).
int64_t aggregator_rows(const ChainSpec& spec, int64_t n);

AttackConfig make_attack(const FlConfig& config);
bool aggregator_is_robust(AggregatorKind kind);  // false for mean, weighted_mean

}  // namespace nanofed::fl
