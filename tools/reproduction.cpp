#include "tools/reproduction.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "bench/machine.h"
#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/text.h"
#include "fl/run.h"

namespace nanofed::report {

std::string criteria_table(const std::vector<Criterion>& criteria, int first, const std::string& prefix) {
  std::string out = "| # | claim | paper | ours | verdict |\n|---|---|---|---|---|\n";
  int i = first;
  for (const Criterion& c : criteria)
    out += "| " + prefix + std::to_string(i++) + " | " + c.claim + " | " + c.paper + " | " + c.ours + " | " +
           (c.pass ? "PASS" : "**FAIL**") + " |\n";
  return out;
}

int count_pass(const std::vector<Criterion>& criteria) {
  int n = 0;
  for (const Criterion& c : criteria) n += c.pass;
  return n;
}

std::string machine_line() {
  return bench::cpu_model() + ", " + std::to_string(bench::cpu_cores()) + " cores; load average at the end " +
         bench::load_average();
}

void write_reproduction(const std::string& root, const std::string& md, const std::vector<Figure>& figures,
                        const std::string& kind) {
  write_file_atomic(root + "/results.md", md, kind.c_str());
  Report r;
  r.dir = root;
  r.kinds = {kind};
  r.figures = figures;
  Table t;
  t.title = "results.md";
  t.text = md;
  r.tables.push_back(t);
  bool missing_package = false;
  const std::string problem = render_figures(r, missing_package);
  write_html(r, problem);
  if (!problem.empty()) std::fprintf(stderr, "%s\n", problem.c_str());
}

fl::json experiment_config(const std::string& folder, bool full, const std::vector<std::string>& overrides,
                           std::vector<uint64_t>& seeds, const std::string& who) {
  fl::json j = fl::read_config_file(folder + "/config.json");
  if (full) {
    const fl::json f = fl::read_config_file(folder + "/full.json");
    for (auto it = f.begin(); it != f.end(); ++it) j[it.key()] = it.value();
  }
  fl::apply_overrides(j, overrides);
  seeds.clear();
  if (j.contains("seeds")) {
    NF_CHECK(j["seeds"].is_array() && !j["seeds"].empty(), who << ": seeds = " << j["seeds"].dump() << " must be a non-empty list");
    for (const fl::json& s : j["seeds"]) {
      NF_CHECK(s.is_number_unsigned(), who << ": seeds = " << j["seeds"].dump() << " must hold non-negative integers");
      seeds.push_back(s.get<uint64_t>());
    }
    j.erase("seeds");
  } else {
    seeds.push_back(j.value("seed", uint64_t(0)));
  }
  j["progress"] = false;
  return j;
}

namespace {

// summary.json is written last (fl/run.h): present with every round completed = finished.
bool finished(const PlannedRun& r) {
  const std::string path = r.dir + "/summary.json";
  if (!file_exists(path)) return false;
  const nlohmann::json s = read_json_file(path, "reproduction");
  return s.value("rounds_completed", int64_t(-1)) == r.config.rounds;
}

}  // namespace

void run_all(const std::vector<PlannedRun>& runs, const std::string& root) {
  const std::string timing = root + "/timing.csv";
  if (!file_exists(timing)) write_file_atomic(timing, std::string("group,run,seed,seconds,rounds_trained\n"), "reproduction");
  for (size_t i = 0; i < runs.size(); ++i) {
    const PlannedRun& r = runs[i];
    // A finished run's summary, read back by run_one, still holds its seconds_this_session:
    // what tells a run done before is that it had finished before run_one was called.
    const bool trained = !finished(r);
    const auto t0 = std::chrono::steady_clock::now();
    const fl::RunResult res = fl::run_one(r.config, r.dir);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[%zu/%zu] %-12s %-24s seed %llu  %s\n", i + 1, runs.size(), r.group.c_str(), r.run.c_str(),
                (unsigned long long)r.config.seed, trained ? fmt(secs, "%.0f s").c_str() : "done before");
    if (!trained) continue;
    std::ofstream out(timing, std::ios::app);
    out << r.group << "," << r.run << "," << r.config.seed << "," << fmt(secs, "%.1f") << ","
        << res.summary.value("rounds_completed", int64_t(0)) << "\n";
  }
}

double compute_seconds(const std::string& root) {
  const CsvFile csv = read_csv(root + "/timing.csv");
  double total = 0;
  for (double s : csv.column("seconds")) total += s;
  return total;
}

bool DriverArgs::has(const std::string& flag) const {
  return std::find(switches.begin(), switches.end(), flag) != switches.end();
}

DriverArgs parse_driver_args(int argc, char** argv, const std::string& who, const char* usage,
                             const std::vector<std::string>& switches) {
  DriverArgs a;
  std::string accepted = "--full";
  for (const std::string& s : switches) accepted += ", " + s;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") std::printf("%s", usage), std::exit(0);
    if (s == "--full") a.full = true;
    else if (std::find(switches.begin(), switches.end(), s) != switches.end()) a.switches.push_back(s);
    else if (s.find('=') != std::string::npos && s[0] != '-') a.overrides.push_back(s);
    else NF_CHECK(false, who << ": unknown argument '" << s << "' (expected " << accepted << " or key=value; --help)");
  }
  return a;
}

SummaryCells::SummaryCells(const std::string& path, const std::vector<std::string>& key_columns,
                           const std::string& mean_column, const std::string& sd_column, const std::string& who) {
  const CsvFile csv = read_csv(path);
  std::vector<std::vector<double>> keys;
  for (const std::string& k : key_columns) keys.push_back(csv.column(k));
  const std::vector<double> mean = csv.column(mean_column), sd = csv.column(sd_column);
  NF_CHECK(!mean.empty(), who << ": " << path << " has no rows");
  for (size_t i = 0; i < mean.size(); ++i) {
    std::vector<double> key;
    for (const std::vector<double>& column : keys) key.push_back(column[i]);
    cells_[key] = {mean[i], sd[i]};
  }
}

MeanSd SummaryCells::at(const std::vector<double>& key) const {
  const auto it = cells_.find(key);
  return it == cells_.end() ? MeanSd{} : it->second;
}

}  // namespace nanofed::report
