// local: Ditto's "local" baseline (lambda = 0): v_k gets the local steps when k is selected;
// nothing is sent and there is no server model.
#include "fl/simulation.h"
#include "fl/strategy.h"

namespace nanofed::fl {
namespace {

class Local : public Strategy {
 public:
  explicit Local(const FlConfig& config) : config_(config) {}
  bool has_global() const override { return false; }
  bool has_personal(bool) const override { return true; }

  void run_round(Simulation& sim, int64_t round) override {
    const std::vector<int64_t> selected = sim.last_round().selected;
    std::vector<int64_t> benign;
    std::vector<Simulation::Batches> batches;
    for (int64_t k : selected)
      if (!sim.is_byzantine(k))
        benign.push_back(k), batches.push_back(sim.plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs));
    const std::vector<double> trained = sim.train_personals(benign, batches, Tensor(), 0.0, 1.0, config_.lr);
    std::vector<double> losses(selected.size(), 0.0);  // Byzantine clients: 0, not counted
    for (size_t i = 0, b = 0; i < selected.size(); ++i)
      if (!sim.is_byzantine(selected[i])) losses[i] = trained[b++];
    sim.round_log().train_loss = sim.mean_benign_loss(selected, losses);
  }

 private:
  const FlConfig config_;
};

}  // namespace

std::unique_ptr<Strategy> make_local(const FlConfig& config) { return std::make_unique<Local>(config); }

}  // namespace nanofed::fl
