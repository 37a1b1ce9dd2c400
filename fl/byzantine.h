// byzantine.h — Byzantine attacks: which clients are corrupted, what they send, poisoned labels.
//
// Update attacks rewrite the rows of the corrupted clients in an Updates ([K, P], row k =
// client k's update). They are computed on the host in double for clarity (rows copied with
// to_vector, the result written back as a new f32 tensor on the rows' device, so a caller's
// tensor that shares storage with `rows` is never mutated). Definitions and their sources:
//   gaussian    row <- N(0, s^2 I), s = population std (ddof 0) of the row's own entries
//               (Ditto A2, Ditto §5 attacks: "s = std of all entries of
//               the flattened Δ_k"); a fixed sigma > 0 overrides (FederatedScope gaussian_noise).
//   sign_flip   row <- -scale * row (002_finetune_byzantine.md §2.4 "SF"; scale 1 by default).
//   boosting    row <- factor * row (Ditto A3 "model replacement": Δ_k <- |S_t| Δ_k = 10 Δ_k).
//   alie        every corrupted row <- mean_b - z * std_b, coordinate-wise over the benign rows,
//               std unbiased (ddof 1, as torch.var / ByzFL; 002 §2.4 note 14). z either fixed
//               (ByzFL tau = 1.5) or Baruch et al. 2019's z_max = Phi^-1((n - s) / n),
//               s = floor(n/2 + 1) - f, n = number of clients, f = number corrupted (Blades).
//               Sign: Baruch/Blades subtract; 002's table writes g + tau*sigma — use z < 0 for it.
//   ipm         every corrupted row <- -tau * mean_b (Xie et al. 2019 "fall of empires" / inner
//               product manipulation). 002's FOE (1 - tau) g equals ipm with tau' = tau - 1.
//   mimic       every corrupted row <- a copy of one benign row (ByzFL mimic, epsilon = victim
//               id); victim = a row index, or -1 for one drawn uniformly from the benign rows.
//   non_finite  every entry <- value (+inf by default, ByzFL "inf"; NaN also allowed).
// mean_b / std_b are unweighted over the benign rows (Updates.weights are ignored: the attacker
// estimates the honest distribution, as in ALIE/IPM). Omniscient attacks need >= 1 benign row
// (ALIE >= 2, for the unbiased std).
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "engine/random.h"
#include "fl/updates.h"

namespace nanofed::fl {

// A fixed set of num_corrupted client ids in [0, num_clients) for a seed: the first
// num_corrupted entries of randperm(num_clients, Generator(seed)), sorted ascending.
std::vector<int64_t> choose_corrupted(int64_t num_clients, int64_t num_corrupted, uint64_t seed);

enum class AttackKind { none, gaussian, sign_flip, boosting, alie, ipm, mimic, non_finite };

struct AttackConfig {
  AttackKind kind = AttackKind::none;
  double gaussian_sigma = 0.0;   // gaussian: <= 0 means the row's own std (Ditto A2)
  double sign_flip_scale = 1.0;  // sign_flip: row <- -scale * row
  double boost_factor = 10.0;    // boosting: Ditto A3 uses |S_t| = 10
  bool alie_fixed_z = false;     // alie: true -> use alie_z; false -> Baruch z_max(n, f)
  double alie_z = 1.5;           // alie fixed z (ByzFL default tau = 1.5)
  int64_t alie_n = 0;            // alie: n for z_max; 0 means the number of rows K
  double ipm_tau = 2.0;          // ipm: -tau * mean (ByzFL FOE tau = 3 <=> ipm tau = 2)
  int64_t mimic_victim = -1;     // mimic: benign row index, or -1 = drawn with the generator
  double non_finite_value = std::numeric_limits<double>::infinity();
};

// Baruch et al. 2019 z_max = Phi^-1((n - s) / n), s = floor(n/2 + 1) - f. Throws unless
// 0 < (n - s) / n < 1 (e.g. f too large for n).
double alie_z_max(int64_t n, int64_t f);

// Rewrites u.rows[r] for r in corrupted_rows (unique, in [0, K)) according to config.
// Draws (gaussian noise, mimic victim) come from gen.
void apply_update_attack(const AttackConfig& config, Updates& u,
                         const std::vector<int64_t>& corrupted_rows, Generator& gen);

// "none", "gaussian(sigma=row std)", "sign_flip(scale=1)", "boosting(factor=10)",
// "alie(z=baruch z_max(n, f))" / "alie(z=1.5)", "ipm(tau=2)", "mimic(victim=random benign)",
// "non_finite(value=inf)".
std::string describe(const AttackConfig& config);
// Parses the kind names above ("none", "gaussian", ...); throws listing the valid names.
AttackKind attack_kind_from_string(const std::string& name);
std::string to_string(AttackKind kind);

// Ditto A1 label poisoning: a copy of data whose labels are uniform in [0, num_classes) (a
// random label may equal the true one), or y -> 1 - y when binary_flip (needs num_classes 2).
// Images are shared with data (not copied).
datasets::Dataset poison_labels(const datasets::Dataset& data, Generator& gen,
                                bool binary_flip = false);

}  // namespace nanofed::fl
