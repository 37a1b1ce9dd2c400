// robustness.h — adversarial and certified robustness in federated runs: the evaluation of
// every benign client's models after the last round. The options the config describes
// (training-time smoothing augmentation, PGD adversarial training, PGD evaluation,
// certification) are in fl/robust_options.h, included here.
//
// Written into the run directory by evaluate_robustness (when eval_attack / eval_certify are set):
//   robust.csv    client_id, model, num_samples, clean_accuracy, robust_accuracy, success_rate,
//                 adv_trans, adv_trans_loss — one row per benign client and model (global,
//                 personal). adv_trans / adv_trans_loss (000 §3: PGD examples crafted on the
//                 global model, share of those fooling it that also fool the personal model;
//                 and the loss-based measure) only on personal rows of strategies that have both
//                 models, else empty.
//   certify/<model>_client<k>.tsv   Cohen's TSV per client and model, written as it goes
//                 (resumed on resume=true: done rows are kept and skipped)
//   certify.csv   client_id, model, num_samples, certified_accuracy@0, acr, abstained
// and returned as JSON for summary.json ("robustness": per model, mean / min / max over clients
// of robust accuracy, AdvTrans, certified accuracy at radius 0 and ACR, plus the mean
// certified-accuracy curve on a 0.05 grid).
// Samples per client: eval_samples / certify_samples test images evenly spaced over the client's
// test set (index i * n / m, i < m: Cohen's --skip, the same images for every method).
// Every draw comes from Generator(seed).derive({purpose, model, client[, idx]}): results do not
// depend on the order of clients or on a resume.
#pragma once
#include <string>
#include <vector>

#include "fl/config.h"
#include "fl/robust_options.h"
#include "fl/simulation.h"

namespace nanofed::fl {

// The m indices i * n / m (i < m) of a set of n samples (all n when m == 0 or m >= n).
std::vector<int64_t> evenly_spaced(int64_t n, int64_t m);

// Runs what the config asks for (nothing when eval_attack and eval_certify are "none") and
// returns the summary part (an empty object when nothing ran).
json evaluate_robustness(Simulation& sim, const FlConfig& c, const std::string& dir);

}  // namespace nanofed::fl
