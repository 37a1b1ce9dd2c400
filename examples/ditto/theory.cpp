// theory.cpp — Ditto §2.8 / Figs. 1-2 by Monte Carlo: CSVs first, then every number of the
// verdicts, the table and the figures is read back from them.
#include "examples/ditto/theory.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/random.h"
#include "engine/text.h"
#include "fl/point_estimation.h"

namespace nanofed::ditto {
namespace {

namespace fs = std::filesystem;
using fl::PointSetting;
using report::Figure;
using report::Series;

constexpr const char* kWho = "run_theory";
constexpr int64_t kFig2Trials = 2000;   // the paper's notebook
constexpr double kGlobalLambda = 1000;  // Fig. 2's "global": v_k = w* up to 0.1%
enum : uint64_t { kFig1 = 1, kFig2 = 2 };

// ---- the settings (Ditto's notebook for Figs. 1-2)

// 0..2.8 by 0.2, 3..9.5 by 0.5, 10..190 by 10.
std::vector<double> fig1_grid() {
  std::vector<double> g;
  for (int i = 0; i <= 14; ++i) g.push_back(0.2 * i);
  for (int i = 0; i < 14; ++i) g.push_back(3.0 + 0.5 * i);
  for (int i = 1; i <= 19; ++i) g.push_back(10.0 * i);
  return g;
}

PointSetting fig1_setting(bool adversarial) {
  PointSetting s;
  s.devices = adversarial ? 16 : 8;
  s.adversaries = adversarial ? 8 : 0;
  s.tau_adv = adversarial ? 0.5 : 0.0;
  s.samples = 30;
  s.sigma = 0.8;
  s.tau = 0.1;
  return s;
}

std::vector<double> fig2_taus() {
  std::vector<double> t;
  for (int i = 0; i < 20; ++i) t.push_back(0.0001 + 0.05 * i);
  return t;
}

PointSetting fig2_setting(bool adversarial, double tau) {
  PointSetting s;
  s.devices = adversarial ? 10 : 20;
  s.adversaries = adversarial ? 3 : 0;
  s.tau_adv = adversarial ? 0.1 : 0.0;
  s.samples = adversarial ? 10 : 20;
  s.sigma = adversarial ? 0.5 : 1.0;
  s.tau = tau;
  return s;
}

const char* name_of(bool adversarial) { return adversarial ? "adversarial" : "clean"; }
uint64_t sub_seed(uint64_t seed, uint64_t a, uint64_t b, uint64_t c = 0) { return Generator(seed).derive({a, b, c}).seed(); }
std::string num(double v) { return fmt(v, "%.10g"); }

std::string csv_row(const std::vector<double>& values) {
  std::vector<std::string> f;
  for (double v : values) f.push_back(num(v));
  return join(f, ",") + "\n";
}

// ---- writing

// Fig. 1: every grid lambda (on_grid = 1), then lambda* itself (on_grid = 0), on the same draws.
void write_fig1(const std::string& path, bool adversarial, int64_t trials, uint64_t seed) {
  const PointSetting s = fig1_setting(adversarial);
  std::vector<double> lambdas = fig1_grid();
  lambdas.push_back(datasets::ditto_optimal_lambda(s));
  const auto points = fl::monte_carlo(s, lambdas, trials, sub_seed(seed, kFig1, adversarial));
  std::string text = "lambda,on_grid,mean_error,mean_error_se,variance,variance_se\n";
  for (size_t i = 0; i < points.size(); ++i) {
    const fl::ErrorPoint& p = points[i];
    text += csv_row({p.lambda, i + 1 < points.size() ? 1.0 : 0.0, p.mean_error, p.mean_error_se, p.variance,
                     p.variance_se});
  }
  write_file_atomic(path, text, kWho);
}

// Fig. 2: local (lambda = 0), Ditto (lambda*(tau)) and global per tau, paired draws per tau.
void write_fig2(const std::string& path, bool adversarial, int64_t trials, uint64_t seed) {
  std::string text =
      "tau,inv_tau,lambda_star,local,local_se,local_variance,local_variance_se,ditto,ditto_se,global,global_se\n";
  const std::vector<double> taus = fig2_taus();
  for (size_t i = 0; i < taus.size(); ++i) {
    const PointSetting s = fig2_setting(adversarial, taus[i]);
    // lambda_a*'s denominator K tau^2 + K_a/(K-1) (tau_a^2 - tau^2) = 9.67 tau^2 + 0.0033 > 0 for
    // the adversarial setting even when tau > tau_a; ditto_optimal_lambda throws if it were not.
    const double star = datasets::ditto_optimal_lambda(s);
    const auto p = fl::monte_carlo(s, {0.0, star, kGlobalLambda}, trials, sub_seed(seed, kFig2, adversarial, i));
    text += csv_row({taus[i], 1.0 / taus[i], star, p[0].mean_error, p[0].mean_error_se, p[0].variance,
                     p[0].variance_se, p[1].mean_error, p[1].mean_error_se, p[2].mean_error, p[2].mean_error_se});
  }
  write_file_atomic(path, text, kWho);
}

// lambda_a* (closed form) over K_a in {0, 2, 4, 8} at tau_a = 0.5, and over tau_a in
// {0.1, 0.3, 0.5, 1} at K_a = 8; Fig. 1's adversarial setting otherwise. sweep: 0 K_a, 1 tau_a.
void write_lambda_sweep(const std::string& path) {
  std::string text = "sweep,k_a,tau_a,lambda_star\n";
  PointSetting s = fig1_setting(true);
  for (int64_t ka : {0, 2, 4, 8}) {
    s.adversaries = ka;
    text += csv_row({0, (double)ka, s.tau_adv, datasets::ditto_optimal_lambda(s)});
  }
  s = fig1_setting(true);
  for (double ta : {0.1, 0.3, 0.5, 1.0}) {
    s.tau_adv = ta;
    text += csv_row({1, (double)s.adversaries, ta, datasets::ditto_optimal_lambda(s)});
  }
  write_file_atomic(path, text, kWho);
}

// ---- reading back

struct Fig1 {
  bool adversarial = false;
  double lambda_star = 0, sigma2 = 0;     // closed forms
  std::vector<double> lambda, err, err_se, var, var_se;  // the grid rows
  double err_star = 0, err_star_se = 0, var_star = 0;    // the lambda* row
};

Fig1 read_fig1(const std::string& path, bool adversarial) {
  const report::CsvFile f = report::read_csv(path);
  const std::vector<double> lambda = f.column("lambda"), grid = f.column("on_grid"), err = f.column("mean_error"),
                            err_se = f.column("mean_error_se"), var = f.column("variance"),
                            var_se = f.column("variance_se");
  Fig1 r;
  r.adversarial = adversarial;
  r.lambda_star = datasets::ditto_optimal_lambda(fig1_setting(adversarial));
  r.sigma2 = datasets::ditto_optimal_error(fig1_setting(adversarial));
  for (size_t i = 0; i < lambda.size(); ++i) {
    if (grid[i] == 0) {
      r.err_star = err[i], r.err_star_se = err_se[i], r.var_star = var[i];
      continue;
    }
    r.lambda.push_back(lambda[i]), r.err.push_back(err[i]), r.err_se.push_back(err_se[i]);
    r.var.push_back(var[i]), r.var_se.push_back(var_se[i]);
  }
  NF_CHECK(!r.lambda.empty() && r.err_star > 0, kWho << ": " << path << " lacks the grid rows or the lambda* row");
  return r;
}

size_t argmin(const std::vector<double>& v) { return (size_t)(std::min_element(v.begin(), v.end()) - v.begin()); }

// The error at the grid's lambda closest to `lambda` (0 and 190 are on the grid).
double at(const Fig1& f, double lambda) {
  size_t best = 0;
  for (size_t i = 1; i < f.lambda.size(); ++i)
    if (std::abs(f.lambda[i] - lambda) < std::abs(f.lambda[best] - lambda)) best = i;
  return f.err[best];
}

// The width of the grid interval that holds lambda*.
double grid_step_at(const std::vector<double>& grid, double x) {
  for (size_t i = 0; i + 1 < grid.size(); ++i)
    if (grid[i] <= x && x <= grid[i + 1]) return grid[i + 1] - grid[i];
  return 0;
}

struct Fig2 {
  bool adversarial = false;
  std::vector<double> tau, inv_tau, lambda_star, local, local_se, local_var, ditto, ditto_se, global, global_se;
};

Fig2 read_fig2(const std::string& path, bool adversarial) {
  const report::CsvFile f = report::read_csv(path);
  Fig2 r;
  r.adversarial = adversarial;
  r.tau = f.column("tau"), r.inv_tau = f.column("inv_tau"), r.lambda_star = f.column("lambda_star");
  r.local = f.column("local"), r.local_se = f.column("local_se"), r.local_var = f.column("local_variance");
  r.ditto = f.column("ditto"), r.ditto_se = f.column("ditto_se");
  r.global = f.column("global"), r.global_se = f.column("global_se");
  NF_CHECK(!r.tau.empty(), kWho << ": " << path << " has no rows");
  return r;
}

// ---- criteria

std::string pct(double rel) { return fmt(100 * rel, "%.2f%%"); }
double rel_diff(double ours, double ref) { return std::abs(ours - ref) / ref; }
std::string setting_label(const Fig1& f) { return f.adversarial ? "Fig. 1 adversarial" : "Fig. 1 clean"; }
std::string paper_fig1(const Fig1& f) {
  return setting_label(f) + " notebook: lambda*=" + fmt(f.lambda_star, "%.4f") + ", sigma_w^2=" + fmt(f.sigma2, "%.5f");
}

void fig1_criteria(const Fig1& f, std::vector<Criterion>& out) {
  const std::vector<double> grid = f.lambda;
  const size_t e = argmin(f.err), v = argmin(f.var);
  const double step = grid_step_at(grid, f.lambda_star);
  out.push_back({setting_label(f) + ": argmin over the lambda grid of the MC mean error is within one grid step (" +
                     fmt(step) + ") of lambda*",
                 paper_fig1(f), "argmin " + fmt(grid[e]) + ", |diff| " + fmt(std::abs(grid[e] - f.lambda_star), "%.4f"),
                 std::abs(grid[e] - f.lambda_star) <= step + 1e-9});
  const double rel = rel_diff(f.err_star, f.sigma2);
  out.push_back({setting_label(f) + ": MC mean error at lambda* within 3% of sigma_w^2", paper_fig1(f),
                 fmt(f.err_star, "%.6f") + " +- " + fmt(f.err_star_se, "%.6f") + " (" + pct(rel) + ")", rel <= 0.03});
  out.push_back({setting_label(f) + ": argmin of the across-device variance within +-0.3 of lambda* (FMTL)",
                 paper_fig1(f) + "; min variance ~ 2 sigma_w^4 = " + fmt(2 * f.sigma2 * f.sigma2, "%.3g"),
                 "argmin " + fmt(grid[v]) + ", variance there " + fmt(f.var[v], "%.3g"),
                 std::abs(grid[v] - f.lambda_star) <= 0.3 + 1e-9});
}

// FMTL's notebook on the clean Fig. 1 setting: a tighter argmin, the minimum, and local training.
void fmtl_criteria(const Fig1& f, std::vector<Criterion>& out) {
  const size_t e = argmin(f.err);
  const double local_ref = 0.8 * 0.8 / 30;
  out.push_back({"FMTL (Fig. 1 clean): argmin of the MC mean error within +-0.15 of lambda*", paper_fig1(f),
                 "argmin " + fmt(f.lambda[e]), std::abs(f.lambda[e] - f.lambda_star) <= 0.15 + 1e-9});
  out.push_back({"FMTL (Fig. 1 clean): minimal MC mean error within 2% of sigma_w^2", paper_fig1(f),
                 fmt(f.err[e], "%.6f") + " (" + pct(rel_diff(f.err[e], f.sigma2)) + ")",
                 rel_diff(f.err[e], f.sigma2) <= 0.02});
  out.push_back({"FMTL (Fig. 1 clean): MSE of local training (lambda = 0) within 3% of sigma^2/n",
                 "sigma^2/n = " + fmt(local_ref, "%.5f"),
                 fmt(at(f, 0), "%.6f") + " (" + pct(rel_diff(at(f, 0), local_ref)) + ")",
                 rel_diff(at(f, 0), local_ref) <= 0.03});
}

void fig2_criteria(const Fig2& f, std::vector<Criterion>& out) {
  // Ditto may exceed the better baseline by MC noise only: 2 standard errors of the difference.
  size_t worse = 0;
  double worst = -1e300, worst_tau = 0;
  for (size_t i = 0; i < f.tau.size(); ++i) {
    const bool local_better = f.local[i] < f.global[i];
    const double best = local_better ? f.local[i] : f.global[i], best_se = local_better ? f.local_se[i] : f.global_se[i];
    const double margin = (f.ditto[i] - best) / std::hypot(f.ditto_se[i], best_se);
    if (margin > 2) ++worse;
    if (margin > worst) worst = margin, worst_tau = f.tau[i];
  }
  const std::string label = f.adversarial ? "Fig. 2 adversarial" : "Fig. 2 clean";
  out.push_back({label + ": Ditto(lambda*) error <= min(local, global) + 2 SE at every tau (" +
                     std::to_string(f.tau.size()) + " values)",
                 label + ": Ditto below both baselines at every 1/tau",
                 std::to_string(worse) + " tau above; largest (ditto - best)/SE = " + fmt(worst, "%.2f") + " at tau " +
                     fmt(worst_tau),
                 worse == 0});
}

// Local training's error is the observation noise sigma^2/n whatever tau is; its across-device
// variance is 2 (sigma^2/n)^2, i.e. (K-1)/K of it for the population variance over K devices.
void local_criteria(const Fig2& f, std::vector<Criterion>& out) {
  const PointSetting s = fig2_setting(false, 0.1);
  const double sn2 = s.sigma * s.sigma / (double)s.samples;
  const double var_ref = 2 * sn2 * sn2 * (double)(s.devices - 1) / (double)s.devices;
  double err_dev = 0, var_dev = 0;
  for (size_t i = 0; i < f.tau.size(); ++i) {
    err_dev = std::max(err_dev, rel_diff(f.local[i], sn2));
    var_dev = std::max(var_dev, rel_diff(f.local_var[i], var_ref));
  }
  out.push_back({"Fig. 2 clean: local error within 3% of sigma^2/n at every tau", "sigma^2/n = " + fmt(sn2),
                 "largest deviation " + pct(err_dev), err_dev <= 0.03});
  out.push_back({"Fig. 2 clean: local across-device variance within 10% of 2 (sigma^2/n)^2 (K-1)/K at every tau",
                 "2 (sigma^2/n)^2 = " + fmt(2 * sn2 * sn2) + "; ddof 0 over K = 20: " + fmt(var_ref, "%.5f"),
                 "largest deviation " + pct(var_dev), var_dev <= 0.10});
}

void sweep_criterion(const std::string& path, std::vector<Criterion>& out) {
  const report::CsvFile f = report::read_csv(path);
  const std::vector<double> sweep = f.column("sweep"), star = f.column("lambda_star");
  bool falls = true;
  std::vector<std::string> ka, ta;
  for (size_t i = 0; i < star.size(); ++i) {
    (sweep[i] == 0 ? ka : ta).push_back(fmt(star[i], "%.3f"));
    if (i > 0 && sweep[i] == sweep[i - 1] && !(star[i] < star[i - 1])) falls = false;
  }
  out.push_back({"lambda_a* (closed form) decreases as K_a grows {0,2,4,8} and as tau_a grows {0.1,0.3,0.5,1}",
                 "FMTL / Ditto Thm 7: more or stronger adversaries, less pull toward w*",
                 "K_a: " + join(ka, " > ") + "; tau_a: " + join(ta, " > "), falls});
}

// ---- the table and the figures

std::string table(const std::vector<Fig1>& settings) {
  std::string t =
      "| setting | lambda* | sigma_w^2 | error at lambda* | error lambda=0 | error lambda=190 | grid argmin | var at "
      "lambda* | 2 sigma_w^4 |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const Fig1& f : settings)
    t += "| " + setting_label(f) + " | " + fmt(f.lambda_star, "%.4f") + " | " + fmt(f.sigma2, "%.5f") + " | " +
         fmt(f.err_star, "%.5f") + " | " + fmt(at(f, 0), "%.5f") + " | " + fmt(at(f, 190), "%.5f") + " | " +
         fmt(f.lambda[argmin(f.err)]) + " | " + fmt(f.var_star, "%.3g") + " | " + fmt(2 * f.sigma2 * f.sigma2, "%.3g") +
         " |\n";
  return t;
}

Series band(const std::string& label, const std::vector<double>& x, const std::vector<double>& y,
            const std::vector<double>& se) {
  Series s{label, x, y, {}, {}};
  for (size_t i = 0; i < y.size(); ++i) s.lo.push_back(y[i] - 2 * se[i]), s.hi.push_back(y[i] + 2 * se[i]);
  return s;
}

Series segment(const std::string& label, double x0, double x1, double y0, double y1) {
  Series s{label, {x0, x1}, {y0, y1}, {}, {}};
  s.dashed = true;
  return s;
}

// Fig. 1: error (or variance) against lambda for both settings, lambda* marked, theory dashed.
Figure fig1_figure(const std::vector<Fig1>& settings, bool variance) {
  Figure fig;
  fig.name = variance ? "theory_fig1_variance" : "theory_fig1_error";
  fig.title = variance ? "Ditto Fig. 1: across-device variance of the test error" : "Ditto Fig. 1: mean test error";
  fig.xlabel = "lambda (grid up to 10; lambda = 10..190 in the CSV and the table)";
  fig.ylabel = variance ? "variance over benign devices" : "mean test error over benign devices";
  // The figure spec has no log axis: the curves' shape is in lambda <= 10 (the rest is flat).
  constexpr double kMaxLambda = 10;
  double lo = 1e300, hi = -1e300;
  std::vector<Fig1> shown = settings;
  for (Fig1& f : shown) {
    size_t m = 0;
    while (m < f.lambda.size() && f.lambda[m] <= kMaxLambda) ++m;
    for (std::vector<double>* v : {&f.lambda, &f.err, &f.err_se, &f.var, &f.var_se}) v->resize(m);
    const std::vector<double>& y = variance ? f.var : f.err;
    lo = std::min(lo, *std::min_element(y.begin(), y.end())), hi = std::max(hi, *std::max_element(y.begin(), y.end()));
  }
  for (const Fig1& f : shown) {
    const std::string who = f.adversarial ? "adversarial" : "clean";
    fig.series.push_back(band(who + ": Monte Carlo (+-2 SE)", f.lambda, variance ? f.var : f.err,
                              variance ? f.var_se : f.err_se));
    fig.series.push_back(segment(who + ": lambda* = " + fmt(f.lambda_star, "%.3f"), f.lambda_star, f.lambda_star, lo, hi));
    const double theory = variance ? 2 * f.sigma2 * f.sigma2 : f.sigma2;
    fig.series.push_back(segment(who + (variance ? ": 2 sigma_w^4" : ": sigma_w^2") + " = " + fmt(theory, "%.3g"), 0,
                                 kMaxLambda, theory, theory));
  }
  fig.caption = "Monte Carlo over the notebook's lambda grid; the dashed verticals mark the closed-form lambda*, "
                "the dashed horizontals the closed-form minimum.";
  return fig;
}

Figure fig2_figure(const Fig2& f) {
  Figure fig;
  fig.name = std::string("theory_fig2_") + name_of(f.adversarial);
  fig.title = std::string("Ditto Fig. 2 (") + name_of(f.adversarial) + "): test error against 1/tau";
  fig.xlabel = "log10(1/tau)";
  fig.ylabel = "mean test error over benign devices";
  // The figure spec has no log axis: 1/tau spans 1.05 .. 10^4, so plot its log10.
  std::vector<double> log_x;
  for (double v : f.inv_tau) log_x.push_back(std::log10(v));
  fig.series = {band("local (lambda = 0)", log_x, f.local, f.local_se),
                band("Ditto (lambda*(tau))", log_x, f.ditto, f.ditto_se),
                band("global (lambda = 1000)", log_x, f.global, f.global_se)};
  fig.caption = "Bands: +-2 standard errors over the trials.";
  return fig;
}

}  // namespace

TheoryResult run_theory(const std::string& dir, int64_t trials, uint64_t seed) {
  NF_CHECK(trials >= 2, kWho << ": trials must be >= 2, got " << trials);
  NF_CHECK(!dir.empty(), kWho << ": the output directory is empty");
  NF_CHECK(!fs::exists(dir) || fs::is_directory(dir), kWho << ": " << dir << " exists and is not a directory");
  fs::create_directories(dir);
  const int64_t fig2_trials = std::min(trials, kFig2Trials);
  for (bool adv : {false, true}) {
    write_fig1(dir + "/fig1_" + name_of(adv) + ".csv", adv, trials, seed);
    write_fig2(dir + "/fig2_" + name_of(adv) + ".csv", adv, fig2_trials, seed);
  }
  write_lambda_sweep(dir + "/lambda_a_star.csv");

  TheoryResult r;
  std::vector<Fig1> fig1;
  std::vector<Fig2> fig2;
  for (bool adv : {false, true}) {
    fig1.push_back(read_fig1(dir + "/fig1_" + name_of(adv) + ".csv", adv));
    fig2.push_back(read_fig2(dir + "/fig2_" + name_of(adv) + ".csv", adv));
  }
  for (const Fig1& f : fig1) fig1_criteria(f, r.criteria);
  for (const Fig2& f : fig2) fig2_criteria(f, r.criteria);
  local_criteria(fig2[0], r.criteria);
  fmtl_criteria(fig1[0], r.criteria);
  sweep_criterion(dir + "/lambda_a_star.csv", r.criteria);
  r.markdown = table(fig1);
  r.figures = {fig1_figure(fig1, false), fig1_figure(fig1, true), fig2_figure(fig2[0]), fig2_figure(fig2[1])};
  return r;
}

}  // namespace nanofed::ditto
