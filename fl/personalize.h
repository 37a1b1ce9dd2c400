// personalize.h — personalizing a frozen global model on one client (Spurious §5-6): the shared
// Adam loop with checkpoint selection, the loss terms the methods combine, and the registry of
// personalizers (one file each under fl/personalizers/).
//
// Why a registry of its own and not a fl::Strategy: the methods start from a finished global
// model and differ only in WHAT one client trains on (its train split, flipped-label or
// recoloured additions, an up-sampled error set) and WHICH terms the loss has; they need no
// rounds, no aggregation and no server. A personalizer therefore maps a client's inputs to a
// Recipe, and train() runs every Recipe the same way.
//
// The loss of a batch B of the recipe's train rows (indices I):
//   mean_{i in I} CE(f_l(x_i), y_i)
//   + lambda_adv * mean_{i in I} [ -sum_k p_ik log softmax(f_l(c_i))_k ]   (c, p: the recipe's
//       consistency inputs and targets, row-aligned with train, so a batch pairs each clean
//       sample with its own adversarial example; p = softmax(f_g(c)), detached, temperature 1)
//   + lambda_l2 * ||w_l - w_g||_2                                          (un-squared, over all
//       trainable parameters; subgradient 0 at w_l = w_g)
// The clean and the consistency batch are forwarded separately (BN statistics of each its own).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "attacks/pgd.h"
#include "datasets/dataset.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "nn/module.h"

namespace nanofed::fl::personalize {

struct Options {
  double lr = 1e-4;          // Adam, as the global model's training (Spurious D.2)
  int64_t epochs = 5;        // over the recipe's train rows
  int64_t batch_size = 64;
  int64_t eval_every = 2;    // batches between checkpoints (batch 0 = w_g is one)
  double lambda_adv = 1.0;   // Ours / consistency-only / benign consistency
  double lambda_l2 = 0.1;    // Ours / L2-only
  double ditto_lambda = 0.1;      // Ditto's ||w_l - w_g|| coefficient: D.2's grid {0.1, 1},
  double ditto_lambda_high = 1.0;  // one personalizer each (ditto, ditto_high)
  double uw_fraction = 0.02;  // UW: share of the train split recoloured as counter-examples
  int64_t upweight = 50;      // UW and JTT: copies of each counter-example / error
};

// What one client gives a personalizer. train/val are in the client's training environment
// (env 0 or 1); train_adv are f_g's PGD examples of train (row-aligned, made once); the *_probs
// are softmax(f_g(.)) on those inputs (detached).
struct ClientInputs {
  datasets::Dataset train, val;
  int64_t env = 0;
  Tensor train_adv, adv_probs, clean_probs;
  Tensor adv_prediction;  // i32 [N]: argmax f_g(train_adv)
};

// What a method trains on: the CE rows, the consistency inputs and targets (undefined = none;
// else row-aligned with train), the two coefficients, and how its checkpoint is chosen.
struct Recipe {
  datasets::Dataset train;
  Tensor consistency_x, consistency_p;
  double lambda_adv = 0, lambda_l2 = 0;
  bool select_by_adv_trans = false;  // Ours: val-acc - (1 - AdvTrans_val); else val-acc
};

// A checkpoint's score (higher is better) of the model after `batches` batches; train() keeps
// the parameters of the best one, the latest of equal scores. Also the place to log a trajectory.
using CheckpointScore = std::function<double(nn::Module& model, int64_t batches)>;

struct Trained {
  Tensor params;            // the selected checkpoint's flat parameters
  int64_t best_batches = 0;  // its batch count
  int64_t total_batches = 0;
};

// ---- the loss terms (unit-tested on hand-computed values)

// mean_i -sum_k p_ik log softmax(logits_i)_k, differentiable in logits (p is not).
Tensor consistency_loss(const Tensor& logits, const Tensor& target_probs);
// grad += lambda (w - w_g) / ||w - w_g||, nothing when w == w_g (the subgradient 0); returns
// ||w - w_g||.
double add_l2_pull(Tensor& grad, const Tensor& w, const Tensor& w_g, double lambda);

// ---- the training loop

// Adam(lr) from w_g (already in `model`) for options.epochs epochs of shuffled batches of the
// recipe's rows (gen decides the order), scoring every eval_every batches and after the last.
Trained train(nn::Module& model, const Recipe& recipe, const Options& options, Generator& gen,
              const CheckpointScore& score);

// ---- data the methods build

// The naive baseline's additions: the adversarial examples that fool f_g (adv_prediction != y),
// labelled with f_g's wrong prediction, appended to train.
datasets::Dataset with_flipped_labels(const ClientInputs& in);
// Colored images (datasets::colorize's g * P[c]: every palette colour has a channel at 1, so
// the gray image is the channel max) rendered again in environment `env`.
datasets::Dataset recolor(const datasets::Dataset& colored, int64_t env);
// `base` with `copies` further copies of rows `rows` of `extra` appended (the up-sampling of UW
// and JTT: sampling a row copies + 1 times as often as once).
datasets::Dataset upsample(const datasets::Dataset& base, const datasets::Dataset& extra,
                           const std::vector<int64_t>& rows, int64_t copies);
// The rows of `data` that `model` misclassifies (eval mode).
std::vector<int64_t> misclassified(nn::Module& model, const datasets::Dataset& data);

// ---- the registry

// A personalizer: the recipe of one client. `fine_tune` runs plain fine-tuning from w_g on a
// data set and leaves its selected model in `model` (JTT's identification model).
struct Context {
  const ClientInputs& inputs;
  const Options& options;
  Generator& gen;
  std::function<void(const datasets::Dataset& data)> fine_tune;
  nn::Module& model;
};
using Personalizer = std::function<Recipe(const Context& context)>;

struct PersonalizerInfo {
  std::string name;   // ft, ditto, ditto_high, naive, uw, jtt, ours, consistency_only, l2_only, benign
  std::string label;  // for tables: "FT", "Ours", ...
  Personalizer make;
};
// In table order; names are unique.
const std::vector<PersonalizerInfo>& personalizers();
// The one called `name`; throws naming the known ones.
const PersonalizerInfo& find_personalizer(const std::string& name);

}  // namespace nanofed::fl::personalize
