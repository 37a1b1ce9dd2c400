// plan.h — which federated runs the certified-FL reproduction makes (claims R1-R5,
// examples/certified_fl/README.md), and where each writes. One run is one (clients K, training
// scheme, target smoothing distribution) and seed; claims share runs where the paper's settings coincide (R3 at K = 10
// reads R2's runs, R5's FedAvg and fine-tuning row is one robust fine-tune run).
//
// Training schemes (all through fl::run_one, every one certifies with its target distribution):
//   robust_local   strategy local, trained with the target augmentation (CertFL §3.3, Eq. 4 at
//                  lambda = 1): rows "personal"
//   robust_ft      FedAvg with the target augmentation, then fine-tuning with it (Fig. 1):
//                  rows "global" (= federated) and "personal" (= personalized)
//   nominal_ft     FedAvg without augmentation, then fine-tuning with the target (Figs. 2, 4)
//   affine_ft      FedAvg with affine augmentation (sigma 0.1), then fine-tuning with the target
//                  (Fig. 3)
//   mixture        Eq. 5 with lambda, trained with the target augmentation (Fig. 5): rows
//                  "personal" (theta_i) and "global" (theta bar)
// Spot checks: R2's runs once more (first seed), certified with a larger n on fewer images.
// Folders: <out>/<name>/k<K>/<scheme>_<distribution>[_lambda<l>]/seed_<s>/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fl/config.h"
#include "tools/reproduction.h"

namespace nanofed::certfl {

using fl::json;

// A smoothing distribution: the transform (pixel, rotation, translation) and sigma.
struct Dist {
  std::string transform;
  double sigma = 0;
  std::string id() const;     // "pixel0.25"
  std::string label() const;  // "pixel σ=0.25"
  bool operator==(const Dist& o) const { return transform == o.transform && sigma == o.sigma; }
};

enum class Scheme { robust_local, robust_ft, nominal_ft, affine_ft, mixture };

struct RunKey {
  Scheme scheme;
  int64_t clients;
  Dist target;
  double lambda = -1;  // mixture only
  int64_t spot_n = 0;  // > 0: a spot check, the same training certified with n = spot_n
  std::string name() const;  // folder below k<K>/
  std::string group() const; // "k<K>"
};

// What each claim sweeps; the CPU-scaled default or --full (the claims' settings, README.md).
struct Scale {
  std::vector<int64_t> r1_clients;  // R1: K
  std::vector<Dist> r1_dists;       // R1: robust training distributions
  int64_t k = 10;                   // R2, R4, R5 and R3's small K
  std::vector<Dist> r2_dists;       // R2: personalization targets
  int64_t r3_large = 50;            // R3's large K
  std::vector<Dist> r3_dists;       // R3: small-sigma targets
  Dist affine;                      // R4: the federated augmentation
  std::vector<Dist> r4_targets;     // R4: personalization targets
  std::vector<double> lambdas;      // R5, increasing
  std::vector<Dist> r5_dists;       // R5
  int64_t mixture_period = 5;       // R5: local steps between communications (plan.cpp)
  int64_t spot_n = 10000;           // spot checks: R2's runs (first seed) certified with this n
  int64_t spot_samples = 2;         // on this many images per client (a subset of the main run's)
};
Scale scale(bool full);

// Every run the claims need, once each (in claim order).
std::vector<RunKey> needed_runs(const Scale& s);
// The spot checks (first seed only): R2's runs again, certified with n = spot_n on spot_samples
// images per client. Training does not depend on the certification keys, so each trains the
// very models of its main run, and evenly spaced indices put its images among the main run's.
std::vector<RunKey> spot_runs(const Scale& s);

// The planned runs of every seed, each config parsed and validated before any work starts.
// `base` is the experiment config without "seeds"; `source` names it in messages.
std::vector<report::PlannedRun> plan_runs(const json& base, const std::vector<uint64_t>& seeds, const Scale& s,
                                          const std::string& source);
// <root>/k<K>/<name>/seed_<seed>
std::string run_dir(const std::string& root, const RunKey& k, uint64_t seed);

}  // namespace nanofed::certfl
