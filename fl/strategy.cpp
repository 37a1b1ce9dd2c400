#include "fl/strategy.h"

#include <utility>

#include "engine/common.h"

namespace nanofed::fl {

ModelKind Strategy::headline(bool finished) const {
  return has_personal(finished) ? ModelKind::personal : ModelKind::global;
}

namespace {

using Lambda = StrategyInfo::Lambda;
using Registry = std::vector<StrategyInfo>;

// One line per built-in strategy: name, factory, lambda's range, personal models once finished,
// whether it weights the rows itself. The order is the order error messages list them in.
Registry builtin_strategies() {
  return {{"fedavg", make_fedavg, Lambda::unused, false},
          {"fedprox", make_fedprox, Lambda::unused, false},
          {"local", make_local, Lambda::unused, true},
          {"finetune", make_finetune, Lambda::unused, true},
          {"ditto", make_ditto, Lambda::non_negative, true, true},
          {"mixture", make_mixture, Lambda::unit_interval, true},
          {"ipgd", make_ipgd, Lambda::unit_interval, true},
          {"term", make_term, Lambda::unused, false, false, true}};
}

Registry& registry() {
  static Registry r = builtin_strategies();
  return r;
}

}  // namespace

std::vector<std::string> strategy_names() {
  std::vector<std::string> names;
  for (const StrategyInfo& info : registry()) names.push_back(info.name);
  return names;
}

const StrategyInfo* find_strategy(const std::string& name) {
  for (const StrategyInfo& info : registry())
    if (info.name == name) return &info;
  return nullptr;
}

void register_strategy(StrategyInfo info) {
  for (StrategyInfo& entry : registry())
    if (entry.name == info.name) {
      entry = std::move(info);
      return;
    }
  registry().push_back(std::move(info));
}

void register_strategy(const std::string& name, StrategyFactory factory) {
  StrategyInfo info;
  info.name = name;
  info.factory = std::move(factory);
  register_strategy(std::move(info));
}

std::unique_ptr<Strategy> make_strategy(const FlConfig& config) {
  if (const StrategyInfo* info = find_strategy(config.strategy)) return info->factory(config);
  std::string known;
  for (const std::string& name : strategy_names()) known += (known.empty() ? "" : ", ") + name;
  NF_CHECK(false, "config: strategy = '" << config.strategy << "' is not one of " << known);
  return nullptr;
}

}  // namespace nanofed::fl
