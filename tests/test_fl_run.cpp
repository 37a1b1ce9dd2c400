// fl::run end to end on a tiny synthetic federation: reproducibility, resume bit for bit,
// finished runs read from their summary, what a run folder keeps (checkpoint, shared split
// files, results.md, loadable models), NaN handling, and every strategy x aggregator x attack
// combination for 2 rounds.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/file_io.h"
#include "engine/threads.h"
#include "fl/federation.h"
#include "fl/run.h"
#include "fl/simulation.h"
#include "nn/model_io.h"
#include "nn/safetensors.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

// 6 clients on 1x6x6 synthetic images of 4 classes, a small MLP, 2 rounds.
// `overrides` replaces or adds keys.
json tiny(const std::string& out, const json& overrides = json::object()) {
  json j{{"name", "t"},          {"out", out},
          {"dataset", "synthetic"}, {"synthetic_size", 6},
          {"synthetic_train", 240}, {"synthetic_test", 60},
          {"num_clients", 6},       {"clients_per_round", 5},
          {"model", "mlp"},         {"hidden", {8}},
          {"rounds", 2},            {"local_steps", 2},
          {"batch_size", 8},        {"lr", 0.1},
          {"progress", false}};
  j.update(overrides);
  return j;
}

FlConfig parsed(const json& j) { return parse_config(j); }

// summary.json without what may differ between two equal runs: the folder and the timing.
json without_timing(const std::string& summary_path) {
  json s = read_json_file<json>(summary_path, "test");
  for (const char* key : {"run", "seconds_this_session", "rounds_per_s"}) s.erase(key);
  return s;
}

// Leaves `dir` as a run killed after the rows of round `last_round` were written: the CSVs keep
// those rows plus a torn line, and the checkpoint and summary are gone.
void kill_before_checkpoint(const std::string& dir, int64_t last_round) {
  const std::pair<const char*, size_t> csvs[] = {{"rounds.csv", 0}, {"clients.csv", 1}};
  for (const auto& [name, column] : csvs) {
    const std::vector<std::string> lines = split_lines(read_text(dir + "/" + name));
    std::string kept = lines.at(0) + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
      std::vector<std::string> cells;
      std::stringstream ss(lines[i]);
      for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
      if (std::stoll(cells.at(column)) <= last_round) kept += lines[i] + "\n";
    }
    write_text(dir + "/" + name, kept + lines.back().substr(0, 5));  // a torn line
  }
  std::filesystem::remove(dir + "/checkpoint.safetensors");
  std::filesystem::remove(dir + "/summary.json");
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Scores every benign client's test set on model_of(k) and summarizes them as the run does.
template <class ModelOf>
Summary benign_summary(const FlConfig& c, const Federation& fed, ModelOf model_of) {
  std::vector<ClientScore> scores;
  for (int64_t k = 0; k < c.num_clients; ++k) {
    if (std::count(fed.byzantine.begin(), fed.byzantine.end(), k)) continue;
    std::shared_ptr<nn::Module> model = model_of(k);
    ClientScore s = score(*model, fed.clients[k].test, c.eval_batch_size, Device::cpu());
    s.client = k;
    scores.push_back(s);
  }
  return summarize(scores);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fl_run)

// validation_fraction: the held-out share leaves training (fewer train samples) and every
// personal set gets clients.csv rows with set = val, the data a client chooses its lambda on.
BOOST_AUTO_TEST_CASE(validation_rows_for_every_personal_set) {
  TempDir tmp;
  const FlConfig c = parsed(tiny(tmp.path, {{"strategy", "ditto"}, {"personal_lambdas", {0.1}}, {"validation_fraction", 0.25}}));
  const Federation fed = build_federation(c), plain = build_federation(parsed(tiny(tmp.path)));
  int64_t train = 0, val = 0, train_plain = 0;
  for (int64_t k = 0; k < c.num_clients; ++k) {
    train += fed.clients[k].train.size(), val += fed.clients[k].val.size();
    train_plain += plain.clients[k].train.size();
    BOOST_TEST(fed.clients[k].val.size() == plain.clients[k].train.size() -
                                                (int64_t)std::floor(0.75 * plain.clients[k].train.size() + 1e-9));
  }
  BOOST_TEST(train + val == train_plain);
  BOOST_TEST(val > 0);
  run_one(c, tmp / "run");
  std::map<std::pair<std::string, std::string>, int64_t> rows;  // (model, set) -> rows
  for (const std::string& line : split_lines(read_text(tmp / "run/clients.csv"))) {
    const std::vector<std::string> cells = split(line, ',');
    if (cells.size() == 7 && cells[0] != "client_id") ++rows[{cells[2], cells[4]}];
  }
  auto count = [&](const std::string& model, const std::string& set) { return rows[std::make_pair(model, set)]; };
  for (const char* model : {"personal", "personal@lambda=0.1"}) {
    BOOST_TEST(count(model, "val") == count(model, "test"));  // every client has validation samples here
    BOOST_TEST(count(model, "val") > 0);
  }
  BOOST_TEST(count("global", "val") == 0);  // nothing chooses among global models
}

BOOST_AUTO_TEST_CASE(seeded_run_repeats_identical_csvs) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"attack", "gaussian"},
                           {"byzantine_fraction", 0.34}, {"aggregator", "median"}, {"rounds", 3}});
  RunResult a = run_one(parsed(j), tmp / "a");
  RunResult b = run_one(parsed(j), tmp / "b");
  for (const char* f : {"rounds.csv", "clients.csv", "config.json"})
    BOOST_TEST(read_text(a.dir + "/" + f) == read_text(b.dir + "/" + f), f);
  BOOST_TEST(a.summary["split"] == b.summary["split"]);  // one partition, one split file
  // Another seed gives other numbers.
  j["seed"] = 1;
  RunResult c = run_one(parsed(j), tmp / "c");
  BOOST_TEST(read_text(a.dir + "/rounds.csv") != read_text(c.dir + "/rounds.csv"));
  // The CSVs have the documented columns and one row per round and model.
  const std::string rounds = read_text(a.dir + "/rounds.csv");
  BOOST_TEST(rounds.rfind("round,model,clients,pooled_acc,mean_acc,std_acc,min_acc,max_acc,worst10_acc,"
                          "best10_acc,pooled_loss,mean_loss,train_loss,rejected\n", 0) == 0);
  BOOST_TEST(std::count(rounds.begin(), rounds.end(), '\n') == 1 + 3 * 2);  // global + personal
  BOOST_TEST(a.summary["last"].contains("personal"));
  BOOST_TEST(a.summary["best"]["personal"].contains("round"));
}

BOOST_AUTO_TEST_CASE(killed_and_resumed_run_is_bit_identical) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"rounds", 6}, {"eval_every", 2},
                           {"momentum", 0.9}, {"persist_optimizer_state", true}, {"attack", "alie"},
                           {"byzantine_fraction", 0.34}, {"aggregator", "trimmed_mean"},
                           {"keep_checkpoint", true}});  // compared below
  RunResult full = run_one(parsed(j), tmp / "full");

  // Stop after round 3 (its checkpoint written), as if killed there; then resume.
  json k = j;
  k["stop_at_round"] = 3;
  RunResult part = run_one(parsed(k), tmp / "part");
  BOOST_TEST(part.stopped);
  // Simulate a kill that left rows of later rounds and a torn line behind the checkpoint.
  {
    std::ofstream f(part.dir + "/rounds.csv", std::ios::app);
    f << "4,global,5,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0\n5,glo";
  }
  // Without resume, the directory is not overwritten.
  expect_error([&] { run_one(parsed(j), part.dir); }, {"already holds results", "resume=true"});
  json r = j;
  r["resume"] = true;
  RunResult resumed = run_one(parsed(r), part.dir);
  BOOST_TEST(!resumed.stopped);
  for (const char* f : {"rounds.csv", "clients.csv"})
    BOOST_TEST(read_text(full.dir + "/" + f) == read_text(resumed.dir + "/" + f), f);
  const nn::SafetensorsFile a = nn::read_safetensors(full.dir + "/checkpoint.safetensors");
  const nn::SafetensorsFile b = nn::read_safetensors(resumed.dir + "/checkpoint.safetensors");
  BOOST_REQUIRE_EQUAL(a.tensors.size(), b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    BOOST_TEST(a.tensors[i].first == b.tensors[i].first);
    const Tensor& x = a.tensors[i].second;
    const Tensor& y = b.tensors[i].second;
    BOOST_REQUIRE(x.dtype() == y.dtype());
    BOOST_REQUIRE(x.numel() == y.numel());
    if (x.dtype() == DType::f32) {  // bit for bit: compare the bytes, not the values
      const std::vector<float> u = x.to_vector<float>(), v = y.to_vector<float>();
      BOOST_TEST(std::memcmp(u.data(), v.data(), u.size() * sizeof(float)) == 0, a.tensors[i].first);
    } else {
      BOOST_TEST(x.to_vector<int32_t>() == y.to_vector<int32_t>(), boost::test_tools::per_element());
    }
  }
  BOOST_TEST(a.metadata == b.metadata);
  // A changed key is refused on resume.
  json changed = r;
  changed["lr"] = 0.2;
  expect_error([&] { run_one(parsed(changed), part.dir); }, {"resume", "'lr'"});
}

// The same seed gives the same bytes with 1 and 2 threads: a conv + BN model (cnn28) whose
// fc1 GEMM (8 x 512 x 4096) is large enough to be split across threads (and was threaded by
// OpenBLAS itself, with another K blocking, before the engine owned the threads).
BOOST_AUTO_TEST_CASE(outputs_do_not_depend_on_the_thread_count) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"model", "cnn28"}, {"synthetic_size", 8}, {"num_clients", 4},
                           {"clients_per_round", 4}, {"strategy", "ditto"}, {"momentum", 0.9},
                           {"keep_checkpoint", true}});  // compared below
  const int before = num_threads();
  std::vector<RunResult> runs;
  for (int threads : {1, 2}) {
    j["threads"] = threads;
    runs.push_back(run_one(parsed(j), tmp / ("threads_" + std::to_string(threads))));
    BOOST_TEST(num_threads() == threads);
  }
  set_num_threads(before);
  for (const char* f : {"rounds.csv", "clients.csv", "checkpoint.safetensors"})
    BOOST_TEST(read_text(runs[0].dir + "/" + f) == read_text(runs[1].dir + "/" + f), f);
}

// Clients train at once on the CPU pool (Simulation::for_each_client) with more than one
// thread: every strategy that trains clients that way gives the bytes of one client after
// another (threads = 1), and the pooled path really ran.
BOOST_AUTO_TEST_CASE(clients_trained_at_once_give_the_sequential_bytes) {
  TempDir tmp;
  const int before = num_threads();
  for (const char* strategy : {"fedavg", "fedprox", "local", "finetune", "ditto", "mixture", "term"}) {
    json j = tiny(tmp.path);
    j["strategy"] = strategy;
    j["momentum"] = 0.9;
    j["num_byzantine"] = 1;  // a Byzantine client's poisoned labels train in the same cohort
    j["attack"] = "label_poisoning";
    j["keep_checkpoint"] = true;
    std::vector<RunResult> runs;
    for (int threads : {1, 3}) {
      j["threads"] = threads;
      runs.push_back(run_one(parsed(j), tmp / (std::string(strategy) + "_" + std::to_string(threads))));
    }
    for (const char* f : {"rounds.csv", "clients.csv", "checkpoint.safetensors"})
      BOOST_TEST(read_text(runs[0].dir + "/" + f) == read_text(runs[1].dir + "/" + f), strategy << ": " << f);
    // The pooled path itself: a round of the same config on 1 and on 3 threads.
    const FlConfig c = parsed(j);
    for (int threads : {1, 3}) {
      set_num_threads(threads);
      Federation fed = build_federation(c);
      Simulation sim(c, fed.clients, fed.byzantine, fed.make_model);
      sim.run_round(0);
      sim.evaluate(ModelKind::personal);
      BOOST_TEST((sim.pooled_client_tasks() > 0) == (threads > 1), strategy << " on " << threads << " threads");
    }
  }
  set_num_threads(before);
}

// Lockstep cohorts (fl/cohort.cpp, cohort = on): the clients of a round train as one grouped
// model, and every strategy that trains clients gives the bytes of one client after another
// (cohort = off), with momentum, weight decay, a poisoned Byzantine client, Ditto's extra
// personal sets and both orders, an MLP and a CNN; clients whose batch sizes differ from all
// others train alone in the same round. The cohort path must really have run.
BOOST_AUTO_TEST_CASE(lockstep_cohorts_give_the_sequential_bytes) {
  TempDir tmp;
  const json cnn = {{"model", "cnn"}, {"channels", {3, 4}}, {"fc_hidden", 6}, {"synthetic_size", 8}};
  // 242 images over 6 clients: sizes 41 and 40, i.e. 6 and 5 batches of 8: two cohorts' shapes.
  const json unequal = {{"local_steps", 0}, {"local_epochs", 1}, {"synthetic_train", 242}};
  const std::vector<std::pair<std::string, json>> cases = {
      {"fedavg", json::object()}, {"fedprox", cnn}, {"local", json::object()}, {"finetune", cnn},
      {"ditto", {{"personal_lambdas", {0.0, 0.5}}}}, {"ditto", {{"ditto_order", "after_global"}, {"personal_steps", 3}}},
      {"mixture", cnn}, {"mixture", {{"mixture_overwrite", true}}}, {"fedavg", unequal},
      {"fedavg", {{"optimizer", "adam"}, {"momentum", 0.0}, {"lr", 0.01}}}};
  int index = 0;
  for (const auto& [strategy, extra] : cases) {
    json j = tiny(tmp.path, {{"strategy", strategy}, {"momentum", 0.9}, {"weight_decay", 0.001}, {"num_byzantine", 1},
                             {"attack", "label_poisoning"}, {"keep_checkpoint", true}});
    j.update(extra);
    const std::string what = strategy + " " + extra.dump();
    std::vector<RunResult> runs;
    for (const char* cohort : {"off", "on"}) {
      j["cohort"] = cohort;
      runs.push_back(run_one(parsed(j), tmp / (std::to_string(index) + cohort)));
    }
    ++index;
    for (const char* f : {"rounds.csv", "clients.csv", "checkpoint.safetensors"})
      BOOST_TEST(read_text(runs[0].dir + "/" + f) == read_text(runs[1].dir + "/" + f), what << ": " << f);
    j["cohort"] = "on";
    const FlConfig c = parsed(j);
    Federation fed = build_federation(c);
    Simulation sim(c, fed.clients, fed.byzantine, fed.make_model);
    sim.run_round(0);
    sim.finish();
    BOOST_TEST(sim.cohorts_run() > 0, what << ": no lockstep cohort ran");
  }
}

// What keeps clients out of a cohort is named (the run's log prints it).
BOOST_AUTO_TEST_CASE(cohort_blockers_are_named) {
  TempDir tmp;
  auto blocker = [&](const json& overrides, bool global_side) {
    json j = tiny(tmp.path, {{"cohort", "on"}});
    j.update(overrides);
    const FlConfig c = parsed(j);
    Federation fed = build_federation(c);
    Simulation sim(c, fed.clients, fed.byzantine, fed.make_model);
    return sim.cohort_blocker(global_side);
  };
  BOOST_TEST(blocker(json::object(), true) == "");
  BOOST_TEST(blocker({{"cohort", "off"}}, true) == "cohort = off");
  BOOST_TEST(blocker({{"cohort", "auto"}}, true).find("cohort = auto on the CPU") == 0);
  BOOST_TEST(blocker({{"adv_train", true}}, false).find("adv_train") == 0);
  BOOST_TEST(blocker({{"persist_optimizer_state", true}}, true).find("persist_optimizer_state") == 0);
  BOOST_TEST(blocker({{"persist_optimizer_state", true}}, false) == "");
  BOOST_TEST(blocker({{"model", "cnn28"}, {"channels", {3, 4}}, {"fc_hidden", 6}, {"synthetic_size", 8}}, true) ==
             "bn1 (BatchNorm2d) has no grouped form");
}

// Killed after round 1's rows but before the first checkpoint (round 3): resume=true starts over
// from round 0 in the same folder and ends with an uninterrupted run's files.
BOOST_AUTO_TEST_CASE(run_killed_before_its_first_checkpoint_resumes_from_round_zero) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"rounds", 4}, {"checkpoint_every", 3}});
  const RunResult full = run_one(parsed(j), tmp / "full");
  const std::string dir = run_one(parsed(j), tmp / "part").dir;
  kill_before_checkpoint(dir, 1);
  expect_error([&] { run_one(parsed(j), dir); }, {"already holds results", "resume=true"});
  json r = j;
  r["resume"] = true;
  // Starting over must not overwrite another run's rows: the config is checked first.
  json changed = r;
  changed["lr"] = 0.2;
  expect_error([&] { run_one(parsed(changed), dir); }, {"resume", "'lr'"});
  const RunResult resumed = run_one(parsed(r), dir);
  for (const char* f : {"rounds.csv", "clients.csv"})  // the split file is shared by both runs
    BOOST_TEST(read_text(full.dir + "/" + f) == read_text(dir + "/" + f), f);
  BOOST_TEST(without_timing(full.dir + "/summary.json") == without_timing(dir + "/summary.json"));
}

// Killed after the final checkpoint, during the robustness evaluation (no summary.json yet, or a
// stale one from an earlier stop_at_round session): the resumed run's summary keeps its "last"
// block and the results table its rows.
BOOST_AUTO_TEST_CASE(run_killed_during_its_evaluation_keeps_the_last_round) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"rounds", 3}, {"eval_attack", "linf"},
                           {"eval_steps", 2}, {"eval_samples", 4}, {"eval_certify", "pixel"},
                           {"certify_n0", 10}, {"certify_n", 50}, {"certify_samples", 2},
                           {"keep_checkpoint", true}});  // a kill in the evaluation comes before the checkpoint's removal
  const RunResult full = run_one(parsed(j), tmp / "full");
  json r = j;
  r["resume"] = true;
  // No summary yet: killed in the first session.
  std::filesystem::remove(full.dir + "/summary.json");
  std::filesystem::remove(full.dir + "/certify.csv");
  const RunResult again = run_one(parsed(r), full.dir);
  for (const char* key : {"last", "best", "rounds_completed"})
    BOOST_TEST(again.summary.value(key, json()) == full.summary[key], key);
  // The whole results table, robustness rows included: the resumed session reads the
  // certification radii back at full precision (radius_full), so they equal the first session's.
  BOOST_TEST(results_table({again}) == results_table({full}));
  // A stale summary: stopped at round 2, finished by a resumed session killed in its evaluation.
  json stop = j;
  stop["stop_at_round"] = 2;
  const std::string dir = run_one(parsed(stop), tmp / "part").dir;
  const std::string stale = read_text(dir + "/summary.json");
  run_one(parsed(r), dir);
  write_text(dir + "/summary.json", stale);
  const RunResult resumed = run_one(parsed(r), dir);
  BOOST_TEST(without_timing(dir + "/summary.json") == without_timing(full.dir + "/summary.json"));
  BOOST_TEST(results_table({resumed}) == results_table({again}));
}

BOOST_AUTO_TEST_CASE(finished_run_is_reported_from_its_summary_alone) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"resume", true}, {"keep_checkpoint", true}});
  const RunResult first = run(j, false).at(0);
  const std::string rounds = read_text(first.dir + "/rounds.csv"), summary = read_text(first.dir + "/summary.json");
  // Only summary.json and config.json are read: a damaged checkpoint and a missing split file
  // do not matter, and nothing is rewritten.
  write_text(first.dir + "/checkpoint.safetensors", "not a checkpoint");
  std::filesystem::remove_all(tmp / "t/splits");
  const RunResult again = run(j, false).at(0);
  BOOST_TEST(again.summary == first.summary);
  BOOST_TEST(read_text(first.dir + "/rounds.csv") == rounds);
  BOOST_TEST(read_text(first.dir + "/summary.json") == summary);
  // Another config is still refused, not taken for the finished run.
  j["lr"] = 0.2;
  expect_error([&] { run(j, false); }, {"resume: config key 'lr' = 0.2 differs from the saved run's 0.1"});
}

BOOST_AUTO_TEST_CASE(finished_runs_keep_their_checkpoint_only_when_asked) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"rounds", 4}, {"eval_every", 2}, {"resume", true}});
  json k = j;
  k["stop_at_round"] = 2;
  const RunResult part = run_one(parsed(k), tmp / "a");
  BOOST_TEST(exists(part.dir + "/checkpoint.safetensors"));  // unfinished: resume needs it
  const RunResult done = run_one(parsed(j), part.dir);
  BOOST_TEST(done.summary["rounds_completed"].get<int64_t>() == 4);
  BOOST_TEST(!exists(done.dir + "/checkpoint.safetensors"));
  BOOST_TEST(run_one(parsed(j), part.dir).summary == done.summary);  // resumed once more: its summary
  j["keep_checkpoint"] = true;
  BOOST_TEST(exists(run_one(parsed(j), tmp / "b").dir + "/checkpoint.safetensors"));
}

BOOST_AUTO_TEST_CASE(runs_with_one_partition_share_one_split_file) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", {"fedavg", "ditto"}}, {"seeds", {0, 1}}});
  const std::vector<RunResult> runs = run(j, false);
  BOOST_TEST_REQUIRE(runs.size() == 4u);
  const std::vector<std::string> one = files_in(tmp / "t/splits");
  BOOST_TEST_REQUIRE(one.size() == 1u);
  const std::string shared = tmp / ("t/splits/" + one[0]);
  write_split(tmp / "expected.txt", build_federation(runs[0].config).split);
  BOOST_TEST(read_text(shared) == read_text(tmp / "expected.txt"));
  for (const RunResult& r : runs) {
    BOOST_TEST(!exists(r.dir + "/split.txt"));
    BOOST_TEST(std::filesystem::equivalent(r.dir + "/" + r.summary["split"].get<std::string>(), shared));
  }
  // Another partition, another file.
  json other = tiny(tmp.path);
  other["partition_seed"] = 1;
  const RunResult r = run_one(parsed(other), tmp / "t/other");
  const std::vector<std::string> two = files_in(tmp / "t/splits");
  BOOST_TEST_REQUIRE(two.size() == 2u);
  // A split file that no longer matches its partition is an error, not silently rewritten.
  std::filesystem::copy_file(r.dir + "/" + r.summary["split"].get<std::string>(), shared,
                             std::filesystem::copy_options::overwrite_existing);
  json again = tiny(tmp.path);
  again["seed"] = 2;
  expect_error([&] { run(again, false); }, {"the partition rebuilt from the config differs from", one[0]});
}

BOOST_AUTO_TEST_CASE(results_md_holds_the_printed_table) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"lambda", {0.5, 1.0}}});
  const std::vector<RunResult> runs = run(j, false);
  BOOST_TEST(read_text(tmp / "t/results.md") == "```\n" + results_table(runs) + "```\n");
}

BOOST_AUTO_TEST_CASE(fl_checkpoint_and_personal_models_load_as_models) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"strategy", "ditto"}, {"attack", "gaussian"},
                           {"byzantine_fraction", 0.34},  // 2 corrupted clients: no personal model file for them
                           {"aggregator", "median"}, {"keep_checkpoint", true},
                           {"save_personal", true}});
  const FlConfig c = parsed(j);
  const RunResult r = run_one(c, tmp / "run");
  const Federation fed = build_federation(c);
  const json& last = r.summary["last"];
  // The checkpoint is a model file of the global model; its evaluation is the run's.
  std::shared_ptr<nn::Module> global = nn::load_model(r.dir + "/checkpoint.safetensors", Device::cpu());
  const Summary g = benign_summary(c, fed, [&](int64_t) { return global; });
  BOOST_TEST(g.pooled_acc == last["global"]["pooled_acc"].get<double>());
  BOOST_TEST(g.pooled_loss == last["global"]["pooled_loss"].get<double>());
  auto personal = [&](int64_t k) { return r.dir + "/models/personal_client" + std::to_string(k) + ".safetensors"; };
  const Summary p = benign_summary(c, fed, [&](int64_t k) { return nn::load_model(personal(k), Device::cpu()); });
  BOOST_TEST(p.pooled_acc == last["personal"]["pooled_acc"].get<double>());
  BOOST_TEST(p.pooled_loss == last["personal"]["pooled_loss"].get<double>());
  BOOST_TEST(p.pooled_loss != g.pooled_loss);  // two different models
  for (int64_t k : fed.byzantine) BOOST_TEST(!exists(personal(k)));
}

BOOST_AUTO_TEST_CASE(non_finite_updates_stop_the_mean_and_are_rejected_by_robust_rules) {
  TempDir tmp;
  json j = tiny(tmp.path, {{"attack", "non_finite"}, {"byzantine_fraction", 0.34},
                           {"aggregator", "mean"}});
  expect_error([&] { run_one(parsed(j), tmp / "mean"); },
               {"round 1", "(byzantine) sent a non-finite update", "aggregator 'mean' cannot reject it"});
  // What was written before the failure is intact.
  BOOST_TEST(read_text(tmp / "mean/config.json").find("\"attack\": \"non_finite\"") != std::string::npos);
  // resume=true reruns the folder and stops the same way (not on "already holds results").
  json again = j;
  again["resume"] = true;
  expect_error([&] { run_one(parsed(again), tmp / "mean"); }, {"round 1", "aggregator 'mean' cannot reject it"});
  j["aggregator"] = "median";
  RunResult ok = run_one(parsed(j), tmp / "median");
  const std::string rounds = read_text(ok.dir + "/rounds.csv");
  BOOST_TEST(rounds.find("nan") == std::string::npos);
  // Each row ends with the number of rejected clients, > 0 in these rounds.
  std::istringstream lines(rounds);
  std::string line;
  std::getline(lines, line);
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    BOOST_TEST(line.substr(line.rfind(',') + 1) != "0", line);
  }
  BOOST_TEST(rows == 2);
}

BOOST_AUTO_TEST_CASE(bad_config_fails_before_anything_is_written) {
  TempDir tmp;
  json j = tiny(tmp.path + "/never");
  j["strategy"] = "mixture";
  j["lambda"] = 1.5;
  expect_error([&] { run(j, false); }, {"lambda"});
  j["lambda"] = {0.5, 1.5};  // a bad value anywhere in a grid fails before the first run
  expect_error([&] { run(j, false); }, {"lambda"});
  std::ifstream probe(tmp.path + "/never/t/lambda=0.5/seed_0/rounds.csv");
  BOOST_TEST(!probe.good());
  // Rejected while loading or building: no folder is left behind.
  json m = tiny(tmp.path + "/out");
  m["dataset"] = "fmnist";
  m["data_dir"] = tmp.path + "/no-such-dir";
  expect_error([&] { run(m, false); }, {"dataset", "fmnist"});
  BOOST_TEST(!std::filesystem::exists(tmp.path + "/out"));
  if (!cuda_available()) {
    json d = tiny(tmp.path + "/out");
    d["device"] = "cuda";
    expect_error([&] { run(d, false); }, {"device = 'cuda'"});
    expect_error([&] { run_one(parsed(d), tmp / "out/direct"); }, {"device = 'cuda'"});
    BOOST_TEST(!std::filesystem::exists(tmp.path + "/out"));
  }
}

BOOST_AUTO_TEST_CASE(every_strategy_aggregator_attack_runs_two_rounds) {
  TempDir tmp;
  const std::vector<std::string> strategies = {"fedavg", "fedprox", "local", "finetune", "ditto", "mixture", "ipgd"};
  const std::vector<std::string> aggregators = {"mean",  "weighted_mean",    "median",           "trimmed_mean",
                                                "krum",  "multi_krum",       "geometric_median", "centered_clipping",
                                                "k_norm"};
  const std::vector<std::string> attacks = {"none",  "label_poisoning", "gaussian", "sign_flip", "boosting",
                                            "alie",  "ipm",             "mimic",    "non_finite"};
  const std::vector<std::vector<std::string>> chains = {{}, {"clip"}, {"median_clip", "nnm"}, {"bucketing"}};
  int runs = 0, stopped_by_nan = 0;
  for (const auto& s : strategies)
    for (const auto& a : aggregators)
      for (const auto& at : attacks) {
        json j = tiny(tmp.path);
        j["strategy"] = s;
        j["aggregator"] = a;
        j["attack"] = at;
        j["byzantine_fraction"] = at == "none" ? 0.0 : 0.34;
        j["pre_aggregators"] = chains[runs % chains.size()];
        // Bucketing by 2 leaves 3 rows: too few for Krum with f = 1 (the config says so).
        if (a == "krum" || a == "multi_krum") j["bucket_size"] = 1;
        j["finetune_epochs"] = 1;
        j["lambda"] = 0.5;
        const std::string dir = tmp / ("r" + std::to_string(runs++));
        const std::string what = s + " x " + a + " x " + at;
        try {
          RunResult r = run_one(parsed(j), dir);
          BOOST_TEST(r.summary["rounds_completed"].get<int64_t>() == 2, what);
        } catch (const Error& e) {
          // Only the plain means may stop, and only on non-finite updates.
          const bool expected = at == "non_finite" && (a == "mean" || a == "weighted_mean") && s != "local";
          BOOST_TEST(expected, what << ": " << e.what());
          stopped_by_nan += expected;
        }
      }
  BOOST_TEST(runs == 7 * 9 * 9);
  BOOST_TEST(stopped_by_nan == 6 * 2);  // every strategy but local, with mean and weighted_mean
}

BOOST_AUTO_TEST_SUITE_END()
