#include "fl/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "engine/autograd.h"
#include "engine/common.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "fl/aggregators.h"
#include "fl/pre_aggregators.h"
#include "fl/robustness.h"
#include "nn/optim.h"

namespace nanofed::fl {

const char* to_string(ModelKind kind) { return kind == ModelKind::global ? "global" : "personal"; }

bool aggregator_is_robust(const std::string& name) { return name != "mean" && name != "weighted_mean"; }

AggregatorChain make_chain(const FlConfig& c, int64_t n, int64_t f) {
  if (n < 0) n = round_size(c);
  if (f < 0) f = effective_f(c);
  const KrumNeighbours nb =
      c.krum_neighbours == "n-f" ? KrumNeighbours::n_minus_f : KrumNeighbours::n_minus_f_minus_2;
  AggregatorChain chain;
  for (const std::string& p : c.pre_aggregators) {
    if (p == "clip") chain.pre.push_back(std::make_shared<StaticClip>(c.clip_norm));
    else if (p == "median_clip") chain.pre.push_back(std::make_shared<MedianNormClip>());
    else if (p == "nnm") chain.pre.push_back(std::make_shared<NNM>(f));
    else if (p == "bucketing") chain.pre.push_back(std::make_shared<Bucketing>(c.bucket_size));
    else NF_CHECK(false, "config: pre_aggregators entry '" << p << "' is not one of clip, median_clip, nnm, bucketing");
  }
  const std::string& a = c.aggregator;
  if (a == "mean") chain.aggregator = std::make_shared<Mean>();
  else if (a == "weighted_mean") chain.aggregator = std::make_shared<WeightedMean>();
  else if (a == "median") chain.aggregator = std::make_shared<CoordinateMedian>();
  else if (a == "trimmed_mean")
    chain.aggregator = c.beta >= 0 ? std::make_shared<TrimmedMean>(TrimmedMean::by_fraction(c.beta))
                                   : std::make_shared<TrimmedMean>(f);
  else if (a == "krum") chain.aggregator = std::make_shared<Krum>(f, 1, nb);
  else if (a == "multi_krum") {
    const int64_t rows = aggregator_rows(c, n);
    chain.aggregator = std::make_shared<Krum>(f, c.krum_m > 0 ? c.krum_m : rows - f, nb);
  }
  else if (a == "geometric_median") chain.aggregator = std::make_shared<GeometricMedian>();
  else if (a == "centered_clipping") chain.aggregator = std::make_shared<CenteredClipping>(c.cc_tau, c.cc_iterations);
  else if (a == "k_norm") chain.aggregator = std::make_shared<KNorm>(f);
  else NF_CHECK(false, "config: aggregator '" << a << "' is unknown");
  return chain;
}

AttackConfig make_attack(const FlConfig& c) {
  AttackConfig a;
  a.kind = (c.attack == "none" || c.attack == "label_poisoning") ? AttackKind::none
                                                                 : attack_kind_from_string(c.attack);
  a.gaussian_sigma = c.gaussian_sigma;
  a.sign_flip_scale = c.sign_flip_scale;
  a.boost_factor = c.boost_factor > 0 ? c.boost_factor : (double)round_size(c);
  a.alie_fixed_z = c.alie_z != 0;
  a.alie_z = c.alie_z;
  a.ipm_tau = c.ipm_tau;
  a.non_finite_value = c.non_finite_value == "nan" ? std::nan("") : INFINITY;
  return a;
}

namespace {
bool poisons_labels(const FlConfig& c) {
  if (c.poison_labels == "true") return true;
  if (c.poison_labels == "false") return false;
  // auto: Ditto poisons the labels of every malicious device under A1, A2 and A3 (001 §3).
  return c.attack == "label_poisoning" || c.attack == "gaussian" || c.attack == "boosting";
}

Tensor index_tensor(const std::vector<int64_t>& idx, Device device) {
  std::vector<int32_t> v(idx.begin(), idx.end());
  return from_vector(v, {(int64_t)v.size()}, device);
}

}  // namespace

Simulation::Simulation(const FlConfig& config, std::vector<ClientData> clients, std::vector<int64_t> byzantine,
                       ModelFactory make_model, LossFn loss)
    : config_(config), clients_(std::move(clients)), byzantine_ids_(std::move(byzantine)),
      make_model_(std::move(make_model)), loss_(std::move(loss)),
      device_(config.device == "cuda" ? Device::cuda() : Device::cpu()), base_(config.seed) {
  NF_CHECK(!clients_.empty(), "fl::Simulation: no clients");
  if (!loss_) loss_ = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  is_byzantine_.assign(clients_.size(), false);
  for (int64_t k : byzantine_ids_) {
    NF_CHECK(k >= 0 && k < num_clients(), "fl::Simulation: byzantine id " << k << " outside [0, " << num_clients() << ")");
    is_byzantine_[k] = true;
  }
  const bool poison = poisons_labels(config_);
  for (int64_t k = 0; k < num_clients(); ++k) {
    ClientData& c = clients_[k];
    if (poison && is_byzantine_[k] && c.train.size() > 0) {
      Generator g = base_.derive({kPoison, (uint64_t)k});
      c.train = poison_labels(c.train, g, c.train.num_classes == 2);
    }
    c.train = c.train.to(device_);
    c.test = c.test.to(device_);
  }
  state_.resize(clients_.size());
  worker_ = make_model_();
  personal_worker_ = make_model_();
  for (auto* m : {worker_.get(), personal_worker_.get()}) {
    m->to(device_);
    m->flat_parameters();
    m->flat_gradients();
    m->flat_buffers();
    m->train();
  }
  global_params_ = worker_->flat_parameters().clone();
  global_buffers_ = worker_->flat_buffers().clone();
  init_params_ = global_params_.clone();
  init_buffers_ = global_buffers_.clone();
  chain_ = make_chain(config_);
  attack_ = make_attack(config_);
  augment_[0] = training_augmentation(config_, false);
  augment_[1] = training_augmentation(config_, true);
  adversarial_ = adversarial_training_attack(config_);
}

bool Simulation::has_global() const { return config_.strategy != "local" && config_.strategy != "ipgd"; }
bool Simulation::has_personal() const {
  const std::string& s = config_.strategy;
  return s == "local" || s == "ditto" || s == "mixture" || s == "ipgd" || (s == "finetune" && finished_);
}
ModelKind Simulation::headline() const {
  const std::string& s = config_.strategy;
  return (s == "fedavg" || s == "fedprox" || (s == "finetune" && !finished_)) ? ModelKind::global
                                                                              : ModelKind::personal;
}

std::string Simulation::describe() const {
  std::ostringstream o;
  const FlConfig& c = config_;
  o << "strategy " << c.strategy;
  if (c.strategy == "fedprox") o << "(mu=" << c.mu << ")";
  if (c.strategy == "ditto") o << "(lambda=" << c.lambda << ", " << c.ditto_order << ")";
  if (c.strategy == "mixture") o << "(lambda=" << c.lambda << (c.mixture_overwrite ? ", overwrite" : "") << ")";
  if (c.strategy == "ipgd") o << "(lambda=" << c.lambda << ")";
  if (c.strategy == "finetune")
    o << "(epochs=" << c.finetune_epochs << ", lr=" << (c.finetune_lr > 0 ? c.finetune_lr : c.lr)
      << ", lambda=" << c.finetune_lambda << ")";
  if (has_global() || c.strategy == "ipgd") o << " | aggregation " << chain_.describe();
  o << " | attack " << (c.attack == "label_poisoning" ? "label_poisoning" : fl::describe(attack_));
  if (!byzantine_ids_.empty())
    o << " on " << byzantine_ids_.size() << " of " << clients_.size() << " clients"
      << (poisons_labels(c) ? " (labels poisoned)" : "");
  return o.str();
}

// ---------------------------------------------------------------- sampling and batches

std::vector<int64_t> Simulation::sample(int64_t round) const {
  const int64_t N = num_clients();
  std::vector<int64_t> out;
  if (config_.sampling == "all") {
    for (int64_t k = 0; k < N; ++k) out.push_back(k);
    return out;
  }
  const int64_t m = std::min<int64_t>(config_.clients_per_round, N);
  Generator g = base_.derive({kSampling, (uint64_t)round});
  if (config_.sampling == "uniform") {
    std::vector<int64_t> perm = randperm(N, g);
    out.assign(perm.begin(), perm.begin() + m);
  } else {  // proportional to train size, without replacement (numpy choice(p=, replace=False))
    std::vector<double> w(N);
    for (int64_t k = 0; k < N; ++k) w[k] = (double)clients_[k].train.size();
    for (int64_t i = 0; i < m; ++i) {
      double total = 0;
      for (double v : w) total += v;
      if (total <= 0) break;
      double u = g.next_uniform() * total;
      int64_t pick = -1;
      for (int64_t k = 0; k < N; ++k) {
        if (w[k] <= 0) continue;
        pick = k;
        if (u < w[k]) break;
        u -= w[k];
      }
      out.push_back(pick);
      w[pick] = 0;
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// steps > 0: `steps` batches of min(B, n) consecutive samples from a stream of shuffled passes
// (a batch may span two passes; each pass is reshuffled), as Ditto's per-step sampling;
// steps == 0: `epochs` shuffled passes of ceil(n / B) batches, the last one short.
Simulation::Batches Simulation::plan_batches(int64_t client, int64_t round, uint64_t purpose, int64_t steps,
                                             int64_t epochs) const {
  const int64_t n = clients_[client].train.size(), B = config_.batch_size;
  Batches batches;
  batches.perturb = base_.derive({kPerturb, purpose, (uint64_t)round, (uint64_t)client});
  if (n == 0) return batches;
  auto pass = [&](int64_t p) {
    Generator g = base_.derive({purpose, (uint64_t)round, (uint64_t)client, (uint64_t)p});
    return randperm(n, g);
  };
  if (steps > 0) {
    const int64_t b = std::min(B, n);
    std::vector<int64_t> order = pass(0);
    int64_t p = 0, pos = 0;
    for (int64_t s = 0; s < steps; ++s) {
      std::vector<int64_t> batch;
      while ((int64_t)batch.size() < b) {
        if (pos == n) order = pass(++p), pos = 0;
        batch.push_back(order[pos++]);
      }
      batches.steps.push_back(std::move(batch));
    }
  } else {
    for (int64_t e = 0; e < epochs; ++e) {
      std::vector<int64_t> order = pass(e);
      for (int64_t i = 0; i < n; i += B)
        batches.steps.emplace_back(order.begin() + i, order.begin() + std::min(n, i + B));
    }
  }
  return batches;
}

Tensor Simulation::step_gradients(nn::Module& model, int64_t client, const std::vector<int64_t>& idx,
                                  const Generator& gen, bool personal) {
  const Tensor index = index_tensor(idx, device_);  // one small upload per batch
  const datasets::Dataset& train = clients_[client].train;
  Tensor x = index_select(train.images, 0, index);
  const Tensor y = index_select(train.labels, 0, index);
  if (const auto& smoothing = augment_[personal ? 1 : 0]) {  // 004 §2.4: one draw per image
    Generator g = gen.derive({0});
    x = certify::perturb(x, *smoothing, g);
  }
  if (config_.adv_train) {  // Madry: train on PGD examples of the batch (crafted in eval mode)
    Generator g = gen.derive({1});
    x = attacks::pgd(model, x, y, adversarial_, g);
  }
  model.zero_grad();
  Tensor loss = loss_(model(x), y);
  loss.backward();
  return loss.detach();
}

// ---------------------------------------------------------------- local training

void Simulation::load_into(nn::Module& model, const Tensor& params, const Tensor& buffers) {
  if (params.defined()) model.flat_parameters().copy_(params);
  if (buffers.defined() && buffers.numel() > 0) model.flat_buffers().copy_(buffers);
}

std::unique_ptr<nn::Optimizer> Simulation::make_optimizer(nn::Module& model, double lr) const {
  return std::make_unique<nn::SGD>(
      model.parameters(), nn::SGDOptions(lr).momentum(config_.momentum).weight_decay(config_.weight_decay));
}

void Simulation::ensure_personal(int64_t client) {
  ClientState& s = state_[client];
  if (s.personal_params.defined()) return;
  s.personal_params = init_params_.clone();  // v_k starts at w^0 for every client (001 §2.4)
  s.personal_buffers = init_buffers_.clone();
}

Tensor Simulation::personal_params(int64_t client) const { return state_.at(client).personal_params; }

Tensor Simulation::client_buffers(int64_t client) const {
  const Tensor& local = state_[client].local_buffers;
  return (!config_.average_bn_buffers && local.defined()) ? local : global_buffers_;
}

// SGD steps of `model` on `batches` of the client's train data with the gradient replaced by
//   grad_scale * grad + pull (w - anchor)
// (the proximal / Ditto / mixture terms). Returns the mean batch loss, summed on the device and
// read once (NaN/Inf if any step's loss was): no host sync inside a step.
double Simulation::run_steps(nn::Module& model, nn::Optimizer& opt, int64_t client, const Batches& batches,
                             const Tensor& anchor, double pull, double grad_scale, bool personal) {
  if (batches.steps.empty()) return 0.0;
  Tensor loss_sum = zeros({}, device_);
  for (size_t s = 0; s < batches.steps.size(); ++s) {
    add_(loss_sum, step_gradients(model, client, batches.steps[s], batches.perturb.derive({s}), personal));
    if (grad_scale != 1.0 || pull != 0.0) {
      NoGrad no_grad;
      Tensor g = model.flat_gradients();
      if (grad_scale != 1.0) mul_(g, (float)grad_scale);
      if (pull != 0.0) {  // + pull w - pull anchor: two in-place passes, no temporary
        add_(g, model.flat_parameters(), (float)pull);
        add_(g, anchor, (float)-pull);
      }
    }
    opt.step();
  }
  return loss_sum.item() / batches.steps.size();
}

Simulation::LocalResult Simulation::train_global_side(int64_t client, const Batches& batches) {
  LocalResult r;
  nn::Module& model = *worker_;
  load_into(model, global_params_, client_buffers(client));
  auto opt = make_optimizer(model, config_.lr);
  ClientState& s = state_[client];
  if (config_.persist_optimizer_state && !s.optimizer.empty()) opt->load_state_dict(s.optimizer);
  // FedProx: + mu (w - w^t), the gradient of mu/2 ||w - w^t||^2.
  const double mu = config_.strategy == "fedprox" ? config_.mu : 0.0;
  r.loss = run_steps(model, *opt, client, batches, global_params_, mu, 1.0, false);
  r.finite = std::isfinite(r.loss);
  if (config_.persist_optimizer_state) s.optimizer = opt->state_dict();
  r.update = sub(model.flat_parameters(), global_params_);
  r.buffers = model.flat_buffers().clone();
  return r;
}

// Steps of the personal model v_k of `client` on `batches`:
//   v <- v - lr (grad_scale * grad F_k(v) + pull (v - anchor))
// with SGD (momentum, weight decay as configured; their state is not kept across rounds).
double Simulation::train_personal(int64_t client, const Batches& batches, const Tensor& anchor, double pull,
                                  double grad_scale, double lr) {
  ensure_personal(client);
  ClientState& s = state_[client];
  nn::Module& model = *personal_worker_;
  load_into(model, s.personal_params, s.personal_buffers);
  auto opt = make_optimizer(model, lr);
  const double loss = run_steps(model, *opt, client, batches, anchor, pull, grad_scale, true);
  s.personal_params.copy_(model.flat_parameters());
  if (s.personal_buffers.numel() > 0) s.personal_buffers.copy_(model.flat_buffers());
  return loss;
}

// ---------------------------------------------------------------- aggregation

Tensor Simulation::aggregate(int64_t round, uint64_t key, const std::vector<int64_t>& selected,
                             std::vector<LocalResult>& results) {
  const int64_t K = (int64_t)selected.size(), P = global_params_.numel();
  Updates u;
  u.rows = empty({K, P}, device_);
  for (int64_t k = 0; k < K; ++k) {
    Tensor row = u.rows.slice(k, k + 1).reshape({P});
    row.copy_(results[k].update);
    u.weights.push_back((double)clients_[selected[k]].train.size());
  }
  std::vector<int64_t> corrupted;
  for (int64_t k = 0; k < K; ++k)
    if (is_byzantine_[selected[k]]) corrupted.push_back(k);
  if (attack_.kind != AttackKind::none && !corrupted.empty()) {
    Generator g = base_.derive({kAttack, (uint64_t)round, key});
    apply_update_attack(attack_, u, corrupted, g);
  }
  // Screen for NaN/Inf: one sum per row (a finite sum means every entry is finite).
  const std::vector<float> row_sums = sum(u.rows, 1).to_vector<float>();
  std::vector<int64_t> keep;
  for (int64_t k = 0; k < K; ++k) {
    const int64_t id = selected[k];
    if (std::isfinite(row_sums[k]) && results[k].finite) {
      keep.push_back(k);
      continue;
    }
    const std::string what = results[k].finite ? "update" : "training loss";
    NF_CHECK(aggregator_is_robust(config_.aggregator),
             "round " << round + 1 << ": client " << id << (is_byzantine_[id] ? " (byzantine)" : "") << " sent a non-finite "
                      << what << " (NaN/Inf); aggregator '" << config_.aggregator
                      << "' cannot reject it, so the run stops here (results of earlier rounds are kept). "
                         "A robust aggregator (median, trimmed_mean, krum, ...) rejects such clients and goes on.");
    if (config_.progress)
      std::fprintf(stderr, "\nround %lld: rejected a non-finite %s from client %lld%s\n", (long long)round + 1,
                   what.c_str(), (long long)id, is_byzantine_[id] ? " (byzantine)" : "");
    log_.rejected.push_back(id);
    results[k].finite = false;
  }
  if (keep.empty()) return Tensor();
  if ((int64_t)keep.size() < K) {
    Updates kept;
    kept.rows = index_select(u.rows, 0, index_tensor(keep, device_));
    for (int64_t k : keep) kept.weights.push_back(u.weights[k]);
    u = std::move(kept);
  }
  Generator g = base_.derive({kPreAggregate, (uint64_t)round, key});
  if (u.count() == K) return chain_(u, g);
  // The rejected clients are taken as identified faults: the rule runs on the rows left with
  // f lowered by their number (so e.g. Krum's n > 2f + 2 still holds).
  const int64_t f = std::max<int64_t>(0, effective_f(config_) - (K - u.count()));
  return make_chain(config_, u.count(), f)(u, g);
}

// Server model BN statistics: the (train-size weighted for weighted_mean, else plain) mean of
// the accepted clients' buffers, or kept per client when average_bn_buffers is false.
void Simulation::update_buffers(const std::vector<int64_t>& selected, const std::vector<LocalResult>& results) {
  if (global_buffers_.numel() == 0) return;
  if (!config_.average_bn_buffers) {
    for (size_t k = 0; k < selected.size(); ++k)
      if (results[k].finite) state_[selected[k]].local_buffers = results[k].buffers;
    return;
  }
  const bool weighted = config_.aggregator == "weighted_mean";
  double total = 0;
  Tensor acc = zeros_like(global_buffers_);
  for (size_t k = 0; k < selected.size(); ++k) {
    if (!results[k].finite) continue;
    const double w = weighted ? (double)clients_[selected[k]].train.size() : 1.0;
    add_(acc, results[k].buffers, (float)w);
    total += w;
  }
  if (total > 0) global_buffers_ = mul(acc, (float)(1.0 / total));
}

void Simulation::apply_aggregate(const Tensor& aggregate) {
  if (aggregate.defined()) add_(global_params_, aggregate, (float)config_.server_lr);
}

double Simulation::mean_benign_loss(const std::vector<int64_t>& selected, const std::vector<double>& losses) const {
  double total = 0;
  int64_t count = 0;
  for (size_t k = 0; k < selected.size(); ++k)
    if (!is_byzantine_[selected[k]]) total += losses[k], ++count;
  return count ? total / count : 0.0;
}

// ---------------------------------------------------------------- rounds

void Simulation::run_round(int64_t round) {
  NF_CHECK(grad_enabled(), "fl::Simulation::run_round: called under NoGrad (training needs the tape)");
  log_ = RoundLog();
  log_.round = round;
  log_.selected = sample(round);
  const std::string& s = config_.strategy;
  if (s == "local") round_local(round);
  else if (s == "mixture") round_mixture(round);
  else if (s == "ipgd") round_ipgd(round);
  else round_fedavg_like(round);
}

// fedavg, fedprox, finetune (its rounds) and ditto.
void Simulation::round_fedavg_like(int64_t round) {
  const auto& selected = log_.selected;
  std::vector<LocalResult> results;
  std::vector<double> losses;
  const bool ditto = config_.strategy == "ditto";
  for (int64_t k : selected) {
    const auto batches = plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs);
    results.push_back(train_global_side(k, batches));
    losses.push_back(results.back().loss);
    if (ditto && !is_byzantine_[k]) {
      // per_step: the same minibatches as the global steps (Ditto's code takes one batch and
      // steps w and v on it; v's anchor is the fixed w^t, so stepping all of w first and then
      // all of v gives the same numbers). after_global: personal_steps on batches of its own.
      Batches personal = batches;
      if (config_.ditto_order == "after_global") {
        const int64_t steps = config_.personal_steps > 0 ? config_.personal_steps : (int64_t)batches.steps.size();
        personal = plan_batches(k, round, kFinetune, steps, 1);
      }
      train_personal(k, personal, global_params_, config_.lambda, 1.0, config_.lr);
    }
  }
  log_.train_loss = mean_benign_loss(selected, losses);
  const Tensor agg = aggregate(round, 0, selected, results);
  update_buffers(selected, results);
  apply_aggregate(agg);
}

// Ditto's "local" baseline: v_k gets the local steps when k is selected; nothing is sent.
void Simulation::round_local(int64_t round) {
  std::vector<double> losses;
  for (int64_t k : log_.selected) {
    const auto batches = plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs);
    losses.push_back(is_byzantine_[k] ? 0.0 : train_personal(k, batches, Tensor(), 0.0, 1.0, config_.lr));
  }
  log_.train_loss = mean_benign_loss(log_.selected, losses);
}

// 004 Eq. 5: theta_i <- theta_i - lr (lambda grad L_i + 2 (1 - lambda)(theta_i - theta_bar)); the
// client sends theta_i - theta_bar and the server moves theta_bar by the aggregate (with full
// participation and the mean: theta_bar = mean_i theta_i, the paper's average).
void Simulation::round_mixture(int64_t round) {
  const auto& selected = log_.selected;
  std::vector<LocalResult> results;
  std::vector<double> losses;
  const double lambda = config_.lambda;
  for (int64_t k : selected) {
    ensure_personal(k);
    ClientState& s = state_[k];
    if (config_.mixture_overwrite) {
      s.personal_params.copy_(global_params_);
      if (s.personal_buffers.numel() > 0) s.personal_buffers.copy_(global_buffers_);
    }
    const auto batches = plan_batches(k, round, kBatches, config_.local_steps, config_.local_epochs);
    LocalResult r;
    r.loss = train_personal(k, batches, global_params_, 2.0 * (1.0 - lambda), lambda, config_.lr);
    r.finite = std::isfinite(r.loss);
    r.update = sub(s.personal_params, global_params_);
    r.buffers = s.personal_buffers.clone();
    losses.push_back(r.loss);
    results.push_back(std::move(r));
  }
  log_.train_loss = mean_benign_loss(selected, losses);
  const Tensor agg = aggregate(round, 0, selected, results);
  update_buffers(selected, results);
  apply_aggregate(agg);
}

// 002 Algorithm 1 (IPGD), for every benign selected client i, local_steps times (1 if 0):
//   g_j = grad L_j(theta_i) on one batch of client j, for every selected j (Byzantine rows
//   attacked, non-finite rows screened as for updates), R = AGG(g), and
//   theta_i <- theta_i - lr ((1 - lambda) g_i + lambda R).
// Plain gradient steps: momentum and weight decay do not apply; BN statistics are not updated.
void Simulation::round_ipgd(int64_t round) {
  const auto& selected = log_.selected;
  const int64_t steps = std::max<int64_t>(1, config_.local_steps);
  const double lambda = config_.lambda, lr = config_.lr;
  std::vector<double> losses;
  nn::Module& model = *worker_;
  for (int64_t i : selected) {
    if (is_byzantine_[i]) {
      losses.push_back(0.0);
      continue;
    }
    ensure_personal(i);
    ClientState& s = state_[i];
    double loss_i = 0;
    for (int64_t step = 0; step < steps; ++step) {
      std::vector<LocalResult> grads;
      // A gradient step leaves the parameters alone, so theta_i is loaded once per step (in
      // train mode the BN statistics move, but they do not enter the gradient).
      load_into(model, s.personal_params, s.personal_buffers);
      for (int64_t j : selected) {
        LocalResult r;
        const int64_t n = clients_[j].train.size();
        if (n > 0) {
          Generator g = base_.derive({kIpgd, (uint64_t)round, (uint64_t)i, (uint64_t)step, (uint64_t)j});
          std::vector<int64_t> perm = randperm(n, g);
          perm.resize(std::min(n, config_.batch_size));
          const Generator perturb = base_.derive({kPerturb, kIpgd, (uint64_t)round, (uint64_t)i, (uint64_t)step, (uint64_t)j});
          const Tensor loss = step_gradients(model, j, perm, perturb, true);
          if (j == i) r.loss = loss.item();  // logged; NaN rows are caught by aggregate()
          r.update = model.flat_gradients().clone();
        } else {
          r.update = zeros_like(s.personal_params);
        }
        if (j == i) loss_i += r.loss / steps;
        grads.push_back(std::move(r));
      }
      const size_t me = std::find(selected.begin(), selected.end(), i) - selected.begin();
      const Tensor own = grads[me].update;
      // Attack and pre-aggregation draws keyed by (round, i, step): each personal model its own.
      const Tensor R = aggregate(round, 1 + (uint64_t)i * (uint64_t)steps + (uint64_t)step, selected, grads);
      add_(s.personal_params, own, (float)(-lr * (1.0 - lambda)));
      if (R.defined()) add_(s.personal_params, R, (float)(-lr * lambda));
    }
    losses.push_back(loss_i);
  }
  log_.train_loss = mean_benign_loss(selected, losses);
}

void Simulation::finish() {
  if (finished_ || config_.strategy != "finetune") {
    finished_ = true;
    return;
  }
  // Every benign client fine-tunes the final global model (001 §2.6, 004 §2.7): finetune_epochs
  // epochs of SGD at finetune_lr, pulled toward w^T by finetune_lambda (0 = plain fine-tuning).
  const double lr = config_.finetune_lr > 0 ? config_.finetune_lr : config_.lr;
  for (int64_t k = 0; k < num_clients(); ++k) {
    if (is_byzantine_[k]) continue;
    ensure_personal(k);
    state_[k].personal_params.copy_(global_params_);
    if (state_[k].personal_buffers.numel() > 0) state_[k].personal_buffers.copy_(client_buffers(k));
    if (config_.finetune_epochs == 0) continue;
    const auto batches = plan_batches(k, config_.rounds, kFinetune, 0, config_.finetune_epochs);
    train_personal(k, batches, global_params_, config_.finetune_lambda, 1.0, lr);
  }
  finished_ = true;
}

// ---------------------------------------------------------------- evaluation and state

nn::Module& Simulation::model_for(ModelKind kind, int64_t client) {
  if (kind == ModelKind::global) {
    load_into(*worker_, global_params_, client_buffers(client));
    return *worker_;
  }
  const ClientState& s = state_.at(client);
  if (s.personal_params.defined()) load_into(*personal_worker_, s.personal_params, s.personal_buffers);
  else load_into(*personal_worker_, init_params_, init_buffers_);  // never selected: v_k = w^0
  return *personal_worker_;
}

std::vector<ClientScore> Simulation::evaluate(ModelKind kind) {
  std::vector<ClientScore> scores;
  // The global parameters are loaded once (only the BN statistics may differ per client).
  if (kind == ModelKind::global) load_into(*worker_, global_params_, global_buffers_);
  for (int64_t k = 0; k < num_clients(); ++k) {
    if (is_byzantine_[k]) continue;
    nn::Module* model = worker_.get();
    if (kind == ModelKind::personal) model = &model_for(kind, k);
    else if (!config_.average_bn_buffers) load_into(*worker_, Tensor(), client_buffers(k));
    ClientScore sc = score(*model, clients_[k].test, config_.eval_batch_size, device_);
    sc.client = k;
    scores.push_back(sc);
  }
  return scores;
}

nn::NamedTensors Simulation::state() const {
  nn::NamedTensors out = {{"global.params", global_params_}, {"init.params", init_params_}};
  if (global_buffers_.numel() > 0) {
    out.push_back({"global.buffers", global_buffers_});
    out.push_back({"init.buffers", init_buffers_});
  }
  out.push_back({"simulation.finished", from_vector(std::vector<int32_t>{finished_ ? 1 : 0}, {1})});
  for (int64_t k = 0; k < num_clients(); ++k) {
    const ClientState& s = state_[k];
    const std::string p = "client." + std::to_string(k) + ".";
    if (s.personal_params.defined()) out.push_back({p + "personal.params", s.personal_params});
    if (s.personal_buffers.defined() && s.personal_buffers.numel() > 0)
      out.push_back({p + "personal.buffers", s.personal_buffers});
    if (s.local_buffers.defined()) out.push_back({p + "local_buffers", s.local_buffers});
    for (const auto& [name, t] : s.optimizer) out.push_back({p + "optimizer." + name, t});
  }
  return out;
}

void Simulation::load_state(const nn::NamedTensors& state) {
  auto take = [&](const std::string& name, const Tensor& like) {
    for (const auto& [n, t] : state)
      if (n == name) {
        NF_CHECK(t.numel() == like.numel(), "fl::Simulation::load_state: '" << name << "' has " << t.numel()
                                                                            << " elements, expected " << like.numel());
        return t.to(device_).clone();
      }
    NF_CHECK(false, "fl::Simulation::load_state: missing '" << name << "'");
    return Tensor();
  };
  global_params_ = take("global.params", global_params_);
  init_params_ = take("init.params", init_params_);
  if (global_buffers_.numel() > 0) {
    global_buffers_ = take("global.buffers", global_buffers_);
    init_buffers_ = take("init.buffers", init_buffers_);
  }
  state_.assign(clients_.size(), ClientState());
  finished_ = false;
  for (const auto& [name, t] : state) {
    if (name == "simulation.finished") finished_ = t.to_vector<int32_t>().at(0) != 0;
    if (name.rfind("client.", 0) != 0) continue;
    const size_t dot = name.find('.', 7);
    const int64_t k = std::stoll(name.substr(7, dot - 7));
    NF_CHECK(k >= 0 && k < num_clients(), "fl::Simulation::load_state: '" << name << "' names no client");
    const std::string rest = name.substr(dot + 1);
    ClientState& s = state_[k];
    if (rest == "personal.params") s.personal_params = t.to(device_).clone();
    else if (rest == "personal.buffers") s.personal_buffers = t.to(device_).clone();
    else if (rest == "local_buffers") s.local_buffers = t.to(device_).clone();
    else if (rest.rfind("optimizer.", 0) == 0) s.optimizer.push_back({rest.substr(10), t.to(device_).clone()});
    else NF_CHECK(false, "fl::Simulation::load_state: unknown entry '" << name << "'");
  }
  for (ClientState& s : state_)
    if (s.personal_params.defined() && !s.personal_buffers.defined()) s.personal_buffers = init_buffers_.clone();
}

}  // namespace nanofed::fl
