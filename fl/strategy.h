// strategy.h — what a federated method does, one file per method under fl/strategies/.
//
// A Strategy says what the selected clients do in a round, what the server does with what they
// send, which models are evaluated, and what happens after the last round. It works through
// Simulation's building blocks (plan_batches, train_global_side, train_personal, aggregate,
// update_buffers, apply_aggregate), so clients, state, sampling, RNG keys, aggregation and
// checkpointing stay in Simulation and every method draws the same random numbers for the same
// purpose.
//
// Adding a method (docs/fl.md, "Adding a strategy"): one file fl/strategies/<name>.cpp with a
// Strategy subclass and its factory, one StrategyInfo line in builtin_strategies()
// (fl/strategy.cpp), tests.
// A test may also register_strategy() its own.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fl/config.h"
#include "fl/model_kind.h"

namespace nanofed::fl {

class Simulation;

class Strategy {
 public:
  virtual ~Strategy() = default;
  // One round: sim.last_round().selected are the clients; fill in sim.round_log().train_loss.
  virtual void run_round(Simulation& sim, int64_t round) = 0;
  // After the last round (run() calls it once; a resumed finished run does not).
  virtual void finish(Simulation& sim) { (void)sim; }
  // Which models the method has to show and which one it is judged by; `finished` is true
  // once finish() ran.
  virtual bool has_global() const { return true; }
  virtual bool has_personal(bool finished) const { (void)finished; return false; }
  virtual ModelKind headline(bool finished) const;
  // The personal models each client keeps: one name per set, set 0 first ("personal"). More
  // than one when a method trains several on the same global trajectory (ditto's
  // personal_lambdas: one v_k per lambda, the shared-trajectory trick of Ditto §5).
  virtual std::vector<std::string> personal_sets() const { return {"personal"}; }
  // Whether the method aggregates client vectors (describe() then shows the chain).
  virtual bool aggregates() const { return has_global(); }
  // The method's parameters for describe(), e.g. "(mu=0.01)"; "" when it has none.
  virtual std::string parameters() const { return ""; }
};

using StrategyFactory = std::function<std::unique_ptr<Strategy>(const FlConfig& config)>;

// What the config validation needs to know of a strategy, registered beside its factory, so
// that config code asks the registry instead of listing names.
struct StrategyInfo {
  // The range `lambda` must lie in: unused (any value), >= 0 (ditto), or [0, 1] (mixture, ipgd).
  enum class Lambda { unused, non_negative, unit_interval };
  std::string name;
  StrategyFactory factory;
  Lambda lambda = Lambda::unused;
  // Whether the finished run has personal models (Strategy::has_personal(true)); save_personal
  // needs it.
  bool personal_models = false;
  // Whether it takes personal_lambdas (more personal models on the same global trajectory).
  bool personal_lambdas = false;
  // Whether the strategy weights the clients' rows itself (Simulation::aggregate's row_weights,
  // e.g. TERM): it then replaces the aggregator, so the config allows only aggregator mean or
  // weighted_mean and no pre_aggregators.
  bool weights_rows = false;
};

// Names in registration order (the built-in ones first); config validation accepts these.
std::vector<std::string> strategy_names();
// The registered strategy called `name`, or nullptr.
const StrategyInfo* find_strategy(const std::string& name);
// Adds (or replaces) a strategy under info.name; the short form takes the default properties.
void register_strategy(StrategyInfo info);
void register_strategy(const std::string& name, StrategyFactory factory);
// The strategy config.strategy names; throws naming the known ones when there is none.
std::unique_ptr<Strategy> make_strategy(const FlConfig& config);

// Factories of the built-in strategies (fl/strategies/*.cpp).
std::unique_ptr<Strategy> make_fedavg(const FlConfig& config);
std::unique_ptr<Strategy> make_fedprox(const FlConfig& config);
std::unique_ptr<Strategy> make_local(const FlConfig& config);
std::unique_ptr<Strategy> make_finetune(const FlConfig& config);
std::unique_ptr<Strategy> make_ditto(const FlConfig& config);
std::unique_ptr<Strategy> make_mixture(const FlConfig& config);
std::unique_ptr<Strategy> make_ipgd(const FlConfig& config);
std::unique_ptr<Strategy> make_term(const FlConfig& config);

}  // namespace nanofed::fl
