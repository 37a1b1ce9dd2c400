// config_grid.cpp — a raw config before parse_config: "key=value" overrides and the expansion of
// lists into grid points (one per value combination and seed).
#include <algorithm>
#include <string>
#include <vector>

#include "engine/common.h"
#include "fl/config_keys.h"

namespace nanofed::fl {
namespace {

using namespace config_detail;

struct Axis {
  const Key* key;
  std::string raw_name;  // as written (num_rounds for rounds)
  std::vector<json> values;
};

// The raw name under which `key` appears in `config` ("" when absent).
std::string raw_name_of(const json& config, const Key& key) {
  if (config.contains(key.name)) return key.name;
  for (const auto& a : kAliases)
    if (a.second == key.name && config.contains(a.first)) return a.first;
  return "";
}

void no_duplicates(const std::vector<json>& values, const std::string& name, const std::string& src) {
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (values[i] == values[j]) fail(src + ": " + name + " lists " + show(values[i]) + " twice");
}

// The values of "seeds" (empty when absent), checked.
std::vector<json> seeds_of(const json& config, const std::string& src) {
  std::vector<json> seeds;
  if (!config.contains(kSeeds)) return seeds;
  const json& s = config[kSeeds];
  auto bad = [&] { fail(src + ": seeds = " + show(s) + " must be a non-empty list of non-negative integers"); };
  if (!s.is_array() || s.empty()) bad();
  for (const json& e : s) {
    uint64_t u = 0;
    if (!as_uint(e, u)) bad();
    seeds.push_back(json(u));
  }
  no_duplicates(seeds, kSeeds, src);
  if (config.contains("seed")) fail(src + ": seed and seeds are both given; give one of them");
  return seeds;
}

// One axis per key given a list (a list of lists for list-typed keys), in table order.
std::vector<Axis> axes_of(const json& config, const std::string& src) {
  std::vector<Axis> axes;
  for (const Key& k : table()) {
    const std::string raw = raw_name_of(config, k);
    if (raw.empty()) continue;
    const json& v = config[raw];
    if (!v.is_array()) continue;
    if (k.is_list()) {
      const size_t lists = std::count_if(v.begin(), v.end(), [](const json& e) { return e.is_array(); });
      if (lists == 0) continue;  // a plain list value
      if (lists != v.size())
        fail(src + ": " + raw + " = " + show(v) + " mixes lists and values; a grid of " + raw + " is a list of lists");
    }
    if (v.empty()) fail(src + ": " + raw + " = [] is an empty grid list");
    Axis a{&k, raw, std::vector<json>(v.begin(), v.end())};
    no_duplicates(a.values, raw, src);
    axes.push_back(std::move(a));
  }
  return axes;
}

// The grid point at index idx (one value per axis), once per seed.
void add_points(const json& config, const std::vector<Axis>& axes, const std::vector<size_t>& idx,
                const std::vector<json>& seeds, std::vector<GridPoint>& points) {
  json base = config;
  base.erase(kSeeds);
  std::string label;
  for (size_t i = 0; i < axes.size(); ++i) {
    const json& v = axes[i].values[idx[i]];
    base[axes[i].raw_name] = v;
    if (axes[i].values.size() > 1) label += (label.empty() ? "" : ",") + axes[i].key->name + "=" + text(v, true);
  }
  if (seeds.empty()) {
    points.push_back(GridPoint{base, label});
    return;
  }
  for (const json& s : seeds) {
    GridPoint p{base, label};
    p.config["seed"] = s;
    points.push_back(std::move(p));
  }
}

}  // namespace

void apply_overrides(json& config, const std::vector<std::string>& overrides) {
  if (!config.is_object()) fail("override: the config is not a JSON object");
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) fail("override '" + o + "': expected key=value");
    const std::string name = o.substr(0, eq), value = o.substr(eq + 1);
    const Key* key = find_key(canonical(name));
    if (name != kSeeds && !key) fail("override '" + o + "': " + unknown_key(name));
    json v = json::parse(value, nullptr, false);
    if (v.is_discarded()) v = value;  // strategy=ditto
    // A string key takes the text as written unless it is a JSON string or list (a grid).
    if (key && key->is_string() && !v.is_string() && !v.is_array()) v = value;
    for (const auto& x : kExclusive) {
      if (name == x.first) config.erase(x.second);
      if (name == x.second) config.erase(x.first);
    }
    config[name] = v;
  }
}

std::vector<GridPoint> expand_grid(const json& config, const std::string& src) {
  check_names(config, src);
  const std::vector<json> seeds = seeds_of(config, src);
  const std::vector<Axis> axes = axes_of(config, src);
  size_t total = std::max<size_t>(seeds.size(), 1);
  for (const Axis& a : axes) {
    total *= a.values.size();
    if (total > 1000000) fail(src + ": the grid has more than 1000000 runs");
  }
  std::vector<GridPoint> points;
  points.reserve(total);
  std::vector<size_t> idx(axes.size(), 0);
  while (true) {
    add_points(config, axes, idx, seeds, points);
    // next index, last axis fastest
    size_t i = axes.size();
    while (i > 0 && ++idx[i - 1] == axes[i - 1].values.size()) idx[--i] = 0;
    if (i == 0) break;
  }
  return points;
}

}  // namespace nanofed::fl
