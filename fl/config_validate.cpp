// config_validate.cpp — parse_config: the fields (fl/config_keys.cpp), then every range and
// cross-key rule, one function per concern. Strategy rules come from the strategy registry
// (StrategyInfo), so no strategy is named here.
#include <set>
#include <string>

#include "engine/common.h"
#include "engine/text.h"
#include "engine/threads.h"
#include "fl/config_keys.h"
#include "fl/strategy.h"
#include "nn/train_settings.h"

namespace nanofed::fl {
namespace {

using namespace config_detail;

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

void check_run(const Checker& k) {
  const FlConfig& c = k.c;
  k.need(!c.name.empty(), "name", "''", "must not be empty (it names the results directory)");
  k.need(!c.out.empty(), "out", "''", "must not be empty (the results root)");
}

void check_data(const Checker& k) {
  const FlConfig& c = k.c;
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
  k.in(c.validation_fraction, 0, 1, false, false, "validation_fraction");
  k.in(c.ditto_scale, 0, 1, true, true, "ditto_scale");
  if (colored_environments(c)) {
    k.need(!c.normalize, "normalize", "true",
           "must be false with colored environments (the per-pixel statistics would be of the gray pool)");
    if (c.dataset == "synthetic")
      k.need(c.synthetic_classes <= 10, "synthetic_classes", num(c.synthetic_classes),
             "must be <= 10 with colored environments (one palette color per class)");
  }
  if (c.partition == "ditto" && c.dataset == "synthetic")
    k.need(c.synthetic_classes >= 5, "synthetic_classes", num(c.synthetic_classes),
           "must be >= 5 for partition 'ditto' (it gives each client 5 of the classes)");
}

void check_model(const Checker& k) {
  for (int64_t h : k.c.hidden) k.need(h >= 1, "hidden", show(json(k.c.hidden)), "entries must be >= 1");
  const std::vector<int64_t>& ch = k.c.channels;
  k.need(ch.empty() || (ch.size() == 2 && ch[0] >= 1 && ch[1] >= 1), "channels", show(json(ch)),
         "must be [] (the model's widths) or two conv widths >= 1, e.g. [16, 32]");
  k.at_least(k.c.fc_hidden, 0, "fc_hidden");
}

void check_training(const Checker& k, const std::set<std::string>& given) {
  const FlConfig& c = k.c;
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
    fail(k.src + ": local_steps = " + num(c.local_steps) + " and local_epochs = " + num(c.local_epochs) +
         " are both given; use local_epochs xor local_steps (local_steps = 0 means epochs)");
  k.setting(nn::Setting::batch_size, (double)c.batch_size, "batch_size");
  k.setting(nn::Setting::lr, c.lr, "lr");
  k.setting(nn::Setting::momentum, c.momentum, "momentum");
  k.need(c.optimizer == "sgd" || c.momentum == 0, "momentum", num(c.momentum), "must be 0 with optimizer adam");
  k.setting(nn::Setting::weight_decay, c.weight_decay, "weight_decay");
  k.positive(c.server_lr, "server_lr");
  k.at_least(c.cohort_size, 2, "cohort_size");
}

// The names of the registered strategies that keep personal models.
std::string personal_strategies() {
  std::vector<std::string> names;
  for (const std::string& name : strategy_names())
    if (find_strategy(name)->personal_models) names.push_back(name);
  return join(names);
}

// A strategy that weights the rows itself (TERM) is the aggregation rule: a robust rule or a
// pre-aggregator cannot be combined with it.
void check_own_weights(const Checker& k) {
  const FlConfig& c = k.c;
  const std::string why = " for strategy '" + c.strategy + "' (it weights the updates itself, replacing the aggregator)";
  k.need(c.aggregator == "mean" || c.aggregator == "weighted_mean", "aggregator", "'" + c.aggregator + "'",
         "must be mean or weighted_mean" + why);
  k.need(c.pre_aggregators.empty(), "pre_aggregators", show(json(c.pre_aggregators)), "must be empty" + why);
}

// Rules that depend on the strategy ask its registry entry (StrategyInfo).
void check_strategy(const Checker& k) {
  const FlConfig& c = k.c;
  const StrategyInfo& info = *find_strategy(c.strategy);  // read_fields checked the name
  const std::string for_strategy = " for strategy '" + c.strategy + "'";
  k.at_least(c.mu, 0.0, "mu");
  k.positive(c.tilt, "tilt");
  if (info.weights_rows) check_own_weights(k);
  if (info.lambda == StrategyInfo::Lambda::non_negative)
    k.need(c.lambda >= 0, "lambda", num(c.lambda), "must be >= 0" + for_strategy);
  if (info.lambda == StrategyInfo::Lambda::unit_interval) k.in(c.lambda, 0, 1, false, true, "lambda", for_strategy);
  if (!c.personal_lambdas.empty()) {
    k.need(info.personal_lambdas, "personal_lambdas", show(json(c.personal_lambdas)), "needs strategy 'ditto', not '" + c.strategy + "'");
    std::vector<double> all = {c.lambda};
    for (double l : c.personal_lambdas) {
      k.need(l >= 0, "personal_lambdas", show(json(c.personal_lambdas)), "entries must be >= 0");
      k.need(std::find(all.begin(), all.end(), l) == all.end(), "personal_lambdas", show(json(c.personal_lambdas)),
             "repeats " + num(l) + " (lambda = " + num(c.lambda) + " is the first personal model)");
      all.push_back(l);
    }
  }
  k.at_least(c.personal_steps, 0, "personal_steps");
  k.at_least(c.finetune_epochs, 0, "finetune_epochs");
  k.at_least(c.finetune_lr, 0.0, "finetune_lr");
  k.at_least(c.finetune_lambda, 0.0, "finetune_lambda");
  if (c.save_personal)
    k.need(info.personal_models, "save_personal", "true",
           "needs a strategy with personal models (" + personal_strategies() + "), not '" + c.strategy + "'");
}

void check_aggregation_keys(const Checker& k) {
  const FlConfig& c = k.c;
  k.need(c.f >= -1, "f", num(c.f), "must be -1 (derived from the Byzantine clients) or >= 0");
  k.need(c.beta == -1.0 || (c.beta >= 0 && c.beta < 0.5), "beta", num(c.beta),
         "must be -1 (trimmed_mean by count f) or in [0, 0.5)");
  k.at_least(c.krum_m, 0, "krum_m");
  k.positive(c.clip_norm, "clip_norm");
  k.at_least(c.bucket_size, 1, "bucket_size");
  k.positive(c.cc_tau, "cc_tau");
  k.at_least(c.cc_iterations, 1, "cc_iterations");
}

void check_attack_keys(const Checker& k) {
  const FlConfig& c = k.c;
  k.in(c.byzantine_fraction, 0, 1, false, false, "byzantine_fraction");
  k.need(c.num_byzantine >= -1 && c.num_byzantine <= c.num_clients - 1, "num_byzantine", num(c.num_byzantine),
         "must be -1 (use byzantine_fraction) or in [0, num_clients - 1 = " + num(c.num_clients - 1) + "]");
  k.at_least(c.boost_factor, 0.0, "boost_factor");
  k.at_least(c.gaussian_sigma, 0.0, "gaussian_sigma");
}

void check_robust_training(const Checker& k) {
  const FlConfig& c = k.c;
  if (c.augment != "none") k.positive(c.augment_sigma, "augment_sigma");
  k.need(c.personal_augment_sigma == -1.0 || c.personal_augment_sigma > 0, "personal_augment_sigma",
         num(c.personal_augment_sigma), "must be -1 (= augment_sigma) or > 0");
  k.at_least(c.adv_eps, 0.0, "adv_eps");
  k.at_least(c.adv_alpha, 0.0, "adv_alpha");
  k.at_least(c.adv_steps, 1, "adv_steps");
}

void check_robust_evaluation(const Checker& k) {
  const FlConfig& c = k.c;
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
}

void check_evaluation(const Checker& k) {
  const FlConfig& c = k.c;
  k.at_least(c.eval_every, 1, "eval_every");
  k.at_least(c.eval_batch_size, 1, "eval_batch_size");
  k.at_least(c.checkpoint_every, 0, "checkpoint_every");
  k.at_least(c.stop_at_round, 0, "stop_at_round");
}

// The attack against the number of corrupted clients: one needs the other.
void check_byzantine_count(const Checker& k) {
  const FlConfig& c = k.c;
  const int64_t nb = byzantine_count(c);
  const std::string nb_from = c.num_byzantine >= 0 ? "num_byzantine = " + num(c.num_byzantine)
                                                   : "byzantine_fraction = " + num(c.byzantine_fraction);
  if (c.attack != "none" && nb == 0)
    fail(k.src + ": attack '" + c.attack + "' needs byzantine_fraction > 0 or num_byzantine > 0" +
         (c.byzantine_fraction > 0 && c.num_byzantine < 0
              ? " (byzantine_fraction = " + num(c.byzantine_fraction) + " of num_clients = " + num(c.num_clients) +
                    " is 0 clients)"
              : ""));
  if (c.attack == "none" && nb > 0) {
    std::vector<std::string> attacks = find_key("attack")->choices;
    attacks.erase(attacks.begin());  // "none"
    fail(k.src + ": attack = 'none' but " + nb_from + " makes " + num(nb) +
         " Byzantine clients; set attack to one of " + join(attacks) + " (or no Byzantine clients)");
  }
}

// What the pre-aggregators and the aggregator can take of the Byzantine count f per round.
// Whether krum's resilience bound is what a failing f check would hit (the hint names the opt-out).
bool krum_bounds_only(const FlConfig& c) { return c.aggregator == "krum" || c.aggregator == "multi_krum"; }

void check_aggregator_f(const Checker& k) {
  const FlConfig& c = k.c;
  const std::string& src = k.src;
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
  const std::string hint = krum_bounds_only(c)
                               ? " (f is the Byzantine count per round; set f or lower byzantine_fraction, or "
                                 "enforce_f_bounds=false to run past krum's resilience bound as Ditto's code does)"
                               : " (f is the Byzantine count per round; set f or lower byzantine_fraction)";
  auto f_fail = [&](const std::string& bound, const std::string& who) {
    fail(src + ": f = " + num(fe) + " needs " + bound + " for " + who + hint);
  };
  const std::string& agg = c.aggregator;
  const bool krum = agg == "krum" || agg == "multi_krum";
  // Only rules that take f have an f limit: the coordinate-wise and geometric medians take none
  // (their breakdown point is theirs, not a parameter), so a grid over attack fractions with
  // aggregator 'median' runs up to 50% Byzantine clients (Ditto Table 8).
  if (agg == "multi_krum" && !c.enforce_f_bounds && !(fe < n))
    f_fail("f < " + nn + " = " + num(n), "aggregator 'multi_krum' (it averages n - f rows)");
  const bool bounded = c.enforce_f_bounds || !krum;  // krum's bounds are resilience, not definition
  if (bounded && ((agg == "trimmed_mean" && c.beta < 0) || (krum && c.krum_neighbours == "n-f"))) {
    if (!(n > 2 * fe))
      f_fail("f < " + nn + " / 2 = " + num(n / 2.0),
             "aggregator '" + agg + "'" + (krum ? " with krum_neighbours 'n-f'" : ""));
  }
  if (bounded && krum && c.krum_neighbours == "n-f-2" && !(n > 2 * fe + 2))
    f_fail("f < (" + nn + " - 2) / 2 = " + num((n - 2) / 2.0), "aggregator '" + agg + "' with krum_neighbours 'n-f-2'");
  if (agg == "k_norm" && !(fe < n)) f_fail("f < " + nn + " = " + num(n), "aggregator 'k_norm'");
  if (agg == "multi_krum" && c.krum_m > n - fe)
    fail(src + ": krum_m = " + num(c.krum_m) + " needs krum_m <= " + nn + " - f = " + num(n - fe) +
         " for aggregator 'multi_krum' (0 = " + nn + " - f)");
}

void validate(const FlConfig& c, const std::set<std::string>& given, const std::string& src) {
  const Checker k{c, src};
  check_run(k);
  check_data(k);
  check_model(k);
  check_training(k, given);
  check_strategy(k);
  check_aggregation_keys(k);
  check_attack_keys(k);
  check_robust_training(k);
  check_robust_evaluation(k);
  check_evaluation(k);
  check_byzantine_count(k);
  check_aggregator_f(k);
}

}  // namespace

FlConfig parse_config(const json& config, const std::string& source) {
  std::set<std::string> given;
  FlConfig c = read_fields(config, source, given);
  validate(c, given, source);
  return c;
}

}  // namespace nanofed::fl
