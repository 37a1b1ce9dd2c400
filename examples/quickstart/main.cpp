// examples/quickstart — the main job (`make run`): Ditto vs FedAvg vs fine-tuning on
// Fashion-MNIST with Ditto's partition, clean and under 50% label poisoning, with a coordinate-
// wise median baseline; prints benign mean accuracy and std across clients beside the paper's
// Table 8 numbers. Scaled to finish in minutes on 2 CPU cores (see README.md here for what is
// scaled and why the numbers differ from the paper's).
//
//   build/examples/quickstart [examples/quickstart/config.json] [key=value ...]
//
// Runs are resumable: results go to runs/quickstart/..., and a finished or interrupted run is
// continued rather than redone (delete runs/quickstart to start over); a finished run is read
// from its summary.json alone. The table is also written to runs/quickstart/results.md, and the
// figures of every run to runs/quickstart/report.html (nanofed report; docs/report.md).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/common.h"
#include "fl/config.h"
#include "fl/run.h"
#include "tools/report.h"

using namespace nanofed;
using nanofed::fl::json;

namespace {

struct Setting {
  std::string name;       // table label
  std::string dir;        // directory under runs/quickstart
  json overrides;
  std::vector<std::string> strategies;
};

struct PaperRow {
  const char* setting;
  const char* method;
  const char* paper;  // Ditto Table 8 (FMNIST, 500 devices, 5000 rounds): mean (std)
};

const PaperRow kPaper[] = {
    {"clean", "FedAvg (global)", "0.911 (.08)"},      {"clean", "fine-tuning", "0.945 (.06)"},
    {"clean", "Ditto lambda=1", "0.946 (.06)"},       {"A1 50%", "FedAvg (global)", "0.855 (.10)"},
    {"A1 50%", "fine-tuning", "0.935 (.07)"},         {"A1 50%", "Ditto lambda=1", "0.935 (.07)"},
    {"A1 50%", "median (global)", "0.818 (.12)"},
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    const std::string path = argc > 1 && std::string(argv[1]).find('=') == std::string::npos
                                 ? argv[1] : "examples/quickstart/config.json";
    std::vector<std::string> overrides;
    for (int i = 1; i < argc; ++i)
      if (std::string(argv[i]).find('=') != std::string::npos) overrides.push_back(argv[i]);
    json base = fl::read_config_file(path);
    fl::apply_overrides(base, overrides);

    const json poison = {{"attack", "label_poisoning"}, {"byzantine_fraction", 0.5}};
    json median = poison;
    median["aggregator"] = "median";  // takes no f: 50% Byzantine clients are allowed
    const std::vector<Setting> settings = {{"clean", "clean", json::object(), {"finetune", "ditto"}},
                                           {"A1 50%", "label_poisoning_50", poison, {"finetune", "ditto"}},
                                           {"A1 50% median", "label_poisoning_50_median", median, {"fedavg"}}};
    // Check every config before the first round of any.
    std::vector<std::pair<fl::FlConfig, std::string>> runs;
    for (const Setting& s : settings)
      for (const std::string& strategy : s.strategies) {
        json j = base;
        for (auto it = s.overrides.begin(); it != s.overrides.end(); ++it) j[it.key()] = it.value();
        j["strategy"] = strategy;
        fl::FlConfig c = fl::parse_config(j, path + " [" + s.name + ", " + strategy + "]");
        runs.push_back({c, c.out + "/" + c.name + "/" + s.dir + "/" + strategy + "/seed_" + std::to_string(c.seed)});
      }
    std::printf("quickstart: %zu runs (Fashion-MNIST, Ditto partition, %lld clients, %lld rounds, model %s)\n",
                runs.size(), (long long)runs[0].first.num_clients, (long long)runs[0].first.rounds,
                runs[0].first.model.c_str());
    std::vector<fl::RunResult> results;
    for (const auto& [config, dir] : runs) {
      std::printf("  %s\n", dir.c_str());
      results.push_back(fl::run_one(config, dir));
    }

    auto value = [](const json& summary, const char* model, const char* key) {
      if (!summary.contains("last") || !summary["last"].contains(model)) return std::nan("");
      return summary["last"][model][key].get<double>();
    };
    auto cell = [](const json& summary, const char* model) {
      if (!summary.contains("last") || !summary["last"].contains(model)) return std::string("-");
      const json& m = summary["last"][model];
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3f (%.2f)", m["pooled_acc"].get<double>(), m["std_acc"].get<double>());
      return std::string(buf);
    };
    // results: clean finetune, clean ditto, A1 finetune, A1 ditto, A1 median fedavg.
    const std::vector<std::string> ours = {cell(results[0].summary, "global"), cell(results[0].summary, "personal"),
                                           cell(results[1].summary, "personal"), cell(results[2].summary, "global"),
                                           cell(results[2].summary, "personal"), cell(results[3].summary, "personal"),
                                           cell(results[4].summary, "global")};
    std::string table = "Benign clients' test accuracy: pooled mean (std across clients), last round\n";
    auto line = [&table](const char* format, auto... args) {
      char buf[512];
      std::snprintf(buf, sizeof buf, format, args...);
      table += buf;
    };
    // The structural claims of Ditto §5 this table can judge (examples/ditto judges them all).
    auto verdict = [](bool ok) { return ok ? std::string("PASS") : std::string("FAIL"); };
    const double g_clean = value(results[0].summary, "global", "pooled_acc"), g_a1 = value(results[2].summary, "global", "pooled_acc");
    const std::vector<std::string> checks = {
        "",
        verdict(value(results[0].summary, "personal", "pooled_acc") >= g_clean) + ": >= FedAvg",
        verdict(value(results[1].summary, "personal", "pooled_acc") >= g_clean &&
                value(results[1].summary, "personal", "std_acc") < value(results[0].summary, "global", "std_acc")) +
            ": >= FedAvg, lower std",
        "",
        verdict(value(results[2].summary, "personal", "pooled_acc") >= g_a1) + ": >= FedAvg",
        verdict(value(results[3].summary, "personal", "pooled_acc") >= g_a1) + ": >= FedAvg",
        ""};
    line("%-14s %-18s %-16s %-16s %s\n", "setting", "method", "nanofed", "paper (Table 8)", "structural check");
    for (size_t i = 0; i < ours.size(); ++i)
      line("%-14s %-18s %-16s %-16s %s\n", kPaper[i].setting, kPaper[i].method, ours[i].c_str(), kPaper[i].paper,
           checks[i].c_str());
    // Ditto's global model follows the same trajectory as FedAvg's (same seeds and batches).
    for (int s : {0, 2})
      if (cell(results[s].summary, "global") != cell(results[s + 1].summary, "global"))
        line("note: FedAvg's global model differs between the finetune and ditto runs of '%s'\n",
             s == 0 ? "clean" : "A1 50%");
    const fl::FlConfig& c = runs[0].first;
    const std::string folder = c.out + "/" + c.name;
    line("\nScaled down from the paper (500 clients, 5000 rounds, the 3.27M-parameter CNN, 2 local steps):\n"
         "here %lld clients with %.0f%% of the data, %lld rounds of %lld local steps, model '%s'. Paper numbers are\n"
         "for orientation only; see examples/quickstart/README.md. Per-round CSVs and summaries: %s/\n"
         "The full reproduction, every claim judged PASS/FAIL (theory, Table 8 subset, FMTL): build/examples/ditto\n",
         (long long)c.num_clients, 100 * c.ditto_scale, (long long)c.rounds, (long long)c.local_steps, c.model.c_str(),
         folder.c_str());
    std::printf("\n%s", table.c_str());
    fl::write_results_md(folder, table);
    // The figures of every run (tools/report.h); without matplotlib one line says so, and the
    // page still has the tables: the results above stand either way.
    report::build_report(folder);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
