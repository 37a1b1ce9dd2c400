// certified_fl.h — what the certified-FL reproduction (examples/certified_fl and its
// README's claims R1-R5) computes from its certification TSVs: per-client values summarized over clients
// (mean and min-max, the paper's bands), over seeds (mean ± sd), and the claims' tests as pure
// functions of those numbers, so each "reproduced if" rule is unit-tested apart from the runs.
//
// A claim is judged on every seed separately and holds only when it holds on all of them
// (the reproduction plan: "each claim must hold for 2 seeds").
#pragma once
#include <string>
#include <vector>

#include "certify/results.h"
#include "tools/report.h"

namespace nanofed::report::certfl {

// Mean, smallest and largest of per-client values (throws on an empty list).
struct Spread {
  double mean = 0, min = 0, max = 0;
  double range() const { return max - min; }
};
Spread spread_of(const std::vector<double>& values);

// Mean and sample standard deviation (n - 1; 0 for one value) over seeds (throws on empty).
struct MeanSd {
  double mean = 0, sd = 0;
};
MeanSd mean_sd(const std::vector<double>& values);
// "0.412 ± 0.010" (the ± part only with more than one value).
std::string mean_sd_text(const std::vector<double>& values, const char* format = "%.3f");

// One model of one run and seed, over its clients: ACR and certified accuracy at radius 0.
struct Measure {
  Spread acr, ca0;
};
// From each client's certification rows (one list per client; ACR and CA(0) as
// certify/results.h defines them: abstentions count as wrong, divided by all rows).
Measure measure(const std::vector<std::vector<certify::CertifyRow>>& clients);

// (a - b) / b: the relative ACR gap of a over b (+inf when b is 0 and a > 0).
double relative_gap(double a, double b);
// true when v[i + 1] <= v[i] + tolerance for every i ("roughly non-increasing").
bool non_increasing_within(const std::vector<double>& v, double tolerance);
// true when the list is non-empty and every entry is true (a claim over seeds).
bool every(const std::vector<bool>& per_seed);

// ---- the claims' rules (examples/certified_fl/README.md), one seed each ----

// R1 (a): federated beats local: higher client-mean ACR and CA(0), and an ACR gap of at least
// min_gap relative to local.
bool fed_beats_local(const Measure& fed, const Measure& local, double min_gap);
// R1 (c): the client spread (max - min) of CA(0) is larger for local than for federated.
bool local_spread_larger(const Measure& local, const Measure& fed);
// R1 (d): personalized within `tolerance` (relative) of federated in client-mean ACR.
bool close_in_acr(const Measure& personalized, const Measure& fed, double tolerance);
// R5: the mixture at the smallest lambda against FedAvg, the mixture at lambda = 1 and
// personalized fine-tuning; `by_lambda` in increasing lambda, its first entry the smallest.
struct MixtureVerdict {
  bool beats_fedavg = false;      // ACR(lambda min) >= ACR(FedAvg)
  bool beats_local_end = false;   // ACR(lambda min) > ACR(lambda max)
  bool non_increasing = false;    // ACR non-increasing in lambda within 5% of ACR(lambda min)
  bool narrower_than_ft = false;  // client range of ACR(lambda min) <= that of fine-tuning
};
MixtureVerdict judge_mixture(const std::vector<Measure>& by_lambda, const Measure& fedavg, const Measure& finetune);

// The certified-accuracy curves of several clients on one radius grid as one line: the mean
// over clients, band the smallest and largest client (empty band for one client).
Series client_band(const std::string& label, const std::vector<double>& radii,
                   const std::vector<std::vector<certify::CertifyRow>>& clients);

}  // namespace nanofed::report::certfl
