// binary_classification.h — FT-Byzantine §4.2's binary experiments (its Phishing logistic
// regression, and binary MNIST of §4.4), the pieces the reproduction's RT-A2 sweep runs in
// memory: 2-class label-skewed clients, logistic regression (Linear(dim, 2) + softmax
// cross-entropy) in double on the host, and one personal model trained by the paper's
// Algorithm 1 (IPGD) with full-batch gradients, the same update rule as fl/strategies/ipgd.cpp:
//   g_j = grad L_j(theta_i) for every honest j, the f Byzantine rows = the attack on them,
//   R = chain(g), theta_i <- theta_i - lr ((1 - lambda) g_i + lambda R).
// The sweep needs ~10^3 (f, m, alpha, lambda, run) points of 500 steps x 20 gradients: the
// general fl::Simulation (modules, loaders, one personal model per honest client) costs far more
// per step than these loops, which personalize only the scored client, as the paper's code does.
// Plus the small computations RT-A2's criteria are made of.
#pragma once
#include <cstdint>
#include <vector>

#include "datasets/dataset.h"
#include "engine/random.h"
#include "fl/mean_estimation.h"

namespace nanofed::fl {

// 1 when label <= threshold, else 0 (binary MNIST, FT-Byzantine §4.4: digit <= 4 is class 1).
std::vector<int32_t> binary_labels(const std::vector<int32_t>& labels, int32_t threshold);

// `count` distinct indices drawn one at a time, each remaining sample weighted by
// proportions[its label] (numpy's choice(replace=False, p ∝ proportions[label]), the paper's
// client sampler), in draw order. Throws when fewer than `count` samples have positive weight.
std::vector<int64_t> draw_by_label(const std::vector<int32_t>& labels, const std::vector<double>& proportions,
                                   int64_t count, Generator& gen);

// Rows of `dim` features (row-major, double) with 0/1 labels.
struct BinaryData {
  int64_t dim = 0;
  std::vector<double> x;
  std::vector<int32_t> y;
  int64_t size() const { return (int64_t)y.size(); }
  BinaryData subset(const std::vector<int64_t>& rows) const;
};

// A data set's images flattened to rows, each feature (v - shift) / scale, with `labels01`
// (0/1, one per sample) as labels.
BinaryData binary_data(const datasets::Dataset& d, const std::vector<int32_t>& labels01, double shift = 0,
                       double scale = 1);

struct BinaryClient {
  BinaryData train, test;
};

// Client j (in order) draws m rows of `train`, then test_m rows of `test`, by draw_by_label with
// proportions[j] (FT-Byzantine §4.2: p_j ~ Dir(alpha 1_2); clients may share samples).
std::vector<BinaryClient> label_skew_clients(const BinaryData& train, const BinaryData& test,
                                             const std::vector<std::vector<double>>& proportions, int64_t m,
                                             int64_t test_m, Generator& gen);

// Linear(dim, 2)'s flat parameters, laid out as nn::Linear's: weight [2, dim] row-major, then bias [2].
inline int64_t logistic_params(int64_t dim) { return 2 * dim + 2; }
// The mean softmax cross-entropy gradient over d's rows at theta.
std::vector<double> logistic_gradient(const std::vector<double>& theta, const BinaryData& d);
// 100 x the share of d's rows whose larger logit is their label (a tie counts as class 0, as argmax).
double logistic_accuracy(const std::vector<double>& theta, const BinaryData& d);

struct IpgdSetting {
  double lambda = 0.5, lr = 0.1;
  int64_t steps = 500;
  int64_t byzantine = 0;                     // f rows, all one vector: the attack on the honest rows
  AttackConfig attack = sign_flip_attack();  // SF, the paper's scripts
  double byzantine_clip = 1;                 // the released code clips that vector to norm 1; <= 0: not clipped
  AggregatorChain chain;                     // e.g. paper_chain(f, 0): server_clip -> NNM -> trimmed mean
};

// The personal model of client `main` after s.steps IPGD steps from theta0, the first `honest`
// clients being the honest ones (the rest are Byzantine: their data is unused). Rows: the honest
// gradients in order, then the f Byzantine copies. lambda = 0 skips the aggregation (its weight
// is 0). Throws one line naming the bad argument.
std::vector<double> ipgd_personal(const std::vector<BinaryClient>& clients, int64_t honest, int64_t main,
                                  const IpgdSetting& s, std::vector<double> theta0);

// ---- RT-A2's criteria are made of these

// The largest fall from one value to the next (0 when the values never fall).
double largest_fall(const std::vector<double>& v);
// The index of the largest value (the first on ties).
size_t first_argmax(const std::vector<double>& v);
bool non_increasing(const std::vector<double>& v);
// fs[i] for the first i at which local learning beats full collaboration (local[i] > full[i]);
// +inf when it never does.
double crossover_f(const std::vector<double>& fs, const std::vector<double>& local, const std::vector<double>& full);

// ---- and RT-A3's (the MNIST CNN, examples/byzantine_ft/mnist_cnn.cpp)

// The grid value of each curve's first largest accuracy (curves[f index][lambda index]).
std::vector<double> argmax_path(const std::vector<std::vector<double>>& curves, const std::vector<double>& lambdas);
// The largest |ours - paper| over the cells of two equal-shaped tables.
double largest_gap(const std::vector<std::vector<double>>& ours, const std::vector<std::vector<double>>& paper);

}  // namespace nanofed::fl
