// mixture (004 Eq. 4-5): theta_i <- theta_i - lr (lambda grad L_i + 2 (1 - lambda)(theta_i - theta_bar)),
// theta_bar = the server model. The client sends theta_i - theta_bar and the server moves
// theta_bar by the aggregate (with full participation and the mean: theta_bar = mean_i theta_i,
// the paper's average).
#include <cmath>
#include <sstream>

#include "engine/ops/elementwise.h"
#include "fl/simulation.h"
#include "fl/strategy.h"

namespace nanofed::fl {
namespace {

class Mixture : public Strategy {
 public:
  explicit Mixture(const FlConfig& config) : config_(config) {}
  bool has_personal(bool) const override { return true; }
  std::string parameters() const override {
    std::ostringstream o;
    o << "(lambda=" << config_.lambda << (config_.mixture_overwrite ? ", overwrite" : "") << ")";
    return o.str();
  }

  void run_round(Simulation& sim, int64_t round) override {
    const std::vector<int64_t> selected = sim.last_round().selected;
    const double lambda = config_.lambda;
    std::vector<Simulation::Batches> batches;
    for (int64_t k : selected) {
      if (config_.mixture_overwrite && sim.owns(k)) {
        Simulation::ClientState& s = sim.personal_state(k);
        s.personal_params.copy_(sim.global_params());
        if (s.personal_buffers.numel() > 0) s.personal_buffers.copy_(sim.global_buffers());
      }
      batches.push_back(sim.plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs));
    }
    const std::vector<double> losses =
        sim.train_personals(selected, batches, sim.global_params(), 2.0 * (1.0 - lambda), lambda, config_.lr);
    std::vector<Simulation::LocalResult> results(selected.size());
    for (size_t i = 0; i < selected.size(); ++i) {
      if (!sim.owns(selected[i])) continue;  // filled by aggregate from the owner
      const Simulation::ClientState& s = sim.personal_state(selected[i]);
      Simulation::LocalResult& r = results[i];
      r.loss = losses[i];
      r.finite = std::isfinite(r.loss);
      r.update = sub(s.personal_params, sim.global_params());
      r.buffers = s.personal_buffers.clone();
    }
    sim.round_log().train_loss = sim.mean_benign_loss(selected, losses);
    const Tensor agg = sim.aggregate(round, 0, selected, results);
    sim.update_buffers(selected, results);
    sim.apply_aggregate(agg);
  }

 private:
  const FlConfig config_;
};

}  // namespace

std::unique_ptr<Strategy> make_mixture(const FlConfig& config) { return std::make_unique<Mixture>(config); }

}  // namespace nanofed::fl
