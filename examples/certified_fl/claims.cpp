#include "examples/certified_fl/claims.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/text.h"

namespace nanofed::certfl {

using namespace report::certfl;

const Clients& Results::clients(const RunKey& k, const std::string& model, uint64_t seed) {
  const auto key = std::make_tuple(k.group() + "/" + k.name(), model, seed);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  Clients c;
  const std::string dir = run_dir(root_, k, seed) + "/certify/";
  for (int64_t i = 0; i < k.clients; ++i) {
    const std::string path = dir + model + "_client" + std::to_string(i) + ".tsv";
    NF_CHECK(file_exists(path), "certified_fl: " << path << " is missing (the run did not certify its " << model << " model)");
    c.push_back(certify::read_tsv(path));
  }
  return cache_[key] = c;
}

std::vector<Measure> Results::per_seed(const RunKey& k, const std::string& model) {
  std::vector<Measure> out;
  for (uint64_t s : seeds_) out.push_back(measure(clients(k, model, s)));
  return out;
}

Clients Results::pooled(const RunKey& k, const std::string& model) {
  Clients all;
  for (uint64_t s : seeds_) {
    const Clients& c = clients(k, model, s);
    all.insert(all.end(), c.begin(), c.end());
  }
  return all;
}

namespace {

std::vector<double> acrs(const std::vector<Measure>& m) {
  std::vector<double> v;
  for (const Measure& x : m) v.push_back(x.acr.mean);
  return v;
}
std::vector<double> ca0s(const std::vector<Measure>& m) {
  std::vector<double> v;
  for (const Measure& x : m) v.push_back(x.ca0.mean);
  return v;
}
// The client range [min, max], averaged over seeds.
std::string client_range(const std::vector<Measure>& m, report::certfl::Spread Measure::*field) {
  double lo = 0, hi = 0;
  for (const Measure& x : m) lo += (x.*field).min / m.size(), hi += (x.*field).max / m.size();
  return "[" + fmt(lo, "%.3f") + ", " + fmt(hi, "%.3f") + "]";
}

const char* kTableHead =
    "| setting | model | ACR | ACR clients [min, max] | CA(0) | CA(0) clients [min, max] |\n|---|---|---|---|---|---|\n";

std::string table_row(const std::string& setting, const std::string& model, const std::vector<Measure>& m) {
  return "| " + setting + " | " + model + " | " + mean_sd_text(acrs(m)) + " | " + client_range(m, &Measure::acr) + " | " +
         mean_sd_text(ca0s(m)) + " | " + client_range(m, &Measure::ca0) + " |\n";
}

// A criterion judged on each seed: PASS when it holds on all of them.
Criterion judged(const std::string& claim, const std::string& paper, const std::string& ours, const std::vector<bool>& per_seed) {
  const long held = std::count(per_seed.begin(), per_seed.end(), true);
  return {claim, paper, ours + "; holds in " + std::to_string(held) + "/" + std::to_string(per_seed.size()) + " seeds",
          every(per_seed)};
}

std::string pct(double relative) { return (relative >= 0 ? "+" : "") + fmt(100 * relative, "%.1f") + "%"; }

// "A vs B (+x%)" on the client-mean ACR, means over seeds.
std::string acr_versus(const std::vector<Measure>& a, const std::vector<Measure>& b) {
  const double ma = mean_sd(acrs(a)).mean, mb = mean_sd(acrs(b)).mean;
  return "ACR " + mean_sd_text(acrs(a)) + " vs " + mean_sd_text(acrs(b)) + " (" + pct(relative_gap(ma, mb)) + ")";
}

struct Line {
  std::string label;
  Clients clients;
  bool dashed = false;
};

// Certified accuracy against radius, one line per entry (mean over every client of every seed,
// band min-max client), on a 100-step grid up to the largest certified radius.
report::Figure curves(const std::string& name, const std::string& title, const std::string& unit,
                      const std::vector<Line>& lines) {
  double top = 0;
  for (const Line& l : lines)
    for (const auto& rows : l.clients)
      for (const auto& row : rows)
        if (std::isfinite(row.radius)) top = std::max(top, row.radius);
  std::vector<double> radii;
  for (int i = 0; i <= 100; ++i) radii.push_back(1.05 * top * i / 100);
  report::Figure f;
  f.name = name;
  f.title = title;
  f.xlabel = "radius (" + unit + ")";
  f.ylabel = "certified accuracy";
  f.caption = "Mean over the clients of every seed; band: the smallest and largest client (CertFL Figs. 1-5 convention).";
  for (const Line& l : lines) {
    report::Series s = client_band(l.label, radii, l.clients);
    s.dashed = l.dashed;
    f.series.push_back(s);
  }
  return f;
}

std::string unit_of(const Dist& d) {
  if (d.transform == "pixel") return "L2, pixels in [0, 1]";
  if (d.transform == "rotation") return "radians";
  return "L2, normalized coordinates";
}

// ACR of one model against x (K or lambda): the mean over seeds of the client-mean ACR, band
// the smallest and largest client (averaged over seeds).
report::Series acr_line(const std::string& label, const std::vector<double>& x, const std::vector<std::vector<Measure>>& at) {
  report::Series s{label, x, {}, {}, {}};
  for (const auto& m : at) {
    double lo = 0, hi = 0;
    for (const Measure& v : m) lo += v.acr.min / m.size(), hi += v.acr.max / m.size();
    s.y.push_back(mean_sd(acrs(m)).mean);
    s.lo.push_back(lo), s.hi.push_back(hi);
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------- R1 (Figs. 1 and 6)

namespace {

// One distribution's R1 measures, per K of Scale::r1_clients, per seed.
struct R1Measures {
  std::vector<std::vector<Measure>> local, fed, pers;
};

std::vector<Criterion> r1_criteria(const Dist& d, const Scale& s, const R1Measures& m) {
  const std::vector<Measure>&local = m.local.back(), &fed = m.fed.back();
  std::vector<bool> a, b, c, close;
  std::vector<double> gap_small, gap_large;
  for (size_t i = 0; i < fed.size(); ++i) {
    a.push_back(fed_beats_local(fed[i], local[i], 0.10));
    gap_small.push_back(relative_gap(m.fed.front()[i].acr.mean, m.local.front()[i].acr.mean));
    gap_large.push_back(relative_gap(fed[i].acr.mean, local[i].acr.mean));
    b.push_back(gap_large.back() > gap_small.back());
    c.push_back(local_spread_larger(local[i], fed[i]));
    bool all_k = true;
    for (size_t k = 0; k < s.r1_clients.size(); ++k) all_k = all_k && close_in_acr(m.pers[k][i], m.fed[k][i], 0.05);
    close.push_back(all_k);
  }
  const std::string kl = "K=" + std::to_string(s.r1_clients.back()), ks = "K=" + std::to_string(s.r1_clients.front());
  double local_range = 0, fed_range = 0;
  for (size_t i = 0; i < fed.size(); ++i) local_range += local[i].ca0.range() / fed.size(), fed_range += fed[i].ca0.range() / fed.size();
  std::string close_text;
  for (size_t k = 0; k < s.r1_clients.size(); ++k)
    close_text += (k ? ", " : "") + std::string("K=") + std::to_string(s.r1_clients[k]) + " " +
                  pct(relative_gap(mean_sd(acrs(m.pers[k])).mean, mean_sd(acrs(m.fed[k])).mean));
  return {judged("R1(a) " + d.label() + ", " + kl + ": federated above local in ACR and CA(0), ACR gap >= 10%",
                 "Fig. 1 (K=20): federated better, \"improvements of over 20%\"",
                 acr_versus(fed, local) + "; CA(0) " + mean_sd_text(ca0s(fed)) + " vs " + mean_sd_text(ca0s(local)), a),
          judged("R1(b) " + d.label() + ": the federated-local ACR gap grows from " + ks + " to " + kl,
                 "Fig. 1: local enough at K=4, not at K=10/20",
                 "gap " + pct(mean_sd(gap_small).mean) + " -> " + pct(mean_sd(gap_large).mean), b),
          judged("R1(c) " + d.label() + ", " + kl + ": client spread (max - min) of CA(0) larger for local",
                 "Figs. 1, 8, 9: local band much wider",
                 "local " + fmt(local_range, "%.3f") + " vs federated " + fmt(fed_range, "%.3f"), c),
          judged("R1(d) " + d.label() + ": personalized within 5% of federated in ACR at every K",
                 "Fig. 1: personalized ≈ federated", "personalized vs federated " + close_text, close)};
}

// A figure of ACR against x (K or lambda).
report::Figure acr_figure(const std::string& name, const std::string& title, const std::string& xlabel, const Dist& d,
                          const std::string& caption) {
  report::Figure f;
  f.name = name, f.title = title, f.xlabel = xlabel, f.ylabel = "ACR (" + unit_of(d) + ")", f.caption = caption;
  return f;
}

}  // namespace

Section claim_r1(Results& r, const Scale& s) {
  Section out;
  out.markdown = std::string(kTableHead);
  for (const Dist& d : s.r1_dists) {
    R1Measures m;
    for (int64_t k : s.r1_clients) {
      const RunKey lk{Scheme::robust_local, k, d}, fk{Scheme::robust_ft, k, d};
      m.local.push_back(r.per_seed(lk, "personal"));
      m.fed.push_back(r.per_seed(fk, "global"));
      m.pers.push_back(r.per_seed(fk, "personal"));
      const std::string setting = d.label() + ", K=" + std::to_string(k);
      out.markdown += table_row(setting, "local", m.local.back()) + table_row(setting, "federated", m.fed.back()) +
                      table_row(setting, "personalized", m.pers.back());
      out.figures.push_back(curves("r1_" + d.id() + "_k" + std::to_string(k),
                                   "R1: " + d.label() + ", K=" + std::to_string(k) + " (robust training everywhere)", unit_of(d),
                                   {{"local", r.pooled(lk, "personal")},
                                    {"federated", r.pooled(fk, "global")},
                                    {"personalized", r.pooled(fk, "personal"), true}}));
    }
    const std::vector<Criterion> c = r1_criteria(d, s, m);
    out.criteria.insert(out.criteria.end(), c.begin(), c.end());
    const std::vector<double> ks(s.r1_clients.begin(), s.r1_clients.end());
    report::Figure f = acr_figure("r1_acr_vs_k_" + d.id(), "R1: ACR against the number of clients, " + d.label(), "clients K", d,
                                  "Mean over seeds of the client-mean ACR; band: the smallest and largest client (mean over seeds).");
    f.series = {acr_line("local", ks, m.local), acr_line("federated", ks, m.fed), acr_line("personalized", ks, m.pers)};
    f.series.back().dashed = true;
    out.figures.push_back(f);
  }
  return out;
}

// ---------------------------------------------------------------- R2 (Fig. 2)

Section claim_r2(Results& r, const Scale& s) {
  Section out;
  out.markdown = std::string(kTableHead);
  for (const Dist& d : s.r2_dists) {
    const RunKey k{Scheme::nominal_ft, s.k, d};
    const auto fed = r.per_seed(k, "global"), pers = r.per_seed(k, "personal");
    out.markdown += table_row(d.label() + ", K=" + std::to_string(s.k), "federated (nominal)", fed) +
                    table_row(d.label() + ", K=" + std::to_string(s.k), "personalized (robust fine-tune)", pers);
    std::vector<bool> above, wide;
    for (size_t i = 0; i < fed.size(); ++i) {
      above.push_back(pers[i].acr.mean > fed[i].acr.mean);
      wide.push_back(relative_gap(pers[i].acr.mean, fed[i].acr.mean) >= 0.5);
    }
    out.criteria.push_back(judged("R2 " + d.label() + ": robust personalization above nominal FedAvg in ACR",
                                  "Fig. 2: \"significant\" improvement for every augmentation and σ", acr_versus(pers, fed), above));
    if (d.transform == "pixel" && d.sigma >= 0.5)
      out.criteria.push_back(judged("R2 " + d.label() + ": by a wide margin (ACR at least 1.5x)", "Fig. 2, σ=0.5: wide margin",
                                    acr_versus(pers, fed), wide));
    out.figures.push_back(curves("r2_" + d.id(), "R2: nominal FedAvg, then robust personalization, " + d.label(), unit_of(d),
                                 {{"federated (nominal)", r.pooled(k, "global"), true},
                                  {"personalized", r.pooled(k, "personal")}}));
  }
  return out;
}

// ---------------------------------------------------------------- R3 (Figs. 4 and 7)

Section claim_r3(Results& r, const Scale& s) {
  Section out;
  out.markdown = std::string(kTableHead);
  for (const Dist& d : s.r3_dists) {
    std::vector<std::vector<Measure>> pers_at, local_at;
    std::vector<Line> lines;
    for (int64_t k : {s.k, s.r3_large}) {
      const RunKey pk{Scheme::nominal_ft, k, d}, lk{Scheme::robust_local, k, d};
      pers_at.push_back(r.per_seed(pk, "personal"));
      local_at.push_back(r.per_seed(lk, "personal"));
      const std::string setting = d.label() + ", K=" + std::to_string(k);
      out.markdown += table_row(setting, "personalized (nominal fed + robust fine-tune)", pers_at.back()) +
                      table_row(setting, "robust local", local_at.back());
      const bool small = k == s.k;
      lines.push_back({"personalized, K=" + std::to_string(k), r.pooled(pk, "personal"), small});
      lines.push_back({"local, K=" + std::to_string(k), r.pooled(lk, "personal"), small});
    }
    std::vector<bool> above, grows;
    std::vector<double> g10, g50;
    for (size_t i = 0; i < r.seeds().size(); ++i) {
      above.push_back(pers_at[1][i].acr.mean > local_at[1][i].acr.mean);
      g10.push_back(relative_gap(pers_at[0][i].acr.mean, local_at[0][i].acr.mean));
      g50.push_back(relative_gap(pers_at[1][i].acr.mean, local_at[1][i].acr.mean));
      grows.push_back(g50.back() > g10.back());
    }
    const std::string kl = "K=" + std::to_string(s.r3_large);
    out.criteria.push_back(judged("R3 " + d.label() + ", " + kl + ": personalized above robust local in ACR",
                                  "Figs. 4, 7: personalized ≫ local for small σ", acr_versus(pers_at[1], local_at[1]), above));
    out.criteria.push_back(judged("R3 " + d.label() + ": the personalized-local ACR gap is larger at " + kl + " than at K=" +
                                      std::to_string(s.k),
                                  "Figs. 4, 7: the gap grows with the number of clients",
                                  "gap " + pct(mean_sd(g10).mean) + " -> " + pct(mean_sd(g50).mean), grows));
    out.figures.push_back(curves("r3_" + d.id(), "R3: personalized vs robust local, " + d.label() + " (dashed: K=" +
                                     std::to_string(s.k) + ")", unit_of(d), lines));
  }
  return out;
}

// ---------------------------------------------------------------- R4 (Fig. 3)

Section claim_r4(Results& r, const Scale& s) {
  Section out;
  out.markdown = std::string(kTableHead);
  for (const Dist& d : s.r4_targets) {
    const RunKey k{Scheme::affine_ft, s.k, d};
    const auto fed = r.per_seed(k, "global"), pers = r.per_seed(k, "personal");
    const std::string setting = "certified for " + d.label() + ", K=" + std::to_string(s.k);
    out.markdown += table_row(setting, "federated (" + s.affine.label() + ")", fed) +
                    table_row(setting, "personalized (" + d.label() + " fine-tune)", pers);
    std::vector<bool> above;
    for (size_t i = 0; i < fed.size(); ++i) above.push_back(pers[i].acr.mean > fed[i].acr.mean);
    out.criteria.push_back(judged("R4 " + d.label() + ": personalization above affine-trained FedAvg in ACR",
                                  "Fig. 3: personalization helps when the federated augmentation differs", acr_versus(pers, fed), above));
    out.figures.push_back(curves("r4_" + d.id(), "R4: FedAvg with " + s.affine.label() + ", personalized with " + d.label(),
                                 unit_of(d), {{"federated (affine)", r.pooled(k, "global"), true}, {"personalized", r.pooled(k, "personal")}}));
  }
  return out;
}

// ---------------------------------------------------------------- R5 (Figs. 5 and 10)

namespace {

// by_lambda: per lambda of Scale::lambdas, per seed; fedavg, finetune: per seed.
std::vector<Criterion> r5_criteria(const Dist& d, const Scale& s, const std::vector<std::vector<Measure>>& by_lambda,
                                   const std::vector<Measure>& fedavg, const std::vector<Measure>& finetune) {
  std::vector<bool> fedavg_ok, end_ok, mono_ok, narrow_ok;
  for (size_t i = 0; i < fedavg.size(); ++i) {
    std::vector<Measure> seed_lambda;
    for (const auto& m : by_lambda) seed_lambda.push_back(m[i]);
    const MixtureVerdict v = judge_mixture(seed_lambda, fedavg[i], finetune[i]);
    fedavg_ok.push_back(v.beats_fedavg), end_ok.push_back(v.beats_local_end);
    mono_ok.push_back(v.non_increasing), narrow_ok.push_back(v.narrower_than_ft);
  }
  const std::string l0 = "λ=" + fmt(s.lambdas.front()), l1 = "λ=" + fmt(s.lambdas.back());
  std::string sweep;
  for (size_t j = 0; j < s.lambdas.size(); ++j) sweep += (j ? ", " : "") + fmt(mean_sd(acrs(by_lambda[j])).mean, "%.3f");
  auto range_mean = [](const std::vector<Measure>& m) {
    double v = 0;
    for (const Measure& x : m) v += x.acr.range() / m.size();
    return v;
  };
  return {judged("R5 " + d.label() + ": mixture " + l0 + " at least FedAvg in ACR", "Fig. 5: mixture beats FedAvg for almost any λ",
                 acr_versus(by_lambda.front(), fedavg), fedavg_ok),
          judged("R5 " + d.label() + ": mixture " + l0 + " above " + l1 + " (local) in ACR", "Fig. 5: λ=0.1 best",
                 acr_versus(by_lambda.front(), by_lambda.back()), end_ok),
          judged("R5 " + d.label() + ": ACR roughly non-increasing in λ (rises under 5% of ACR(" + l0 + "))",
                 "Fig. 5 (right): ACR vs λ", "ACR at λ = " + sweep, mono_ok),
          judged("R5 " + d.label() + ": client range of ACR at " + l0 + " at most fine-tuning's",
                 "Fig. 5 vs Fig. 4: smaller spread than naive personalization",
                 fmt(range_mean(by_lambda.front()), "%.3f") + " vs " + fmt(range_mean(finetune), "%.3f"), narrow_ok)};
}

}  // namespace

Section claim_r5(Results& r, const Scale& s) {
  Section out;
  out.markdown = std::string(kTableHead);
  for (const Dist& d : s.r5_dists) {
    const RunKey ft{Scheme::robust_ft, s.k, d};
    const auto fedavg = r.per_seed(ft, "global"), finetune = r.per_seed(ft, "personal");
    const std::string setting = d.label() + ", K=" + std::to_string(s.k);
    out.markdown += table_row(setting, "FedAvg (robust)", fedavg) + table_row(setting, "fine-tuned (robust)", finetune);
    std::vector<std::vector<Measure>> by_lambda;
    std::vector<Line> lines = {{"FedAvg", r.pooled(ft, "global"), true}};
    for (double l : s.lambdas) {
      const RunKey mk{Scheme::mixture, s.k, d, l};
      by_lambda.push_back(r.per_seed(mk, "personal"));
      out.markdown += table_row(setting, "mixture λ=" + fmt(l), by_lambda.back());
      lines.push_back({"mixture λ=" + fmt(l), r.pooled(mk, "personal")});
    }
    const std::vector<Criterion> c = r5_criteria(d, s, by_lambda, fedavg, finetune);
    out.criteria.insert(out.criteria.end(), c.begin(), c.end());
    out.figures.push_back(curves("r5_" + d.id(), "R5: mixture of global and local models, " + d.label(), unit_of(d), lines));
    report::Figure f = acr_figure("r5_acr_vs_lambda_" + d.id(), "R5: ACR against λ, " + d.label(), "λ (1 = local training)", d,
                                  "Mean over seeds of the client-mean ACR; band: the smallest and largest client. Dashed: "
                                  "FedAvg and fine-tuning (no λ).");
    f.series.push_back(acr_line("mixture", s.lambdas, by_lambda));
    for (const auto& [label, m] : {std::make_pair("FedAvg", fedavg), std::make_pair("fine-tuned", finetune)}) {
      report::Series flat = acr_line(label, {s.lambdas.front(), s.lambdas.back()}, {m, m});
      flat.lo.clear(), flat.hi.clear(), flat.dashed = true;
      f.series.push_back(flat);
    }
    out.figures.push_back(f);
  }
  return out;
}

// ---------------------------------------------------------------- spot checks

Section spot_check(Results& r, const Scale& s, int64_t main_n) {
  Section out;
  const uint64_t seed = r.seeds().front();
  const std::string n0 = "n=" + std::to_string(main_n), n1 = "n=" + std::to_string(s.spot_n);
  out.markdown = "| distribution (K=" + std::to_string(s.k) + ", seed " + std::to_string(seed) + ") | model | images | ACR at " + n0 +
                 " | ACR at " + n1 + " | CA(0) at " + n0 + " | CA(0) at " + n1 + " |\n|---|---|---|---|---|---|---|\n";
  for (const RunKey& spot : spot_runs(s)) {
    RunKey main = spot;
    main.spot_n = 0;
    for (const char* model : {"global", "personal"}) {
      // The spot run's images, and the same idx of the main run (every client).
      std::vector<certify::CertifyRow> at_spot, at_main;
      const Clients& a = r.clients(spot, model, seed);
      const Clients& b = r.clients(main, model, seed);
      for (size_t c = 0; c < a.size(); ++c)
        for (const certify::CertifyRow& x : a[c])
          for (const certify::CertifyRow& y : b[c])
            if (y.idx == x.idx) at_spot.push_back(x), at_main.push_back(y);
      if (at_spot.empty()) continue;
      out.markdown += "| " + spot.target.label() + " | " + (std::string(model) == "global" ? "federated (nominal)" : "personalized") +
                      " | " + std::to_string(at_spot.size()) + " | " + fmt(certify::average_certified_radius(at_main), "%.3f") +
                      " | " + fmt(certify::average_certified_radius(at_spot), "%.3f") + " | " +
                      fmt(certify::certified_accuracy(at_main, 0), "%.3f") + " | " +
                      fmt(certify::certified_accuracy(at_spot, 0), "%.3f") + " |\n";
    }
  }
  return out;
}

}  // namespace nanofed::certfl
