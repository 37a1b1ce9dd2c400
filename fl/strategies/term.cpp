// term: the "fair" baseline of Ditto §5 ("fair = TERM, t = 1"; Li et al. 2021, tilted ERM), as
// Ditto's code runs it. Each round, for each selected client i:
//   L_i = the mean training loss of the round-start global model w^t on i's full train set,
//         taken BEFORE local training (eval mode); a Byzantine client's poisoned labels count,
//         which is why a fair method amplifies attackers (Ditto §5) — not a bug to fix here;
//   Δ_i = FedAvg local training from w^t (attacks rewrite the corrupted rows as for fedavg);
// and the server moves by the loss-tilted average, which replaces the aggregator:
//   w^{t+1} = w^t + server_lr Σ_i softmax(t L)_i Δ_i,  softmax(t L)_i = e^{t L_i} / Σ_j e^{t L_j}
// over the selected clients, t = `tilt` > 0 (Ditto's tables: 1; figures 1, 2, 5, 10). As t -> 0
// the weights tend to the plain mean; a larger t moves the aggregate toward the worst-off client.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "engine/common.h"
#include "fl/strategies/fedavg.h"

namespace nanofed::fl {
namespace {

// softmax(t L), computed as e^{t (L_i - max L)} / Σ_j e^{t (L_j - max L)} so that no term
// overflows (the largest is 1, hence the sum is >= 1).
std::vector<double> tilted_weights(const std::vector<double>& losses, double t) {
  const double top = *std::max_element(losses.begin(), losses.end());
  std::vector<double> w;
  double total = 0;
  for (double l : losses) total += w.emplace_back(std::exp(t * (l - top)));
  for (double& x : w) x /= total;
  return w;
}

class Term : public FedAvg {
 public:
  explicit Term(const FlConfig& config) : FedAvg(config, false) {}
  // describe() goes on with "| aggregation <chain>", which these weights replace: say so.
  std::string parameters() const override {
    std::ostringstream o;
    o << "(tilt=" << config_.tilt << ", weights softmax(tilt L) replace the aggregator's)";
    return o.str();
  }

 protected:
  std::vector<double> row_weights(Simulation& sim, const std::vector<int64_t>& selected) override {
    std::vector<double> losses(selected.size());
    sim.for_each_client(selected, [&](int64_t i) { losses[i] = sim.global_train_loss(selected[i]); });
    sim.share(selected, losses);  // every rank weights every row
    for (size_t i = 0; i < selected.size(); ++i)
      NF_CHECK(std::isfinite(losses[i]), "term: client " << selected[i] << " has a non-finite training loss ("
                                                         << losses[i] << ") at the round's global model, so the "
                                                         << "tilted weights softmax(tilt L) are undefined");
    return tilted_weights(losses, config_.tilt);
  }
};

}  // namespace

std::unique_ptr<Strategy> make_term(const FlConfig& config) { return std::make_unique<Term>(config); }

}  // namespace nanofed::fl
