// mean_estimation.h — the reproduction's RT-A1 section: FT-Byzantine §2.5's federated mean
// estimation (its Figure 1) on the paper's three sweeps (§4.1), with the defaults n = 600,
// f = 100, m = 20, sigma = 15, sigma_h = 2:
//   sigma_h in 0, 0.5, ..., 4        (500 honest + 100 Byzantine)
//   f       in 0, 25, ..., 250       (500 honest + f Byzantine; the aggregator is told n = 500)
//   sigma   in 1, 4, ..., 31         (sigma_h = 2)
// Each value gives the error of the last honest client against lambda on the notebook's
// 200-point grid (fl/mean_estimation.h: SF on the raw sample vectors clipped to norm 1,
// server_clip -> NNM -> trimmed mean), its argmin (the empirical lambda*) and the two closed
// forms (the boxed derived lambda* and the notebook's "theoretical lambda*"). Six variants
// (unclipped SF, ALIE, FOE; median, Krum, geometric median after server_clip -> NNM) rerun the
// sigma_h and f sweeps on the values the paper plots and say whether lambda* still falls.
// Every verdict, table and figure is computed from the CSVs written under `dir`, re-read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/report.h"
#include "tools/reproduction.h"

namespace nanofed::byzantine_ft {

struct MeanEstimationResult {
  std::vector<report::Criterion> criteria;  // RT-A1's four claims, per sweep
  std::string markdown;                     // per-sweep tables and the variants' trend table
  std::vector<report::Figure> figures;      // error vs lambda per sweep; lambda* vs the swept value
};

// Writes dir/<sweep>_curves.csv, dir/<sweep>_lambda_star.csv (sweep = sigma_h, f, sigma) and
// dir/variants.csv, then judges them. `repetitions` per value (>= 2; the paper uses 20); the
// variants use half as many. Same seed, same bytes, whatever the thread count.
MeanEstimationResult run_mean_estimation(const std::string& dir, int64_t repetitions, uint64_t seed);

}  // namespace nanofed::byzantine_ft
