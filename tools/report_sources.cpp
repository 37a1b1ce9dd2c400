// report_sources.cpp — what an output folder holds, turned into a Report: the train, attack and
// certify sections, the file readers they share, and collect(), which finds the kinds present.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "certify/results.h"
#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/text.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"
#include "tools/report.h"

namespace nanofed::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

double to_number(const std::string& field) {
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  return field.empty() || *end != '\0' ? NAN : v;
}

// Rows with another field count than the header (a torn last line) are left out.
CsvFile read_csv(const std::string& path, char separator) {
  check_input_file(path, "nanofed report");
  std::ifstream in(path);
  CsvFile f{path, {}, {}};
  std::string line;
  auto fields = [&] {  // a file written on Windows ends its lines in \r\n
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return split(line, separator);
  };
  if (std::getline(in, line)) f.header = fields();
  while (std::getline(in, line))
    if (std::vector<std::string> row = fields(); row.size() == f.header.size()) f.rows.push_back(row);
  return f;
}

size_t CsvFile::index(const std::string& name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  NF_CHECK(it != header.end(), "nanofed report: " << path << " has no column '" << name << "'");
  return it - header.begin();
}

std::vector<double> CsvFile::column(const std::string& name) const {
  const size_t k = index(name);
  std::vector<double> out;
  for (const auto& row : rows) out.push_back(to_number(row[k]));
  return out;
}

std::string relative_to(const std::string& path, const std::string& dir) {
  return fs::path(path).lexically_relative(dir).generic_string();
}

// Arrays of more than 8 numbers (curves) are summarized: the table stays readable.
static void flatten(const json& j, const std::string& key, Table& t) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), key.empty() ? it.key() : key + "." + it.key(), t);
    return;
  }
  if (j.is_array() && j.size() > 8) return t.rows.push_back({key, "[" + std::to_string(j.size()) + " values]"});
  t.rows.push_back({key, j.is_string() ? j.get<std::string>() : j.dump()});
}

Table json_table(const std::string& title, const std::string& json_path) {
  Table t{title, {"key", "value"}, {}, ""};
  flatten(read_json_file<json>(json_path, "nanofed report"), "", t);
  return t;
}

// ---- train: epochs.csv, the checkpoint's metadata ----

static void add_train(Report& r) {
  const CsvFile f = read_csv(r.dir + "/epochs.csv");
  const std::vector<double> epoch = f.column("epoch");
  Figure loss{"train_loss", "line", "Loss per epoch", "epoch", "cross-entropy loss", "Mean training loss over the epoch's "
              "steps and the test loss after it (epochs.csv).", {}, ""};
  loss.series = {{"train", epoch, f.column("train_loss"), {}, {}}, {"test", epoch, f.column("test_loss"), {}, {}}};
  Figure acc{"train_accuracy", "line", "Test accuracy per epoch", "epoch", "test accuracy", "After each epoch (epochs.csv).",
             {{"test", epoch, f.column("test_accuracy"), {}, {}}}, ""};
  r.figures.push_back(loss);
  r.figures.push_back(acc);
  r.sources.push_back("epochs.csv");
  for (const std::string& file : {std::string("model.safetensors"), nn::optimizer_path("model.safetensors")}) {
    if (!file_exists(r.dir + "/" + file)) continue;  // --save put the checkpoint elsewhere
    Table t{"Settings (" + file + " metadata)", {"key", "value"}, {}, ""};
    for (const auto& [key, value] : nn::read_safetensors(r.dir + "/" + file).metadata) t.rows.push_back({key, value});
    r.tables.push_back(t);
    r.sources.push_back(file);
  }
  if (!f.rows.empty()) {
    Table last{"Summary: the last epoch (epochs.csv)", {"key", "value"}, {}, ""};
    for (size_t k = 0; k < f.header.size(); ++k) last.rows.push_back({f.header[k], f.rows.back()[k]});
    r.tables.push_back(last);
  }
}

// ---- attack: CSVs of `nanofed attack --out`, PNGs of --save-png ----

static bool starts_file(const std::string& path, const std::string& head) {
  std::ifstream in(path);
  std::string line;
  return std::getline(in, line) && starts_with(line, head);
}

static void add_attack_csv(Report& r, Figure& fig, const std::string& path) {
  const CsvFile f = read_csv(path);
  const std::string name = relative_to(path, r.dir);
  std::map<std::string, Series> robust, clean;  // per norm
  for (const auto& row : f.rows) {
    const std::string norm = row[f.index("norm")];
    for (auto* m : {&robust, &clean}) {
      Series& s = (*m)[norm];
      s.label = name + " " + norm + (m == &robust ? " robust" : " clean");
      s.dashed = m == &clean;
      s.x.push_back(to_number(row[f.index("eps")]));
      s.y.push_back(to_number(row[f.index(m == &robust ? "robust_accuracy" : "clean_accuracy")]));
    }
  }
  for (auto* m : {&robust, &clean})
    for (auto& entry : *m) fig.series.push_back(entry.second);
  Table t{"Attack results (" + name + ")", f.header, f.rows, ""};
  r.tables.push_back(t);
  r.sources.push_back(name);
}

static void add_attack(Report& r, const std::vector<std::string>& csvs, const std::vector<std::string>& pngs) {
  Figure fig{"robust_accuracy", "line", "Robust accuracy against eps (PGD)", "eps", "accuracy",
             "Robust accuracy (solid: correct on the clean and the adversarial image) and clean accuracy (dashed) "
             "for each eps of the sweep.", {}, ""};
  for (const std::string& csv : csvs) add_attack_csv(r, fig, csv);
  r.figures.push_back(fig);
  for (const std::string& png : pngs) {
    const std::string name = relative_to(png, r.dir);
    r.figures.push_back({"", "image", "Adversarial examples (" + name + ")", "", "",
                         "Written by nanofed attack --save-png: clean row above, adversarial row below; T = true "
                         "label, P = predicted label.", {}, name});
    r.sources.push_back(name);
  }
}

// ---- certify: Cohen TSVs ----

static std::string certify_group(const std::string& stem) {
  const size_t at = stem.rfind("_client");
  return at == std::string::npos ? stem : stem.substr(0, at);
}

Series mean_band(const std::string& label, const std::vector<double>& radii,
                 const std::vector<std::vector<double>>& curves) {
  Series s{label, radii, {}, {}, {}};
  for (size_t i = 0; i < radii.size(); ++i) {
    double sum = 0, lo = 1, hi = 0;
    for (const auto& c : curves) sum += c[i], lo = std::min(lo, c[i]), hi = std::max(hi, c[i]);
    s.y.push_back(sum / curves.size());
    if (curves.size() > 1) s.lo.push_back(lo), s.hi.push_back(hi);
  }
  return s;
}

static void add_certify_files(Report& r, const std::string& folder, const std::vector<std::string>& tsvs,
                              const std::string& prefix);

void add_certify(Report& r, const std::string& folder, const std::string& prefix) {
  std::vector<std::string> tsvs;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.path().extension() == ".tsv" && starts_file(e.path().string(), "idx\tlabel")) tsvs.push_back(e.path().string());
  std::sort(tsvs.begin(), tsvs.end());
  if (!tsvs.empty()) add_certify_files(r, folder, tsvs, prefix);
}

// One line per group of files, the ACR table beside it.
static void add_certify_files(Report& r, const std::string& folder, const std::vector<std::string>& tsvs,
                              const std::string& prefix) {
  std::map<std::string, std::vector<std::vector<certify::CertifyRow>>> groups;
  double max_radius = 0;
  for (const std::string& path : tsvs) {
    std::vector<certify::CertifyRow> rows = certify::read_tsv(path);
    if (rows.empty()) continue;
    for (const auto& row : rows)
      if (std::isfinite(row.radius)) max_radius = std::max(max_radius, row.radius);
    groups[certify_group(fs::path(path).stem().string())].push_back(rows);
    r.sources.push_back(relative_to(path, r.dir));
  }
  std::vector<double> radii;
  for (int k = 0; k <= 100; ++k) radii.push_back(max_radius * 1.05 * k / 100);
  Figure* fig = nullptr;
  for (Figure& f : r.figures) fig = f.name == "certified_accuracy" ? &f : fig;
  if (!fig) {
    r.figures.push_back({"certified_accuracy", "line", "Certified accuracy against radius", "radius",
                         "certified accuracy", "CA(r): share of the certified images that are classified correctly "
                         "with a radius >= r (abstentions count as wrong). Several clients: mean over clients, band "
                         "min-max client.", {}, ""});
    fig = &r.figures.back();
  }
  const std::string where = relative_to(folder, r.dir);
  Table t{"Certification (" + (where == "." ? std::string("the TSVs in this folder") : where + "/") + ")",
          {"files", "clients", "images", "CA(0)", "ACR mean", "ACR min", "ACR max"}, {}, ""};
  for (const auto& [group, files] : groups) {
    std::vector<std::vector<double>> curves;
    double acr_sum = 0, acr_lo = INFINITY, acr_hi = -INFINITY;
    size_t images = 0;
    for (const auto& rows : files) {
      curves.push_back(certify::certified_accuracy_curve(rows, radii));
      const double acr = certify::average_certified_radius(rows);
      acr_sum += acr, acr_lo = std::min(acr_lo, acr), acr_hi = std::max(acr_hi, acr), images += rows.size();
    }
    const Series s = mean_band(prefix + group, radii, curves);
    fig->series.push_back(s);
    t.rows.push_back({group, std::to_string(files.size()), std::to_string(images), fmt(s.y[0], "%.4f"),
                      fmt(acr_sum / files.size(), "%.4f"), fmt(acr_lo, "%.4f"), fmt(acr_hi, "%.4f")});
  }
  r.tables.push_back(t);
}

// ---- collect ----

// Lines with the same points (Ditto's global model is FedAvg's, the same trajectory) would hide
// one another: the first keeps them all in its label ("a = b").
static void merge_identical(Figure& f) {
  if (f.kind != "line") return;
  std::vector<Series> kept;
  for (const Series& s : f.series) {
    auto same = std::find_if(kept.begin(), kept.end(), [&](const Series& k) {
      return k.x == s.x && k.y == s.y && k.lo == s.lo && k.hi == s.hi && k.dashed == s.dashed;
    });
    if (same == kept.end()) kept.push_back(s);
    else same->label += " = " + s.label;
  }
  f.series = kept;
}

static std::vector<std::string> fl_runs_below(const std::string& dir) {
  std::vector<std::string> runs;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() == "rounds.csv") runs.push_back(e.path().parent_path().string());
  std::sort(runs.begin(), runs.end());
  return runs;
}

static std::vector<std::string> top_files(const std::string& dir, const std::string& ext, const std::string& head) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ext && (head.empty() || starts_file(e.path().string(), head)))
      out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

Report collect(const std::string& dir) {
  std::error_code ec;
  NF_CHECK(fs::is_directory(dir, ec), "nanofed report: '" << dir << "' is not a directory; expected the output "
                                      "directory of nanofed train, fl, attack or certify");
  Report r{fs::path(dir).lexically_normal().generic_string(), {}, {}, {}, {}};
  if (file_exists(dir + "/epochs.csv")) add_train(r), r.kinds.push_back("train");
  if (file_exists(dir + "/rounds.csv")) {
    add_fl_run(r, r.dir);
    r.kinds.push_back("fl");
  } else if (const std::vector<std::string> runs = fl_runs_below(dir); !runs.empty()) {
    add_fl_grid(r, runs);
    r.kinds.push_back("fl grid");
  }
  const std::vector<std::string> csvs = top_files(dir, ".csv", "norm,eps,"), pngs = top_files(dir, ".png", "");
  if (!csvs.empty()) add_attack(r, csvs, pngs), r.kinds.push_back("attack");
  if (!top_files(dir, ".tsv", "idx\tlabel").empty()) add_certify(r, r.dir, ""), r.kinds.push_back("certify");
  for (Figure& f : r.figures) merge_identical(f);
  NF_CHECK(!r.kinds.empty(), "nanofed report: " << dir << " holds no nanofed results; expected epochs.csv (nanofed "
           "train), rounds.csv or folders of fl runs (nanofed fl), an attack CSV (nanofed attack --out) or a "
           "certification TSV (nanofed certify --out)");
  return r;
}

}  // namespace nanofed::report
