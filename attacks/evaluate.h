// evaluate.h — what an attack does to a model over a data set: clean and robust accuracy,
// per-sample success, eps sweeps, and adversarial transferability between two models.
//
// Robust accuracy (AutoAttack / RobustBench convention): a sample is
// robust iff the model classifies the clean x correctly AND the adversarial x' correctly, so
// points already misclassified count as non-robust and robust accuracy <= clean accuracy always.
// "Success" means the attack flipped a correct clean prediction: argmax model(x) == y and
// argmax model(x') != y (targeted: == target). Robust accuracy still compares with the true
// label. Untargeted, clean accuracy = robust accuracy + success rate.
// eps 0 runs no PGD at all (x' = x): robust accuracy = clean accuracy, success 0.
//
// Adversarial transferability (000_spurious_fl.md §3, "AdvTrans"): examples are crafted on the
// source model f_g (the global model) against the TRUE labels; S = the crafted examples that
// fool f_g (argmax f_g(x') != y), and
//     AdvTrans = |{x' in S : argmax f_l(x') != y}| / |S|        (1 when f_l == f_g; 0 if S empty)
// with f_l the target (personalized) model. Its loss-based form (eq. 3), averaged over ALL
// samples:
//     l_{g->l} = mean_i [ (CE(f_l(x'_i), y_i) - CE(f_l(x_i), y_i))
//                         - (CE(f_g(x'_i), y_i) - CE(f_g(x_i), y_i)) ]
// (< 0 when the perturbation hurts f_l less than f_g; 0 when f_l == f_g).
// The spurious-features paper's own PGD is L-inf, no random start (x'_0 = x): pass
// random_start = false to match it.
//
// Batches run in the order of the data set; batch k's random start draws from
// gen.derive({k}), so the result does not depend on what ran before.
#pragma once
#include <cstdint>
#include <vector>

#include "attacks/pgd.h"
#include "datasets/dataset.h"

namespace nanofed::attacks {

struct AttackResult {
  int64_t samples = 0;
  int64_t clean_correct = 0;   // argmax f(x) == y
  int64_t robust_correct = 0;  // clean correct and argmax f(x') == y
  int64_t succeeded = 0;       // clean correct and untargeted: argmax f(x') != y; targeted: == target
  double clean_loss_sum = 0, adv_loss_sum = 0;  // summed CE at the true labels
  std::vector<uint8_t> success;  // per sample, in data order (1 = the attack succeeded)
  std::vector<int32_t> clean_prediction, adversarial_prediction;  // argmax f(x), argmax f(x'), data order
  double clean_accuracy() const { return samples ? double(clean_correct) / samples : 0.0; }
  double robust_accuracy() const { return samples ? double(robust_correct) / samples : 0.0; }
  double success_rate() const { return samples ? double(succeeded) / samples : 0.0; }
};

struct EvaluateOptions {
  int64_t batch_size = 256;
  // Targeted attacks: target of sample i = (y_i + target_shift) mod num_classes (torchattacks'
  // set_mode_targeted_by_function with a fixed shift; 0 is invalid when targeted).
  int64_t target_shift = 1;
  Tensor* adversarial = nullptr;  // if set, receives every x' [N, ...] on the model's device
};

// Runs the attack over `data` (moved batch by batch to the model's device).
AttackResult evaluate(nn::Module& model, const datasets::Dataset& data, const AttackOptions& o,
                      Generator& gen, const EvaluateOptions& eo = EvaluateOptions());

// The attack `reference` at another budget: alpha scaled with eps (alpha_k = alpha * eps_k /
// reference.eps, torchattacks' 2/255-per-8/255 ratio kept; if reference.eps == 0, alpha stays).
AttackOptions at_eps(const AttackOptions& reference, float eps);

// evaluate() for each eps in `eps_list`, at at_eps(o, eps). Every eps uses
// the same gen; eps = 0 is the clean accuracy (no PGD run). eo.adversarial, if set, ends
// up holding the last eps's x'.
std::vector<AttackResult> eps_sweep(nn::Module& model, const datasets::Dataset& data, const AttackOptions& o,
                                    const std::vector<float>& eps_list, Generator& gen,
                                    const EvaluateOptions& eo = EvaluateOptions());

struct Transferability {
  int64_t samples = 0;
  int64_t fooled_source = 0;  // |S|
  int64_t fooled_both = 0;    // |{x' in S : f_l fooled}|
  double adv_trans() const { return fooled_source ? double(fooled_both) / fooled_source : 0.0; }
  double loss_measure = 0;    // l_{g->l}, mean over all samples
  double source_clean_accuracy = 0, target_clean_accuracy = 0;
};

// Crafts on `source` (untargeted; o.targeted must be false), evaluates on `target`.
Transferability transferability(nn::Module& source, nn::Module& target, const datasets::Dataset& data,
                                const AttackOptions& o, Generator& gen, int64_t batch_size = 256);
// The same from examples already crafted on `source` against the true labels (e.g. evaluate()'s
// EvaluateOptions::adversarial with an untargeted attack): no second PGD run.
Transferability transferability(nn::Module& source, nn::Module& target, const datasets::Dataset& data,
                                const Tensor& adversarial, int64_t batch_size = 256);

}  // namespace nanofed::attacks
