#include "fl/strategy.h"

#include <utility>

#include "engine/common.h"
#include "fl/simulation.h"

namespace nanofed::fl {

ModelKind Strategy::headline(bool finished) const {
  return has_personal(finished) ? ModelKind::personal : ModelKind::global;
}

namespace {

using Registry = std::vector<std::pair<std::string, StrategyFactory>>;

// One line per built-in strategy; the order is the order error messages list them in.
Registry builtin_strategies() {
  return {{"fedavg", make_fedavg}, {"fedprox", make_fedprox}, {"local", make_local},
          {"finetune", make_finetune}, {"ditto", make_ditto}, {"mixture", make_mixture},
          {"ipgd", make_ipgd}};
}

Registry& registry() {
  static Registry r = builtin_strategies();
  return r;
}

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

void register_strategy(const std::string& name, StrategyFactory factory) {
  for (auto& entry : registry())
    if (entry.first == name) {
      entry.second = std::move(factory);
      return;
    }
  registry().emplace_back(name, std::move(factory));
}

std::unique_ptr<Strategy> make_strategy(const FlConfig& config) {
  for (const auto& entry : registry())
    if (entry.first == config.strategy) return entry.second(config);
  std::string known;
  for (const std::string& name : strategy_names()) known += (known.empty() ? "" : ", ") + name;
  NF_CHECK(false, "config: strategy = '" << config.strategy << "' is not one of " << known);
  return nullptr;
}

}  // namespace nanofed::fl
