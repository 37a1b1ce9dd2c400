// images.cpp — targets 1-5 and 9 (Spurious §6, Table 2, Figs. 1, 3, 4, App. E.4) on colored
// MNIST-10k: the global model, the personalizations (CSVs), then everything judged from the CSVs.
#include "examples/spurious/images.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <map>

#include "attacks/evaluate.h"
#include "engine/autograd.h"
#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/ops/softmax.h"
#include "engine/ops/reduce.h"
#include "engine/text.h"
#include "fl/federation.h"
#include "fl/personalize.h"
#include "fl/run.h"
#include "nn/model_io.h"
#include "nn/training.h"

namespace nanofed::spurious {

namespace fs = std::filesystem;
namespace pz = fl::personalize;

namespace {

// ---- the fixed personalization settings (README: Deviations)
// Coefficients fixed from the paper's grid {0.01, 0.1, 1, 10} without the per-client search
// (the budget): lambda_adv = 1, lambda_L2 = 1; Ditto at both of D.2's {0.1, 1}.
pz::Options personalize_options() {
  pz::Options o;
  o.lr = 1e-3;  // the global model's scaled Adam lr (config.json)
  o.epochs = 5, o.batch_size = 16, o.eval_every = 2;
  o.lambda_adv = 1, o.lambda_l2 = 1, o.ditto_lambda = 0.1, o.ditto_lambda_high = 1;
  return o;
}
// f_g's PGD (Spurious §3.2, D.2): L-inf in pixel space, from x (no random start), 10 steps of eps/4.
attacks::AttackOptions pgd_options() {
  attacks::AttackOptions a;
  a.eps = 8.0f / 255.0f, a.alpha = a.eps / 4, a.steps = 10, a.random_start = false;
  return a;
}

// ---- one client's fixed inputs: f_g's adversarial examples and probabilities (made once)

struct Client {
  fl::ClientData data;
  pz::ClientInputs inputs;
  Tensor val_adv, test_adv;
  std::vector<double> global_grad_norms;  // ||grad_x CE(f_g(x), y)|| per test sample
};

Tensor probabilities(nn::Module& m, const Tensor& x) {
  NoGrad ng;
  m.eval();
  return softmax(m(x), 1);
}

// ||grad_x CE(f(x_i), y_i)|| per sample (eval mode; the summed loss keeps each row's own gradient).
std::vector<double> input_grad_norms(nn::Module& m, const datasets::Dataset& d) {
  m.eval();
  Tensor x = d.images.clone().detach();
  x.requires_grad_(true);
  CrossEntropyOptions o;
  o.reduction = Reduction::sum;
  cross_entropy(m(x), d.labels, o).backward();
  const std::vector<float> g = x.grad().to_vector<float>();
  const size_t per = g.size() / (size_t)d.size();
  std::vector<double> out((size_t)d.size());
  for (size_t i = 0; i < out.size(); ++i) {
    double s = 0;
    for (size_t j = 0; j < per; ++j) s += (double)g[i * per + j] * g[i * per + j];
    out[i] = std::sqrt(s);
  }
  for (Tensor p : m.parameters())
    if (p.grad().defined()) p.grad().copy_(zeros_like(p.grad()));
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * (v.size() - 1);
  const size_t lo = (size_t)pos;
  return lo + 1 < v.size() ? v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) : v[lo];
}

Client prepare(nn::Module& global, const fl::ClientData& cd, int64_t env) {
  Client c;
  c.data = cd;
  pz::ClientInputs& in = c.inputs;
  in.train = cd.train, in.val = cd.val, in.env = env;
  const attacks::AttackOptions a = pgd_options();
  Generator unused(0);  // no random start: PGD draws nothing
  in.train_adv = attacks::pgd(global, cd.train.images, cd.train.labels, a, unused);
  c.val_adv = attacks::pgd(global, cd.val.images, cd.val.labels, a, unused);
  c.test_adv = attacks::pgd(global, cd.test.images, cd.test.labels, a, unused);
  in.adv_probs = probabilities(global, in.train_adv);
  in.clean_probs = probabilities(global, cd.train.images);
  in.adv_prediction = argmax(in.adv_probs, 1);
  c.global_grad_norms = input_grad_norms(global, cd.test);
  return c;
}

// ---- metrics of a personalized model f_l

struct Metrics {
  double acc, acc_other, loss, loss_other, adv_trans, logr_median = NAN, logr_iqr = NAN;
};

Metrics measure(nn::Module& global, nn::Module& local, const Client& c, bool ratios) {
  Metrics m;
  const nn::Evaluation e = nn::evaluate(local, c.data.test.images, c.data.test.labels, 256);
  const nn::Evaluation o = nn::evaluate(local, c.data.other_env.images, c.data.other_env.labels, 256);
  m.acc = e.accuracy(), m.loss = e.loss(), m.acc_other = o.accuracy(), m.loss_other = o.loss();
  m.adv_trans = attacks::transferability(global, local, c.data.test, c.test_adv).adv_trans();
  if (ratios) {
    const std::vector<double> n = input_grad_norms(local, c.data.test);
    std::vector<double> logr;
    for (size_t i = 0; i < n.size(); ++i)
      if (n[i] > 0 && c.global_grad_norms[i] > 0) logr.push_back(std::log(n[i] / c.global_grad_norms[i]));
    m.logr_median = quantile(logr, 0.5), m.logr_iqr = quantile(logr, 0.75) - quantile(logr, 0.25);
  }
  return m;
}

// The selection score (Spurious §6.2): val-acc, minus (1 - AdvTrans_val) for Ours.
double selection_score(nn::Module& global, nn::Module& local, const Client& c, bool adv_trans) {
  double s = nn::evaluate(local, c.data.val.images, c.data.val.labels, 256).accuracy();
  if (adv_trans) s -= 1 - attacks::transferability(global, local, c.data.val, c.val_adv).adv_trans();
  return s;
}

std::string g6(double v) { return std::isnan(v) ? "" : fmt(v, "%.6g"); }

std::string trajectory_row(int64_t k, int64_t b, const Metrics& m) {
  return std::to_string(k) + "," + std::to_string(b) + "," + g6(m.acc) + "," + g6(m.acc_other) + "," + g6(m.loss) +
         "," + g6(m.loss_other) + "," + g6(m.adv_trans) + "," + g6(m.logr_median) + "," + g6(m.logr_iqr) + "\n";
}

// The methods whose checkpoints the figures and targets 2-5 follow (the others: selection only,
// which halves their cost).
bool traced(const std::string& method) {
  for (const char* m : {"ft", "naive", "ours", "consistency_only", "l2_only", "benign"})
    if (method == m) return true;
  return false;
}

const char* kPersonalHeader = "client,env,best_batches,acc,acc_other,loss,loss_other,adv_trans,direct_success\n";
const char* kTrajectoryHeader = "client,batches,acc,acc_other,loss,loss_other,adv_trans,logr_median,logr_iqr\n";

// Personalizes every client with one method and seed; the two CSVs.
void personalize_all(const std::string& method, uint64_t seed, nn::Module& global, nn::Module& local,
                     const std::vector<Client>& clients, const std::string& root) {
  const pz::Options opt = personalize_options();
  std::string personal = kPersonalHeader, trajectory = kTrajectoryHeader;
  const Tensor w_g = global.flat_parameters().clone(), b_g = global.flat_buffers().clone();
  for (size_t k = 0; k < clients.size(); ++k) {
    const Client& c = clients[k];
    local.flat_parameters().copy_(w_g);
    if (b_g.numel() > 0) local.flat_buffers().copy_(b_g);
    pz::Trained t;
    if (method == "global") {
      trajectory += trajectory_row((int64_t)k, 0, measure(global, local, c, true));
    } else {
      Generator gen = Generator(seed).derive({(uint64_t)k});
      const pz::Options* o = &opt;
      auto fine_tune = [&](const datasets::Dataset& data) {  // JTT's identification model, selected by val-acc
        pz::Recipe r;
        r.train = data;
        Generator g = gen.derive({1});
        const pz::Trained ft = pz::train(local, r, *o, g, [&](nn::Module& m, int64_t) { return selection_score(global, m, c, false); });
        local.flat_parameters().copy_(ft.params);
      };
      const pz::Context ctx{c.inputs, opt, gen, fine_tune, local};
      const pz::Recipe recipe = pz::find_personalizer(method).make(ctx);
      local.flat_parameters().copy_(w_g);
      if (b_g.numel() > 0) local.flat_buffers().copy_(b_g);
      const bool log = traced(method);
      t = pz::train(local, recipe, opt, gen, [&](nn::Module& m, int64_t b) {
        if (log) trajectory += trajectory_row((int64_t)k, b, measure(global, m, c, b == kRatioBatches || b == 0));
        return selection_score(global, m, c, recipe.select_by_adv_trans);
      });
      local.flat_parameters().copy_(t.params);
    }
    const Metrics m = measure(global, local, c, false);
    Generator pgd_gen(0);
    const double direct = attacks::evaluate(local, c.data.test, pgd_options(), pgd_gen).success_rate();
    personal += std::to_string(k) + "," + std::to_string(c.inputs.env) + "," + std::to_string(t.best_batches) + "," +
                g6(m.acc) + "," + g6(m.acc_other) + "," + g6(m.loss) + "," + g6(m.loss_other) + "," + g6(m.adv_trans) +
                "," + g6(direct) + "\n";
  }
  const std::string tag = method + "_seed" + std::to_string(seed) + ".csv";
  fs::create_directories(root + "/trajectory"), fs::create_directories(root + "/personal");
  write_file_atomic(root + "/trajectory/" + tag, trajectory, "spurious");
  write_file_atomic(root + "/personal/" + tag, personal, "spurious");  // last: its presence means done
}

}  // namespace

std::vector<std::string> image_methods() {
  std::vector<std::string> m = {"global"};
  for (const pz::PersonalizerInfo& p : pz::personalizers()) m.push_back(p.name);
  return m;
}

fl::FlConfig global_config(const fl::json& base, const std::string& root) {
  fl::json j = base;
  j["name"] = "global", j["out"] = root, j["keep_checkpoint"] = true, j["resume"] = true, j["progress"] = false;
  return fl::parse_config(j, "examples/spurious/config.json");
}

void run_personalizations(const fl::FlConfig& cfg, const std::vector<uint64_t>& seeds, const std::string& root,
                          int64_t clients_limit) {
  const std::string gdir = root + "/global/seed_" + std::to_string(cfg.seed);
  const auto t0 = std::chrono::steady_clock::now();
  fl::run_one(cfg, gdir);
  std::printf("spurious: global model %s (%.1f s)\n", gdir.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::vector<std::pair<std::string, uint64_t>> todo;
  for (const std::string& m : image_methods())
    for (uint64_t s : seeds)
      if (!fs::exists(root + "/personal/" + m + "_seed" + std::to_string(s) + ".csv")) todo.push_back({m, s});
  if (todo.empty()) return;
  const fl::Federation fed = fl::build_federation(cfg);
  std::shared_ptr<nn::Module> global = nn::load_model(gdir + "/checkpoint.safetensors", Device::cpu());
  std::shared_ptr<nn::Module> local = nn::load_model(gdir + "/checkpoint.safetensors", Device::cpu());
  std::vector<Client> clients;
  const auto t1 = std::chrono::steady_clock::now();
  const size_t n = clients_limit > 0 ? std::min(fed.clients.size(), (size_t)clients_limit) : fed.clients.size();
  for (size_t k = 0; k < n; ++k) clients.push_back(prepare(*global, fed.clients[k], fed.environments[k]));
  std::printf("spurious: f_g's PGD examples of %zu clients (%.1f s)\n", clients.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  for (const auto& [m, s] : todo) {
    const auto t1 = std::chrono::steady_clock::now();
    personalize_all(m, s, *global, *local, clients, root);
    std::printf("spurious: %-16s seed %llu: %.1f s\n", m.c_str(), (unsigned long long)s,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  }
}

}  // namespace nanofed::spurious
