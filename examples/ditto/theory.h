// theory.h — the reproduction's theory section: federated point estimation (Ditto §2.8,
// Thms 5-8, Lemmas 9-12; Figs. 1-2; FMTL's notebook). Device k's true value w_k = theta + zeta_k,
// zeta_k ~ N(0, tau^2) (N(0, tau_a^2) for K_a adversarial devices); it sees n observations
// w_k + N(0, sigma^2) and its local estimate is their mean; the global estimate w* is the mean
// of all K local estimates. Ditto's personalized estimate (Lemma 9) is lambda/(1+lambda) w* +
// 1/(1+lambda) w_hat_k; its expected test error (w_k - v_k)^2 is smallest at the closed-form
// lambda* = sigma^2/n K / (K tau^2 + K_a/(K-1) (tau_a^2 - tau^2)), where it equals sigma_{w,a}^2.
// A Monte Carlo (fl/point_estimation.h) measures the benign devices' mean error and its
// across-device variance per lambda; the criteria check that lambda* minimizes both (Fig. 1),
// that Ditto(lambda*) beats local (lambda = 0) and global (lambda = 1000) training at every
// task spread tau (Fig. 2), the local error sigma^2/n, and that lambda_a* falls as K_a or tau_a
// grow. Every verdict is computed from the CSVs written under `dir`, re-read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "examples/ditto/criteria.h"
#include "tools/report.h"

namespace nanofed::ditto {

struct TheoryResult {
  std::vector<Criterion> criteria;
  std::string markdown;  // the per-setting table (lambda*, sigma_w^2, errors, argmin, variance)
  std::vector<report::Figure> figures;
};

// Writes dir/fig1_clean.csv, fig1_adversarial.csv (Fig. 1, `trials` trials each),
// fig2_clean.csv, fig2_adversarial.csv (Fig. 2, min(trials, 2000) trials per tau) and
// lambda_a_star.csv (the closed form over K_a and tau_a), then judges them. Same seed, same bytes.
TheoryResult run_theory(const std::string& dir, int64_t trials, uint64_t seed);

}  // namespace nanofed::ditto
