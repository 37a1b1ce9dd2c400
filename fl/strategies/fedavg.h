// fedavg.h — FedAvg / FedProx rounds, shared by finetune and ditto (which add to them).
#pragma once
#include "fl/simulation.h"
#include "fl/strategy.h"

namespace nanofed::fl {

// fedavg   w_k <- local SGD from w^t;  w^{t+1} = w^t + server_lr * AGG(w_k - w^t)
// fedprox  the same with mu/2 ||w - w^t||^2 added to each local objective (Li et al. 2020)
// (term, fl/strategies/term.cpp, is fedavg with its own row weights)
class FedAvg : public Strategy {
 public:
  // prox: FedProx's proximal term, weighted by config.mu.
  FedAvg(const FlConfig& config, bool prox) : config_(config), mu_(prox ? config.mu : 0.0), prox_(prox) {}
  void run_round(Simulation& sim, int64_t round) override;
  std::string parameters() const override;

 protected:
  // The weights of the selected clients' rows, worked out at the start of the round from w^t
  // (before any local training), that replace the aggregator (Simulation::aggregate's
  // row_weights); empty = the configured chain.
  virtual std::vector<double> row_weights(Simulation& sim, const std::vector<int64_t>& selected) {
    (void)sim, (void)selected;
    return {};
  }
  // Called after the selected clients' global-side training, with their batches (Ditto's
  // personal steps). A client's numbers never depend on another's, so this order is free.
  virtual void after_clients(Simulation& sim, const std::vector<int64_t>& selected, int64_t round,
                             const std::vector<Simulation::Batches>& batches) {
    (void)sim, (void)selected, (void)round, (void)batches;
  }
  const FlConfig config_;
  const double mu_;
  const bool prox_;
};

}  // namespace nanofed::fl
