// spurious_gaussian.h — the spurious-features paper's Gaussian simulation (Spurious App. E.2,
// Figs. 7-8, docs/references.md): why FedAvg's global model ignores a feature whose link to the
// label differs between clients, and which personalization keeps ignoring it.
//
// Data: client i holds n samples (x = [x_r, x_s], y): y uniform in {0, 1},
//   x_r ~ N(2y - 1, 1)          (the real feature, the same everywhere)
//   x_s ~ N(c_i (2y - 1), 1)    (the spurious one: c_i = 1 for even i, and for odd i -1 when the
//                                shift flips (Fig. 7a/c) or 0 when it vanishes (Fig. 7b/d))
// Model: logistic regression p(y = 1 | x) = sigmoid(w . x), no bias (the theory's, Spurious §4);
// the loss is the mean cross-entropy.
//
// FedAvg: each round clients_per_round clients drawn uniformly take local_steps minibatch SGD
// steps from w, and the server averages their weights (equal sizes: the plain mean).
// Personalization (Fig. 8): on one client with c = 1, from w_g, minibatch SGD on
//   CE(w)  +  lambda_adv R_adv(w)  +  lambda_l2 ||w - w_g||
//   R_adv = -[p_g log p_l + (1 - p_g) log (1 - p_l)] on x_adv, p_g = sigmoid(w_g . x_adv) fixed,
//           the binary form of the paper's consistency on the global model's logits (§5.1);
//   ||w - w_g|| un-squared (§5.2), subgradient 0 at w = w_g (PyTorch's norm backward);
//   x_adv = L_inf PGD on f_g from x at the true label, made once before personalization.
// The four methods of Fig. 8: ft (0, 0), consistency (lambda_adv, 0), align (0, lambda_l2),
// ours (lambda_adv, lambda_l2).
// Every draw comes from Generator(seed).derive({purpose, ...}): data, client sampling, batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"

namespace nanofed::fl {

struct SpuriousSample {
  double xr = 0, xs = 0;
  int y = 0;
};
using SpuriousClient = std::vector<SpuriousSample>;
enum class SpuriousShift { flip, vanish };

struct LinearWeights {
  double r = 0, s = 0;
};

// The clients' data (client i from gen.derive({i})).
std::vector<SpuriousClient> spurious_gaussian_clients(int64_t clients, int64_t samples, SpuriousShift shift,
                                                      const Generator& gen);

// Gradients (means over the samples idx of d):
//   CE         (sigmoid(w . x) - y) x
//   R_adv      (sigmoid(w . x) - sigmoid(w_g . x)) x    on the adversarial samples
//   ||w - w_g||  (w - w_g) / ||w - w_g||, 0 when w = w_g
LinearWeights cross_entropy_gradient(const LinearWeights& w, const SpuriousClient& d, const std::vector<int64_t>& idx);
LinearWeights consistency_gradient(const LinearWeights& w, const LinearWeights& w_g, const SpuriousClient& adv,
                                   const std::vector<int64_t>& idx);
LinearWeights distance_subgradient(const LinearWeights& w, const LinearWeights& w_g);

// L_inf PGD on f_g (from x, `steps` sign steps of alpha on the CE at the true label, projected to
// the eps box around x; no clipping: the features are unbounded). sign(0) = 0, so a feature the
// global model ignores is not moved.
SpuriousClient spurious_pgd(const LinearWeights& w_g, const SpuriousClient& d, double eps, int64_t steps, double alpha);

struct SpuriousFedAvgOptions {
  int64_t rounds = 200, clients_per_round = 5, local_steps = 5, batch_size = 16;
  double lr = 0.1;
};
// w after each round (rounds + 1 entries, the start [0, 0] first).
std::vector<LinearWeights> spurious_fedavg(const std::vector<SpuriousClient>& clients, const SpuriousFedAvgOptions& o,
                                           const Generator& gen);

struct SpuriousPersonalizeOptions {
  int64_t steps = 200, batch_size = 16;
  double lr = 0.1, lambda_adv = 0, lambda_l2 = 0;
  double eps = 0.75, alpha = 0.1875;  // PGD on f_g: eps / 4 a step, 10 steps
  int64_t pgd_steps = 10;
};
// w after each step (steps + 1 entries, w_g first). The batches depend on gen only, so every
// method sees the same minibatches.
std::vector<LinearWeights> spurious_personalize(const SpuriousClient& d, const LinearWeights& w_g,
                                                const SpuriousPersonalizeOptions& o, const Generator& gen);

// Accuracy of w on d.
double spurious_accuracy(const LinearWeights& w, const SpuriousClient& d);

}  // namespace nanofed::fl
