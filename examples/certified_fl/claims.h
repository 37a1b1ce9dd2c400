// claims.h — the certified-FL claims R1-R5 (examples/certified_fl/README.md) judged from the runs' certification
// TSVs (certify/<model>_client<k>.tsv): per claim a markdown table (client-mean ACR and CA(0),
// mean ± sd over seeds, [min, max] client), its criteria (PASS only when the rule holds on every
// seed), and its figures (certified accuracy against radius with min-max client bands, ACR
// against K, ACR against lambda).
#pragma once
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "certify/results.h"
#include "examples/certified_fl/plan.h"
#include "tools/certified_fl.h"
#include "tools/reproduction.h"

namespace nanofed::certfl {

using report::Criterion;
using report::certfl::Measure;
using Clients = std::vector<std::vector<certify::CertifyRow>>;  // one list of rows per client

// The TSVs of the finished runs under `root`, read once each.
class Results {
 public:
  Results(std::string root, std::vector<uint64_t> seeds) : root_(std::move(root)), seeds_(std::move(seeds)) {}
  // model: "global" (federated / theta bar) or "personal" (local, personalized, mixture theta_i)
  const Clients& clients(const RunKey& k, const std::string& model, uint64_t seed);
  std::vector<Measure> per_seed(const RunKey& k, const std::string& model);
  // Every seed's clients in one list (the figures' bands span all of them).
  Clients pooled(const RunKey& k, const std::string& model);
  const std::vector<uint64_t>& seeds() const { return seeds_; }

 private:
  std::string root_;
  std::vector<uint64_t> seeds_;
  std::map<std::tuple<std::string, std::string, uint64_t>, Clients> cache_;
};

struct Section {
  std::string markdown;
  std::vector<Criterion> criteria;
  std::vector<report::Figure> figures;
};

Section claim_r1(Results& r, const Scale& s);
Section claim_r2(Results& r, const Scale& s);
Section claim_r3(Results& r, const Scale& s);
Section claim_r4(Results& r, const Scale& s);
Section claim_r5(Results& r, const Scale& s);
// The spot checks (plan.h): ACR and CA(0) of the same images at the main n and at spot_n, as a
// reference table (no criteria: radii grow with n by construction, R_max = sigma PhiInv(alpha^(1/n))).
Section spot_check(Results& r, const Scale& s, int64_t main_n);

}  // namespace nanofed::certfl
