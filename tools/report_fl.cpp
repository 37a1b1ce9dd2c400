// report_fl.cpp — the fl sections of a report: one run (rounds.csv, clients.csv, config.json,
// summary.json, robust.csv, certify/) or a grid (every run below a folder, one line per grid point).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/file_io.h"
#include "engine/text.h"
#include "tools/report.h"

namespace nanofed::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string text_of(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, "nanofed report");
  return std::string(bytes.begin(), bytes.end());
}

// results.md is the printed table between ``` lines (markdown); the page shows the table.
std::string without_fences(const std::string& text) {
  std::string out, line;
  for (std::istringstream in(text); std::getline(in, line);)
    if (line != "```") out += line + "\n";
  return out;
}

// One column of rounds.csv against the round, per model (global / personal).
std::map<std::string, Series> per_model(const CsvFile& f, const std::string& column) {
  std::map<std::string, Series> out;
  const size_t model = f.index("model"), round = f.index("round"), value = f.index(column);
  for (const auto& row : f.rows) {
    Series& s = out[row[model]];
    s.label = row[model];
    s.x.push_back(to_number(row[round]));
    s.y.push_back(to_number(row[value]));
  }
  return out;
}

// Each benign client's test accuracy at the last round in clients.csv, per model (validation
// rows, set = val, are what clients choose by, not a result).
std::map<std::string, std::vector<double>> last_round_clients(const CsvFile& f) {
  const size_t model = f.index("model"), round = f.index("round_number"), acc = f.index("accuracy");
  const size_t set = f.index("set");
  double last = -1;
  for (const auto& row : f.rows) last = std::max(last, to_number(row[round]));
  std::map<std::string, std::vector<double>> out;
  for (const auto& row : f.rows)
    if (to_number(row[round]) == last && row[set] == "test") out[row[model]].push_back(to_number(row[acc]));
  return out;
}

// "clean/ditto" for <dir>/clean/ditto/seed_0: the grid point a run belongs to.
std::string grid_point(const std::string& run, const std::string& dir) {
  fs::path rel = fs::path(run).lexically_relative(dir);
  if (starts_with(rel.filename().string(), "seed_")) rel = rel.parent_path();
  const std::string s = rel.generic_string();
  return s.empty() || s == "." ? fs::path(dir).filename().string() : s;
}

void add_run_tables(Report& r, const std::string& run, const std::string& where) {
  for (const char* name : {"config.json", "summary.json"}) {
    if (!file_exists(run + "/" + name)) continue;
    r.tables.push_back(json_table(std::string(name == std::string("config.json") ? "Resolved config" : "Summary") +
                                      " (" + where + name + ")", run + "/" + name));
    r.sources.push_back(where + name);
  }
  if (file_exists(run + "/robust.csv")) {
    const CsvFile f = read_csv(run + "/robust.csv");
    r.tables.push_back({"Robustness per client (" + where + "robust.csv)", f.header, f.rows, ""});
    r.sources.push_back(where + "robust.csv");
  }
}

}  // namespace

void add_fl_run(Report& r, const std::string& run) {
  const CsvFile rounds = read_csv(run + "/rounds.csv"), clients = read_csv(run + "/clients.csv");
  const std::map<std::string, Series> mean = per_model(rounds, "mean_acc"), lo = per_model(rounds, "worst10_acc"),
                                      hi = per_model(rounds, "best10_acc"), rejected = per_model(rounds, "rejected");
  Figure acc{"fl_accuracy", "line", "Benign clients' mean test accuracy per round", "round", "accuracy",
             "Unweighted mean over the benign clients of each client's test accuracy (rounds.csv mean_acc); the band "
             "spans the mean of the worst 10% of clients to that of the best 10% (worst10_acc, best10_acc; the "
             "single worst and best client are in the next figure).", {}, ""};
  for (const auto& [model, s] : mean) acc.series.push_back({model, s.x, s.y, lo.at(model).y, hi.at(model).y});
  Figure spread{"fl_client_accuracy", "box", "Per-client test accuracy at the last round", "model", "accuracy",
                "One point per benign client (clients.csv at the last evaluated round); box: quartiles and median.",
                {}, ""};
  for (const auto& [model, values] : last_round_clients(clients)) spread.series.push_back({model, {}, values, {}, {}});
  Figure rej{"fl_rejected", "line", "Updates the aggregator rejected per round", "round", "rejected updates",
             "rounds.csv rejected: client updates the robust aggregator (or the update checks) left out.", {}, ""};
  if (!rejected.empty()) rej.series.push_back({"rejected", rejected.begin()->second.x, rejected.begin()->second.y, {}, {}});
  r.figures.insert(r.figures.end(), {acc, spread, rej});
  const std::string where = run == r.dir ? "" : relative_to(run, r.dir) + "/";
  r.sources.push_back(where + "rounds.csv");
  r.sources.push_back(where + "clients.csv");
  add_run_tables(r, run, where);
  if (fs::is_directory(run + "/certify")) add_certify(r, run + "/certify", "");
}

namespace {

// Mean over seeds per round, band mean +- std over seeds (population std) when there are several.
Series over_seeds(const std::string& label, const std::vector<Series>& seeds) {
  std::map<double, std::vector<double>> at;
  for (const Series& s : seeds)
    for (size_t i = 0; i < s.x.size(); ++i) at[s.x[i]].push_back(s.y[i]);
  Series out{label, {}, {}, {}, {}};
  for (const auto& [round, values] : at) {
    double mean = 0, var = 0;
    for (double v : values) mean += v / values.size();
    for (double v : values) var += (v - mean) * (v - mean) / values.size();
    out.x.push_back(round);
    out.y.push_back(mean);
    if (seeds.size() > 1) out.lo.push_back(mean - std::sqrt(var)), out.hi.push_back(mean + std::sqrt(var));
  }
  return out;
}

// The runs table: each run's last evaluated round per model (summary.json).
Table runs_table(const Report& r, const std::vector<std::string>& runs) {
  Table t{"Runs: the last evaluated round (summary.json)",
          {"run", "model", "round", "pooled_acc", "mean_acc", "std_acc", "min_acc", "max_acc"}, {}, ""};
  for (const std::string& run : runs) {
    if (!file_exists(run + "/summary.json")) continue;
    const json s = read_json_file<json>(run + "/summary.json", "nanofed report");
    if (!s.contains("last")) continue;
    for (const char* model : {"global", "personal"}) {
      if (!s["last"].contains(model)) continue;
      const json& m = s["last"][model];
      std::vector<std::string> row = {relative_to(run, r.dir), model, s["last"]["round"].dump()};
      for (const char* k : {"pooled_acc", "mean_acc", "std_acc", "min_acc", "max_acc"}) row.push_back(fmt(m[k].get<double>(), "%.4f"));
      t.rows.push_back(row);
    }
  }
  return t;
}

// The config keys the runs share, and a run x key table of those that differ.
void config_tables(Report& r, const std::vector<std::string>& runs) {
  std::vector<json> configs;
  for (const std::string& run : runs)
    if (file_exists(run + "/config.json")) configs.push_back(read_json_file<json>(run + "/config.json", "nanofed report"));
  if (configs.empty()) return;
  Table same{"Resolved config: the keys every run shares (config.json)", {"key", "value"}, {}, ""};
  Table differ{"Resolved config: the keys that differ", {"run"}, {}, ""};
  for (auto it = configs[0].begin(); it != configs[0].end(); ++it) {
    const bool shared = std::all_of(configs.begin(), configs.end(),
                                    [&](const json& c) { return c.value(it.key(), json()) == it.value(); });
    if (shared) same.rows.push_back({it.key(), it.value().is_string() ? it.value().get<std::string>() : it.value().dump()});
    else differ.header.push_back(it.key());
  }
  for (size_t i = 0; i < configs.size() && differ.header.size() > 1; ++i) {
    std::vector<std::string> row = {relative_to(runs[i], r.dir)};
    for (size_t k = 1; k < differ.header.size(); ++k) row.push_back(configs[i].value(differ.header[k], json()).dump());
    differ.rows.push_back(row);
  }
  r.tables.push_back(same);
  if (differ.header.size() > 1) r.tables.push_back(differ);
}

}  // namespace

void add_fl_grid(Report& r, const std::vector<std::string>& runs) {
  std::map<std::string, std::map<std::string, std::vector<Series>>> acc;  // model -> point -> seeds
  std::map<std::string, std::vector<Series>> rejected;                     // point -> seeds
  std::map<std::string, std::vector<double>> clients;                     // "point (model)" -> accuracies
  for (const std::string& run : runs) {
    const std::string point = grid_point(run, r.dir), where = relative_to(run, r.dir) + "/";
    const CsvFile rounds = read_csv(run + "/rounds.csv"), per_client = read_csv(run + "/clients.csv");
    for (const auto& [model, s] : per_model(rounds, "mean_acc")) acc[model][point].push_back(s);
    if (const auto rej = per_model(rounds, "rejected"); !rej.empty()) rejected[point].push_back(rej.begin()->second);
    for (const auto& [model, values] : last_round_clients(per_client))
      clients[point + " (" + model + ")"].insert(clients[point + " (" + model + ")"].end(), values.begin(), values.end());
    for (const char* name : {"rounds.csv", "clients.csv", "config.json", "summary.json"})
      if (file_exists(run + "/" + name)) r.sources.push_back(where + name);
    if (fs::is_directory(run + "/certify")) add_certify(r, run + "/certify", relative_to(run, r.dir) + ": ");
  }
  for (const auto& [model, points] : acc) {
    Figure f{"grid_accuracy_" + model, "line", "Benign clients' mean accuracy per round: " + model + " model", "round",
             "accuracy", "One line per grid point: the mean over benign clients (rounds.csv mean_acc), averaged over "
             "seeds; the band is +- one std over seeds when there are several. Lines with the same points are one "
             "line labelled a = b; fine-tuned personal models exist after the last round only (one point).", {}, ""};
    for (const auto& [point, seeds] : points) f.series.push_back(over_seeds(point, seeds));
    r.figures.push_back(f);
  }
  Figure box{"grid_client_accuracy", "box", "Per-client test accuracy at the last round", "", "accuracy",
             "One point per benign client and seed (clients.csv at the last evaluated round).", {}, ""};
  for (const auto& [label, values] : clients) box.series.push_back({label, {}, values, {}, {}});
  Figure rej{"grid_rejected", "line", "Updates the aggregator rejected per round", "round", "rejected updates",
             "rounds.csv rejected, mean over seeds.", {}, ""};
  for (const auto& [point, seeds] : rejected) rej.series.push_back(over_seeds(point, seeds));
  r.figures.insert(r.figures.end(), {box, rej});
  if (file_exists(r.dir + "/results.md")) {
    r.tables.push_back({"Results table (results.md)", {}, {}, without_fences(text_of(r.dir + "/results.md"))});
    r.sources.push_back("results.md");
  }
  r.tables.push_back(runs_table(r, runs));
  config_tables(r, runs);
}

}  // namespace nanofed::report
