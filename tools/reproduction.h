// reproduction.h — what every paper-reproduction driver (examples/<paper>/main.cpp) shares: one
// claim judged from the driver's own CSVs (what the paper says, what we measured, PASS or FAIL),
// the criteria table of its results.md, and the machine line of that file's header. Each
// section of a driver returns a list of Criterion; results.md prints them as tables, and the
// run's exit line counts them.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fl/config.h"
#include "tools/report.h"

namespace nanofed::report {

struct Criterion {
  std::string claim;  // what must hold, e.g. "argmin of the mean error within one grid step of lambda*"
  std::string paper;  // the paper's number or statement, with its table/figure ("Fig. 1: 2.1333")
  std::string ours;   // our measured value(s), formatted
  bool pass = false;
};

// A markdown table: | # | claim | paper | ours | verdict |, numbered prefix + first, first + 1, ...
// (a prefix such as "B" keeps a table of uncounted reference checks apart from the criteria).
std::string criteria_table(const std::vector<Criterion>& criteria, int first = 1, const std::string& prefix = "");
int count_pass(const std::vector<Criterion>& criteria);

// "<CPU model>, <cores> cores; load average at the end <1 5 15 min>" (bench/machine.h's probes).
std::string machine_line();

// <root>/results.md (atomically), then the figures (figures/*.png) and report.html with
// results.md as its text; `kind` names the page ("ditto reproduction"). A plotting problem
// (matplotlib missing) is one line on stderr: results.md stands without the figures.
void write_reproduction(const std::string& root, const std::string& md, const std::vector<Figure>& figures,
                        const std::string& kind);

// A summary CSV read back: mean ± sd cells keyed by numeric columns, e.g. (f, lambda) ->
// (accuracy_mean, accuracy_std). Absent keys give NaN cells; an empty file throws naming it.
struct MeanSd {
  double mean = NAN, sd = NAN;
};
class SummaryCells {
 public:
  SummaryCells(const std::string& path, const std::vector<std::string>& key_columns, const std::string& mean_column,
               const std::string& sd_column, const std::string& who);
  MeanSd at(const std::vector<double>& key) const;
  bool contains(const std::vector<double>& key) const { return cells_.count(key) > 0; }

 private:
  std::map<std::vector<double>, MeanSd> cells_;
};

// The experiment config of a driver whose configs live in `folder`: folder/config.json, then
// folder/full.json on top when `full`, then the key=value overrides. "seeds" (a non-empty list
// of non-negative integers) is taken out into `seeds` (else the config's seed alone): the driver
// loops over it. Progress lines are off (the driver prints one line per run). Messages start
// with `who`.
fl::json experiment_config(const std::string& folder, bool full, const std::vector<std::string>& overrides,
                           std::vector<uint64_t>& seeds, const std::string& who);

// A config-driven driver's command line: `--full`, the driver's own `switches` (e.g.
// "--theory-only"), and key=value overrides; --help prints `usage` and exits 0; anything else
// throws one line naming the argument and what `who` accepts.
struct DriverArgs {
  bool full = false;
  std::vector<std::string> switches;  // those given
  std::vector<std::string> overrides;
  bool has(const std::string& flag) const;
};
DriverArgs parse_driver_args(int argc, char** argv, const std::string& who, const char* usage,
                             const std::vector<std::string>& switches = {});

// One federated run of a reproduction (one seed): its group (a cell, a claim's setting), its
// name, the parsed config, the folder it writes (fl::run_one's files).
struct PlannedRun {
  std::string group, run;
  fl::FlConfig config;
  std::string dir;
};
// Runs every planned run through fl::run_one (resumable; a finished run is read back from its
// files), one line each on stdout; the seconds of the runs that trained are appended to
// <root>/timing.csv (group, run, seed, seconds, rounds_trained).
void run_all(const std::vector<PlannedRun>& runs, const std::string& root);
// The seconds column of <root>/timing.csv, summed: the compute time of the runs in `root`.
double compute_seconds(const std::string& root);

}  // namespace nanofed::report
