// config.cpp — reading a config file and the Byzantine counts. The rest of fl/config.h lives in
// fl/config_keys.cpp (key table, to_json, config_keys, operator==), fl/config_validate.cpp
// (parse_config) and fl/config_grid.cpp (apply_overrides, expand_grid); aggregator_rows is
// defined beside the aggregator chain (fl/chain.cpp).
#include "fl/config.h"

#include <cmath>

#include "engine/file_io.h"

namespace nanofed::fl {

json read_config_file(const std::string& path) { return read_json_file<json>(path, "config"); }

bool colored_environments(const FlConfig& c) { return c.colored || c.dataset == "cmnist" || c.dataset == "cfmnist"; }

std::string gray_dataset(const FlConfig& c) {
  if (c.dataset == "cmnist") return "mnist";
  if (c.dataset == "cfmnist") return "fmnist";
  return c.dataset;
}

int64_t round_size(const FlConfig& c) { return c.sampling == "all" ? c.num_clients : c.clients_per_round; }

int64_t byzantine_count(const FlConfig& c) {
  if (c.num_byzantine >= 0) return c.num_byzantine;
  return (int64_t)std::floor(c.byzantine_fraction * (double)c.num_clients + 1e-9);
}

int64_t effective_f(const FlConfig& c) {
  if (c.f >= 0) return c.f;
  if (c.num_clients <= 0) return 0;
  return round_size(c) * byzantine_count(c) / c.num_clients;
}

}  // namespace nanofed::fl
