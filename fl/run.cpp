// run.cpp — fl::run and run_one: a config in, a run directory out (files in fl/run.h).
#include "fl/run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/file_io.h"
#include "engine/common.h"
#include "engine/device.h"
#include "engine/text.h"
#include "engine/threads.h"
#include "fl/robustness.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"

namespace nanofed::fl {

namespace {

void write_atomic(const std::string& path, const std::string& text) {
  nanofed::write_file_atomic(path, text, "fl::run");
}

json summary_json(const Summary& s) {
  json j;
  const auto& cols = summary_columns();
  const std::vector<double> v = {(double)s.clients, s.pooled_acc, s.mean_acc,   s.std_acc,     s.min_acc,
                                 s.max_acc,         s.worst10_acc, s.best10_acc, s.pooled_loss, s.mean_loss};
  for (size_t i = 0; i < cols.size(); ++i) j[cols[i]] = i == 0 ? json((int64_t)v[i]) : json(v[i]);
  return j;
}

// Keys that may differ between a checkpointed run and its resumption.
bool volatile_key(const std::string& key) {
  return key == "resume" || key == "stop_at_round" || key == "progress" || key == "keep_checkpoint" || key == "threads";
}

// Throws unless the run saved in config_path was made with `resolved` (volatile keys aside). A
// key the saved config lacks (written before the key existed) counts as its default.
void check_same_config(const std::string& config_path, const json& resolved) {
  const json saved = read_json_file<json>(config_path, "resume"), defaults = to_json(FlConfig());
  for (auto it = resolved.begin(); it != resolved.end(); ++it) {
    const std::string& key = it.key();
    if (volatile_key(key)) continue;
    const json& was = saved.contains(key) ? saved[key] : defaults[key];
    NF_CHECK(was == it.value(), "resume: config key '" << key << "' = " << it.value().dump()
                                                       << " differs from the saved run's "
                                                       << (saved.contains(key) ? was.dump() : "(absent)") << " in "
                                                       << config_path);
  }
}

// device = cuda needs a GPU now; asked before any data are loaded or any folder is created.
void check_device(const FlConfig& c, const std::string& source) {
  NF_CHECK(c.device == "cpu" || cuda_available(),
           source << ": device = 'cuda', but "
                  << (cuda_compiled() ? "no GPU is available" : "this build has no CUDA backend"));
}

// The summary of a run in `dir` that finished every round (summary.json is written last, after
// the robustness evaluation), or null. Reads that one file: no data, no checkpoint.
json finished_summary(const std::string& summary_path, int64_t rounds) {
  if (!file_exists(summary_path)) return json();
  json summary = read_json_file<json>(summary_path, "resume");
  const bool finished = summary.contains("rounds_completed") && summary["rounds_completed"] == json(rounds);
  return finished ? summary : json();
}

// 64-bit FNV-1a: a stable name for a partition (not for security).
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ull;
  return h;
}

// The keys that decide the data and the partition (build_federation).
const char* const kPartitionKeys[] = {
    "dataset",   "data_dir",    "synthetic_train", "synthetic_test",     "synthetic_size",     "synthetic_classes",
    "partition", "num_clients", "alpha",           "min_partition_size", "classes_per_client", "test_fraction",
    "partition_seed", "ditto_scale"};

// Runs with the same partition share one split file: <out>/<name>/splits/<partition>_<hash of
// the partition keys>.txt.
std::string split_path_of(const FlConfig& c) {
  const json all = to_json(c);
  json keys = json::object();
  for (const char* k : kPartitionKeys) keys[k] = all[k];
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fnv1a(keys.dump()));
  return c.out + "/" + c.name + "/splits/" + c.partition + "_" + hex + ".txt";
}

// Writes the split file when it is missing; else checks that it holds this partition (the same
// keys with other data files under the same path would give another one).
void share_split(const std::string& path, const FederatedSplit& split) {
  if (nanofed::file_exists(path)) {
    const FederatedSplit saved = read_split(path);
    NF_CHECK(saved.size() == split.size(), path << " has " << saved.size() << " clients, the config " << split.size());
    for (size_t k = 0; k < saved.size(); ++k)
      NF_CHECK(saved[k].train == split[k].train && saved[k].test == split[k].test,
               "the partition rebuilt from the config differs from " << path << " (client " << k
                                                                    << "): have the data files changed?");
    return;
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  write_split(tmp, split);
  std::filesystem::rename(tmp, path);  // atomic: runs sharing the file never see half of it
}

// save_personal: every benign client's personal model as a checkpoint of its own
// (<dir>/models/personal_client<k>.safetensors, loadable with nn::load_model), written by the
// rank that holds it (over MPI on several machines, dir must be on a shared file system).
void save_personal_models(Simulation& sim, const Federation& fed, const std::string& dir, int64_t round) {
  std::error_code ignored;  // ranks create it at once; one of them wins
  std::filesystem::create_directories(dir + "/models", ignored);
  for (int64_t k = 0; k < sim.num_clients(); ++k) {
    if (sim.is_byzantine(k) || !sim.owns(k)) continue;
    nn::Metadata meta = fed.model_metadata;
    meta["client"] = std::to_string(k);
    meta["round"] = std::to_string(round);
    nn::save_checkpoint(dir + "/models/personal_client" + std::to_string(k) + ".safetensors",
                        sim.model_for(ModelKind::personal, k), nullptr, meta);
  }
}

// The files of one run directory.
struct RunFiles {
  std::string dir, ckpt, rounds_csv, clients_csv, config_path, split_path, summary_path;
  RunFiles(const FlConfig& c, const std::string& d)
      : dir(d), ckpt(d + "/checkpoint.safetensors"), rounds_csv(d + "/rounds.csv"), clients_csv(d + "/clients.csv"),
        config_path(d + "/config.json"), split_path(split_path_of(c)), summary_path(d + "/summary.json") {}
};

// Where the round loop starts and what it has seen: the best and the last evaluated round per model.
struct Progress {
  int64_t start = 0, done = 0;
  json best = json::object(), last = json::object();
  std::chrono::steady_clock::time_point t0;
  double comm_seconds0 = 0;  // Comm::seconds() at t0
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

// Continues from the checkpoint: the state, the round, best and last; rows after it are dropped.
void resume_from_checkpoint(Simulation& sim, const Federation& fed, const RunFiles& f, Progress& p, bool progress) {
  const nn::SafetensorsFile file = nn::read_safetensors(f.ckpt);
  NF_CHECK(file.metadata.count("round") && file.metadata.count("best") && file.metadata.count("byzantine"),
           "resume: " << f.ckpt << " lacks the round/best/byzantine metadata");
  NF_CHECK(json::parse(file.metadata.at("byzantine")) == json(fed.byzantine),
           "resume: the corrupted client ids differ from the checkpoint's (" << file.metadata.at("byzantine") << ")");
  sim.load_state(file.tensors);
  p.start = std::stoll(file.metadata.at("round"));
  p.best = json::parse(file.metadata.at("best"));
  // The evaluated round a finished run reports when only its robustness evaluation is left.
  if (file.metadata.count("last")) p.last = json::parse(file.metadata.at("last"));
  if (sim.comm().rank() != 0) return;  // rank 0 writes the files
  nanofed::truncate_csv(f.rounds_csv, p.start, 0, "resume");
  nanofed::truncate_csv(f.clients_csv, p.start, 1, "resume");
  if (progress) std::fprintf(stderr, "%s: resumed after round %lld\n", f.dir.c_str(), (long long)p.start);
}

// A new run (or one started over): config.json and the CSV headers.
void start_files(const RunFiles& f, const json& resolved, bool had_rows, bool progress) {
  if (had_rows && progress) std::fprintf(stderr, "%s: no checkpoint yet, starting over from round 0\n", f.dir.c_str());
  write_atomic(f.config_path, resolved.dump(2) + "\n");
  write_atomic(f.rounds_csv, "round,model," + join(summary_columns(), ",") + ",train_loss,rejected\n");
  write_atomic(f.clients_csv, "client_id,round_number,model,num_samples,set,accuracy,loss\n");
}

// The whole run state after `round`. The global model rides along in load_model's terms:
// `nanofed attack --model` takes the file.
void save_checkpoint(const std::string& ckpt, const Simulation& sim, const Federation& fed, const Progress& p,
                     int64_t round) {
  nn::Metadata meta = fed.model_metadata;
  meta["round"] = std::to_string(round);
  meta["best"] = p.best.dump();
  meta["last"] = p.last.dump();
  meta["byzantine"] = json(fed.byzantine).dump();
  meta["format"] = "nanofed-fl-checkpoint v1";
  meta["params_tensor"] = "global.params";
  const nn::NamedTensors state = sim.state();  // collective over MPI: every rank calls it
  if (sim.comm().rank() != 0) return;
  for (const auto& entry : state)
    if (entry.first == "global.buffers") meta["buffers_tensor"] = entry.first;
  nn::write_safetensors(ckpt, state, meta);
}

// One evaluated round: a rounds.csv row per model the strategy shows, its clients.csv rows,
// and the last / best summaries.
void evaluate_round(Simulation& sim, int64_t round, Progress& p, std::ostream& rounds_out, std::ostream& clients_out,
                    bool validation, bool other_env) {
  p.last = json::object();
  p.last["round"] = round;
  std::vector<std::pair<ModelKind, int>> models;  // (kind, personal set)
  if (sim.has_global()) models.push_back({ModelKind::global, 0});
  if (sim.has_personal())
    for (int set = 0; set < (int)sim.personal_sets().size(); ++set) models.push_back({ModelKind::personal, set});
  for (const auto& [kind, set] : models) {
    const std::vector<ClientScore> scores = sim.evaluate(kind, set);
    const Summary s = summarize(scores);
    const std::string model = kind == ModelKind::global ? "global" : sim.personal_sets()[set];
    rounds_out << round << "," << model << "," << join(summary_values(s), ",") << ","
               << fmt(sim.last_round().train_loss, "%.6f") << "," << sim.last_round().rejected.size() << "\n";
    for (const ClientScore& c : scores)
      clients_out << c.client << "," << round << "," << model << "," << c.samples << ",test,"
                  << fmt(c.accuracy(), "%.6f") << "," << fmt(c.loss(), "%.6f") << "\n";
    // Validation rows (validation_fraction > 0): what a client may choose its model by (Ditto's
    // dynamic lambda picks among the personal sets on these); a client with none gets none.
    // Other-environment rows (colored environments): the same test images in the environment
    // the client does not train in, Acc' of the spurious-feature paper.
    std::vector<std::pair<datasets::Dataset ClientData::*, const char*>> extra_sets;
    if (validation && kind == ModelKind::personal) extra_sets.push_back({&ClientData::val, "val"});
    if (other_env) extra_sets.push_back({&ClientData::other_env, "other_env"});
    for (const auto& [data, set_name] : extra_sets)
      for (const ClientScore& c : sim.evaluate(kind, set, data))
        if (c.samples > 0)
          clients_out << c.client << "," << round << "," << model << "," << c.samples << "," << set_name << ","
                      << fmt(c.accuracy(), "%.6f") << "," << fmt(c.loss(), "%.6f") << "\n";
    json sj = summary_json(s);
    p.last[model] = sj;
    if (!p.best.contains(model) || sj["pooled_acc"].get<double>() > p.best[model]["pooled_acc"].get<double>()) {
      sj["round"] = round;
      p.best[model] = sj;
    }
  }
}

void print_progress(const Simulation& sim, const std::string& dir, int64_t round, int64_t rounds, const Progress& p) {
  const bool tty = ::isatty(2);
  const std::string head = to_string(sim.headline());
  const std::string acc = p.last.contains(head) ? fmt(p.last[head]["pooled_acc"].get<double>(), "%.4f") : "-";
  std::fprintf(stderr, "%s%s round %lld/%lld | %s acc %s | %.2f rounds/s%s", tty ? "\r" : "", dir.c_str(),
               (long long)round, (long long)rounds, head.c_str(), acc.c_str(), (round - p.start) / std::max(1e-9, p.seconds()),
               tty ? "   " : "\n");
  std::fflush(stderr);
}

// The rounds from p.start on: train, evaluate every eval_every rounds and at the last,
// checkpoint. Returns true when stop_at_round stopped the run before its last round.
bool run_rounds(Simulation& sim, const Federation& fed, const FlConfig& config, const RunFiles& f, Progress& p) {
  // Rank 0 writes; the other ranks evaluate with it (evaluation is collective) into no file.
  const bool writer = sim.comm().rank() == 0;
  std::ofstream rounds_file, clients_file;
  if (writer) {
    rounds_file.open(f.rounds_csv, std::ios::app);
    clients_file.open(f.clients_csv, std::ios::app);
    NF_CHECK(rounds_file.good() && clients_file.good(), "fl::run: cannot append to the CSVs in " << f.dir);
  }
  std::ostream rounds_out(writer ? rounds_file.rdbuf() : nullptr), clients_out(writer ? clients_file.rdbuf() : nullptr);
  const int64_t ckpt_every = config.checkpoint_every > 0 ? config.checkpoint_every : config.eval_every;
  bool stopped = false;
  for (int64_t t = p.start; t < config.rounds && !stopped; ++t) {
    sim.run_round(t);
    const int64_t round = t + 1;
    const bool is_last = round == config.rounds;
    if (is_last) sim.finish();
    p.done = round;
    if (round % config.eval_every == 0 || is_last) {
      evaluate_round(sim, round, p, rounds_out, clients_out, config.validation_fraction > 0,
                     colored_environments(config));
      rounds_out.flush();
      clients_out.flush();
      NF_CHECK(!writer || (rounds_out.good() && clients_out.good()), "fl::run: writing the CSVs in " << f.dir << " failed");
    }
    if (round % ckpt_every == 0 || is_last || round == config.stop_at_round) save_checkpoint(f.ckpt, sim, fed, p, round);
    if (config.progress && writer) print_progress(sim, f.dir, round, config.rounds, p);
    stopped = round == config.stop_at_round && !is_last;
  }
  if (config.progress && writer && ::isatty(2)) std::fprintf(stderr, "\n");
  return stopped;
}

// After the rounds: personal models and the robustness evaluation (a finished run only), then
// summary.json; a finished run's checkpoint goes unless kept.
json finish_run(Simulation& sim, const Federation& fed, const FlConfig& config, const RunFiles& f,
                const std::string& label, const Progress& p) {
  const bool finished = p.done == config.rounds;
  json robustness = json::object();
  if (finished && config.save_personal) save_personal_models(sim, fed, f.dir, p.done);
  if (finished) robustness = evaluate_robustness(sim, config, f.dir);
  const double secs = p.seconds();
  json summary;
  summary["run"] = f.dir;
  summary["label"] = label;
  summary["seed"] = config.seed;
  summary["describe"] = sim.describe();
  summary["headline_model"] = to_string(sim.headline());
  summary["rounds_completed"] = p.done;
  summary["rounds"] = config.rounds;
  summary["byzantine_clients"] = fed.byzantine;
  summary["split"] = std::filesystem::relative(f.split_path, f.dir).generic_string();
  summary["best_by"] = "pooled_acc";
  if (!p.last.empty()) summary["last"] = p.last;
  summary["best"] = p.best;
  if (!robustness.empty()) summary["robustness"] = robustness;
  summary["seconds_this_session"] = secs;
  summary["rounds_per_s"] = (p.done - p.start) / std::max(1e-9, secs);
  if (sim.comm().size() > 1)  // rank 0's seconds in collectives this session, waits included (docs/scaling.md)
    summary["mpi"] = {{"ranks", sim.comm().size()}, {"collective_seconds", sim.comm().seconds() - p.comm_seconds0}};
  if (sim.comm().rank() != 0) return summary;
  write_atomic(f.summary_path, summary.dump(2) + "\n");
  // Finished: the summary stands for the run (see finished_summary); the checkpoint, the bulk
  // of the folder (every client's personal model), stays only when asked.
  if (finished && !config.keep_checkpoint) std::filesystem::remove(f.ckpt);
  return summary;
}

}  // namespace

RunResult run_one(const FlConfig& config, const std::string& dir, const std::string& label) {
  RunResult result{dir, label, config, json(), false};
  const RunFiles f(config, dir);
  const json resolved = to_json(config);
  if (config.threads > 0) set_num_threads((int)config.threads);
  check_device(config, "config");
  const bool has_rows = nanofed::file_exists(f.rounds_csv);
  NF_CHECK(config.resume || !has_rows,
           dir << " already holds results (rounds.csv); set resume=true to continue that run, or choose "
                  "another name/out, or delete the directory");
  // Rows without a checkpoint (killed before the first one, or stopped by a non-finite update):
  // resume=true starts that run over from round 0, which rewrites the same rows.
  const bool resuming = config.resume && nanofed::file_exists(f.ckpt);
  if (resuming || has_rows) {
    check_same_config(f.config_path, resolved);
    // A finished run is reported from its summary alone (no data, partition or checkpoint).
    result.summary = finished_summary(f.summary_path, config.rounds);
    if (!result.summary.is_null()) return result;
  }
  // Everything that can reject the run (data, partition, models, device) comes before the folder.
  Federation fed = build_federation(config);
  Simulation sim(config, std::move(fed.clients), fed.byzantine, fed.make_model);
  const bool writer = sim.comm().rank() == 0;  // over MPI rank 0 writes the run's files
  sim.comm().barrier();  // every rank has looked at the folder (resume or not) before rank 0 changes it
  if (writer) {
    std::filesystem::create_directories(dir);
    share_split(f.split_path, fed.split);
  }
  if (writer && config.progress && (config.cohort == "on" || (config.cohort == "auto" && config.device == "cuda"))) {
    const std::string blocker = sim.cohort_blocker(true);
    std::fprintf(stderr, "%s: cohort: %s\n", dir.c_str(),
                 blocker.empty() ? "lockstep (clients with equal batch sizes train as one grouped model, the rest one by one)"
                                 : ("off, clients train one by one: " + blocker).c_str());
  }
  Progress p;
  if (resuming) resume_from_checkpoint(sim, fed, f, p, config.progress);
  else if (writer) start_files(f, resolved, has_rows, config.progress);
  p.done = p.start;
  p.t0 = std::chrono::steady_clock::now();
  p.comm_seconds0 = sim.comm().seconds();
  result.stopped = run_rounds(sim, fed, config, f, p);
  result.summary = finish_run(sim, fed, config, f, label, p);
  return result;
}

namespace {

// results.md in each experiment folder <out>/<name> (one grid: one folder), its runs' table.
void write_grid_results(const std::vector<RunResult>& results) {
  std::vector<std::string> folders;
  for (const RunResult& r : results) {
    const std::string folder = r.config.out + "/" + r.config.name;
    if (std::find(folders.begin(), folders.end(), folder) == folders.end()) folders.push_back(folder);
  }
  for (const std::string& folder : folders) {
    std::vector<RunResult> in_folder;
    for (const RunResult& r : results)
      if (r.config.out + "/" + r.config.name == folder) in_folder.push_back(r);
    write_results_md(folder, results_table(in_folder));
  }
}

}  // namespace

std::vector<RunResult> run(const json& raw_config, bool print_table, const std::string& source) {
  const std::vector<GridPoint> points = expand_grid(raw_config, source);
  // Parse every point before training anything: a bad value anywhere fails at once.
  std::vector<FlConfig> configs;
  for (const GridPoint& p : points) {
    configs.push_back(parse_config(p.config, p.label.empty() ? source : source + " [" + p.label + "]"));
    check_device(configs.back(), source);
  }
  std::vector<RunResult> results;
  for (size_t i = 0; i < points.size(); ++i) {
    const FlConfig& c = configs[i];
    std::string dir = c.out + "/" + c.name;
    if (!points[i].label.empty()) dir += "/" + points[i].label;
    dir += "/seed_" + std::to_string(c.seed);
    results.push_back(run_one(c, dir, points[i].label));
  }
  if (world().rank() != 0) return results;  // over MPI rank 0 writes and prints
  write_grid_results(results);
  if (print_table) std::printf("%s", results_table(results).c_str());
  return results;
}

}  // namespace nanofed::fl
