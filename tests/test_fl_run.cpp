// fl::run end to end on a tiny synthetic federation: reproducibility, resume bit for bit,
// NaN handling, and every strategy x aggregator x attack combination for 2 rounds.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/threads.h"
#include "fl/run.h"
#include "nn/safetensors.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

// 6 clients on 1x6x6 synthetic images of 4 classes, a small MLP, 2 rounds.
json tiny(const std::string& out) {
  return json{{"name", "t"},          {"out", out},
              {"dataset", "synthetic"}, {"synthetic_size", 6},
              {"synthetic_train", 240}, {"synthetic_test", 60},
              {"num_clients", 6},       {"clients_per_round", 5},
              {"model", "mlp"},         {"hidden", {8}},
              {"rounds", 2},            {"local_steps", 2},
              {"batch_size", 8},        {"lr", 0.1},
              {"progress", false}};
}

FlConfig parsed(const json& j) { return parse_config(j); }

// summary.json without what may differ between two equal runs: the folder and the timing.
json without_timing(const std::string& summary_path) {
  json s = read_json_file(summary_path);
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

}  // namespace

BOOST_AUTO_TEST_SUITE(fl_run)

BOOST_AUTO_TEST_CASE(seeded_run_repeats_identical_csvs) {
  TempDir tmp;
  json j = tiny(tmp.path);
  j["strategy"] = "ditto";
  j["attack"] = "gaussian";
  j["byzantine_fraction"] = 0.34;
  j["aggregator"] = "median";
  j["rounds"] = 3;
  RunResult a = run_one(parsed(j), tmp / "a");
  RunResult b = run_one(parsed(j), tmp / "b");
  for (const char* f : {"rounds.csv", "clients.csv", "split.txt", "config.json"})
    BOOST_TEST(read_text(a.dir + "/" + f) == read_text(b.dir + "/" + f), f);
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
  json j = tiny(tmp.path);
  j["strategy"] = "ditto";
  j["rounds"] = 6;
  j["eval_every"] = 2;
  j["momentum"] = 0.9;
  j["persist_optimizer_state"] = true;
  j["attack"] = "alie";
  j["byzantine_fraction"] = 0.34;
  j["aggregator"] = "trimmed_mean";
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
  json j = tiny(tmp.path);
  j["model"] = "cnn28";
  j["synthetic_size"] = 8;
  j["num_clients"] = 4;
  j["clients_per_round"] = 4;
  j["strategy"] = "ditto";
  j["momentum"] = 0.9;
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

// Killed after round 1's rows but before the first checkpoint (round 3): resume=true starts over
// from round 0 in the same folder and ends with an uninterrupted run's files.
BOOST_AUTO_TEST_CASE(run_killed_before_its_first_checkpoint_resumes_from_round_zero) {
  TempDir tmp;
  json j = tiny(tmp.path);
  j["strategy"] = "ditto";
  j["rounds"] = 4;
  j["checkpoint_every"] = 3;
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
  for (const char* f : {"rounds.csv", "clients.csv", "split.txt"})
    BOOST_TEST(read_text(full.dir + "/" + f) == read_text(dir + "/" + f), f);
  BOOST_TEST(without_timing(full.dir + "/summary.json") == without_timing(dir + "/summary.json"));
}

// Killed after the final checkpoint, during the robustness evaluation (no summary.json yet, or a
// stale one from an earlier stop_at_round session): the resumed run's summary keeps its "last"
// block and the results table its rows.
BOOST_AUTO_TEST_CASE(run_killed_during_its_evaluation_keeps_the_last_round) {
  TempDir tmp;
  json j = tiny(tmp.path);
  j["strategy"] = "ditto";
  j["rounds"] = 3;
  j["eval_attack"] = "linf";
  j["eval_steps"] = 2;
  j["eval_samples"] = 4;
  j["eval_certify"] = "pixel";
  j["certify_n0"] = 10;
  j["certify_n"] = 50;
  j["certify_samples"] = 2;
  const RunResult full = run_one(parsed(j), tmp / "full");
  json r = j;
  r["resume"] = true;
  // No summary yet: killed in the first session.
  std::filesystem::remove(full.dir + "/summary.json");
  std::filesystem::remove(full.dir + "/certify.csv");
  const RunResult again = run_one(parsed(r), full.dir);
  for (const char* key : {"last", "best", "rounds_completed"})
    BOOST_TEST(again.summary.value(key, json()) == full.summary[key], key);
  // The rows of the results table; its robustness rows come from certification radii that the
  // first session holds in memory and a resumed one reads back from the TSVs, so they are
  // compared between two resumed sessions below.
  auto round_rows = [](const RunResult& run) {
    const std::string t = results_table({run});
    return t.substr(0, t.find("\n(benign"));
  };
  BOOST_TEST(round_rows(again) == round_rows(full));
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

BOOST_AUTO_TEST_CASE(non_finite_updates_stop_the_mean_and_are_rejected_by_robust_rules) {
  TempDir tmp;
  json j = tiny(tmp.path);
  j["attack"] = "non_finite";
  j["byzantine_fraction"] = 0.34;
  j["aggregator"] = "mean";
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
