#include "fl/run.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/catalog.h"
#include "engine/file_io.h"
#include "engine/common.h"
#include "engine/device.h"
#include "engine/threads.h"
#include "fl/partition.h"
#include "fl/robustness.h"
#include "nn/checkpoint.h"
#include "nn/model_io.h"
#include "nn/models.h"
#include "nn/safetensors.h"

namespace nanofed::fl {

namespace {

void write_atomic(const std::string& path, const std::string& text) {
  nanofed::write_file_atomic(path, text, "fl::run");
}

std::string join(const std::vector<std::string>& xs, const char* sep = ",") {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? sep : "") + xs[i];
  return out;
}

std::string fmt(double v, const char* f = "%.6f") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Ditto's FMNIST preprocessing (001 §5): per-pixel z-score with the train pool's statistics,
// x <- (x - mean) / (std + 0.001). It runs inside the model (Module::set_input_normalization),
// so the data stay in [0, 1]: PGD budgets, smoothing noise and warps act in pixel space and the
// normalization follows them (004 pitfall 4). Returns {mean, std + 0.001}, each [C, H, W].
std::pair<Tensor, Tensor> per_pixel_statistics(const datasets::Dataset& train) {
  const int64_t N = train.size(), D = train.images.numel() / std::max<int64_t>(1, N);
  const Shape sample = train.sample_shape();
  std::vector<float> mean_f(D, 0.0f), std_f(D, 1.0f);
  if (N > 0) {
    const std::vector<float> x = train.images.to_vector<float>();
    std::vector<double> mean(D, 0.0), var(D, 0.0);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < D; ++j) mean[j] += x[i * D + j];
    for (double& m : mean) m /= N;
    for (int64_t i = 0; i < N; ++i)
      for (int64_t j = 0; j < D; ++j) var[j] += (x[i * D + j] - mean[j]) * (x[i * D + j] - mean[j]);
    for (int64_t j = 0; j < D; ++j) {
      mean_f[j] = (float)mean[j];
      std_f[j] = (float)(std::sqrt(var[j] / N) + 0.001);
    }
  }
  return {from_vector(mean_f, sample), from_vector(std_f, sample)};
}

datasets::TrainTest load_data(const FlConfig& c) {
  try {
    if (c.dataset == "fmnist") return c.data_dir.empty() ? datasets::fashion_mnist() : datasets::fashion_mnist(c.data_dir);
    if (c.dataset == "mnist") return c.data_dir.empty() ? datasets::mnist() : datasets::mnist(c.data_dir);
    return datasets::synthetic({1, c.synthetic_size, c.synthetic_size}, c.synthetic_classes, c.synthetic_train,
                               c.synthetic_test, c.partition_seed);
  } catch (const Error& e) {
    NF_CHECK(false, "config: dataset = '" << c.dataset << "': " << e.what());
  }
  return {};
}

std::vector<int32_t> labels_of(const datasets::Dataset& d) { return d.labels.to_vector<int32_t>(); }

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

// What load_model needs besides the architecture (nn/model_io.h): the data set and its seed
// (synthetic data are drawn from partition_seed).
nn::Metadata data_metadata(const FlConfig& c) {
  return {{"dataset", c.dataset}, {"seed", std::to_string(c.partition_seed)}};
}

// save_personal: every benign client's personal model as a checkpoint of its own
// (<dir>/models/personal_client<k>.safetensors, loadable with nn::load_model).
void save_personal_models(Simulation& sim, const Federation& fed, const std::string& dir, int64_t round) {
  std::filesystem::create_directories(dir + "/models");
  for (int64_t k = 0; k < sim.num_clients(); ++k) {
    if (sim.is_byzantine(k)) continue;
    nn::Metadata meta = fed.model_metadata;
    meta["client"] = std::to_string(k);
    meta["round"] = std::to_string(round);
    nn::save_checkpoint(dir + "/models/personal_client" + std::to_string(k) + ".safetensors",
                        sim.model_for(ModelKind::personal, k), nullptr, meta);
  }
}

}  // namespace

Federation build_federation(const FlConfig& c) {
  datasets::TrainTest data = load_data(c);
  std::pair<Tensor, Tensor> normalization;
  if (c.normalize) normalization = per_pixel_statistics(data.train);
  Federation fed;
  fed.num_classes = data.train.num_classes;
  Generator gen(c.partition_seed);
  const datasets::Dataset* test_pool = &data.test;
  if (c.partition == "ditto") {
    fed.split = ditto_partition(labels_of(data.train), labels_of(data.test), c.num_clients, fed.num_classes,
                                c.ditto_scale, gen);
  } else {
    Partition parts;
    const std::vector<int32_t> labels = labels_of(data.train);
    if (c.partition == "iid") parts = iid_partition(data.train.size(), c.num_clients, gen);
    else if (c.partition == "dirichlet")
      parts = dirichlet_partition(labels, c.num_clients, c.alpha, c.min_partition_size, gen);
    else parts = shards_partition(labels, c.num_clients, c.classes_per_client, gen);
    Generator split_gen = gen.derive({1});
    fed.split = split_train_test(parts, c.test_fraction, split_gen);
    test_pool = &data.train;  // each client's test samples come from its own share
  }
  for (int64_t k = 0; k < c.num_clients; ++k) {
    ClientData cd;
    cd.train = data.train.subset(fed.split[k].train);
    cd.test = test_pool->subset(fed.split[k].test);
    cd.train.name = "client " + std::to_string(k) + " train";
    cd.test.name = "client " + std::to_string(k) + " test";
    fed.clients.push_back(std::move(cd));
  }
  fed.byzantine = choose_corrupted(c.num_clients, byzantine_count(c), c.seed);
  nn::ModelOptions mo;
  const Shape shape = data.train.sample_shape();
  mo.in_channels = shape.size() == 3 ? shape[0] : 1;
  mo.image_size = shape.size() == 3 ? shape[2] : 0;
  mo.num_classes = fed.num_classes;
  mo.hidden = c.hidden;
  mo.init = c.init == "glorot_uniform" ? nn::Init::glorot_uniform : nn::Init::pytorch;
  const std::string name = c.model;
  const uint64_t seed = c.seed;
  fed.make_model = [mo, name, seed, normalization]() {
    Generator g = Generator(seed).derive({kInit});
    nn::ModelOptions o = mo;
    o.gen = &g;
    std::shared_ptr<nn::Module> model = nn::make_model(name, o);
    if (normalization.first.defined()) model->set_input_normalization(normalization.first, normalization.second);
    return model;
  };
  fed.model_metadata = nn::model_metadata(name, mo, *fed.make_model());
  for (const auto& [key, value] : data_metadata(c)) fed.model_metadata[key] = value;
  return fed;
}

RunResult run_one(const FlConfig& config, const std::string& dir, const std::string& label) {
  using clock = std::chrono::steady_clock;
  RunResult result;
  result.dir = dir;
  result.label = label;
  result.config = config;
  const std::string ckpt = dir + "/checkpoint.safetensors", rounds_csv = dir + "/rounds.csv",
                    clients_csv = dir + "/clients.csv", config_path = dir + "/config.json",
                    split_path = split_path_of(config), summary_path = dir + "/summary.json";
  const json resolved = to_json(config);
  if (config.threads > 0) set_num_threads((int)config.threads);
  check_device(config, "config");
  const bool has_rows = nanofed::file_exists(rounds_csv);
  NF_CHECK(config.resume || !has_rows,
           dir << " already holds results (rounds.csv); set resume=true to continue that run, or choose "
                  "another name/out, or delete the directory");
  // Rows without a checkpoint (killed before the first one, or stopped by a non-finite update):
  // resume=true starts that run over from round 0, which rewrites the same rows.
  const bool resuming = config.resume && nanofed::file_exists(ckpt);
  if (resuming || has_rows) {
    check_same_config(config_path, resolved);
    // A finished run is reported from its summary alone (no data, partition or checkpoint).
    result.summary = finished_summary(summary_path, config.rounds);
    if (!result.summary.is_null()) return result;
  }

  // Everything that can reject the run (data, partition, models, device) comes before the folder.
  Federation fed = build_federation(config);
  Simulation sim(config, std::move(fed.clients), fed.byzantine, fed.make_model);
  std::filesystem::create_directories(dir);

  int64_t start = 0;
  json best = json::object(), last = json::object();
  share_split(split_path, fed.split);
  if (resuming) {
    const nn::SafetensorsFile file = nn::read_safetensors(ckpt);
    NF_CHECK(file.metadata.count("round") && file.metadata.count("best") && file.metadata.count("byzantine"),
             "resume: " << ckpt << " lacks the round/best/byzantine metadata");
    NF_CHECK(json::parse(file.metadata.at("byzantine")) == json(fed.byzantine),
             "resume: the corrupted client ids differ from the checkpoint's (" << file.metadata.at("byzantine") << ")");
    sim.load_state(file.tensors);
    start = std::stoll(file.metadata.at("round"));
    best = json::parse(file.metadata.at("best"));
    // The evaluated round a finished run reports when only its robustness evaluation is left.
    if (file.metadata.count("last")) last = json::parse(file.metadata.at("last"));
    nanofed::truncate_csv(rounds_csv, start, 0, "resume");
    nanofed::truncate_csv(clients_csv, start, 1, "resume");
    if (config.progress) std::fprintf(stderr, "%s: resumed after round %lld\n", dir.c_str(), (long long)start);
  } else {
    if (has_rows && config.progress)
      std::fprintf(stderr, "%s: no checkpoint yet, starting over from round 0\n", dir.c_str());
    write_atomic(config_path, resolved.dump(2) + "\n");
    write_atomic(rounds_csv, "round,model," + join(summary_columns()) + ",train_loss,rejected\n");
    write_atomic(clients_csv, "client_id,round_number,model,num_samples,set,accuracy,loss\n");
  }
  std::ofstream rounds_out(rounds_csv, std::ios::app), clients_out(clients_csv, std::ios::app);
  NF_CHECK(rounds_out.good() && clients_out.good(), "fl::run: cannot append to the CSVs in " << dir);

  const auto t0 = clock::now();
  const bool tty = ::isatty(2);
  int64_t done = start;
  auto save_checkpoint = [&](int64_t round) {
    // The global model rides along in load_model's terms: `nanofed attack --model` takes the file.
    nn::Metadata meta = fed.model_metadata;
    meta["round"] = std::to_string(round);
    meta["best"] = best.dump();
    meta["last"] = last.dump();
    meta["byzantine"] = json(fed.byzantine).dump();
    meta["format"] = "nanofed-fl-checkpoint v1";
    meta["params_tensor"] = "global.params";
    const nn::NamedTensors state = sim.state();
    for (const auto& entry : state)
      if (entry.first == "global.buffers") meta["buffers_tensor"] = entry.first;
    nn::write_safetensors(ckpt, state, meta);
  };
  const int64_t ckpt_every = config.checkpoint_every > 0 ? config.checkpoint_every : config.eval_every;
  for (int64_t t = start; t < config.rounds; ++t) {
    sim.run_round(t);
    const int64_t round = t + 1;
    const bool is_last = round == config.rounds;
    if (is_last) sim.finish();
    done = round;
    if (round % config.eval_every == 0 || is_last) {
      last = json::object();
      last["round"] = round;
      for (ModelKind kind : {ModelKind::global, ModelKind::personal}) {
        if ((kind == ModelKind::global && !sim.has_global()) || (kind == ModelKind::personal && !sim.has_personal()))
          continue;
        const std::vector<ClientScore> scores = sim.evaluate(kind);
        const Summary s = summarize(scores);
        const std::string model = to_string(kind);
        rounds_out << round << "," << model << "," << join(summary_values(s)) << "," << fmt(sim.last_round().train_loss)
                   << "," << sim.last_round().rejected.size() << "\n";
        for (const ClientScore& c : scores)
          clients_out << c.client << "," << round << "," << model << "," << c.samples << ",test,"
                      << fmt(c.accuracy()) << "," << fmt(c.loss()) << "\n";
        json sj = summary_json(s);
        last[model] = sj;
        if (!best.contains(model) || sj["pooled_acc"].get<double>() > best[model]["pooled_acc"].get<double>()) {
          sj["round"] = round;
          best[model] = sj;
        }
      }
      rounds_out.flush();
      clients_out.flush();
      NF_CHECK(rounds_out.good() && clients_out.good(), "fl::run: writing the CSVs in " << dir << " failed");
    }
    if (round % ckpt_every == 0 || is_last || round == config.stop_at_round) save_checkpoint(round);
    if (config.progress) {
      const double secs = std::chrono::duration<double>(clock::now() - t0).count();
      const std::string head = to_string(sim.headline());
      std::string acc = last.contains(head) ? fmt(last[head]["pooled_acc"].get<double>(), "%.4f") : "-";
      std::fprintf(stderr, "%s%s round %lld/%lld | %s acc %s | %.2f rounds/s%s", tty ? "\r" : "", dir.c_str(),
                   (long long)round, (long long)config.rounds, head.c_str(), acc.c_str(), (round - start) / std::max(1e-9, secs),
                   tty ? "   " : "\n");
      std::fflush(stderr);
    }
    if (round == config.stop_at_round && !is_last) {
      result.stopped = true;
      break;
    }
  }
  if (config.progress && ::isatty(2)) std::fprintf(stderr, "\n");
  json robustness = json::object();
  if (done == config.rounds && config.save_personal) save_personal_models(sim, fed, dir, done);
  if (done == config.rounds) robustness = evaluate_robustness(sim, config, dir);
  const double secs = std::chrono::duration<double>(clock::now() - t0).count();

  json summary;
  summary["run"] = dir;
  summary["label"] = label;
  summary["seed"] = config.seed;
  summary["describe"] = sim.describe();
  summary["headline_model"] = to_string(sim.headline());
  summary["rounds_completed"] = done;
  summary["rounds"] = config.rounds;
  summary["byzantine_clients"] = fed.byzantine;
  summary["split"] = std::filesystem::relative(split_path, dir).generic_string();
  summary["best_by"] = "pooled_acc";
  if (!last.empty()) summary["last"] = last;
  summary["best"] = best;
  if (!robustness.empty()) summary["robustness"] = robustness;
  summary["seconds_this_session"] = secs;
  summary["rounds_per_s"] = (done - start) / std::max(1e-9, secs);
  write_atomic(summary_path, summary.dump(2) + "\n");
  // Finished: the summary stands for the run (see finished_summary); the checkpoint, the bulk
  // of the folder (every client's personal model), stays only when asked.
  if (done == config.rounds && !config.keep_checkpoint) std::filesystem::remove(ckpt);
  result.summary = summary;
  return result;
}

void write_results_md(const std::string& folder, const std::string& table) {
  std::filesystem::create_directories(folder);
  write_atomic(folder + "/results.md", "```\n" + table + "```\n");
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
  write_grid_results(results);
  if (print_table) std::printf("%s", results_table(results).c_str());
  return results;
}

namespace {

// "0.8123 [0.7000, 0.9000]" from a {"mean","min","max"} object, "-" when absent.
std::string spread_cell(const json& parent, const char* key) {
  if (!parent.contains(key) || !parent[key].contains("mean")) return "-";
  char buf[64];
  const json& v = parent[key];
  std::snprintf(buf, sizeof buf, "%.4f [%.4f, %.4f]", v["mean"].get<double>(), v["min"].get<double>(),
                v["max"].get<double>());
  return buf;
}

// The robustness evaluation of the runs that have one (summary.json "robustness"): mean over
// clients with the [min, max] client.
std::string robustness_table(const std::vector<RunResult>& results) {
  std::ostringstream o;
  bool any = false;
  for (const RunResult& r : results) {
    if (!r.summary.contains("robustness")) continue;
    const json& rb = r.summary["robustness"];
    if (!any) {
      char head[256];
      std::snprintf(head, sizeof head, "\n%-36s %-9s %-26s %-26s %-26s %-26s\n", "run", "model", "robust_acc", "adv_trans",
                    "certified_acc(0)", "acr");
      o << head;
      any = true;
    }
    for (const char* model : {"global", "personal"}) {
      const json none = json::object();
      const json& at = rb.contains("attack") && rb["attack"].contains(model) ? rb["attack"][model] : none;
      const json& ce = rb.contains("certify") && rb["certify"].contains(model) ? rb["certify"][model] : none;
      if (at.empty() && ce.empty()) continue;
      std::string name = r.label.empty() ? r.config.name : r.label;
      if (name.size() > 36) name = name.substr(0, 33) + "...";
      char line[512];
      std::snprintf(line, sizeof line, "%-36s %-9s %-26s %-26s %-26s %-26s\n", name.c_str(), model,
                    spread_cell(at, "robust_accuracy").c_str(), spread_cell(at, "adv_trans").c_str(),
                    spread_cell(ce, "certified_accuracy_0").c_str(), spread_cell(ce, "acr").c_str());
      o << line;
    }
  }
  if (any)
    o << "(mean over benign clients [min, max client]; robust_acc: PGD, correct on x and x'; adv_trans: crafted on "
         "the global model, share fooling it that also fool the personal one; certified_acc(0) and acr (average "
         "certified radius over all certified samples, abstentions count 0) from the Cohen TSVs in certify/)\n";
  return o.str();
}

}  // namespace

std::string results_table(const std::vector<RunResult>& results) {
  std::ostringstream o;
  char line[512];
  std::snprintf(line, sizeof line, "%-36s %5s %-9s %6s %9s %9s %8s %9s %6s %9s\n", "run", "seed", "model", "round",
                "pooled", "mean_acc", "std", "worst10", "best@", "best");
  o << line;
  for (const RunResult& r : results) {
    const json& s = r.summary;
    if (!s.contains("last")) continue;
    for (const char* model : {"global", "personal"}) {
      if (!s["last"].contains(model)) continue;
      const json& l = s["last"][model];
      const json& b = s["best"][model];
      std::string name = r.label.empty() ? r.config.name : r.label;
      if (name.size() > 36) name = name.substr(0, 33) + "...";
      std::snprintf(line, sizeof line, "%-36s %5llu %-9s %6lld %9.4f %9.4f %8.4f %9.4f %6lld %9.4f\n", name.c_str(),
                    (unsigned long long)r.config.seed, model, (long long)s["last"]["round"].get<int64_t>(),
                    l["pooled_acc"].get<double>(), l["mean_acc"].get<double>(), l["std_acc"].get<double>(),
                    l["worst10_acc"].get<double>(), (long long)b["round"].get<int64_t>(), b["pooled_acc"].get<double>());
      o << line;
    }
  }
  o << "(benign clients only; pooled = sample-weighted accuracy; std = population std of per-client "
       "accuracy; worst10 = mean of the worst 10% of clients; best@ = round of the best pooled accuracy)\n";
  o << robustness_table(results);
  return o.str();
}

}  // namespace nanofed::fl
