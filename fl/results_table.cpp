// results_table.cpp — the table fl::run prints and writes to results.md: one row per run and
// model, then the robustness evaluation's table when a run has one.
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "engine/file_io.h"
#include "fl/run.h"

namespace nanofed::fl {

void write_results_md(const std::string& folder, const std::string& table) {
  std::filesystem::create_directories(folder);
  nanofed::write_file_atomic(folder + "/results.md", "```\n" + table + "```\n", "fl::run");
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
