// robustness.cpp — robust training options and the robustness evaluation of a federated run.
#include "fl/robustness.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "attacks/evaluate.h"
#include "certify/results.h"
#include "engine/file_io.h"
#include "engine/common.h"
#include "engine/text.h"

namespace nanofed::fl {

namespace {

// {"mean", "min", "max"} of per-client values (an empty list gives nulls).
json spread(const std::vector<double>& v) {
  json j = json::object();
  if (v.empty()) return j;
  double total = 0;
  for (double x : v) total += x;
  j["mean"] = total / v.size();
  j["min"] = *std::min_element(v.begin(), v.end());
  j["max"] = *std::max_element(v.begin(), v.end());
  return j;
}


std::vector<ModelKind> kinds_of(const Simulation& sim) {
  std::vector<ModelKind> kinds;
  if (sim.has_global()) kinds.push_back(ModelKind::global);
  if (sim.has_personal()) kinds.push_back(ModelKind::personal);
  return kinds;
}

// ---- PGD robust accuracy and transferability ----

json evaluate_attacks(Simulation& sim, const FlConfig& c, const std::string& dir) {
  const attacks::AttackOptions o = evaluation_attack(c);
  const Generator base(c.seed);
  std::string csv;  // this rank's rows (every row in one process)
  json out = json::object();
  out["norm"] = attacks::norm_name(o.norm);
  out["eps"] = o.eps;
  out["alpha"] = o.alpha;
  out["steps"] = o.steps;
  out["random_start"] = o.random_start;
  const std::vector<ModelKind> kinds = kinds_of(sim);
  const bool transfer = sim.has_global() && sim.has_personal();
  std::vector<double> clean[2], robust[2], trans, trans_loss;  // [kind]
  for (int64_t k = 0; k < sim.num_clients(); ++k) {
    if (sim.is_byzantine(k) || !sim.owns(k)) continue;
    const datasets::Dataset& test = sim.client(k).test;
    const datasets::Dataset data = test.subset(evenly_spaced(test.size(), c.eval_samples));
    Tensor crafted_on_global;  // the global row's x', reused for the transferability
    for (ModelKind kind : kinds) {
      const size_t m = (size_t)kind;
      Generator g = base.derive({kEvalAttack, (uint64_t)kind, (uint64_t)k});
      attacks::EvaluateOptions eo;
      eo.batch_size = c.eval_batch_size;
      if (transfer && kind == ModelKind::global) eo.adversarial = &crafted_on_global;
      nn::Module& model = sim.model_for(kind, k);
      const attacks::AttackResult r = attacks::evaluate(model, data, o, g, eo);
      clean[m].push_back(r.clean_accuracy());
      robust[m].push_back(r.robust_accuracy());
      csv += std::to_string(k) + "," + to_string(kind) + "," + std::to_string(r.samples) + "," +
             fmt(r.clean_accuracy(), "%.6f") + "," + fmt(r.robust_accuracy(), "%.6f") + "," + fmt(r.success_rate(), "%.6f") + ",";
      if (transfer && kind == ModelKind::personal) {
        // 000 §3: crafted on the global model (source), evaluated on the personal one (target).
        // model_for(global) loads the other working module, so `model` stays the personal one.
        nn::Module& global = sim.model_for(ModelKind::global, k);
        const attacks::Transferability t =
            attacks::transferability(global, model, data, crafted_on_global, c.eval_batch_size);
        trans.push_back(t.adv_trans());
        trans_loss.push_back(t.loss_measure);
        csv += fmt(t.adv_trans(), "%.6f") + "," + fmt(t.loss_measure, "%.6f");
      } else {
        csv += ",";
      }
      csv += "\n";
      if (c.progress)
        std::fprintf(stderr, "%s%s: PGD on %s model of client %lld: robust acc %.4f%s", ::isatty(2) ? "\r" : "",
                     dir.c_str(), to_string(kind), (long long)k, r.robust_accuracy(), ::isatty(2) ? "   " : "\n");
    }
  }
  // Over MPI each rank attacked its own clients, in ascending id: rank order is client order.
  Comm& comm = sim.comm();
  for (ModelKind kind : kinds) {
    clean[(size_t)kind] = concat_ranks(comm, clean[(size_t)kind]);
    robust[(size_t)kind] = concat_ranks(comm, robust[(size_t)kind]);
  }
  trans = concat_ranks(comm, trans);
  trans_loss = concat_ranks(comm, trans_loss);
  csv = "client_id,model,num_samples,clean_accuracy,robust_accuracy,success_rate,adv_trans,adv_trans_loss\n" +
        concat_ranks(comm, csv);
  for (ModelKind kind : kinds) {
    const size_t m = (size_t)kind;
    json j = json::object();
    j["clean_accuracy"] = spread(clean[m]);
    j["robust_accuracy"] = spread(robust[m]);
    if (transfer && kind == ModelKind::personal) {
      j["adv_trans"] = spread(trans);
      j["adv_trans_loss"] = spread(trans_loss);
    }
    out[to_string(kind)] = j;
  }
  if (c.progress && ::isatty(2)) std::fprintf(stderr, "\n");
  if (comm.rank() == 0) nanofed::write_file_atomic(dir + "/robust.csv", csv, "fl::run");
  return out;
}

// ---- certification ----

json evaluate_certification(Simulation& sim, const FlConfig& c, const std::string& dir) {
  const certify::CertifyOptions o = certification(c);
  const Generator base(c.seed);
  std::error_code ignored;  // over MPI the ranks create it at once (each writes its clients' files)
  std::filesystem::create_directories(dir + "/certify", ignored);
  Comm& comm = sim.comm();
  std::string csv = "client_id,model,num_samples,certified_accuracy_0,acr,abstained\n";
  json out = json::object();
  out["transform"] = certify::transform_name(o.smoothing.transform);
  out["sigma"] = o.smoothing.sigma;
  out["n0"] = o.n0;
  out["n"] = o.n;
  out["alpha"] = o.alpha;
  out["grid"] = c.certify_grid;
  std::vector<double> radii;
  for (int i = 0; i <= 80; ++i) radii.push_back(0.05 * i);
  out["radii"] = radii;
  const bool tty = ::isatty(2);
  for (ModelKind kind : kinds_of(sim)) {
    std::vector<double> ca0, acr, curve_values;  // curve_values: one curve per client, end to end
    std::string rows_csv;
    for (int64_t k = 0; k < sim.num_clients(); ++k) {
      if (sim.is_byzantine(k) || !sim.owns(k)) continue;
      const datasets::Dataset& test = sim.client(k).test;
      const std::vector<int64_t> idx = evenly_spaced(test.size(), c.certify_samples);
      const std::string path = dir + "/certify/" + to_string(kind) + "_client" + std::to_string(k) + ".tsv";
      // run_one never reaches here with another run's files in dir (it refuses to overwrite
      // results without resume), so rows already in the file are this run's: keep and skip them.
      certify::TsvWriter tsv(path, true);
      nn::Module& model = sim.model_for(kind, k);
      const std::vector<int32_t> labels = test.labels.to_vector<int32_t>();
      int64_t done = 0;
      for (int64_t i : idx) {
        ++done;
        if (tsv.has(i)) continue;
        Generator g = base.derive({kCertify, (uint64_t)kind, (uint64_t)k, (uint64_t)i});
        tsv.write(certify::certify_row(model, test.images.slice(i, i + 1), i, labels[i], o, g));
        if (c.progress && tty)
          std::fprintf(stderr, "\r%s: certifying %s model of client %lld: %lld/%zu   ", dir.c_str(), to_string(kind),
                       (long long)k, (long long)done, idx.size());
      }
      const std::vector<certify::CertifyRow>& rows = tsv.done();  // resumed rows and this run's
      int64_t abstained = 0;
      for (const auto& r : rows) abstained += r.predict < 0;
      const double a0 = certify::certified_accuracy(rows, 0.0), a = certify::average_certified_radius(rows);
      ca0.push_back(a0);
      acr.push_back(a);
      for (double v : certify::certified_accuracy_curve(rows, radii)) curve_values.push_back(v);
      rows_csv += std::to_string(k) + "," + to_string(kind) + "," + std::to_string(rows.size()) + "," + fmt(a0, "%.6f") + "," +
             fmt(a, "%.6f") + "," + std::to_string(abstained) + "\n";
      if (c.progress && !tty)
        std::fprintf(stderr, "%s: certified %s model of client %lld: CA(0) %.4f ACR %.4f\n", dir.c_str(),
                     to_string(kind), (long long)k, a0, a);
    }
    // Over MPI each rank certified its own clients, in ascending id: rank order is client order.
    ca0 = concat_ranks(comm, ca0);
    acr = concat_ranks(comm, acr);
    csv += concat_ranks(comm, rows_csv);
    curve_values = concat_ranks(comm, curve_values);
    std::vector<std::vector<double>> curves;
    for (size_t at = 0; at < curve_values.size(); at += radii.size())
      curves.emplace_back(curve_values.begin() + at, curve_values.begin() + at + radii.size());
    json m = json::object();
    m["certified_accuracy_0"] = spread(ca0);
    m["acr"] = spread(acr);
    json curve = json::object();
    std::vector<double> mean(radii.size(), 0.0), lo(radii.size(), 1.0), hi(radii.size(), 0.0);
    for (const auto& cv : curves)
      for (size_t r = 0; r < radii.size(); ++r) {
        mean[r] += cv[r] / curves.size();
        lo[r] = std::min(lo[r], cv[r]);
        hi[r] = std::max(hi[r], cv[r]);
      }
    if (!curves.empty()) m["curve"] = {{"mean", mean}, {"min", lo}, {"max", hi}};
    out[to_string(kind)] = m;
  }
  if (c.progress && tty) std::fprintf(stderr, "\n");
  if (comm.rank() == 0) nanofed::write_file_atomic(dir + "/certify.csv", csv, "fl::run");
  return out;
}

}  // namespace

std::vector<int64_t> evenly_spaced(int64_t n, int64_t m) {
  if (m <= 0 || m > n) m = n;
  std::vector<int64_t> idx((size_t)m);
  for (int64_t i = 0; i < m; ++i) idx[(size_t)i] = i * n / m;
  return idx;
}

json evaluate_robustness(Simulation& sim, const FlConfig& c, const std::string& dir) {
  json out = json::object();
  if (c.eval_attack != "none") out["attack"] = evaluate_attacks(sim, c, dir);
  if (c.eval_certify != "none") out["certify"] = evaluate_certification(sim, c, dir);
  return out;
}

}  // namespace nanofed::fl
