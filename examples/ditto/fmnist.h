// fmnist.h — the Fashion-MNIST part of the Ditto reproduction (Ditto §5, Table 8 subset):
// which federated runs to make, how their CSVs become the table, and the criteria.
//
// Cells (attack settings) and the runs made in each; one folder per run and seed under
// <out>/<name>/<cell>/<run>/seed_<s>/ (fl::run_one's files: rounds.csv, clients.csv, ...):
//   every cell      ditto      strategy ditto, lambda 1, personal_lambdas [0, 0.1, 2]: ONE global
//                              trajectory gives "global" (w^T), "local" (lambda 0: the same
//                              schedule, no pull) and Ditto at 0.1 / 1 / 2 (the shared-trajectory
//                              trick: w^t does not depend on lambda)
//                   finetune   FedAvg, then finetune_epochs of SGD from w^T on each device
//   clean, A1 50%   term       TERM t = 1, the paper's "fair" baseline
//   A3 50%          median, clipping (to the round's median norm), multi_krum
//   A1 50%, A3 50%  twostage   FMTL Fig. 4's two-stage solver: fine-tune h_k(v; w^T) with the
//                              cell's Ditto lambda (1 and 0.1)
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "examples/ditto/criteria.h"
#include "fl/config.h"
#include "tools/report.h"

namespace nanofed::ditto {

using fl::json;

struct Cell {
  std::string label;  // as in the paper's tables: "clean", "A1 50%", ...
  std::string dir;    // folder name
  json overrides;     // attack keys
  bool strong;        // Ditto G.4's "strong attack": every A3, or more than half corrupted
};
const std::vector<Cell>& cells();

// One federated run of the reproduction (one seed).
struct RunSpec {
  std::string cell, run;  // cell label, run name (ditto, finetune, term, ...)
  fl::FlConfig config;
  std::string dir;
};
// Every run of every seed, parsed and validated (nothing runs before all of them parse).
// `base` is the experiment config (examples/ditto/config.json + overrides) without "seeds".
std::vector<RunSpec> plan_runs(const json& base, const std::vector<uint64_t>& seeds, const std::string& source);

// A method of the table: the run that trains it and the model (rounds.csv's model column) that
// is evaluated for it (Ditto §4: global / personal / fine-tuned).
struct Method {
  std::string label, run, model;
  double lambda = -1;  // Ditto rows: their lambda
};
const std::vector<Method>& methods();

// The last evaluated round of one model in one run, from its rounds.csv.
struct Final {
  double pooled = 0, mean = 0, std = 0, worst10 = 0;
};
// Per (cell, method label): one Final per seed that has the run.
using Measured = std::map<std::pair<std::string, std::string>, std::vector<Final>>;
Measured read_finals(const std::vector<RunSpec>& runs);
// Ditto's dynamic lambda (App. G.4), chosen per device on its validation rows of the ditto run's
// clients.csv, added to `out` as the method "Ditto, dynamic lambda".
void add_dynamic_finals(const std::vector<RunSpec>& runs, Measured& out);

// Mean over seeds of one field, of the pooled accuracy, of the std across devices; NaN when not run.
double mean_over_seeds(const Measured& m, const std::string& cell, const std::string& method, double Final::*field);
double mean_pooled(const Measured& m, const std::string& cell, const std::string& method);
double mean_std(const Measured& m, const std::string& cell, const std::string& method);

struct Section {
  std::string markdown;
  std::vector<Criterion> criteria;
  std::vector<report::Figure> figures;
};
// The Table 8 comparison, the structural criteria (and the absolute bands when `full`), figures.
Section fmnist_section(const std::vector<RunSpec>& runs, const Measured& m, bool full);
// The workshop version's (FMTL) claims that the same runs can judge (its theory claims are in
// the theory section, marked FMTL).
Section fmtl_section(const Measured& m);

}  // namespace nanofed::ditto
