// config_keys.cpp — the key table and what it drives directly: reading values (read_fields),
// to_json, config_keys and operator==. A key is listed once, in table(); its type is the type of
// the FlConfig member it points to, and string keys carry their accepted values.
#include "fl/config_keys.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "engine/common.h"
#include "engine/text.h"
#include "fl/chain.h"
#include "fl/strategy.h"
#include "nn/models.h"

namespace nanofed::fl {
namespace config_detail {
namespace {

// ------------------------------------------------------------------ the table, per concern

struct Table {
  std::vector<Key> keys;
  void add(const char* name, Member m, std::vector<std::string> choices = {}) {
    keys.push_back(Key{name, m, std::move(choices)});
  }
};

void run_and_data_keys(Table& t) {
  // run identity and output
  t.add("name", &FlConfig::name);
  t.add("out", &FlConfig::out);
  t.add("seed", &FlConfig::seed);
  t.add("device", &FlConfig::device, {"cpu", "cuda"});
  t.add("threads", &FlConfig::threads);
  // data
  t.add("dataset", &FlConfig::dataset, {"fmnist", "mnist", "synthetic", "cmnist", "cfmnist"});
  t.add("data_dir", &FlConfig::data_dir);
  t.add("synthetic_train", &FlConfig::synthetic_train);
  t.add("synthetic_test", &FlConfig::synthetic_test);
  t.add("synthetic_size", &FlConfig::synthetic_size);
  t.add("synthetic_classes", &FlConfig::synthetic_classes);
  t.add("normalize", &FlConfig::normalize);
  t.add("colored", &FlConfig::colored);
  // partition
  t.add("partition", &FlConfig::partition, {"iid", "dirichlet", "shards", "ditto"});
  t.add("num_clients", &FlConfig::num_clients);
  t.add("alpha", &FlConfig::alpha);
  t.add("min_partition_size", &FlConfig::min_partition_size);
  t.add("classes_per_client", &FlConfig::classes_per_client);
  t.add("test_fraction", &FlConfig::test_fraction);
  t.add("validation_fraction", &FlConfig::validation_fraction);
  t.add("partition_seed", &FlConfig::partition_seed);
  t.add("ditto_scale", &FlConfig::ditto_scale);
  // model
  t.add("model", &FlConfig::model, nn::model_names());
  t.add("hidden", &FlConfig::hidden);
  t.add("channels", &FlConfig::channels);
  t.add("fc_hidden", &FlConfig::fc_hidden);
  t.add("init", &FlConfig::init, {"pytorch", "glorot_uniform"});
}

void training_keys(Table& t) {
  // local training
  t.add("strategy", &FlConfig::strategy);
  t.keys.back().live_choices = strategy_names;  // the registry may grow
  t.add("rounds", &FlConfig::rounds);
  t.add("clients_per_round", &FlConfig::clients_per_round);
  t.add("sampling", &FlConfig::sampling, {"all", "uniform", "proportional"});
  t.add("local_steps", &FlConfig::local_steps);
  t.add("local_epochs", &FlConfig::local_epochs);
  t.add("batch_size", &FlConfig::batch_size);
  t.add("lr", &FlConfig::lr);
  t.add("optimizer", &FlConfig::optimizer, {"sgd", "adam"});
  t.add("momentum", &FlConfig::momentum);
  t.add("weight_decay", &FlConfig::weight_decay);
  t.add("persist_optimizer_state", &FlConfig::persist_optimizer_state);
  t.add("server_lr", &FlConfig::server_lr);
  t.add("average_bn_buffers", &FlConfig::average_bn_buffers);
  t.add("cohort", &FlConfig::cohort, {"auto", "on", "off"});
  t.add("cohort_size", &FlConfig::cohort_size);
  // strategy parameters
  t.add("mu", &FlConfig::mu);
  t.add("tilt", &FlConfig::tilt);
  t.add("lambda", &FlConfig::lambda);
  t.add("personal_lambdas", &FlConfig::personal_lambdas);
  t.add("ditto_order", &FlConfig::ditto_order, {"per_step", "after_global"});
  t.add("personal_steps", &FlConfig::personal_steps);
  t.add("finetune_epochs", &FlConfig::finetune_epochs);
  t.add("finetune_lr", &FlConfig::finetune_lr);
  t.add("finetune_lambda", &FlConfig::finetune_lambda);
  t.add("mixture_overwrite", &FlConfig::mixture_overwrite);
}

void aggregation_and_attack_keys(Table& t) {
  // robust aggregation
  t.add("aggregator", &FlConfig::aggregator, aggregator_names());
  t.add("pre_aggregators", &FlConfig::pre_aggregators, pre_aggregator_names());
  t.add("f", &FlConfig::f);
  t.add("beta", &FlConfig::beta);
  t.add("krum_m", &FlConfig::krum_m);
  t.add("krum_neighbours", &FlConfig::krum_neighbours, {"n-f-2", "n-f"});
  t.add("enforce_f_bounds", &FlConfig::enforce_f_bounds);
  t.add("clip_norm", &FlConfig::clip_norm);
  t.add("bucket_size", &FlConfig::bucket_size);
  t.add("cc_tau", &FlConfig::cc_tau);
  t.add("cc_iterations", &FlConfig::cc_iterations);
  // Byzantine clients
  t.add("attack", &FlConfig::attack,
        {"none", "label_poisoning", "gaussian", "sign_flip", "boosting", "alie", "ipm", "mimic", "non_finite"});
  t.add("byzantine_fraction", &FlConfig::byzantine_fraction);
  t.add("num_byzantine", &FlConfig::num_byzantine);
  t.add("poison_labels", &FlConfig::poison_labels, {"auto", "true", "false"});
  t.add("boost_factor", &FlConfig::boost_factor);
  t.add("gaussian_sigma", &FlConfig::gaussian_sigma);
  t.add("sign_flip_scale", &FlConfig::sign_flip_scale);
  t.add("alie_z", &FlConfig::alie_z);
  t.add("ipm_tau", &FlConfig::ipm_tau);
  t.add("non_finite_value", &FlConfig::non_finite_value, {"inf", "nan"});
}

void robustness_keys(Table& t) {
  // robust training
  const std::vector<std::string> transforms = {"none", "pixel", "rotation", "translation", "scaling", "affine"};
  t.add("augment", &FlConfig::augment, transforms);
  t.add("augment_sigma", &FlConfig::augment_sigma);
  std::vector<std::string> personal = transforms;
  personal.insert(personal.begin(), "same");
  t.add("personal_augment", &FlConfig::personal_augment, personal);
  t.add("personal_augment_sigma", &FlConfig::personal_augment_sigma);
  t.add("adv_train", &FlConfig::adv_train);
  t.add("adv_norm", &FlConfig::adv_norm, {"linf", "l2"});
  t.add("adv_eps", &FlConfig::adv_eps);
  t.add("adv_alpha", &FlConfig::adv_alpha);
  t.add("adv_steps", &FlConfig::adv_steps);
  t.add("adv_random_start", &FlConfig::adv_random_start);
  // robust evaluation
  t.add("eval_attack", &FlConfig::eval_attack, {"none", "linf", "l2"});
  t.add("eval_eps", &FlConfig::eval_eps);
  t.add("eval_alpha", &FlConfig::eval_alpha);
  t.add("eval_steps", &FlConfig::eval_steps);
  t.add("eval_random_start", &FlConfig::eval_random_start);
  t.add("eval_samples", &FlConfig::eval_samples);
  t.add("eval_certify", &FlConfig::eval_certify, transforms);
  t.add("certify_sigma", &FlConfig::certify_sigma);
  t.add("certify_n0", &FlConfig::certify_n0);
  t.add("certify_n", &FlConfig::certify_n);
  t.add("certify_alpha", &FlConfig::certify_alpha);
  t.add("certify_batch", &FlConfig::certify_batch);
  t.add("certify_samples", &FlConfig::certify_samples);
  t.add("certify_grid", &FlConfig::certify_grid, {"linspace", "centers"});
}

void evaluation_keys(Table& t) {
  // evaluation, checkpoints
  t.add("eval_every", &FlConfig::eval_every);
  t.add("eval_batch_size", &FlConfig::eval_batch_size);
  t.add("checkpoint_every", &FlConfig::checkpoint_every);
  t.add("keep_checkpoint", &FlConfig::keep_checkpoint);
  t.add("save_personal", &FlConfig::save_personal);
  t.add("resume", &FlConfig::resume);
  t.add("stop_at_round", &FlConfig::stop_at_round);
  t.add("progress", &FlConfig::progress);
}

}  // namespace

const std::vector<Key>& table() {
  static const std::vector<Key> keys = [] {
    Table t;
    run_and_data_keys(t);
    training_keys(t);
    aggregation_and_attack_keys(t);
    robustness_keys(t);
    evaluation_keys(t);
    return t.keys;
  }();
  return keys;
}

const std::vector<std::pair<std::string, std::string>> kAliases = {{"num_rounds", "rounds"}};
const char* const kSeeds = "seeds";
const std::vector<std::pair<std::string, std::string>> kExclusive = {{"rounds", "num_rounds"},
                                                                     {"seed", "seeds"}};

const Key* find_key(const std::string& name) {
  for (const Key& k : table())
    if (k.name == name) return &k;
  return nullptr;
}

std::string canonical(const std::string& name) {
  for (const auto& a : kAliases)
    if (a.first == name) return a.second;
  return name;
}

// ------------------------------------------------------------------ messages

void fail(const std::string& msg) { nanofed::detail::throw_error(msg); }

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::string num(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string((int64_t)d);
  return json(d).dump();
}
std::string num(int64_t i) { return std::to_string(i); }

std::string text(const json& v, bool bare) {
  if (v.is_number_float()) return num(v.get<double>());
  if (v.is_string()) return bare ? v.get<std::string>() : v.dump();
  if (v.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + text(v[i], bare);
    return s + "]";
  }
  return v.dump();
}

std::string show(const json& v) {
  std::string s = text(v, false);
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

// "unknown key 'lamda' (did you mean 'lambda'?)", suggested as flags and commands are (engine/text.h).
std::string unknown_key(const std::string& name) {
  std::vector<std::string> known = config_keys();
  for (const auto& a : kAliases) known.push_back(a.first);
  known.push_back(kSeeds);
  const std::string suggestion = did_you_mean(name, known);
  std::string msg = "unknown key '" + name + "'";
  return suggestion.empty() ? msg + " (see config_keys() / docs/fl.md)" : msg + " (" + suggestion + ")";
}

// ------------------------------------------------------------------ reading one value

namespace {

bool as_int(const json& v, int64_t& out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > (uint64_t)std::numeric_limits<int64_t>::max()) return false;
    out = (int64_t)u;
    return true;
  }
  if (v.is_number_integer()) return out = v.get<int64_t>(), true;
  if (v.is_number_float()) {  // 1e3 or 10.0 from a script: fine when exactly integral
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9007199254740992.0) return false;
    out = (int64_t)d;
    return true;
  }
  return false;
}

}  // namespace

bool as_uint(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) return out = v.get<uint64_t>(), true;
  if (v.is_number_integer()) {  // signed storage (e.g. set from C++): fine when >= 0
    if (v.get<int64_t>() < 0) return false;
    return out = (uint64_t)v.get<int64_t>(), true;
  }
  int64_t i = 0;
  if (!as_int(v, i) || i < 0) return false;
  out = (uint64_t)i;
  return true;
}

namespace {

// Converts `v` into the member of `key`; `shown` is the name as the user wrote it.
void set_field(FlConfig& c, const Key& key, const std::string& shown, const json& v, const std::string& src) {
  auto bad = [&](const std::string& what) { fail(src + ": " + shown + " = " + show(v) + " must be " + what); };
  const std::vector<std::string> choices = key.accepted();
  std::visit(
      [&](auto m) {
        using T = std::decay_t<decltype(c.*m)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (v.is_boolean() && contains(choices, "true")) {
            c.*m = v.get<bool>() ? "true" : "false";
            return;
          }
          if (!v.is_string()) bad(choices.empty() ? "a string" : "one of " + join(choices));
          const std::string s = v.get<std::string>();
          if (!choices.empty() && !contains(choices, s))
            fail(src + ": " + shown + " = '" + s + "' is not one of " + join(choices));
          c.*m = s;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          if (!as_int(v, c.*m)) bad("an integer");
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (!as_uint(v, c.*m)) bad("a non-negative integer");
        } else if constexpr (std::is_same_v<T, double>) {
          if (!v.is_number() || !std::isfinite(v.get<double>())) bad("a number");
          c.*m = v.get<double>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!v.is_boolean()) bad("true or false");
          c.*m = v.get<bool>();
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          if (!v.is_array()) bad("a list of integers");
          std::vector<int64_t> out(v.size());
          for (size_t i = 0; i < v.size(); ++i)
            if (!as_int(v[i], out[i])) bad("a list of integers");
          c.*m = out;
        } else if constexpr (std::is_same_v<T, std::vector<double>>) {
          if (!v.is_array()) bad("a list of numbers");
          std::vector<double> out;
          for (const json& e : v) {
            if (!e.is_number() || !std::isfinite(e.get<double>())) bad("a list of numbers");
            out.push_back(e.get<double>());
          }
          c.*m = out;
        } else {
          static_assert(std::is_same_v<T, std::vector<std::string>>);
          const std::string each = choices.empty() ? "" : ", each one of " + join(choices);
          if (!v.is_array()) bad("a list of strings" + each);
          std::vector<std::string> out;
          for (const json& e : v) {
            if (!e.is_string()) bad("a list of strings" + each);
            out.push_back(e.get<std::string>());
            if (!choices.empty() && !contains(choices, out.back()))
              fail(src + ": " + shown + " entry '" + out.back() + "' is not one of " + join(choices));
          }
          c.*m = out;
        }
      },
      key.member);
}

}  // namespace

// ------------------------------------------------------------------ reading a config

void check_names(const json& config, const std::string& src) {
  if (!config.is_object()) fail(src + ": expected a JSON object of keys, got " + std::string(config.type_name()));
  for (const auto& item : config.items()) {
    const std::string& name = item.key();
    if (name != kSeeds && !find_key(canonical(name))) fail(src + ": " + unknown_key(name));
  }
  for (const auto& a : kAliases)
    if (config.contains(a.first) && config.contains(a.second))
      fail(src + ": " + a.second + " and " + a.first + " are the same key; give one of them");
}

FlConfig read_fields(const json& config, const std::string& source, std::set<std::string>& given) {
  check_names(config, source);
  FlConfig c;
  for (const auto& item : config.items()) {
    const std::string& name = item.key();
    const json& v = item.value();
    if (name == kSeeds)
      fail(source + ": seeds = " + show(v) + " makes one run per seed; use expand_grid / nanofed fl to run a grid");
    const Key& key = *find_key(canonical(name));
    if (!key.is_list() && v.is_array())
      fail(source + ": " + name + " is a list; use expand_grid / nanofed fl to run a grid");
    if (key.is_list() && v.is_array() && std::any_of(v.begin(), v.end(), [](const json& e) { return e.is_array(); }))
      fail(source + ": " + name + " is a list of lists; use expand_grid / nanofed fl to run a grid");
    if (key.name == "local_epochs" && v.is_null()) continue;  // to_json's "unused: local_steps > 0"
    set_field(c, key, name, v, source);
    given.insert(key.name);
  }
  return c;
}

}  // namespace config_detail

// ------------------------------------------------------------------ public API (fl/config.h)

using namespace config_detail;

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Key& k : table()) v.push_back(k.name);
    return v;
  }();
  return names;
}

json to_json(const FlConfig& c) {
  json j = json::object();
  for (const Key& k : table()) std::visit([&](auto m) { j[k.name] = c.*m; }, k.member);
  // local_epochs xor local_steps: with steps in use, the (default) epoch count is not written.
  if (c.local_steps > 0 && c.local_epochs == FlConfig().local_epochs) j["local_epochs"] = nullptr;
  return j;
}

bool operator==(const FlConfig& a, const FlConfig& b) {
  for (const Key& k : table()) {
    const bool same = std::visit([&](auto m) { return a.*m == b.*m; }, k.member);
    if (!same) return false;
  }
  return true;
}

}  // namespace nanofed::fl
