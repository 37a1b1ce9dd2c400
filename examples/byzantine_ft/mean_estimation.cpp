// mean_estimation.cpp — RT-A1 (FT-Byzantine §2.5, Figure 1) by Monte Carlo: CSVs first, then
// every number of the verdicts, the tables and the figures is read back from them.
#include "examples/byzantine_ft/mean_estimation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>

#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/random.h"
#include "engine/text.h"
#include "fl/mean_estimation.h"
#include "fl/pre_aggregators.h"

namespace nanofed::byzantine_ft {
namespace {

namespace fs = std::filesystem;
using fl::MeanEstimationSetting;
using report::Criterion;
using report::Figure;
using report::Series;

constexpr const char* kWho = "run_mean_estimation";
constexpr int64_t kGridPoints = 200;          // the notebook's linspace(0, 1, 200)
constexpr int64_t kHonestInFSweep = 500;      // §4.1: 500 honest + f, the aggregator told n = 500
constexpr double kTolerance = 0.15;           // RT-A1 criterion 2
const double kMonotoneSlack = 0.05 + 1.0 / (kGridPoints - 1);  // RT-A1 criterion 1: ±0.05 and one grid step

// ---- the sweeps (§4.1)

enum class Swept { sigma_h, f, sigma };

struct Sweep {
  Swept kind;
  std::string name, symbol;            // file stem; the symbol in tables and axes
  std::vector<double> values, plotted;  // the swept values; the curves the paper draws
  bool increasing;                     // the direction lambda* must move (Fig. 1, bottom row)
};

std::vector<double> linspace(double a, double b, int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(a + (b - a) * i / (n - 1));
  return v;
}

std::vector<Sweep> sweeps() {
  return {{Swept::sigma_h, "sigma_h", "σ_h", linspace(0, 4, 9), {0, 1, 2, 3, 4}, false},
          {Swept::f, "f", "f", linspace(0, 250, 11), {0, 50, 100, 150}, false},
          {Swept::sigma, "sigma", "σ", linspace(1, 31, 11), {1, 7, 13, 19, 25, 31}, true}};
}

MeanEstimationSetting setting_for(Swept kind, double value) {
  MeanEstimationSetting s;  // n = 600 (500 + 100), m = 20, sigma = 15, sigma_h = 2, SF clipped to 1
  if (kind == Swept::sigma_h) s.sigma_h = value;
  if (kind == Swept::sigma) s.sigma = value;
  if (kind == Swept::f) s.honest = kHonestInFSweep, s.byzantine = (int64_t)value, s.told_n = kHonestInFSweep;
  return s;
}

// The boxed derived lambda*: kappa from the vectors the aggregator really gets (n = N + f),
// (mu_i - mu_H)^2 and Delta^2 at their expectation sigma_h^2 (up to 1/N).
double theory_derived(const MeanEstimationSetting& s) {
  const double kappa = fl::trimmed_mean_kappa(s.honest + s.byzantine, s.byzantine);
  const double h2 = s.sigma_h * s.sigma_h;
  return fl::derived_lambda_star(s.honest, s.samples, s.sigma, kappa, h2, h2);
}

// The notebook's curve: its n is the one the aggregator is told (600, or 500 in the f sweep).
double theory_notebook(const MeanEstimationSetting& s) {
  const int64_t n = s.told_n > 0 ? s.told_n : s.honest + s.byzantine;
  return fl::notebook_lambda_star(n, s.byzantine, s.sigma, std::sqrt(2.0) * s.sigma_h);
}

// How many of the n rows server_clip rescales: n - c, c its cut-off for the n it is told.
int64_t clipped_rows(const MeanEstimationSetting& s) {
  const int64_t K = s.honest + s.byzantine;
  return K - fl::ServerClip(s.byzantine, s.told_n).cut_off(K);
}

// ---- the variants (extensions: is the trend an artefact of the weak clipped attack?)

struct Variant {
  std::string name;
  fl::AttackConfig attack;
  double clip;
  fl::AggregatorKind last;
};

std::vector<Variant> variants() {
  using fl::AggregatorKind;
  return {{"SF unclipped", fl::sign_flip_attack(), 0, AggregatorKind::trimmed_mean},
          {"ALIE (tau 3) unclipped", fl::alie_attack(3), 0, AggregatorKind::trimmed_mean},
          {"FOE (tau 3) unclipped", fl::foe_attack(3), 0, AggregatorKind::trimmed_mean},
          {"CW median (SF clipped)", fl::sign_flip_attack(), 1, AggregatorKind::median},
          {"Krum (SF clipped)", fl::sign_flip_attack(), 1, AggregatorKind::krum},
          {"geometric median (SF clipped)", fl::sign_flip_attack(), 1, AggregatorKind::geometric_median}};
}

// ---- writing

std::string num(double v) { return fmt(v, "%.10g"); }
std::string csv_row(const std::vector<std::string>& fields) { return join(fields, ",") + "\n"; }
uint64_t sub_seed(uint64_t seed, uint64_t a) { return Generator(seed).derive({a}).seed(); }

double min_of(const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); }

// One sweep: every curve (long format) and the lambda* summary. The seed does not depend on the
// value: every value reuses the same draws, as the notebook's 20 seeds.
void write_sweep(const std::string& dir, const Sweep& sw, int64_t repetitions, uint64_t seed) {
  std::string curves = "value,lambda,error,error_se\n";
  std::string stars = "value,lambda_star,error_0,error_1,error_min,theory_derived,theory_notebook,byzantine_value,"
                      "aggregate,clipped\n";
  const std::vector<double> grid = fl::lambda_grid(kGridPoints);
  for (double v : sw.values) {
    const MeanEstimationSetting s = setting_for(sw.kind, v);
    const fl::MeanCurve c = fl::mean_estimation_curve(s, grid, repetitions, sub_seed(seed, 1));
    for (size_t i = 0; i < grid.size(); ++i)
      curves += csv_row({num(v), num(grid[i]), num(c.error[i]), num(c.error_se[i])});
    stars += csv_row({num(v), num(fl::empirical_lambda_star(c)), num(c.error.front()), num(c.error.back()),
                      num(min_of(c.error)), num(theory_derived(s)), num(theory_notebook(s)), num(c.byzantine_value),
                      num(c.aggregate), num((double)clipped_rows(s))});
  }
  write_file_atomic(dir + "/" + sw.name + "_curves.csv", curves, kWho);
  write_file_atomic(dir + "/" + sw.name + "_lambda_star.csv", stars, kWho);
}

// Each variant on the sigma_h and f sweeps' plotted values.
void write_variants(const std::string& path, int64_t repetitions, uint64_t seed) {
  std::string text = "variant,sweep,value,lambda_star,error_0,error_1,error_min\n";
  const std::vector<double> grid = fl::lambda_grid(kGridPoints);
  for (const Variant& var : variants())
    for (const Sweep& sw : sweeps()) {
      if (sw.kind == Swept::sigma) continue;
      for (double v : sw.plotted) {
        MeanEstimationSetting s = setting_for(sw.kind, v);
        s.attack = var.attack, s.byzantine_clip = var.clip, s.aggregator = var.last;
        const fl::MeanCurve c = fl::mean_estimation_curve(s, grid, repetitions, sub_seed(seed, 2));
        text += csv_row({var.name, sw.name, num(v), num(fl::empirical_lambda_star(c)), num(c.error.front()),
                         num(c.error.back()), num(min_of(c.error))});
      }
    }
  write_file_atomic(path, text, kWho);
}

// ---- reading back

struct StarTable {
  std::vector<double> value, lambda_star, err0, err1, err_min, derived, notebook, byzantine, aggregate, clipped;
};

StarTable read_stars(const std::string& path) {
  const report::CsvFile f = report::read_csv(path);
  StarTable t;
  t.value = f.column("value"), t.lambda_star = f.column("lambda_star");
  t.err0 = f.column("error_0"), t.err1 = f.column("error_1"), t.err_min = f.column("error_min");
  t.derived = f.column("theory_derived"), t.notebook = f.column("theory_notebook");
  t.byzantine = f.column("byzantine_value"), t.aggregate = f.column("aggregate"), t.clipped = f.column("clipped");
  NF_CHECK(!t.value.empty(), kWho << ": " << path << " has no rows");
  return t;
}

// value -> (lambda, error, error_se) of one sweep's curves file.
struct Curve {
  double value = 0;
  std::vector<double> lambda, error, se;
};

std::vector<Curve> read_curves(const std::string& path) {
  const report::CsvFile f = report::read_csv(path);
  const std::vector<double> v = f.column("value"), l = f.column("lambda"), e = f.column("error"),
                            se = f.column("error_se");
  std::vector<Curve> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (out.empty() || out.back().value != v[i]) out.push_back(Curve{v[i], {}, {}, {}});
    out.back().lambda.push_back(l[i]), out.back().error.push_back(e[i]), out.back().se.push_back(se[i]);
  }
  NF_CHECK(!out.empty(), kWho << ": " << path << " has no rows");
  return out;
}

// ---- criteria

std::string f3(double v) { return fmt(v, "%.3f"); }

std::string series_text(const std::vector<double>& v, const char* format = "%.3f") {
  std::vector<std::string> s;
  for (double x : v) s.push_back(fmt(x, format));
  return join(s, ", ");
}

// lambda* moves in the stated direction overall, and no step goes against it by more than the
// slack. Returns the largest step against the direction (0 when none).
double worst_step_against(const std::vector<double>& star, bool increasing) {
  double worst = 0;
  for (size_t i = 1; i < star.size(); ++i) worst = std::max(worst, (increasing ? -1 : 1) * (star[i] - star[i - 1]));
  return worst;
}

bool trend_holds(const std::vector<double>& star, bool increasing) {
  const bool overall = increasing ? star.back() > star.front() : star.back() < star.front();
  return overall && worst_step_against(star, increasing) <= kMonotoneSlack;
}

void monotone_criterion(const Sweep& sw, const StarTable& t, std::vector<Criterion>& out) {
  const std::string dir = sw.increasing ? "increases" : "decreases";
  out.push_back({"empirical lambda* " + dir + " with " + sw.symbol + " (" + series_text(t.value, "%g") +
                     "); no step against it larger than 0.05 + one grid step",
                 "Fig. 1 (bottom): lambda* " + dir + " with " + sw.symbol,
                 series_text(t.lambda_star) + "; worst step against " + f3(worst_step_against(t.lambda_star, sw.increasing)),
                 trend_holds(t.lambda_star, sw.increasing)});
}

// sigma_h and sigma sweeps against the derived lambda*, the f sweep against the notebook's (the
// derived one uses kappa of n = 500 + f, the notebook's of its n = 500: they part as f grows).
void theory_criterion(const Sweep& sw, const StarTable& t, std::vector<Criterion>& out) {
  const bool notebook = sw.kind == Swept::f;
  const std::vector<double>& th = notebook ? t.notebook : t.derived;
  double worst = 0, at = 0;
  for (size_t i = 0; i < th.size(); ++i)
    if (std::abs(t.lambda_star[i] - th[i]) > worst) worst = std::abs(t.lambda_star[i] - th[i]), at = t.value[i];
  out.push_back({"|empirical lambda* - " + std::string(notebook ? "notebook" : "derived") + " lambda*| <= 0.15 at every " +
                     sw.symbol,
                 "Fig. 1 (bottom): the theoretical lambda* follows the empirical minimizer",
                 "largest gap " + f3(worst) + " at " + sw.symbol + " = " + fmt(at), worst <= kTolerance});
}

// err(1) > err(0) at every value >= `from`.
void full_collaboration_criterion(const Sweep& sw, const StarTable& t, double from, std::vector<Criterion>& out) {
  bool pass = true;
  std::vector<std::string> pairs;
  for (size_t i = 0; i < t.value.size(); ++i) {
    if (t.value[i] < from) continue;
    pass = pass && t.err1[i] > t.err0[i];
    pairs.push_back(sw.symbol + "=" + fmt(t.value[i]) + ": " + fmt(t.err1[i], "%.2f") + " vs " + fmt(t.err0[i], "%.2f"));
  }
  out.push_back({"full collaboration worse than local: err(lambda=1) > err(lambda=0) for " + sw.symbol + " >= " + fmt(from),
                 "§5.1: with adversaries and heterogeneity, lambda = 1 can be worse than lambda = 0",
                 join(pairs, "; "), pass});
}

void interior_criterion(const StarTable& t, std::vector<Criterion>& out) {
  double worst = INFINITY;  // the smallest margin min(err0, err1) - min err over sigma_h > 0
  for (size_t i = 0; i < t.value.size(); ++i)
    if (t.value[i] > 0) worst = std::min(worst, std::min(t.err0[i], t.err1[i]) - t.err_min[i]);
  const bool pass = worst > 0;
  out.push_back({"an intermediate lambda beats both ends: min_lambda err < min(err(0), err(1)) for every σ_h > 0",
                 "§5.1: fine-tuned lambda in (0, 1) beats local learning and full collaboration",
                 "smallest margin " + fmt(worst, "%.3f"), pass});
}

// ---- tables

std::string sweep_table(const Sweep& sw, const StarTable& t) {
  std::string s = "| " + sw.symbol + " | empirical lambda* | derived lambda* | notebook lambda* | err(0) | err(1) | "
                  "min err | Byzantine value | mean R | rows server_clip rescales |\n"
                  "|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < t.value.size(); ++i)
    s += "| " + fmt(t.value[i]) + " | " + f3(t.lambda_star[i]) + " | " + f3(t.derived[i]) + " | " + f3(t.notebook[i]) +
         " | " + fmt(t.err0[i], "%.2f") + " | " + fmt(t.err1[i], "%.2f") + " | " + fmt(t.err_min[i], "%.2f") + " | " +
         fmt(t.byzantine[i], "%.3f") + " | " + fmt(t.aggregate[i], "%.3f") + " | " + fmt(t.clipped[i]) + " |\n";
  return s;
}

std::string sweep_heading(const Sweep& sw) {
  switch (sw.kind) {
    case Swept::sigma_h: return "Heterogeneity sweep (500 honest + 100 Byzantine, m = 20, σ = 15)";
    case Swept::f: return "Byzantine sweep (500 honest + f Byzantine, aggregator told n = 500, σ_h = 2)";
    case Swept::sigma: return "Noise sweep (n = 600, f = 100, m = 20, σ_h = 2)";
  }
  return "";
}

// What the tables alone do not say.
std::string sweep_note(const Sweep& sw) {
  if (sw.kind != Swept::f) return "";
  return "server_clip is told n = 500 here: its cut-off is 500 - floor(f (1 + f/(500 - 2f))) while f < floor(500/3) "
         "= 166 and 500 - f from there on, so it rescales 412 of the 650 rows at f = 150 but 350 of 675 at f = 175 "
         "(last column): R and lambda* jump back up between those two values. That is the released rule, not noise "
         "(the same draws serve every f).\n\n";
}

// The variants' table: lambda* over the sigma_h and f values, and whether both still fall.
std::string variants_table(const std::string& path) {
  const report::CsvFile f = report::read_csv(path);
  const size_t iv = f.index("variant"), is = f.index("sweep");
  const std::vector<double> star = f.column("lambda_star");
  std::string s = "| variant | lambda* over σ_h = 0..4 | lambda* over f = 0, 50, 100, 150 | trend holds |\n"
                  "|---|---|---|---|\n";
  for (const Variant& var : variants()) {
    std::vector<double> by_h, by_f;
    for (size_t i = 0; i < f.rows.size(); ++i)
      if (f.rows[i][iv] == var.name) (f.rows[i][is] == "f" ? by_f : by_h).push_back(star[i]);
    NF_CHECK(!by_h.empty() && !by_f.empty(), kWho << ": " << path << " lacks rows for " << var.name);
    const bool holds = trend_holds(by_h, false) && trend_holds(by_f, false);
    s += "| " + var.name + " | " + series_text(by_h) + " | " + series_text(by_f) + " | " + (holds ? "yes" : "no") + " |\n";
  }
  return s;
}

// ---- figures

Series points(const std::string& label, std::vector<double> x, std::vector<double> y, bool dashed) {
  Series s{label, std::move(x), std::move(y), {}, {}};
  s.dashed = dashed;
  return s;
}

// The error at the grid lambda nearest x.
double error_near(const Curve& c, double x) {
  size_t best = 0;
  for (size_t i = 1; i < c.lambda.size(); ++i)
    if (std::abs(c.lambda[i] - x) < std::abs(c.lambda[best] - x)) best = i;
  return c.error[best];
}

Figure error_figure(const Sweep& sw, const std::vector<Curve>& curves, const StarTable& t) {
  Figure fig;
  fig.name = "mean_estimation_error_" + sw.name;
  fig.title = "FT-Byzantine Fig. 1 (top): error of the last honest client vs lambda, " + sw.symbol + " sweep";
  fig.xlabel = "lambda";
  fig.ylabel = "mean squared error";
  const bool notebook = sw.kind == Swept::f;
  std::vector<double> ex, ey, tx, ty;
  for (size_t i = 0; i < curves.size(); ++i) {
    const Curve& c = curves[i];
    if (std::find(sw.plotted.begin(), sw.plotted.end(), c.value) == sw.plotted.end()) continue;
    Series s{sw.symbol + " = " + fmt(c.value), c.lambda, c.error, {}, {}};
    for (size_t k = 0; k < c.error.size(); ++k) s.lo.push_back(c.error[k] - 2 * c.se[k]), s.hi.push_back(c.error[k] + 2 * c.se[k]);
    fig.series.push_back(s);
    const double th = notebook ? t.notebook[i] : t.derived[i];
    ex.push_back(t.lambda_star[i]), ey.push_back(t.err_min[i]), tx.push_back(th), ty.push_back(error_near(c, th));
  }
  fig.series.push_back(points("empirical lambda* (argmin)", ex, ey, false));
  fig.series.push_back(points(std::string(notebook ? "notebook" : "derived") + " lambda*", tx, ty, true));
  fig.caption = "Curves: the paper's plotted values, ±2 standard errors over the repetitions. The two marked lines "
                "join each curve's empirical minimizer, and the point of each curve at the theoretical lambda*.";
  return fig;
}

Figure star_figure(const Sweep& sw, const StarTable& t) {
  Figure fig;
  fig.name = "mean_estimation_lambda_star_" + sw.name;
  fig.title = "FT-Byzantine Fig. 1 (bottom): lambda* vs " + sw.symbol;
  fig.xlabel = sw.symbol;
  fig.ylabel = "lambda*";
  fig.series = {points("empirical (grid argmin)", t.value, t.lambda_star, false),
                points("derived (boxed, §2.5)", t.value, t.derived, true),
                points("notebook's theoretical", t.value, t.notebook, true)};
  fig.caption = "Empirical: argmin over the 200-point grid. Derived: the boxed formula with kappa = f/(n - 2f) of the "
                "n the aggregator receives. Notebook: its curve, with its own n.";
  return fig;
}

// One sweep's criteria, table and two figures, from its CSVs.
void judge_sweep(const std::string& dir, const Sweep& sw, MeanEstimationResult& r) {
  const StarTable t = read_stars(dir + "/" + sw.name + "_lambda_star.csv");
  monotone_criterion(sw, t, r.criteria);
  theory_criterion(sw, t, r.criteria);
  if (sw.kind == Swept::sigma_h) {
    full_collaboration_criterion(sw, t, 3, r.criteria);
    interior_criterion(t, r.criteria);
  }
  if (sw.kind == Swept::f) full_collaboration_criterion(sw, t, 100, r.criteria);
  r.markdown += "### " + sweep_heading(sw) + "\n\n" + sweep_table(sw, t) + "\n" + sweep_note(sw);
  r.figures.push_back(error_figure(sw, read_curves(dir + "/" + sw.name + "_curves.csv"), t));
  r.figures.push_back(star_figure(sw, t));
}

// Runs `work` and prints how long it took (the section must stay under a minute on 2 cores).
template <class F>
void timed(const std::string& what, F work) {
  const auto t0 = std::chrono::steady_clock::now();
  work();
  std::printf("  %s: %.1f s\n", what.c_str(), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

void check_args(const std::string& dir, int64_t repetitions) {
  NF_CHECK(repetitions >= 2, kWho << ": repetitions must be >= 2, got " << repetitions);
  NF_CHECK(!dir.empty(), kWho << ": the output directory is empty");
  NF_CHECK(!fs::exists(dir) || fs::is_directory(dir), kWho << ": " << dir << " exists and is not a directory");
}

}  // namespace

MeanEstimationResult run_mean_estimation(const std::string& dir, int64_t repetitions, uint64_t seed) {
  check_args(dir, repetitions);
  fs::create_directories(dir);
  for (const Sweep& sw : sweeps()) timed(sw.name + " sweep", [&] { write_sweep(dir, sw, repetitions, seed); });
  timed("variants", [&] { write_variants(dir + "/variants.csv", std::max<int64_t>(2, repetitions / 2), seed); });
  MeanEstimationResult r;
  for (const Sweep& sw : sweeps()) judge_sweep(dir, sw, r);
  r.markdown += "### Variants (extensions, not judged): does lambda* still fall with σ_h and f?\n\n" +
                variants_table(dir + "/variants.csv") +
                "\n\"Trend holds\": lambda* falls from the first to the last value of both sweeps, with no step up "
                "larger than 0.05 + one grid step. ALIE and FOE are applied to the raw sample vectors as SF is; the "
                "last three replace the trimmed mean after server_clip -> NNM. After NNM most honest rows have the same "
                "neighbours (all the honest rows, far from the Byzantine value), so more than half the rows are one "
                "value, which the median, Krum and the geometric median all return: their rows coincide.\n";
  return r;
}

}  // namespace nanofed::byzantine_ft
