// ipgd (002 Algorithm 1): for every benign selected client i, local_steps times (1 if 0):
//   g_j = grad L_j(theta_i) on one batch of client j, for every selected j (Byzantine rows
//   attacked, non-finite rows screened as for updates), R = AGG(g), and
//   theta_i <- theta_i - lr ((1 - lambda) g_i + lambda R).
// Plain gradient steps: momentum and weight decay do not apply; BN statistics are not updated.
#include <algorithm>
#include <sstream>

#include "engine/ops/elementwise.h"
#include "fl/simulation.h"
#include "fl/strategy.h"

namespace nanofed::fl {
namespace {

class Ipgd : public Strategy {
 public:
  explicit Ipgd(const FlConfig& config) : config_(config), steps_(std::max<int64_t>(1, config.local_steps)) {}
  bool has_global() const override { return false; }
  bool has_personal(bool) const override { return true; }
  bool aggregates() const override { return true; }
  std::string parameters() const override {
    std::ostringstream o;
    o << "(lambda=" << config_.lambda << ")";
    return o.str();
  }

  void run_round(Simulation& sim, int64_t round) override {
    const std::vector<int64_t> selected = sim.last_round().selected;
    std::vector<double> losses;
    for (int64_t i : selected) {
      double loss_i = 0;
      if (!sim.is_byzantine(i))
        for (int64_t step = 0; step < steps_; ++step) loss_i += personal_step(sim, round, i, step, selected) / steps_;
      losses.push_back(loss_i);
    }
    sim.round_log().train_loss = sim.mean_benign_loss(selected, losses);
  }

 private:
  // One step of theta_i; returns client i's loss on its own batch (on the rank that owns i).
  double personal_step(Simulation& sim, int64_t round, int64_t i, int64_t step, const std::vector<int64_t>& selected) {
    // A gradient step leaves the parameters alone, so theta_i is loaded once per step (in
    // train mode the BN statistics move, but they do not enter the gradient). Over MPI, i's rank
    // sends theta_i to the others and each rank computes the g_j of its own clients j.
    nn::Module& model = sim.worker();
    sim.load_personal_everywhere(model, i);
    std::vector<Simulation::LocalResult> grads(selected.size());
    gradients(sim, model, round, i, step, selected, grads);
    const size_t me = std::find(selected.begin(), selected.end(), i) - selected.begin();
    const Tensor own = grads[me].update;
    const double loss = grads[me].loss;
    // Attack and pre-aggregation draws keyed by (round, i, step): each personal model its own.
    const Tensor R = sim.aggregate(round, 1 + (uint64_t)i * (uint64_t)steps_ + (uint64_t)step, selected, grads);
    if (!sim.owns(i)) return 0.0;
    Simulation::ClientState& s = sim.personal_state(i);
    add_(s.personal_params, own, (float)(-config_.lr * (1.0 - config_.lambda)));
    if (R.defined()) add_(s.personal_params, R, (float)(-config_.lr * config_.lambda));
    return loss;
  }

  // g_j at theta_i (loaded in `model`) on one batch of each selected client j (owned by this
  // rank): a fresh random batch per (round, i, step, j); the loss is read only for j = i. With
  // the cohort on, clients with equal batch sizes share one grouped pass (Simulation::gradients_at).
  void gradients(Simulation& sim, nn::Module& model, int64_t round, int64_t i, int64_t step,
                 const std::vector<int64_t>& selected, std::vector<Simulation::LocalResult>& out) const {
    const uint64_t t = round, me = i, s = step;
    std::vector<std::vector<int64_t>> idx(selected.size());
    std::vector<Generator> perturb;
    for (size_t j = 0; j < selected.size(); ++j) {
      const uint64_t from = selected[j];
      perturb.push_back(sim.generator().derive({kPerturb, kIpgd, t, me, s, from}));
      const int64_t n = sim.train_size(selected[j]);
      if (!sim.owns(selected[j]) || n == 0) continue;
      Generator g = sim.generator().derive({kIpgd, t, me, s, from});
      idx[j] = randperm(n, g);
      idx[j].resize(std::min(n, config_.batch_size));
    }
    std::vector<double> losses;
    const std::vector<Tensor> grads = sim.gradients_at(model, selected, idx, perturb, i, losses);
    for (size_t j = 0; j < selected.size(); ++j) {
      if (!sim.owns(selected[j])) continue;
      out[j].update = idx[j].empty() ? zeros_like(model.flat_parameters()) : grads[j];
      if (selected[j] == i) out[j].loss = losses[j];  // logged; NaN rows are caught by aggregate()
    }
  }

  const FlConfig config_;
  const int64_t steps_;
};

}  // namespace

std::unique_ptr<Strategy> make_ipgd(const FlConfig& config) { return std::make_unique<Ipgd>(config); }

}  // namespace nanofed::fl
