#include "fl/strategies/fedavg.h"

#include <sstream>

namespace nanofed::fl {

void FedAvg::run_round(Simulation& sim, int64_t round) {
  const std::vector<int64_t> selected = sim.last_round().selected;
  const std::vector<double> weights = row_weights(sim, selected);
  std::vector<Simulation::Batches> batches;
  for (int64_t k : selected) batches.push_back(sim.plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs));
  std::vector<Simulation::LocalResult> results = sim.train_global_sides(selected, batches, mu_);
  std::vector<double> losses;
  for (const auto& r : results) losses.push_back(r.loss);
  after_clients(sim, selected, round, batches);
  sim.round_log().train_loss = sim.mean_benign_loss(selected, losses);
  const Tensor agg = sim.aggregate(round, 0, selected, results, weights);
  sim.update_buffers(selected, results);
  sim.apply_aggregate(agg);
}

std::string FedAvg::parameters() const {
  if (!prox_) return "";
  std::ostringstream o;
  o << "(mu=" << config_.mu << ")";
  return o.str();
}

std::unique_ptr<Strategy> make_fedavg(const FlConfig& config) { return std::make_unique<FedAvg>(config, false); }
std::unique_ptr<Strategy> make_fedprox(const FlConfig& config) { return std::make_unique<FedAvg>(config, true); }

}  // namespace nanofed::fl
