#include "fl/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nn/training.h"

namespace nanofed::fl {

Summary summarize(const std::vector<ClientScore>& scores) {
  Summary s;
  std::vector<double> acc;
  int64_t samples = 0, correct = 0;
  double loss_sum = 0, mean_loss = 0;
  for (const ClientScore& c : scores) {
    if (c.samples == 0) {
      ++s.empty;
      continue;
    }
    acc.push_back(c.accuracy());
    samples += c.samples;
    correct += c.correct;
    loss_sum += c.loss_sum;
    mean_loss += c.loss();
  }
  s.clients = (int64_t)acc.size();
  if (acc.empty()) return s;
  const double K = (double)acc.size();
  s.pooled_acc = double(correct) / samples;
  s.pooled_loss = loss_sum / samples;
  s.mean_loss = mean_loss / K;
  double sum = 0;
  for (double a : acc) sum += a;
  s.mean_acc = sum / K;
  double var = 0;
  for (double a : acc) var += (a - s.mean_acc) * (a - s.mean_acc);
  s.std_acc = std::sqrt(var / K);
  std::sort(acc.begin(), acc.end());
  s.min_acc = acc.front();
  s.max_acc = acc.back();
  const size_t tenth = (size_t)std::ceil(0.1 * K);
  double worst = 0, best = 0;
  for (size_t i = 0; i < tenth; ++i) {
    worst += acc[i];
    best += acc[acc.size() - 1 - i];
  }
  s.worst10_acc = worst / tenth;
  s.best10_acc = best / tenth;
  return s;
}

const std::vector<std::string>& summary_columns() {
  static const std::vector<std::string> columns = {"clients",     "pooled_acc", "mean_acc",
                                                   "std_acc",     "min_acc",    "max_acc",
                                                   "worst10_acc", "best10_acc", "pooled_loss",
                                                   "mean_loss"};
  return columns;
}

std::vector<std::string> summary_values(const Summary& s) {
  auto f = [](double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    return std::string(buf);
  };
  return {std::to_string(s.clients), f(s.pooled_acc), f(s.mean_acc), f(s.std_acc),  f(s.min_acc),
          f(s.max_acc),              f(s.worst10_acc), f(s.best10_acc), f(s.pooled_loss), f(s.mean_loss)};
}

ClientScore score(nn::Module& model, const datasets::Dataset& data, int64_t batch_size, Device device) {
  ClientScore out;
  if (data.size() == 0) return out;
  const datasets::Dataset on_device = data.to(device);
  static_cast<nn::Evaluation&>(out) = nn::evaluate(model, on_device.images, on_device.labels, batch_size);
  return out;
}

}  // namespace nanofed::fl
