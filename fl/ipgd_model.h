// ipgd_model.h — FT-Byzantine §4.3's 10-class MNIST CNN experiment (the reproduction's RT-A3)
// in memory: client draws as the paper's run_mnist.py makes them, one personal model trained by
// Algorithm 1 (IPGD) on an nn::Module with full-batch gradients, and the gradient statistics of
// the empirical-kappa extension (FT-Byzantine §2.3's (f, kappa)-robustness measured along
// training, plugged into §2.5's lambda*).
//
// The update rule is ipgd_personal's (fl/binary_classification.h) on a network instead of a
// logistic regression: every honest client's gradient at the personal model theta_i, in one
// nn::group_gradients call; the f Byzantine rows = the clipped attack on them; R = chain(rows);
// theta_i <- theta_i - lr ((1 - lambda) g_i + lambda R). Only the scored client is personalized,
// as the paper's code does (nb_main_client).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "fl/binary_classification.h"
#include "fl/partition.h"
#include "nn/module.h"

namespace nanofed::fl {

// FT-Byzantine §4.3, one client's samples as indices into one pool: m + test_m distinct indices drawn by draw_by_label (weight
// proportions[label]), then split at random: a random permutation of the draw, its first m
// train, the rest test. So a client's train and test never share a sample (clients may share).
ClientSplit draw_client_split(const std::vector<int32_t>& labels, const std::vector<double>& proportions, int64_t m,
                              int64_t test_m, Generator& gen);

// FT-Byzantine §4.3's federation of one run: p_j ~ Dir(alpha 1_classes) for every client from
// Generator(seed).derive({kDirichletKey}) — the run does not enter, so every run shares them (the
// paper: numpy seed 0) — then client j = 0, 1, ... draws its split with p_j from
// Generator(seed).derive({kClientsKey, run}).
struct LabelSkewFederation {
  std::vector<std::vector<double>> proportions;
  std::vector<ClientSplit> clients;
};
LabelSkewFederation label_skew_federation(const std::vector<int32_t>& labels, int64_t classes, int64_t clients,
                                          double alpha, int64_t m, int64_t test_m, uint64_t seed, int64_t run);

// The honest gradients' geometry at one step, rows g_j [N, P] (j < N honest), client `main`'s
// row among them, and the aggregate R [P]; gbar = the honest mean:
//   spread = (1/N) sum_j ||g_j - gbar||^2,  gap2 = ||g_main - gbar||^2,
//   kappa  = ||R - gbar||^2 / spread   (the smallest kappa for which this step satisfies
//            FT-Byzantine §2.3's (f, kappa)-robustness inequality; NaN when spread = 0).
struct GradientSpread {
  double kappa = 0, spread = 0, gap2 = 0;
};
GradientSpread gradient_spread(const Tensor& honest, int64_t main, const Tensor& R);

// The variance of the mean of the rows of per_sample [m, P] (m >= 2): sum_k ||g_k - gbar||^2 /
// (m (m - 1)). With one row per training sample it is §2.5's a = sigma^2 / m in gradient terms.
double mean_noise(const Tensor& per_sample);

// §2.5's derived lambda* (derived_lambda_star) with measured gradient statistics in place of the
// mean-estimation model's: a = noise, and the spread and gap debiased by the noise they contain
// (E spread = (1 - 1/N) a + Delta^2, E gap2 = (1 - 1/N) a + (mu_i - mu_H)^2), clamped at 0.
double plug_in_lambda_star(int64_t honest, double noise, double kappa, double spread, double gap2);

// One IPGD training's record, at steps 0, every, 2 every, ..., steps (the state after that many
// steps). accuracy: 100 x the share of the test set classified right. The gradient statistics
// are those of the step taken from that state (at `steps`, the gradients are computed once more
// for them); NaN for lambda = 0, which never aggregates.
struct IpgdTrace {
  std::vector<int64_t> step;
  std::vector<double> accuracy, kappa, spread, gap2, noise;
};

// Client data: train_x [n_clients * m, ...] (client j's m samples are rows [j m, (j + 1) m)),
// train_y i32 alike; the first `honest` clients are honest, `main` (< honest) is trained and
// scored on test_x / test_y. The model's parameters start at theta0 (flat_parameters() order)
// and end at the trained personal model. Throws one line naming the bad argument.
IpgdTrace ipgd_model(nn::Module& model, const Tensor& theta0, const Tensor& train_x, const Tensor& train_y, int64_t m,
                     int64_t honest, int64_t main, const Tensor& test_x, const Tensor& test_y, const IpgdSetting& s,
                     int64_t every);

}  // namespace nanofed::fl
