// ditto: fedavg for w, and v_k <- v_k - lr (grad F_k(v_k) + lambda (v_k - w^t)) (Ditto §3, Alg. 1):
//   per_step      on the same minibatches as the w steps (the official code),
//   after_global  personal_steps steps after the global local training.
#include <sstream>

#include "engine/text.h"

#include "fl/strategies/fedavg.h"

namespace nanofed::fl {
namespace {

class Ditto : public FedAvg {
 public:
  explicit Ditto(const FlConfig& config) : FedAvg(config, false), after_global_(config.ditto_order == "after_global") {}
  bool has_personal(bool) const override { return true; }
  std::vector<std::string> personal_sets() const override {
    std::vector<std::string> names = {"personal"};
    for (double l : config_.personal_lambdas) names.push_back("personal@lambda=" + fmt(l, "%g"));
    return names;
  }
  std::string parameters() const override {
    std::ostringstream o;
    o << "(lambda=" << config_.lambda << ", " << config_.ditto_order << ")";
    return o.str();
  }

 protected:
  // per_step: Ditto's code takes one batch and steps w and v on it; v's anchor is the fixed
  // w^t, so stepping all of w first and then all of v gives the same numbers.
  void after_clients(Simulation& sim, const std::vector<int64_t>& selected, int64_t round,
                     const std::vector<Simulation::Batches>& batches) override {
    std::vector<int64_t> benign;
    std::vector<Simulation::Batches> personal;
    for (size_t i = 0; i < selected.size(); ++i) {
      const int64_t k = selected[i];
      if (sim.is_byzantine(k)) continue;
      benign.push_back(k);
      const int64_t steps = config_.personal_steps > 0 ? config_.personal_steps : (int64_t)batches[i].steps.size();
      personal.push_back(after_global_ ? sim.plan_batches(k, round, kFinetune, steps, 1) : batches[i]);
    }
    sim.train_personals(benign, personal, sim.global_params(), config_.lambda, 1.0, config_.lr);
    for (size_t s = 0; s < config_.personal_lambdas.size(); ++s)  // the same batches, the same anchor w^t
      sim.train_personals(benign, personal, sim.global_params(), config_.personal_lambdas[s], 1.0, config_.lr, (int)s + 1);
  }

 private:
  const bool after_global_;
};

}  // namespace

std::unique_ptr<Strategy> make_ditto(const FlConfig& config) { return std::make_unique<Ditto>(config); }

}  // namespace nanofed::fl
