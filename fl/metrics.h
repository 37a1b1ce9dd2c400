// metrics.h — per-client test scores and their fairness summary (Ditto §4).
//
//   pooled_acc   sum correct / sum samples over the clients (sample-weighted; Ditto's code prints it)
//   mean_acc     unweighted mean of per-client accuracies (the paper text's "average across devices")
//   std_acc      population std (ddof 0) of per-client accuracies (Ditto's np.var, square-rooted)
//   min/max_acc  worst and best client
//   worst10_acc  mean accuracy of the worst ceil(0.1 * clients) clients (not in the paper; ours)
//   best10_acc   mean accuracy of the best ceil(0.1 * clients)
//   pooled_loss  sum loss / sum samples;  mean_loss: unweighted mean of per-client mean losses
// Clients with no test samples are left out of every statistic (and counted in `empty`).
// Robustness and fairness are measured on benign clients only: callers pass only those.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "nn/module.h"
#include "nn/training.h"

namespace nanofed::fl {

struct ClientScore : nn::Evaluation {  // samples, correct, loss_sum; accuracy(), loss()
  int64_t client = 0;
};

struct Summary {
  int64_t clients = 0, empty = 0;
  double pooled_acc = 0, mean_acc = 0, std_acc = 0, min_acc = 0, max_acc = 0;
  double worst10_acc = 0, best10_acc = 0, pooled_loss = 0, mean_loss = 0;
};

Summary summarize(const std::vector<ClientScore>& scores);

// The CSV columns of a Summary, in order, and one row of values ("%.6f").
const std::vector<std::string>& summary_columns();
std::vector<std::string> summary_values(const Summary& s);

// Cross-entropy and accuracy of `model` (switched to eval mode, then back to its former
// mode) on `data`, in batches of batch_size on `device`; sums kept on the device, one read.
ClientScore score(nn::Module& model, const datasets::Dataset& data, int64_t batch_size, Device device);

}  // namespace nanofed::fl
