// test_config.cpp — fl/config: defaults and exact round trips, every error kind (unknown key
// with a suggestion, enum values, types, ranges, cross-key rules, Byzantine counts per
// aggregator at the boundary), overrides, the alias, grid expansion and read_config_file.
#include <fstream>
#include <string>
#include <vector>

#include "engine/file_io.h"
#include "fl/config.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

json obj(const std::string& text) { return json::parse(text); }

FlConfig parse(const std::string& text) { return parse_config(obj(text)); }

// Expects parse_config(text) to fail with a message containing every fragment.
void bad(const std::string& text, const std::vector<std::string>& fragments) {
  expect_error([&] { parse(text); }, fragments);
}

// A config with n = clients_per_round = 10 of num_clients = 10, 4 Byzantine clients and the
// given aggregator / f / extra keys.
std::string byz(const std::string& aggregator, int64_t f, const std::string& extra = "") {
  return R"({"num_clients": 10, "clients_per_round": 10, "attack": "sign_flip", "num_byzantine": 4,
             "aggregator": ")" + aggregator + R"(", "f": )" + std::to_string(f) + extra + "}";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_round_trip) {
  const FlConfig defaults;
  const FlConfig c = parse_config(json::object());
  BOOST_TEST((c == defaults));
  const json j = to_json(c);
  std::vector<std::string> names;
  for (const auto& item : j.items()) names.push_back(item.key());
  BOOST_TEST(names == config_keys(), boost::test_tools::per_element());
  BOOST_TEST(j["lr"].get<double>() == 0.05);
  BOOST_TEST(j["hidden"] == json::parse("[200]"));
  BOOST_TEST((parse_config(j) == defaults));
  BOOST_TEST((parse_config(json::parse(j.dump())) == defaults));  // through text as well
}

BOOST_AUTO_TEST_CASE(non_default_round_trip_is_exact) {
  FlConfig c;
  c.name = "x";
  c.seed = 18446744073709551615ull;  // uint64 max survives
  c.dataset = "fmnist";
  c.partition = "ditto";
  c.num_clients = 500;
  c.clients_per_round = 10;
  c.alpha = 0.1;
  c.test_fraction = 0.30000000000000004;
  c.model = "mlp";
  c.hidden = {100, 50};
  c.init = "glorot_uniform";
  c.strategy = "mixture";
  c.lambda = 0.1 + 0.2;
  c.local_steps = 7;  // local_epochs stays the default: written as null
  c.lr = 1e-5 / 3;
  c.momentum = 0.9;
  c.aggregator = "multi_krum";
  c.pre_aggregators = {"clip", "nnm"};
  c.krum_neighbours = "n-f";
  c.attack = "alie";
  c.byzantine_fraction = 0.2;
  c.poison_labels = "true";
  c.alie_z = -1.5;
  c.non_finite_value = "nan";
  c.normalize = false;
  c.eval_every = 5;
  const json j = to_json(c);
  BOOST_TEST(j["local_epochs"].is_null());
  BOOST_TEST((parse_config(j) == c));
  BOOST_TEST((parse_config(json::parse(j.dump())) == c));
  FlConfig d = c;
  d.lambda = std::nextafter(d.lambda, 1.0);
  BOOST_TEST((d != c));
}

BOOST_AUTO_TEST_CASE(unknown_key_suggests_the_closest) {
  expect_error([] { parse(R"({"lamda": 1})"); }, {"config: unknown key 'lamda' (did you mean 'lambda'?)"});
  expect_error([] { parse_config(obj(R"({"momentun": 0.9})"), "runs/x/config.json"); },
               {"runs/x/config.json: unknown key 'momentun' (did you mean 'momentum'?)"});
  bad(R"({"num_round": 3})", {"unknown key 'num_round' (did you mean 'num_rounds'?)"});
  bad(R"({"rl": 0.1})", {"did you mean 'lr'?"});  // transposition = 1 edit
  // A missing word: the keys it starts a word of.
  bad(R"({"clients": 4})", {"unknown key 'clients' (did you mean 'num_clients' or 'clients_per_round'?)"});
  bad(R"({"epochs": 4})", {"(did you mean 'local_epochs' or 'finetune_epochs'?)"});
  bad(R"({"completely_wrong": 1})", {"unknown key 'completely_wrong'"});
  try {
    parse(R"({"completely_wrong": 1})");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("did you mean") == std::string::npos);
  }
  bad(R"([1, 2])", {"config: expected a JSON object", "array"});
}

BOOST_AUTO_TEST_CASE(enum_keys_list_their_values) {
  bad(R"({"strategy": "dito"})",
      {"config: strategy = 'dito' is not one of fedavg, fedprox, local, finetune, ditto, mixture, ipgd"});
  bad(R"({"device": "gpu"})", {"device = 'gpu' is not one of cpu, cuda"});
  bad(R"({"dataset": "cifar"})", {"dataset = 'cifar' is not one of fmnist, mnist, synthetic"});
  bad(R"({"partition": "pathological"})", {"partition = 'pathological' is not one of iid, dirichlet, shards, ditto"});
  bad(R"({"sampling": "random"})", {"sampling = 'random' is not one of all, uniform, proportional"});
  bad(R"({"init": "xavier"})", {"init = 'xavier' is not one of pytorch, glorot_uniform"});
  bad(R"({"ditto_order": "before"})", {"ditto_order = 'before' is not one of per_step, after_global"});
  // personal_lambdas: extra v_k(lambda) of ditto, distinct, >= 0.
  bad(R"({"strategy": "ditto", "personal_lambdas": [0.1, -1]})", {"personal_lambdas = [0.1,-1] entries must be >= 0"});
  bad(R"({"strategy": "ditto", "personal_lambdas": [0.1, 0.1]})",
      {"personal_lambdas = [0.1,0.1] repeats 0.1 (lambda = 1 is the first personal model)"});
  bad(R"({"strategy": "ditto", "personal_lambdas": [1]})", {"repeats 1"});
  bad(R"({"strategy": "fedavg", "personal_lambdas": [1]})", {"personal_lambdas = [1] needs strategy 'ditto', not 'fedavg'"});
  bad(R"({"strategy": "ditto", "personal_lambdas": 0.1})", {"personal_lambdas = 0.1 must be a list of numbers"});
  BOOST_CHECK_NO_THROW(parse(R"({"strategy": "ditto", "personal_lambdas": [0, 0.1, 2]})"));
  bad(R"({"aggregator": "trmean"})",
      {"aggregator = 'trmean' is not one of mean, weighted_mean, median, trimmed_mean, krum, multi_krum, "
       "geometric_median, centered_clipping, k_norm"});
  bad(R"({"pre_aggregators": ["clip", "arc"]})",
      {"pre_aggregators entry 'arc' is not one of clip, median_clip, nnm, bucketing"});
  bad(R"({"krum_neighbours": "n"})", {"krum_neighbours = 'n' is not one of n-f-2, n-f"});
  bad(R"({"attack": "lie"})",
      {"attack = 'lie' is not one of none, label_poisoning, gaussian, sign_flip, boosting, alie, ipm, mimic, "
       "non_finite"});
  bad(R"({"poison_labels": "yes"})", {"poison_labels = 'yes' is not one of auto, true, false"});
  bad(R"({"non_finite_value": "-inf"})", {"non_finite_value = '-inf' is not one of inf, nan"});
  bad(R"({"model": "vgg"})", {"model = 'vgg' is not one of logreg, mlp, cnn, mnist_cnn, cnn28, cnn64, resnet18"});
  bad(R"({"strategy": 3})", {"strategy = 3 must be one of fedavg, fedprox"});
}

BOOST_AUTO_TEST_CASE(poison_labels_accepts_json_booleans) {
  BOOST_TEST(parse(R"({"poison_labels": true})").poison_labels == "true");
  BOOST_TEST(parse(R"({"poison_labels": false})").poison_labels == "false");
  BOOST_TEST(parse(R"({"poison_labels": "auto"})").poison_labels == "auto");
  bad(R"({"attack": true})", {"attack = true must be one of none"});  // only poison_labels takes booleans
}

BOOST_AUTO_TEST_CASE(type_errors_name_key_value_and_type) {
  bad(R"({"lr": "x"})", {"config: lr = \"x\" must be a number"});
  bad(R"({"lr": true})", {"lr = true must be a number"});
  bad(R"({"rounds": 2.5})", {"config: rounds = 2.5 must be an integer"});
  bad(R"({"rounds": "10"})", {"rounds = \"10\" must be an integer"});
  bad(R"({"seed": -1})", {"seed = -1 must be a non-negative integer"});
  bad(R"({"normalize": 1})", {"normalize = 1 must be true or false"});
  bad(R"({"name": 3})", {"name = 3 must be a string"});
  bad(R"({"hidden": "200"})", {"hidden = \"200\" must be a list of integers"});
  bad(R"({"hidden": [200, "x"]})", {"must be a list of integers"});
  bad(R"({"pre_aggregators": "clip"})", {"pre_aggregators = \"clip\" must be a list of strings, each one of clip"});
  bad(R"({"lr": null})", {"lr = null must be a number"});
  // Integral floats from scripts are integers.
  BOOST_TEST(parse(R"({"rounds": 1e3})").rounds == 1000);
  BOOST_TEST(parse(R"({"seed": 7.0})").seed == 7u);
  BOOST_TEST(parse(R"({"lr": 1})").lr == 1.0);
}

BOOST_AUTO_TEST_CASE(ranges_reject_just_outside_and_accept_the_boundary) {
  struct Case {
    std::string key, bad_value, fragment, good_value;
  };
  const std::vector<Case> cases = {
      {"rounds", "0", "config: rounds = 0 must be >= 1", "1"},
      {"num_clients", "0", "num_clients = 0 must be >= 1", "10"},
      {"clients_per_round", "11", "clients_per_round = 11 must be in [1, num_clients = 10]", "10"},
      {"clients_per_round", "0", "clients_per_round = 0 must be in [1, num_clients = 10]", "1"},
      {"batch_size", "0", "batch_size = 0 must be >= 1", "1"},
      {"lr", "0", "lr = 0 must be > 0", "1e-9"},
      {"momentum", "1", "momentum = 1 must be in [0, 1)", "0"},
      {"momentum", "-0.1", "momentum = -0.1 must be in [0, 1)", "0.999"},
      {"weight_decay", "-0.5", "weight_decay = -0.5 must be >= 0", "0"},
      {"server_lr", "0", "server_lr = 0 must be > 0", "0.5"},
      {"local_steps", "-1", "local_steps = -1 must be >= 0", "0"},
      {"local_epochs", "0", "local_epochs = 0 must be >= 1", "1"},
      {"mu", "-0.01", "mu = -0.01 must be >= 0", "0"},
      {"tilt", "0", "tilt = 0 must be > 0", "1e-9"},
      {"alpha", "0", "alpha = 0 must be > 0", "0.01"},
      {"test_fraction", "0", "test_fraction = 0 must be in (0, 1)", "0.01"},
      {"test_fraction", "1", "test_fraction = 1 must be in (0, 1)", "0.99"},
      {"ditto_scale", "0", "ditto_scale = 0 must be in (0, 1]", "1"},
      {"ditto_scale", "1.5", "ditto_scale = 1.5 must be in (0, 1]", "0.1"},
      {"byzantine_fraction", "1", "byzantine_fraction = 1 must be in [0, 1)", "0"},
      {"num_byzantine", "-2", "num_byzantine = -2 must be -1 (use byzantine_fraction) or in [0, num_clients - 1 = 9]",
       "-1"},
      {"num_byzantine", "10", "num_byzantine = 10 must be -1", "0"},
      {"eval_every", "0", "eval_every = 0 must be >= 1", "1"},
      {"checkpoint_every", "-1", "checkpoint_every = -1 must be >= 0", "0"},
      {"stop_at_round", "-1", "stop_at_round = -1 must be >= 0", "0"},
      {"finetune_epochs", "-1", "finetune_epochs = -1 must be >= 0", "0"},
      {"finetune_lr", "-0.1", "finetune_lr = -0.1 must be >= 0", "0"},
      {"finetune_lambda", "-1", "finetune_lambda = -1 must be >= 0", "0"},
      {"cc_tau", "0", "cc_tau = 0 must be > 0", "0.1"},
      {"clip_norm", "-1", "clip_norm = -1 must be > 0", "0.1"},
      {"bucket_size", "0", "bucket_size = 0 must be >= 1", "1"},
      {"krum_m", "-1", "krum_m = -1 must be >= 0", "0"},
      {"beta", "0.5", "beta = 0.5 must be -1 (trimmed_mean by count f) or in [0, 0.5)", "0.49"},
      {"beta", "-0.5", "beta = -0.5 must be -1", "-1"},
      {"beta", "-1.5", "beta = -1.5 must be -1", "0"},
      {"f", "-2", "f = -2 must be -1", "-1"},
      {"eval_batch_size", "0", "eval_batch_size = 0 must be >= 1", "1"},
      {"synthetic_train", "0", "synthetic_train = 0 must be >= 1", "1"},
      {"synthetic_test", "0", "synthetic_test = 0 must be >= 1", "1"},
      {"synthetic_size", "0", "synthetic_size = 0 must be >= 1", "1"},
      {"synthetic_classes", "1", "synthetic_classes = 1 must be >= 2", "2"},
      {"hidden", "[200, 0]", "hidden = [200,0] entries must be >= 1", "[1]"},
      {"channels", "[16]", "channels = [16] must be [] (the model's widths) or two conv widths >= 1", "[16, 32]"},
      {"channels", "[16, 0]", "channels = [16,0] must be []", "[]"},
      {"fc_hidden", "-1", "fc_hidden = -1 must be >= 0", "256"},
      {"name", "\"\"", "name = '' must not be empty", "\"a\""},
      {"threads", "-1", "threads = -1 must be in [1, 256], or 0 for the default (one per core, at most 8)", "0"},
      {"threads", "257", "threads = 257 must be in [1, 256]", "256"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.key << " = " << c.bad_value) {
      bad("{\"" + c.key + "\": " + c.bad_value + "}", {c.fragment});
      BOOST_CHECK_NO_THROW(parse("{\"" + c.key + "\": " + c.good_value + "}"));
    }
  }
  // clients_per_round is ignored with sampling = all.
  BOOST_CHECK_NO_THROW(parse(R"({"sampling": "all", "clients_per_round": 11})"));
  BOOST_CHECK_NO_THROW(parse(R"({"sampling": "all", "clients_per_round": 0})"));
}

BOOST_AUTO_TEST_CASE(lambda_range_depends_on_the_strategy) {
  bad(R"({"strategy": "mixture", "lambda": 1.5})", {"config: lambda = 1.5 must be in [0, 1] for strategy 'mixture'"});
  bad(R"({"strategy": "ipgd", "lambda": -0.1})", {"lambda = -0.1 must be in [0, 1] for strategy 'ipgd'"});
  bad(R"({"strategy": "ditto", "lambda": -0.1})", {"lambda = -0.1 must be >= 0 for strategy 'ditto'"});
  BOOST_TEST(parse(R"({"strategy": "ditto", "lambda": 5})").lambda == 5.0);
  BOOST_TEST(parse(R"({"strategy": "mixture", "lambda": 1})").lambda == 1.0);
  BOOST_TEST(parse(R"({"strategy": "ipgd", "lambda": 0})").lambda == 0.0);
  BOOST_CHECK_NO_THROW(parse(R"({"strategy": "fedavg", "lambda": 5})"));  // unused
  BOOST_CHECK_NO_THROW(parse(R"({"strategy": "ipgd", "aggregator": "weighted_mean"})"));
}

BOOST_AUTO_TEST_CASE(cross_key_rules) {
  bad(R"({"local_steps": 5, "local_epochs": 2})", {"local_steps = 5 and local_epochs = 2", "local_epochs xor local_steps"});
  bad(R"({"local_steps": 5, "local_epochs": 1})", {"local_epochs xor local_steps"});  // explicit, even the default
  BOOST_TEST(parse(R"({"local_steps": 5})").local_steps == 5);
  BOOST_TEST(parse(R"({"local_steps": 5, "local_epochs": null})").local_epochs == 1);
  BOOST_TEST(parse(R"({"local_steps": 0, "local_epochs": 3})").local_epochs == 3);
  bad(R"({"partition": "ditto", "dataset": "synthetic", "synthetic_classes": 4})",
      {"synthetic_classes = 4 must be >= 5 for partition 'ditto'"});
  BOOST_CHECK_NO_THROW(parse(R"({"partition": "ditto", "dataset": "synthetic", "synthetic_classes": 5})"));
  BOOST_CHECK_NO_THROW(parse(R"({"partition": "ditto", "dataset": "fmnist"})"));
  // save_personal needs personal models to save.
  bad(R"({"save_personal": true})", {"config: save_personal = true needs a strategy with personal models",
                                     "not 'fedavg'"});
  BOOST_TEST(parse(R"({"save_personal": true, "strategy": "ditto", "keep_checkpoint": true})").save_personal);
}

BOOST_AUTO_TEST_CASE(grid_values_are_rejected_by_parse_config) {
  bad(R"({"lambda": [0.1, 1]})", {"config: lambda is a list; use expand_grid / nanofed fl to run a grid"});
  bad(R"({"seeds": [0, 1]})", {"config: seeds = [0,1]", "use expand_grid / nanofed fl to run a grid"});
  bad(R"({"pre_aggregators": [["clip"], ["nnm"]]})", {"pre_aggregators is a list of lists; use expand_grid"});
  BOOST_TEST(parse(R"({"pre_aggregators": ["clip", "nnm"]})").pre_aggregators.size() == 2u);
}

BOOST_AUTO_TEST_CASE(num_rounds_is_an_alias_of_rounds) {
  BOOST_TEST(parse(R"({"num_rounds": 7})").rounds == 7);
  bad(R"({"num_rounds": 0})", {"rounds = 0 must be >= 1"});
  bad(R"({"rounds": 3, "num_rounds": 3})", {"rounds and num_rounds are the same key; give one of them"});
  bad(R"({"num_rounds": [1, 2]})", {"num_rounds is a list"});
  // An override of either spelling replaces the other.
  json c = obj(R"({"rounds": 3})");
  apply_overrides(c, {"num_rounds=9"});
  BOOST_TEST(!c.contains("rounds"));
  BOOST_TEST(parse_config(c).rounds == 9);
  apply_overrides(c, {"rounds=4"});
  BOOST_TEST(!c.contains("num_rounds"));
  BOOST_TEST(parse_config(c).rounds == 4);
}

BOOST_AUTO_TEST_CASE(byzantine_counts_by_hand) {
  FlConfig c;
  c.num_clients = 500;
  c.byzantine_fraction = 0.5;
  c.clients_per_round = 10;
  BOOST_TEST(round_size(c) == 10);
  BOOST_TEST(byzantine_count(c) == 250);
  BOOST_TEST(effective_f(c) == 5);  // floor(10 * 250 / 500)
  c.f = 2;
  BOOST_TEST(effective_f(c) == 2);  // given f wins
  c.f = -1;
  c.byzantine_fraction = 0.2;  // 100 of 500 -> floor(10 * 100 / 500) = 2
  BOOST_TEST(byzantine_count(c) == 100);
  BOOST_TEST(effective_f(c) == 2);
  c.num_byzantine = 7;  // overrides the fraction: floor(10 * 7 / 500) = 0
  BOOST_TEST(byzantine_count(c) == 7);
  BOOST_TEST(effective_f(c) == 0);
  c.num_byzantine = -1;
  c.num_clients = 100;
  c.byzantine_fraction = 0.29;  // 0.29 * 100 = 28.999999999999996 in double; counts as 29
  BOOST_TEST(byzantine_count(c) == 29);
  c.num_clients = 23;
  c.byzantine_fraction = 0.5;  // Vehicle "50%" = 11 of 23
  c.sampling = "all";
  c.clients_per_round = 5;  // ignored
  BOOST_TEST(round_size(c) == 23);
  BOOST_TEST(byzantine_count(c) == 11);
  BOOST_TEST(effective_f(c) == 11);
  c.sampling = "uniform";
  BOOST_TEST(effective_f(c) == 2);  // floor(5 * 11 / 23)
}

BOOST_AUTO_TEST_CASE(f_limits_per_aggregator_at_the_boundary) {
  // Ditto's FMNIST setting: 500 clients, 50% corrupted, 10 per round -> f = 5: trimmed_mean by
  // count needs n > 2f.
  bad(R"({"num_clients": 500, "clients_per_round": 10, "byzantine_fraction": 0.5, "attack": "alie",
          "aggregator": "trimmed_mean"})",
      {"config: f = 5 needs f < clients_per_round / 2 = 5 for aggregator 'trimmed_mean' (f is the Byzantine count "
       "per round; set f or lower byzantine_fraction)"});
  BOOST_CHECK_NO_THROW(parse(R"({"num_clients": 500, "clients_per_round": 11, "byzantine_fraction": 0.5,
                                 "attack": "alie", "aggregator": "trimmed_mean"})"));  // f = 5 < 5.5
  // n = 10: n > 2f for trimmed_mean (count) and krum/multi_krum with n-f.
  BOOST_CHECK_NO_THROW(parse(byz("trimmed_mean", 4)));
  bad(byz("trimmed_mean", 5), {"f = 5 needs f < clients_per_round / 2 = 5 for aggregator 'trimmed_mean'"});
  BOOST_CHECK_NO_THROW(parse(byz("trimmed_mean", 5, R"(, "beta": 0.4)")));  // by fraction: f unused
  for (const std::string agg : {"krum", "multi_krum"}) {
    BOOST_TEST_CONTEXT(agg) {
      BOOST_CHECK_NO_THROW(parse(byz(agg, 4, R"(, "krum_neighbours": "n-f")")));
      bad(byz(agg, 5, R"(, "krum_neighbours": "n-f")"),
          {"f = 5 needs f < clients_per_round / 2 = 5 for aggregator '" + agg + "' with krum_neighbours 'n-f'"});
      // n-f-2: n > 2f + 2
      BOOST_CHECK_NO_THROW(parse(byz(agg, 3)));
      bad(byz(agg, 4), {"f = 4 needs f < (clients_per_round - 2) / 2 = 4 for aggregator '" + agg +
                            "' with krum_neighbours 'n-f-2'"});
    }
  }
  // multi_krum: krum_m <= n - f.
  BOOST_CHECK_NO_THROW(parse(byz("multi_krum", 3, R"(, "krum_m": 7)")));
  bad(byz("multi_krum", 3, R"(, "krum_m": 8)"), {"krum_m = 8 needs krum_m <= clients_per_round - f = 7 for aggregator 'multi_krum'"});
  BOOST_CHECK_NO_THROW(parse(byz("krum", 3, R"(, "krum_m": 8)")));  // krum ignores krum_m
  // k_norm and the nnm pre-aggregator: f < n.
  BOOST_CHECK_NO_THROW(parse(byz("k_norm", 9)));
  bad(byz("k_norm", 10), {"f = 10 needs f < clients_per_round = 10 for aggregator 'k_norm'"});
  BOOST_CHECK_NO_THROW(parse(byz("mean", 9, R"(, "pre_aggregators": ["clip", "nnm"])")));
  bad(byz("mean", 10, R"(, "pre_aggregators": ["nnm"])"), {"f = 10 needs f < clients_per_round = 10 for pre-aggregator 'nnm'"});
  // No limit for the rules that take no f: the mean-like rules, centered clipping and the medians.
  for (const std::string agg : {"mean", "weighted_mean", "centered_clipping", "median", "geometric_median"})
    BOOST_CHECK_NO_THROW(parse(byz(agg, 50)));
  // sampling = all: n = num_clients (7), named so; odd n gives a half.
  const std::string all = R"({"num_clients": 7, "sampling": "all", "attack": "gaussian", "num_byzantine": 3,
                              "aggregator": "trimmed_mean", "f": )";
  BOOST_CHECK_NO_THROW(parse(all + "3}"));
  bad(all + "4}", {"f = 4 needs f < num_clients / 2 = 3.5 for aggregator 'trimmed_mean'"});
  // Derived f with sampling = all: floor(7 * 3 / 7) = 3 is fine, 4 of 7 is not.
  BOOST_CHECK_NO_THROW(parse(R"({"num_clients": 7, "sampling": "all", "attack": "gaussian", "num_byzantine": 3,
                                 "aggregator": "trimmed_mean"})"));
  bad(R"({"num_clients": 7, "sampling": "all", "attack": "gaussian", "num_byzantine": 4,
          "aggregator": "trimmed_mean"})",
      {"f = 4 needs f < num_clients / 2 = 3.5"});
}

BOOST_AUTO_TEST_CASE(median_at_half_byzantine_runs_in_one_grid_over_attack_fractions) {
  // Ditto Table 8: FMNIST, 10 clients per round, 10% .. 50% of them corrupted, FedAvg (mean)
  // beside the median. Every point parses, the median at 50% (f = 5 of 10) included; rules
  // that take f still get their limit at that point.
  const json raw = obj(R"({"num_clients": 500, "clients_per_round": 10, "attack": "label_poisoning",
                           "byzantine_fraction": [0.1, 0.2, 0.5], "aggregator": ["mean", "median"]})");
  const std::vector<GridPoint> g = expand_grid(raw);
  BOOST_TEST_REQUIRE(g.size() == 6u);
  for (const GridPoint& p : g) BOOST_CHECK_NO_THROW(parse_config(p.config, p.label));
  json krum = raw;
  krum["aggregator"] = "krum";
  krum["byzantine_fraction"] = 0.5;
  bad(krum.dump(), {"f = 5 needs f < (clients_per_round - 2) / 2 = 4 for aggregator 'krum'", "enforce_f_bounds=false"});
  // Ditto's code runs multi-Krum there (f = 5, 3 neighbours, the mean of 5 rows): opted into.
  krum["aggregator"] = "multi_krum";
  krum["enforce_f_bounds"] = false;
  BOOST_CHECK_NO_THROW(parse_config(krum));
  krum["f"] = 10;  // f = n: multi-Krum would average no row
  bad(krum.dump(), {"f = 10 needs f < clients_per_round = 10 for aggregator 'multi_krum'"});
}

BOOST_AUTO_TEST_CASE(attack_and_byzantine_clients_go_together) {
  bad(R"({"attack": "alie"})", {"attack 'alie' needs byzantine_fraction > 0 or num_byzantine > 0"});
  bad(R"({"attack": "ipm", "num_byzantine": 0})", {"attack 'ipm' needs byzantine_fraction > 0 or num_byzantine > 0"});
  bad(R"({"attack": "gaussian", "byzantine_fraction": 0.05})",
      {"attack 'gaussian' needs", "byzantine_fraction = 0.05 of num_clients = 10 is 0 clients"});
  bad(R"({"byzantine_fraction": 0.3})",
      {"attack = 'none' but byzantine_fraction = 0.3 makes 3 Byzantine clients; set attack to one of label_poisoning, "
       "gaussian"});
  bad(R"({"num_byzantine": 2})", {"attack = 'none' but num_byzantine = 2 makes 2 Byzantine clients"});
  const FlConfig c = parse(R"({"attack": "label_poisoning", "byzantine_fraction": 0.3})");
  BOOST_TEST(byzantine_count(c) == 3);
  BOOST_TEST(effective_f(c) == 3);  // floor(10 * 3 / 10); weighted_mean takes any f
}

BOOST_AUTO_TEST_CASE(overrides_parse_json_or_take_text) {
  json c = obj(R"({"strategy": "fedavg", "lr": 0.1})");
  apply_overrides(c, {"lr=0.02", "rounds=3", "strategy=ditto", "normalize=false", "hidden=[64,32]",
                      "pre_aggregators=[\"clip\"]", "name=123", "poison_labels=true", "data_dir=", "out=\"o\""});
  BOOST_TEST(c["lr"].get<double>() == 0.02);
  BOOST_TEST(c["rounds"].get<int64_t>() == 3);
  BOOST_TEST(c["strategy"] == "ditto");
  BOOST_TEST(c["normalize"] == false);
  BOOST_TEST(c["hidden"] == json::parse("[64,32]"));
  BOOST_TEST(c["name"] == "123");  // a string key keeps the text of a number
  BOOST_TEST(c["data_dir"] == "");
  BOOST_TEST(c["out"] == "o");
  const FlConfig p = parse_config(c);
  BOOST_TEST(p.lr == 0.02);
  BOOST_TEST(p.strategy == "ditto");
  BOOST_TEST(!p.normalize);
  BOOST_TEST(p.hidden == (std::vector<int64_t>{64, 32}), boost::test_tools::per_element());
  BOOST_TEST(p.pre_aggregators == std::vector<std::string>{"clip"}, boost::test_tools::per_element());
  BOOST_TEST(p.poison_labels == "true");
  // A list makes a grid.
  apply_overrides(c, {"lambda=[0.1,1]", "seeds=[0,1]"});
  BOOST_TEST(expand_grid(c).size() == 4u);
  // seed replaces seeds.
  apply_overrides(c, {"seed=5"});
  BOOST_TEST(!c.contains("seeds"));
  // Errors name the override.
  expect_error([&] { apply_overrides(c, {"lamda=0.1"}); },
               {"override 'lamda=0.1': unknown key 'lamda' (did you mean 'lambda'?)"});
  expect_error([&] { apply_overrides(c, {"lambda"}); }, {"override 'lambda': expected key=value"});
  json bad_value = obj("{}");
  apply_overrides(bad_value, {"lr=fast"});
  expect_error([&] { parse_config(bad_value); }, {"lr = \"fast\" must be a number"});
}

BOOST_AUTO_TEST_CASE(grid_of_two_lists_and_three_seeds) {
  // strategy comes before lambda in the table: strategy varies slowest, seeds fastest.
  const json raw = obj(R"({"lambda": [0.1, 1], "name": "g", "strategy": ["ditto", "mixture"], "seeds": [0, 1, 2],
                           "rounds": 2})");
  const std::vector<GridPoint> g = expand_grid(raw);
  BOOST_TEST_REQUIRE(g.size() == 12u);
  const std::vector<std::string> labels = {"strategy=ditto,lambda=0.1", "strategy=ditto,lambda=1",
                                           "strategy=mixture,lambda=0.1", "strategy=mixture,lambda=1"};
  for (size_t i = 0; i < g.size(); ++i) {
    BOOST_TEST_CONTEXT("point " << i) {
      BOOST_TEST(g[i].label == labels[i / 3]);
      BOOST_TEST(g[i].config["seed"].get<uint64_t>() == i % 3);
      BOOST_TEST(!g[i].config.contains("seeds"));
      BOOST_TEST(g[i].config["rounds"].get<int64_t>() == 2);
      BOOST_TEST(!g[i].config.contains("batch_size"));  // raw, not defaults-filled
      const FlConfig c = parse_config(g[i].config);
      BOOST_TEST(c.seed == i % 3);
      BOOST_TEST(c.strategy == (i < 6 ? "ditto" : "mixture"));
      BOOST_TEST(c.lambda == ((i / 3) % 2 == 0 ? 0.1 : 1.0));
    }
  }
  // Keys keep their place in the raw config.
  BOOST_TEST(g[0].config.begin().key() == "lambda");
}

BOOST_AUTO_TEST_CASE(grid_labels_and_list_keys) {
  // No lists: one point, empty label, the config as given.
  const json plain = obj(R"({"lr": 0.1})");
  std::vector<GridPoint> g = expand_grid(plain);
  BOOST_TEST_REQUIRE(g.size() == 1u);
  BOOST_TEST(g[0].label == "");
  BOOST_TEST(g[0].config == plain);
  // Seeds alone: no label.
  g = expand_grid(obj(R"({"seeds": [3, 1]})"));
  BOOST_TEST_REQUIRE(g.size() == 2u);
  BOOST_TEST(g[1].label == "");
  BOOST_TEST(g[1].config["seed"] == 1);
  // A one-value list does not vary: unwrapped, not in the label.
  g = expand_grid(obj(R"({"lr": [0.05], "mu": [0.1, 1e-05, 0.30000000000000004]})"));
  BOOST_TEST_REQUIRE(g.size() == 3u);
  BOOST_TEST(g[0].config["lr"] == 0.05);
  BOOST_TEST(g[0].label == "mu=0.1");
  BOOST_TEST(g[1].label == "mu=1e-05");
  BOOST_TEST(g[2].label == "mu=0.30000000000000004");
  // List keys: a plain list is a value; a list of lists is a grid.
  g = expand_grid(obj(R"({"hidden": [200, 100]})"));
  BOOST_TEST(g.size() == 1u);
  g = expand_grid(obj(R"({"pre_aggregators": [[], ["clip", "nnm"]], "hidden": [[100], [200, 100]],
                          "model": "mlp", "aggregator": ["mean", "median"]})"));
  BOOST_TEST_REQUIRE(g.size() == 8u);
  // table order: hidden (model section), then aggregator, then pre_aggregators.
  BOOST_TEST(g[0].label == "hidden=[100],aggregator=mean,pre_aggregators=[]");
  BOOST_TEST(g[1].label == "hidden=[100],aggregator=mean,pre_aggregators=[clip,nnm]");
  BOOST_TEST(g[7].label == "hidden=[200,100],aggregator=median,pre_aggregators=[clip,nnm]");
  BOOST_TEST(parse_config(g[7].config).pre_aggregators.size() == 2u);
  // An alias keeps its spelling in the config, the label uses the key's name.
  g = expand_grid(obj(R"({"num_rounds": [1, 2], "poison_labels": [true, "auto"]})"));
  BOOST_TEST_REQUIRE(g.size() == 4u);
  BOOST_TEST(g[0].label == "rounds=1,poison_labels=true");
  BOOST_TEST(g[0].config.contains("num_rounds"));
  BOOST_TEST(parse_config(g[3].config).rounds == 2);
}

BOOST_AUTO_TEST_CASE(grid_errors) {
  expect_error([] { expand_grid(obj(R"({"lamda": [1, 2]})")); }, {"unknown key 'lamda' (did you mean 'lambda'?)"});
  expect_error([] { expand_grid(obj(R"({"lambda": []})")); }, {"lambda = [] is an empty grid list"});
  expect_error([] { expand_grid(obj(R"({"lambda": [0.1, 0.1]})")); }, {"lambda lists 0.1 twice"});
  expect_error([] { expand_grid(obj(R"({"seeds": [1, 1]})")); }, {"seeds lists 1 twice"});
  expect_error([] { expand_grid(obj(R"({"seeds": [0, -1]})")); },
               {"seeds = [0,-1] must be a non-empty list of non-negative integers"});
  expect_error([] { expand_grid(obj(R"({"seeds": 3})")); }, {"seeds = 3 must be a non-empty list"});
  expect_error([] { expand_grid(obj(R"({"seeds": [0], "seed": 1})")); }, {"seed and seeds are both given"});
  expect_error([] { expand_grid(obj(R"({"pre_aggregators": [["clip"], "nnm"]})")); },
               {"pre_aggregators = [[\"clip\"],\"nnm\"] mixes lists and values"});
  expect_error([] { expand_grid(obj(R"({"rounds": [1], "num_rounds": 2})")); }, {"rounds and num_rounds"});
  expect_error([] { expand_grid(obj(R"({"lambda": []})"), "grid.json"); }, {"grid.json: lambda = [] is an empty grid list"});
}

BOOST_AUTO_TEST_CASE(read_config_file_messages) {
  TempDir dir;
  const auto at = [&](const std::string& name) { return "config: '" + (dir / name) + "': "; };
  expect_error([&] { read_config_file(dir / "missing.json"); }, {at("missing.json") + "cannot open (No such file"});
  write_text(dir / "bad.json", "{\n  \"lr\": 0.1,\n  \"mu\": \n}\n");
  expect_error([&] { read_config_file(dir / "bad.json"); }, {at("bad.json") + "JSON parse error at line 4: ", "syntax error"});
  expect_error([&] { read_config_file(dir.path); }, {"config: '" + dir.path + "': is a directory, expected a file"});
  write_text(dir / "big.json", R"({"lr": 1e999})");  // nlohmann's message without its "[json.exception...] "
  expect_error([&] { read_config_file(dir / "big.json"); }, {at("big.json") + "invalid JSON (number overflow parsing '1e999')"});
  write_text(dir / "dup.json", "{\"lr\": 0.1, \"nested\": {\"lr\": 1}, \"lr\": 0.2}");
  expect_error([&] { read_config_file(dir / "dup.json"); }, {at("dup.json") + "key 'lr' is given twice"});
  expect_error([&] { parse_json_strict<json>("{\"lr\": 0.1, \"lr\": 0.2}", "<text>"); }, {"<text>: key 'lr' is given twice"});
  write_text(dir / "ok.json", R"({"strategy": "ditto", "lambda": [0.1, 1], "seeds": [0]})");
  const json j = read_config_file(dir / "ok.json");
  BOOST_TEST(j.begin().key() == "strategy");
  BOOST_TEST(expand_grid(j).size() == 2u);
  // Messages from a file name the file.
  write_text(dir / "typo.json", R"({"lamda": 0.1})");
  expect_error([&] { parse_config(read_config_file(dir / "typo.json"), dir / "typo.json"); },
               {dir / "typo.json" + ": unknown key 'lamda'"});
}

BOOST_AUTO_TEST_SUITE_END()
