// config.cpp — the key table and everything it drives: parse_config, to_json, config_keys,
// apply_overrides, expand_grid and operator==. A key is listed once, in table(); its type is the
// type of the FlConfig member it points to, and string keys carry their accepted values.
#include "fl/config.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>
#include <variant>

#include "engine/common.h"
#include "engine/text.h"
#include "engine/file_io.h"
#include "engine/threads.h"
#include "fl/strategy.h"
#include "nn/models.h"
#include "nn/train_settings.h"

namespace nanofed::fl {
namespace {

// ------------------------------------------------------------------ the table

using Member = std::variant<std::string FlConfig::*, int64_t FlConfig::*, uint64_t FlConfig::*,
                            double FlConfig::*, bool FlConfig::*, std::vector<int64_t> FlConfig::*,
                            std::vector<std::string> FlConfig::*>;

struct Key {
  std::string name;
  Member member;                     // getter and setter
  std::vector<std::string> choices;  // string key: accepted values; string list: accepted entries
  bool is_list() const {
    return std::holds_alternative<std::vector<int64_t> FlConfig::*>(member) ||
           std::holds_alternative<std::vector<std::string> FlConfig::*>(member);
  }
  bool is_string() const { return std::holds_alternative<std::string FlConfig::*>(member); }
};

const std::vector<Key>& table() {
  static const std::vector<Key> keys = [] {
    std::vector<Key> k;
    auto add = [&k](const char* name, Member m, std::vector<std::string> choices = {}) {
      k.push_back(Key{name, m, std::move(choices)});
    };
    // run identity and output
    add("name", &FlConfig::name);
    add("out", &FlConfig::out);
    add("seed", &FlConfig::seed);
    add("device", &FlConfig::device, {"cpu", "cuda"});
    add("threads", &FlConfig::threads);
    // data
    add("dataset", &FlConfig::dataset, {"fmnist", "mnist", "synthetic"});
    add("data_dir", &FlConfig::data_dir);
    add("synthetic_train", &FlConfig::synthetic_train);
    add("synthetic_test", &FlConfig::synthetic_test);
    add("synthetic_size", &FlConfig::synthetic_size);
    add("synthetic_classes", &FlConfig::synthetic_classes);
    add("normalize", &FlConfig::normalize);
    // partition
    add("partition", &FlConfig::partition, {"iid", "dirichlet", "shards", "ditto"});
    add("num_clients", &FlConfig::num_clients);
    add("alpha", &FlConfig::alpha);
    add("min_partition_size", &FlConfig::min_partition_size);
    add("classes_per_client", &FlConfig::classes_per_client);
    add("test_fraction", &FlConfig::test_fraction);
    add("partition_seed", &FlConfig::partition_seed);
    add("ditto_scale", &FlConfig::ditto_scale);
    // model
    add("model", &FlConfig::model, nn::model_names());
    add("hidden", &FlConfig::hidden);
    add("init", &FlConfig::init, {"pytorch", "glorot_uniform"});
    // local training
    add("strategy", &FlConfig::strategy, strategy_names());
    add("rounds", &FlConfig::rounds);
    add("clients_per_round", &FlConfig::clients_per_round);
    add("sampling", &FlConfig::sampling, {"all", "uniform", "proportional"});
    add("local_steps", &FlConfig::local_steps);
    add("local_epochs", &FlConfig::local_epochs);
    add("batch_size", &FlConfig::batch_size);
    add("lr", &FlConfig::lr);
    add("momentum", &FlConfig::momentum);
    add("weight_decay", &FlConfig::weight_decay);
    add("persist_optimizer_state", &FlConfig::persist_optimizer_state);
    add("server_lr", &FlConfig::server_lr);
    add("average_bn_buffers", &FlConfig::average_bn_buffers);
    // strategy parameters
    add("mu", &FlConfig::mu);
    add("lambda", &FlConfig::lambda);
    add("ditto_order", &FlConfig::ditto_order, {"per_step", "after_global"});
    add("personal_steps", &FlConfig::personal_steps);
    add("finetune_epochs", &FlConfig::finetune_epochs);
    add("finetune_lr", &FlConfig::finetune_lr);
    add("finetune_lambda", &FlConfig::finetune_lambda);
    add("mixture_overwrite", &FlConfig::mixture_overwrite);
    // robust aggregation
    add("aggregator", &FlConfig::aggregator,
        {"mean", "weighted_mean", "median", "trimmed_mean", "krum", "multi_krum", "geometric_median",
         "centered_clipping", "k_norm"});
    add("pre_aggregators", &FlConfig::pre_aggregators, {"clip", "median_clip", "nnm", "bucketing"});
    add("f", &FlConfig::f);
    add("beta", &FlConfig::beta);
    add("krum_m", &FlConfig::krum_m);
    add("krum_neighbours", &FlConfig::krum_neighbours, {"n-f-2", "n-f"});
    add("clip_norm", &FlConfig::clip_norm);
    add("bucket_size", &FlConfig::bucket_size);
    add("cc_tau", &FlConfig::cc_tau);
    add("cc_iterations", &FlConfig::cc_iterations);
    // Byzantine clients
    add("attack", &FlConfig::attack,
        {"none", "label_poisoning", "gaussian", "sign_flip", "boosting", "alie", "ipm", "mimic", "non_finite"});
    add("byzantine_fraction", &FlConfig::byzantine_fraction);
    add("num_byzantine", &FlConfig::num_byzantine);
    add("poison_labels", &FlConfig::poison_labels, {"auto", "true", "false"});
    add("boost_factor", &FlConfig::boost_factor);
    add("gaussian_sigma", &FlConfig::gaussian_sigma);
    add("sign_flip_scale", &FlConfig::sign_flip_scale);
    add("alie_z", &FlConfig::alie_z);
    add("ipm_tau", &FlConfig::ipm_tau);
    add("non_finite_value", &FlConfig::non_finite_value, {"inf", "nan"});
    // robust training
    const std::vector<std::string> transforms = {"none", "pixel", "rotation", "translation", "scaling", "affine"};
    add("augment", &FlConfig::augment, transforms);
    add("augment_sigma", &FlConfig::augment_sigma);
    std::vector<std::string> personal = transforms;
    personal.insert(personal.begin(), "same");
    add("personal_augment", &FlConfig::personal_augment, personal);
    add("personal_augment_sigma", &FlConfig::personal_augment_sigma);
    add("adv_train", &FlConfig::adv_train);
    add("adv_norm", &FlConfig::adv_norm, {"linf", "l2"});
    add("adv_eps", &FlConfig::adv_eps);
    add("adv_alpha", &FlConfig::adv_alpha);
    add("adv_steps", &FlConfig::adv_steps);
    add("adv_random_start", &FlConfig::adv_random_start);
    // robust evaluation
    add("eval_attack", &FlConfig::eval_attack, {"none", "linf", "l2"});
    add("eval_eps", &FlConfig::eval_eps);
    add("eval_alpha", &FlConfig::eval_alpha);
    add("eval_steps", &FlConfig::eval_steps);
    add("eval_random_start", &FlConfig::eval_random_start);
    add("eval_samples", &FlConfig::eval_samples);
    add("eval_certify", &FlConfig::eval_certify, transforms);
    add("certify_sigma", &FlConfig::certify_sigma);
    add("certify_n0", &FlConfig::certify_n0);
    add("certify_n", &FlConfig::certify_n);
    add("certify_alpha", &FlConfig::certify_alpha);
    add("certify_batch", &FlConfig::certify_batch);
    add("certify_samples", &FlConfig::certify_samples);
    add("certify_grid", &FlConfig::certify_grid, {"linspace", "centers"});
    // evaluation, checkpoints
    add("eval_every", &FlConfig::eval_every);
    add("eval_batch_size", &FlConfig::eval_batch_size);
    add("checkpoint_every", &FlConfig::checkpoint_every);
    add("keep_checkpoint", &FlConfig::keep_checkpoint);
    add("save_personal", &FlConfig::save_personal);
    add("resume", &FlConfig::resume);
    add("stop_at_round", &FlConfig::stop_at_round);
    add("progress", &FlConfig::progress);
    return k;
  }();
  return keys;
}

// Other spellings of table keys, and the key only expand_grid understands.
const std::vector<std::pair<std::string, std::string>> kAliases = {{"num_rounds", "rounds"}};
const char* const kSeeds = "seeds";
// Keys that replace each other (an override of one removes the other).
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

[[noreturn]] void fail(const std::string& msg) { detail::throw_error(msg); }

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// A double as short as it round-trips, integral values without ".0": 0.1, 5, 2.5, 1e-05.
std::string num(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string((int64_t)d);
  return json(d).dump();
}
std::string num(int64_t i) { return std::to_string(i); }

// A JSON value in compact text: numbers as num() does, strings unquoted when `bare`.
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

// A value inside a message (JSON text, cut at 80 characters).
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

// Converts `v` into the member of `key`; `shown` is the name as the user wrote it.
void set_field(FlConfig& c, const Key& key, const std::string& shown, const json& v, const std::string& src) {
  auto bad = [&](const std::string& what) { fail(src + ": " + shown + " = " + show(v) + " must be " + what); };
  std::visit(
      [&](auto m) {
        using T = std::decay_t<decltype(c.*m)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (v.is_boolean() && contains(key.choices, "true")) {
            c.*m = v.get<bool>() ? "true" : "false";
            return;
          }
          if (!v.is_string()) bad(key.choices.empty() ? "a string" : "one of " + join(key.choices));
          const std::string s = v.get<std::string>();
          if (!key.choices.empty() && !contains(key.choices, s))
            fail(src + ": " + shown + " = '" + s + "' is not one of " + join(key.choices));
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
        } else {
          static_assert(std::is_same_v<T, std::vector<std::string>>);
          const std::string each = key.choices.empty() ? "" : ", each one of " + join(key.choices);
          if (!v.is_array()) bad("a list of strings" + each);
          std::vector<std::string> out;
          for (const json& e : v) {
            if (!e.is_string()) bad("a list of strings" + each);
            out.push_back(e.get<std::string>());
            if (!key.choices.empty() && !contains(key.choices, out.back()))
              fail(src + ": " + shown + " entry '" + out.back() + "' is not one of " + join(key.choices));
          }
          c.*m = out;
        }
      },
      key.member);
}

// ------------------------------------------------------------------ validation

struct Checker {
  const FlConfig& c;
  const std::string& src;

  // "<src>: <key> = <value> <what>"
  void need(bool ok, const std::string& key, const std::string& value, const std::string& what) const {
    if (!ok) fail(src + ": " + key + " = " + value + " " + what);
  }
  void at_least(int64_t v, int64_t lo, const std::string& key) const {
    need(v >= lo, key, num(v), "must be >= " + num(lo));
  }
  void at_least(double v, double lo, const std::string& key) const {
    need(v >= lo, key, num(v), "must be >= " + num(lo));
  }
  void positive(double v, const std::string& key) const { need(v > 0, key, num(v), "must be > 0"); }
  // The ranges shared with `nanofed train`'s flags (nn/train_settings.h).
  void setting(nn::Setting s, double v, const std::string& key) const {
    const std::string why = nn::out_of_range(s, v);
    need(why.empty(), key, num(v), why);
  }
  // lo <= v < hi, or lo <= v <= hi when `closed`; `open_lo` makes the lower end open.
  void in(double v, double lo, double hi, bool open_lo, bool closed, const std::string& key,
          const std::string& suffix = "") const {
    const bool ok = (open_lo ? v > lo : v >= lo) && (closed ? v <= hi : v < hi);
    need(ok, key, num(v),
         std::string("must be in ") + (open_lo ? "(" : "[") + num(lo) + ", " + num(hi) + (closed ? "]" : ")") + suffix);
  }
};

void validate(const FlConfig& c, const std::set<std::string>& given, const std::string& src) {
  const Checker k{c, src};
  // run identity
  k.need(!c.name.empty(), "name", "''", "must not be empty (it names the results directory)");
  k.need(!c.out.empty(), "out", "''", "must not be empty (the results root)");
  // data
  k.at_least(c.synthetic_train, 1, "synthetic_train");
  k.at_least(c.synthetic_test, 1, "synthetic_test");
  k.at_least(c.synthetic_size, 1, "synthetic_size");
  k.setting(nn::Setting::classes, (double)c.synthetic_classes, "synthetic_classes");
  // partition
  k.at_least(c.num_clients, 1, "num_clients");
  k.positive(c.alpha, "alpha");
  k.at_least(c.min_partition_size, 0, "min_partition_size");
  k.at_least(c.classes_per_client, 1, "classes_per_client");
  k.in(c.test_fraction, 0, 1, true, false, "test_fraction");
  k.in(c.ditto_scale, 0, 1, true, true, "ditto_scale");
  if (c.partition == "ditto" && c.dataset == "synthetic")
    k.need(c.synthetic_classes >= 5, "synthetic_classes", num(c.synthetic_classes),
           "must be >= 5 for partition 'ditto' (it gives each client 5 of the classes)");
  // model
  for (int64_t h : c.hidden) k.need(h >= 1, "hidden", show(json(c.hidden)), "entries must be >= 1");
  // local training
  k.at_least(c.rounds, 1, "rounds");
  k.need(c.threads >= 0 && c.threads <= kMaxThreads, "threads", num(c.threads),
         "must be in [1, " + num(int64_t(kMaxThreads)) + "], or 0 for the default (one per core, at most " +
             num(int64_t(kMaxDefaultThreads)) + ")");
  if (c.sampling != "all")
    k.need(c.clients_per_round >= 1 && c.clients_per_round <= c.num_clients, "clients_per_round",
           num(c.clients_per_round), "must be in [1, num_clients = " + num(c.num_clients) + "] (or sampling = 'all')");
  k.at_least(c.local_steps, 0, "local_steps");
  k.at_least(c.local_epochs, 1, "local_epochs");
  if (c.local_steps > 0 && given.count("local_epochs"))
    fail(src + ": local_steps = " + num(c.local_steps) + " and local_epochs = " + num(c.local_epochs) +
         " are both given; use local_epochs xor local_steps (local_steps = 0 means epochs)");
  k.setting(nn::Setting::batch_size, (double)c.batch_size, "batch_size");
  k.setting(nn::Setting::lr, c.lr, "lr");
  k.setting(nn::Setting::momentum, c.momentum, "momentum");
  k.setting(nn::Setting::weight_decay, c.weight_decay, "weight_decay");
  k.positive(c.server_lr, "server_lr");
  // strategy parameters
  k.at_least(c.mu, 0.0, "mu");
  if (c.strategy == "ditto") k.need(c.lambda >= 0, "lambda", num(c.lambda), "must be >= 0 for strategy 'ditto'");
  if (c.strategy == "mixture" || c.strategy == "ipgd")
    k.in(c.lambda, 0, 1, false, true, "lambda", " for strategy '" + c.strategy + "'");
  k.at_least(c.personal_steps, 0, "personal_steps");
  k.at_least(c.finetune_epochs, 0, "finetune_epochs");
  k.at_least(c.finetune_lr, 0.0, "finetune_lr");
  k.at_least(c.finetune_lambda, 0.0, "finetune_lambda");
  // robust aggregation
  k.need(c.f >= -1, "f", num(c.f), "must be -1 (derived from the Byzantine clients) or >= 0");
  k.need(c.beta == -1.0 || (c.beta >= 0 && c.beta < 0.5), "beta", num(c.beta),
         "must be -1 (trimmed_mean by count f) or in [0, 0.5)");
  k.at_least(c.krum_m, 0, "krum_m");
  k.positive(c.clip_norm, "clip_norm");
  k.at_least(c.bucket_size, 1, "bucket_size");
  k.positive(c.cc_tau, "cc_tau");
  k.at_least(c.cc_iterations, 1, "cc_iterations");
  // Byzantine clients
  k.in(c.byzantine_fraction, 0, 1, false, false, "byzantine_fraction");
  k.need(c.num_byzantine >= -1 && c.num_byzantine <= c.num_clients - 1, "num_byzantine", num(c.num_byzantine),
         "must be -1 (use byzantine_fraction) or in [0, num_clients - 1 = " + num(c.num_clients - 1) + "]");
  k.at_least(c.boost_factor, 0.0, "boost_factor");
  k.at_least(c.gaussian_sigma, 0.0, "gaussian_sigma");
  // robust training
  if (c.augment != "none") k.positive(c.augment_sigma, "augment_sigma");
  k.need(c.personal_augment_sigma == -1.0 || c.personal_augment_sigma > 0, "personal_augment_sigma",
         num(c.personal_augment_sigma), "must be -1 (= augment_sigma) or > 0");
  k.at_least(c.adv_eps, 0.0, "adv_eps");
  k.at_least(c.adv_alpha, 0.0, "adv_alpha");
  k.at_least(c.adv_steps, 1, "adv_steps");
  // robust evaluation
  k.need(c.eval_eps == -1.0 || c.eval_eps >= 0, "eval_eps", num(c.eval_eps), "must be -1 (the norm's default) or >= 0");
  k.need(c.eval_alpha == -1.0 || c.eval_alpha >= 0, "eval_alpha", num(c.eval_alpha),
         "must be -1 (the norm's default) or >= 0");
  k.at_least(c.eval_steps, 0, "eval_steps");
  k.at_least(c.eval_samples, 0, "eval_samples");
  k.positive(c.certify_sigma, "certify_sigma");
  k.at_least(c.certify_n0, 1, "certify_n0");
  k.need(c.certify_n >= c.certify_n0, "certify_n", num(c.certify_n),
         "must be >= certify_n0 = " + num(c.certify_n0) + " (N0 selection draws, then N estimation draws)");
  k.in(c.certify_alpha, 0, 1, true, false, "certify_alpha");
  k.at_least(c.certify_batch, 1, "certify_batch");
  k.at_least(c.certify_samples, 1, "certify_samples");
  // evaluation, checkpoints
  k.at_least(c.eval_every, 1, "eval_every");
  k.at_least(c.eval_batch_size, 1, "eval_batch_size");
  k.at_least(c.checkpoint_every, 0, "checkpoint_every");
  if (c.save_personal)
    k.need(c.strategy != "fedavg" && c.strategy != "fedprox", "save_personal", "true",
           "needs a strategy with personal models (local, finetune, ditto, mixture, ipgd), not '" + c.strategy + "'");
  k.at_least(c.stop_at_round, 0, "stop_at_round");

  // ---- Byzantine counts: attack vs corrupted clients, then what the aggregator can take ----
  const int64_t nb = byzantine_count(c);
  const std::string nb_from = c.num_byzantine >= 0 ? "num_byzantine = " + num(c.num_byzantine)
                                                   : "byzantine_fraction = " + num(c.byzantine_fraction);
  if (c.attack != "none" && nb == 0)
    fail(src + ": attack '" + c.attack + "' needs byzantine_fraction > 0 or num_byzantine > 0" +
         (c.byzantine_fraction > 0 && c.num_byzantine < 0
              ? " (byzantine_fraction = " + num(c.byzantine_fraction) + " of num_clients = " + num(c.num_clients) +
                    " is 0 clients)"
              : ""));
  if (c.attack == "none" && nb > 0) {
    std::vector<std::string> attacks = find_key("attack")->choices;
    attacks.erase(attacks.begin());  // "none"
    fail(src + ": attack = 'none' but " + nb_from + " makes " + num(nb) + " Byzantine clients; set attack to one of " +
         join(attacks) + " (or no Byzantine clients)");
  }
  const int64_t n_clients = round_size(c), fe = effective_f(c);
  const std::string n_name = c.sampling == "all" ? "num_clients" : "clients_per_round";
  if (contains(c.pre_aggregators, "nnm") && !(fe < n_clients))
    fail(src + ": f = " + num(fe) + " needs f < " + n_name + " = " + num(n_clients) + " for pre-aggregator 'nnm'" +
         " (f is the Byzantine count per round; set f or lower byzantine_fraction)");
  // The aggregator sees ceil(n / s) rows after each bucketing pre-aggregator (Karimireddy et
  // al. 2022), so its f limits apply to that count.
  const int64_t n = aggregator_rows(c, n_clients);
  const std::string nn = n == n_clients ? n_name : "the " + num(n) + " rows left after bucketing (bucket_size " +
                                                       num(c.bucket_size) + ")";
  const std::string hint = " (f is the Byzantine count per round; set f or lower byzantine_fraction)";
  auto f_fail = [&](const std::string& bound, const std::string& who) {
    fail(src + ": f = " + num(fe) + " needs " + bound + " for " + who + hint);
  };
  const std::string& agg = c.aggregator;
  const bool krum = agg == "krum" || agg == "multi_krum";
  // Only rules that take f have an f limit: the coordinate-wise and geometric medians take none
  // (their breakdown point is theirs, not a parameter), so a grid over attack fractions with
  // aggregator 'median' runs up to 50% Byzantine clients (Ditto Table 8).
  if ((agg == "trimmed_mean" && c.beta < 0) || (krum && c.krum_neighbours == "n-f")) {
    if (!(n > 2 * fe))
      f_fail("f < " + nn + " / 2 = " + num(n / 2.0),
             "aggregator '" + agg + "'" + (krum ? " with krum_neighbours 'n-f'" : ""));
  }
  if (krum && c.krum_neighbours == "n-f-2" && !(n > 2 * fe + 2))
    f_fail("f < (" + nn + " - 2) / 2 = " + num((n - 2) / 2.0), "aggregator '" + agg + "' with krum_neighbours 'n-f-2'");
  if (agg == "k_norm" && !(fe < n)) f_fail("f < " + nn + " = " + num(n), "aggregator 'k_norm'");
  if (agg == "multi_krum" && c.krum_m > n - fe)
    fail(src + ": krum_m = " + num(c.krum_m) + " needs krum_m <= " + nn + " - f = " + num(n - fe) +
         " for aggregator 'multi_krum' (0 = " + nn + " - f)");
}

// ------------------------------------------------------------------ grid helpers

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

void no_duplicates(const std::vector<json>& values, const std::string& name, const std::string& src) {
  for (size_t i = 0; i < values.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (values[i] == values[j]) fail(src + ": " + name + " lists " + show(values[i]) + " twice");
}

}  // namespace

// ------------------------------------------------------------------ public API

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Key& k : table()) v.push_back(k.name);
    return v;
  }();
  return names;
}

FlConfig parse_config(const json& config, const std::string& source) {
  check_names(config, source);
  FlConfig c;
  std::set<std::string> given;
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
  validate(c, given, source);
  return c;
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
  // seeds
  std::vector<json> seeds;
  if (config.contains(kSeeds)) {
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
  }
  // axes, in table order
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
  size_t total = std::max<size_t>(seeds.size(), 1);
  for (const Axis& a : axes) {
    total *= a.values.size();
    if (total > 1000000) fail(src + ": the grid has more than 1000000 runs");
  }
  std::vector<GridPoint> points;
  points.reserve(total);
  std::vector<size_t> idx(axes.size(), 0);
  while (true) {
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
    } else {
      for (const json& s : seeds) {
        GridPoint p{base, label};
        p.config["seed"] = s;
        points.push_back(std::move(p));
      }
    }
    // next index, last axis fastest
    size_t i = axes.size();
    while (i > 0 && ++idx[i - 1] == axes[i - 1].values.size()) idx[--i] = 0;
    if (i == 0) break;
  }
  return points;
}

json read_config_file(const std::string& path) { return read_json_file<json>(path, "config"); }

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

int64_t aggregator_rows(const FlConfig& c, int64_t n) {
  // Bucketing (Karimireddy et al. 2022) averages groups of bucket_size rows: ceil(n / s) remain.
  for (const std::string& p : c.pre_aggregators)
    if (p == "bucketing") n = (n + c.bucket_size - 1) / c.bucket_size;
  return n;
}

}  // namespace nanofed::fl
