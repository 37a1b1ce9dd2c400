// finetune: fedavg rounds, then after the last round every benign client fine-tunes w^T
// (001 §2.6, 004 §2.7): finetune_epochs epochs of SGD at finetune_lr, pulled toward w^T by
// finetune_lambda (0 = plain fine-tuning).
#include <sstream>

#include "fl/strategies/fedavg.h"

namespace nanofed::fl {
namespace {

class Finetune : public FedAvg {
 public:
  explicit Finetune(const FlConfig& config) : FedAvg(config, false) {}
  bool has_personal(bool finished) const override { return finished; }
  std::string parameters() const override {
    std::ostringstream o;
    o << "(epochs=" << config_.finetune_epochs << ", lr=" << lr() << ", lambda=" << config_.finetune_lambda << ")";
    return o.str();
  }

  void finish(Simulation& sim) override {
    std::vector<int64_t> benign;
    std::vector<Simulation::Batches> batches;
    for (int64_t k = 0; k < sim.num_clients(); ++k) {
      if (sim.is_byzantine(k) || !sim.owns(k)) continue;
      Simulation::ClientState& s = sim.personal_state(k);
      s.personal_params.copy_(sim.global_params());
      if (s.personal_buffers.numel() > 0) s.personal_buffers.copy_(sim.client_buffers(k));
      if (config_.finetune_epochs == 0) continue;
      benign.push_back(k);
      batches.push_back(sim.plan_batches(k, config_.rounds, kFinetune, 0, config_.finetune_epochs));
    }
    sim.train_personals(benign, batches, sim.global_params(), config_.finetune_lambda, 1.0, lr());
  }

 private:
  double lr() const { return config_.finetune_lr > 0 ? config_.finetune_lr : config_.lr; }
};

}  // namespace

std::unique_ptr<Strategy> make_finetune(const FlConfig& config) { return std::make_unique<Finetune>(config); }

}  // namespace nanofed::fl
