#include "fl/simulation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "engine/autograd.h"
#include "engine/common.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "fl/aggregators.h"
#include "fl/robust_options.h"
#include "nn/optim.h"
#include "nn/training.h"

namespace nanofed::fl {

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
  comm_ = &world();
  NF_CHECK(num_clients() >= comm_->size(), "fl::Simulation: " << num_clients() << " clients cannot fill "
                                                               << comm_->size() << " MPI ranks (one client each at least)");
  blocks_ = ClientBlocks(num_clients(), comm_->size());
  if (!loss_) loss_ = [](const Tensor& out, const Tensor& y) { return cross_entropy(out, y); };
  is_byzantine_.assign(clients_.size(), false);
  for (int64_t k : byzantine_ids_) {
    NF_CHECK(k >= 0 && k < num_clients(), "fl::Simulation: byzantine id " << k << " outside [0, " << num_clients() << ")");
    is_byzantine_[k] = true;
  }
  const bool poison = poisons_labels(config_);
  for (int64_t k = 0; k < num_clients(); ++k) {
    ClientData& c = clients_[k];
    train_sizes_.push_back(c.train.size());
    if (!owns(k)) {  // another rank's client: its size is all this one needs
      c = ClientData{};
      continue;
    }
    if (poison && is_byzantine_[k] && c.train.size() > 0) {
      Generator g = base_.derive({kPoison, (uint64_t)k});
      c.train = poison_labels(c.train, g, c.train.num_classes == 2);
    }
    c.train = c.train.to(device_);
    c.test = c.test.to(device_);
    if (c.val.size() > 0) c.val = c.val.to(device_);
    if (c.other_env.size() > 0) c.other_env = c.other_env.to(device_);
  }
  state_.resize(clients_.size());
  workers_.push_back(make_workers());
  global_params_ = workers_[0].global->flat_parameters().clone();
  global_buffers_ = workers_[0].global->flat_buffers().clone();
  init_params_ = global_params_.clone();
  init_buffers_ = global_buffers_.clone();
  chain_spec_ = chain_spec(config_);
  chain_ = make_chain(chain_spec_);
  attack_ = make_attack(config_);
  augment_[0] = training_augmentation(config_, false);
  augment_[1] = training_augmentation(config_, true);
  adversarial_ = adversarial_training_attack(config_);
  strategy_ = make_strategy(config_);
  personal_sets_ = strategy_->personal_sets();
  extra_sets_.assign(personal_sets_.size() - 1, std::vector<ClientState>(clients_.size()));
  sampling_ = config_.sampling == "all"       ? Sampling::all
              : config_.sampling == "uniform" ? Sampling::uniform
                                              : Sampling::proportional;
  robust_ = aggregator_is_robust(chain_spec_.aggregator);
  const AggregatorKind a = chain_spec_.aggregator;
  coordinatewise_ = chain_spec_.pre.empty() && (a == AggregatorKind::mean || a == AggregatorKind::weighted_mean ||
                                                a == AggregatorKind::median || a == AggregatorKind::trimmed_mean);
  weighted_buffers_ = chain_spec_.aggregator == AggregatorKind::weighted_mean;
}

bool Simulation::has_global() const { return strategy_->has_global(); }
bool Simulation::has_personal() const { return strategy_->has_personal(finished_); }
ModelKind Simulation::headline() const { return strategy_->headline(finished_); }

std::string Simulation::describe() const {
  std::ostringstream o;
  const FlConfig& c = config_;
  o << "strategy " << c.strategy;
  o << strategy_->parameters();
  if (strategy_->aggregates()) o << " | aggregation " << chain_.describe();
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
  if (sampling_ == Sampling::all) {
    for (int64_t k = 0; k < N; ++k) out.push_back(k);
    return out;
  }
  const int64_t m = std::min<int64_t>(config_.clients_per_round, N);
  Generator g = base_.derive({kSampling, (uint64_t)round});
  if (sampling_ == Sampling::uniform) {
    std::vector<int64_t> perm = randperm(N, g);
    out.assign(perm.begin(), perm.begin() + m);
  } else {  // proportional to train size, without replacement (numpy choice(p=, replace=False))
    std::vector<double> w(N);
    for (int64_t k = 0; k < N; ++k) w[k] = (double)train_sizes_[k];
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

std::pair<Tensor, Tensor> Simulation::load_batch(int64_t client, const std::vector<int64_t>& idx, const Generator& gen,
                                                 bool personal) {
  const Tensor index = index_tensor(idx, device_);  // one small upload per batch
  const datasets::Dataset& train = clients_[client].train;
  Tensor x = index_select(train.images, 0, index);
  const Tensor y = index_select(train.labels, 0, index);
  if (const auto& smoothing = augment_[personal ? 1 : 0]) {  // 004 §2.4: one draw per image
    Generator g = gen.derive({0});
    x = certify::perturb(x, *smoothing, g);
  }
  return {x, y};
}

Tensor Simulation::step_gradients(nn::Module& model, int64_t client, const std::vector<int64_t>& idx,
                                  const Generator& gen, bool personal) {
  auto [x, y] = load_batch(client, idx, gen, personal);
  if (config_.adv_train) {  // Madry: train on PGD examples of the batch (crafted in eval mode)
    Generator g = gen.derive({1});
    x = attacks::pgd(model, x, y, adversarial_, g);
  }
  return nn::batch_gradients(model, x, y, loss_);
}

// ---------------------------------------------------------------- local training

void Simulation::load_into(nn::Module& model, const Tensor& params, const Tensor& buffers) {
  if (params.defined()) model.flat_parameters().copy_(params);
  if (buffers.defined() && buffers.numel() > 0) model.flat_buffers().copy_(buffers);
}

std::unique_ptr<nn::Optimizer> Simulation::make_optimizer(nn::Module& model, double lr) const {
  if (config_.optimizer == "adam")
    return std::make_unique<nn::Adam>(model.parameters(), nn::AdamOptions(lr).weight_decay(config_.weight_decay));
  return std::make_unique<nn::SGD>(
      model.parameters(), nn::SGDOptions(lr).momentum(config_.momentum).weight_decay(config_.weight_decay));
}

Simulation::ClientState& Simulation::set_state(int64_t client, int set) {
  return set == 0 ? state_.at(client) : extra_sets_.at(set - 1).at(client);
}

const Simulation::ClientState& Simulation::set_state(int64_t client, int set) const {
  return set == 0 ? state_.at(client) : extra_sets_.at(set - 1).at(client);
}

Simulation::ClientState& Simulation::personal_state(int64_t client, int set) {
  ClientState& s = set_state(client, set);
  if (s.personal_params.defined()) return s;
  s.personal_params = init_params_.clone();  // v_k starts at w^0 for every client (001 §2.4)
  s.personal_buffers = init_buffers_.clone();
  return s;
}

Tensor Simulation::personal_params(int64_t client, int set) const { return set_state(client, set).personal_params; }

void Simulation::load_personal_everywhere(nn::Module& model, int64_t client, int set) {
  if (owns(client)) {
    const ClientState& s = personal_state(client, set);
    load_into(model, s.personal_params, s.personal_buffers);
  }
  if (comm_->size() == 1) return;
  for (Tensor t : {model.flat_parameters(), model.flat_buffers()}) {
    if (t.numel() == 0) continue;
    Tensor host = t.to(Device::cpu());  // the arena itself on the CPU
    comm_->broadcast(host.raw_data(), host.nbytes(), blocks_.owner(client));
    if (!device_.is_cpu()) t.copy_(host);
  }
}

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
  auto gradients = [&](int64_t s) {
    return step_gradients(model, client, batches.steps[s], batches.perturb.derive({(uint64_t)s}), personal);
  };
  std::function<void()> edit;
  if (grad_scale != 1.0 || pull != 0.0) edit = [&] {
    Tensor g = model.flat_gradients();
    if (grad_scale != 1.0) mul_(g, (float)grad_scale);
    if (pull != 0.0) {  // + pull w - pull anchor: two in-place passes, no temporary
      add_(g, model.flat_parameters(), (float)pull);
      add_(g, anchor, (float)-pull);
    }
  };
  return nn::train_steps(opt, (int64_t)batches.steps.size(), gradients, edit).item() / batches.steps.size();
}

Simulation::LocalResult Simulation::train_global_side(int64_t client, const Batches& batches, double mu) {
  LocalResult r;
  nn::Module& model = *task_workers().global;
  load_into(model, global_params_, client_buffers(client));
  auto opt = make_optimizer(model, config_.lr);
  ClientState& s = state_[client];
  if (config_.persist_optimizer_state && !s.optimizer.empty()) opt->load_state_dict(s.optimizer);
  // FedProx: + mu (w - w^t), the gradient of mu/2 ||w - w^t||^2.
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
                                  double grad_scale, double lr, int set) {
  ClientState& s = personal_state(client, set);
  nn::Module& model = *task_workers().personal;
  load_into(model, s.personal_params, s.personal_buffers);
  auto opt = make_optimizer(model, lr);
  const double loss = run_steps(model, *opt, client, batches, anchor, pull, grad_scale, true);
  s.personal_params.copy_(model.flat_parameters());
  if (s.personal_buffers.numel() > 0) s.personal_buffers.copy_(model.flat_buffers());
  return loss;
}

double Simulation::global_train_loss(int64_t client) {
  const datasets::Dataset& train = clients_[client].train;
  return nn::mean_loss(model_for(ModelKind::global, client), train.images, train.labels, config_.eval_batch_size,
                       loss_);
}

// ---------------------------------------------------------------- aggregation

Tensor Simulation::aggregate(int64_t round, uint64_t key, const std::vector<int64_t>& selected,
                             std::vector<LocalResult>& results, const std::vector<double>& row_weights) {
  const int64_t K = (int64_t)selected.size(), P = global_params_.numel();
  NF_CHECK(row_weights.empty() || (int64_t)row_weights.size() == K,
           "fl::Simulation::aggregate: " << row_weights.size() << " row weights for " << K << " clients");
  std::vector<double> weights;
  for (int64_t k = 0; k < K; ++k)
    weights.push_back(row_weights.empty() ? (double)train_sizes_[selected[k]] : row_weights[k]);
  std::vector<int64_t> corrupted;
  for (int64_t k = 0; k < K; ++k)
    if (is_byzantine_[selected[k]]) corrupted.push_back(k);
  const bool attacked = attack_.kind != AttackKind::none && !corrupted.empty();
  const bool strategy_weights = !row_weights.empty();
  if (comm_->size() > 1 && !attacked && (coordinatewise_ || strategy_weights))
    return aggregate_by_coordinate(round, key, selected, results, std::move(weights), strategy_weights);
  share_results(selected, results, true);
  Updates u;
  u.rows = empty({K, P}, device_);
  for (int64_t k = 0; k < K; ++k) u.rows.slice(k, k + 1).reshape({P}).copy_(results[k].update);
  u.weights = std::move(weights);
  if (attacked) {
    Generator g = base_.derive({kAttack, (uint64_t)round, key});
    apply_update_attack(attack_, u, corrupted, g);
  }
  // Screen for NaN/Inf: one sum per row (a finite sum means every entry is finite).
  std::vector<uint8_t> row_finite;
  for (float v : sum(u.rows, 1).to_vector<float>()) row_finite.push_back(std::isfinite(v));
  const std::vector<int64_t> keep = screen(round, selected, results, row_finite);
  if (keep.empty()) return Tensor();
  return reduce(round, key, std::move(u), keep, strategy_weights);
}

// Over MPI, a coordinate-wise rule on shards: rank s gets coordinates [P s / R, P (s + 1) / R)
// of every row (one all-to-all: each rank sends K_r rows x P / R floats to each other rank,
// K P (R - 1) / R^2 floats each way per rank), reduces its shard and all-gathers the P / R
// results. Each coordinate sees the same rows in the same order as in one process, so the
// bytes are those of one process.
Tensor Simulation::aggregate_by_coordinate(int64_t round, uint64_t key, const std::vector<int64_t>& selected,
                                           std::vector<LocalResult>& results, std::vector<double> weights,
                                           bool strategy_weights) {
  const int64_t K = (int64_t)selected.size(), P = global_params_.numel();
  const int R = comm_->size();
  share_results(selected, results, false);
  std::vector<uint8_t> row_finite(K, 1);
  std::vector<std::vector<char>> send(R);
  auto at = [&](int s) { return P * s / R; };  // shard s = coordinates [at(s), at(s + 1))
  for (int64_t k = 0; k < K; ++k) {
    if (!owns(selected[k])) continue;
    const Tensor row = results[k].update.to(Device::cpu());
    row_finite[k] = std::isfinite(sum(row).item());
    const char* bytes = reinterpret_cast<const char*>(row.data<float>());
    for (int s = 0; s < R; ++s) send[s].insert(send[s].end(), bytes + at(s) * 4, bytes + at(s + 1) * 4);
  }
  share(selected, row_finite);
  const std::vector<char> received = comm_->alltoall(send);
  const int64_t width = at(comm_->rank() + 1) - at(comm_->rank());
  // The shard's rows in the order of `selected`: rank r sent its clients' rows in that order.
  Updates u;
  u.rows = empty({K, width});
  const char* p = received.data();
  for (int r = 0; r < R; ++r)
    for (int64_t k = 0; k < K; ++k)
      if (blocks_.owner(selected[k]) == r) {
        std::memcpy(u.rows.data<float>() + k * width, p, width * 4);
        p += width * 4;
      }
  u.weights = std::move(weights);
  const std::vector<int64_t> keep = screen(round, selected, results, row_finite);
  if (keep.empty()) return Tensor();
  const Tensor shard = reduce(round, key, std::move(u), keep, strategy_weights).to(Device::cpu());
  const std::vector<char> whole = comm_->allgather(shard.data<float>(), (size_t)width * 4);
  Tensor out = empty({P});
  std::memcpy(out.data<float>(), whole.data(), (size_t)P * 4);
  return out.to(device_);
}

// The rows to keep: those with a finite row and a finite training loss. A rejected row stops
// the run unless the aggregator is robust (then it is logged and dropped).
std::vector<int64_t> Simulation::screen(int64_t round, const std::vector<int64_t>& selected,
                                        std::vector<LocalResult>& results, const std::vector<uint8_t>& row_finite) {
  std::vector<int64_t> keep;
  for (int64_t k = 0; k < (int64_t)selected.size(); ++k) {
    const int64_t id = selected[k];
    if (row_finite[k] && results[k].finite) {
      keep.push_back(k);
      continue;
    }
    const std::string what = results[k].finite ? "update" : "training loss";
    NF_CHECK(robust_,
             "round " << round + 1 << ": client " << id << (is_byzantine_[id] ? " (byzantine)" : "") << " sent a non-finite "
                      << what << " (NaN/Inf); aggregator '" << config_.aggregator
                      << "' cannot reject it, so the run stops here (results of earlier rounds are kept). "
                         "A robust aggregator (median, trimmed_mean, krum, ...) rejects such clients and goes on.");
    if (config_.progress && comm_->rank() == 0)
      std::fprintf(stderr, "\nround %lld: rejected a non-finite %s from client %lld%s\n", (long long)round + 1,
                   what.c_str(), (long long)id, is_byzantine_[id] ? " (byzantine)" : "");
    log_.rejected.push_back(id);
    results[k].finite = false;
  }
  return keep;
}

// The kept rows (indices into u's K rows) through the chain, or the strategy's weighted mean.
Tensor Simulation::reduce(int64_t round, uint64_t key, Updates u, const std::vector<int64_t>& keep,
                          bool strategy_weights) {
  const int64_t K = u.count();
  if ((int64_t)keep.size() < K) {
    Updates kept;
    kept.rows = index_select(u.rows, 0, index_tensor(keep, u.rows.device()));
    for (int64_t k : keep) kept.weights.push_back(u.weights[k]);
    u = std::move(kept);
  }
  if (strategy_weights) return WeightedMean().aggregate(u);  // the strategy's weights are the rule
  Generator g = base_.derive({kPreAggregate, (uint64_t)round, key});
  if (u.count() == K) return chain_(u, g);
  // The rejected clients are taken as identified faults: the rule runs on the rows left with
  // f lowered by their number (so e.g. Krum's n > 2f + 2 still holds).
  const int64_t f = std::max<int64_t>(0, chain_spec_.f - (K - u.count()));
  return make_chain(chain_spec_, u.count(), f)(u, g);
}

// Each result's loss, finite flag and buffers (and update, when asked) from the rank that
// trained it, into every rank's `results` (a no-op in one process).
void Simulation::share_results(const std::vector<int64_t>& selected, std::vector<LocalResult>& results,
                               bool updates) const {
  if (comm_->size() == 1) return;
  std::vector<char> mine;
  auto put = [&](const Tensor& t) {
    const Tensor h = t.defined() ? t.to(Device::cpu()) : Tensor();
    append_bytes(mine, (int64_t)(h.defined() ? h.numel() : -1));
    if (h.defined()) mine.insert(mine.end(), (const char*)h.raw_data(), (const char*)h.raw_data() + h.nbytes());
  };
  for (size_t k = 0; k < selected.size(); ++k) {
    if (!owns(selected[k])) continue;
    append_bytes(mine, results[k].loss);
    append_bytes(mine, (uint8_t)results[k].finite);
    put(results[k].buffers);
    if (updates) put(results[k].update);
  }
  const std::vector<char> all = comm_->allgather(mine.data(), mine.size());
  const char* p = all.data();
  // Reads one tensor's entry into t, or steps over it when t is null (this rank's own).
  auto take = [&](Tensor* t) {
    const int64_t n = read_bytes<int64_t>(p);
    if (n < 0) return;
    if (t) {
      Tensor h = empty({n});
      std::memcpy(h.raw_data(), p, h.nbytes());
      *t = h.to(device_);
    }
    p += n * sizeof(float);
  };
  for (int r = 0; r < comm_->size(); ++r)
    for (size_t k = 0; k < selected.size(); ++k) {
      if (blocks_.owner(selected[k]) != r) continue;
      const bool theirs = r != comm_->rank();
      LocalResult& out = results[k];
      const double loss = read_bytes<double>(p);
      const bool finite = read_bytes<uint8_t>(p) != 0;
      if (theirs) out.loss = loss, out.finite = finite;
      take(theirs ? &out.buffers : nullptr);
      if (updates) take(theirs ? &out.update : nullptr);
    }
}

// Server model BN statistics: the (train-size weighted for weighted_mean, else plain) mean of
// the accepted clients' buffers, or kept per client when average_bn_buffers is false.
void Simulation::update_buffers(const std::vector<int64_t>& selected, const std::vector<LocalResult>& results) {
  if (global_buffers_.numel() == 0) return;
  if (!config_.average_bn_buffers) {
    for (size_t k = 0; k < selected.size(); ++k)
      if (results[k].finite && owns(selected[k])) state_[selected[k]].local_buffers = results[k].buffers;
    return;
  }
  double total = 0;
  Tensor acc = zeros_like(global_buffers_);
  for (size_t k = 0; k < selected.size(); ++k) {
    if (!results[k].finite) continue;
    const double w = weighted_buffers_ ? (double)train_sizes_[selected[k]] : 1.0;
    add_(acc, results[k].buffers, (float)w);
    total += w;
  }
  if (total > 0) global_buffers_ = mul(acc, (float)(1.0 / total));
}

void Simulation::apply_aggregate(const Tensor& aggregate) {
  if (aggregate.defined()) add_(global_params_, aggregate, (float)config_.server_lr);
}

double Simulation::mean_benign_loss(const std::vector<int64_t>& selected, std::vector<double> losses) const {
  share(selected, losses);
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
  strategy_->run_round(*this, round);
}

// After the last round: the strategy's closing work (finetune's fine-tuning), once.
void Simulation::finish() {
  if (!finished_) strategy_->finish(*this);
  finished_ = true;
}

// ---------------------------------------------------------------- evaluation and state

nn::Module& Simulation::model_for(ModelKind kind, int64_t client, int set) {
  Workers& w = task_workers();
  if (kind == ModelKind::global) {
    load_into(*w.global, global_params_, client_buffers(client));
    return *w.global;
  }
  const ClientState& s = set_state(client, set);
  if (s.personal_params.defined()) load_into(*w.personal, s.personal_params, s.personal_buffers);
  else load_into(*w.personal, init_params_, init_buffers_);  // never selected: v_k = w^0
  return *w.personal;
}

std::vector<ClientScore> Simulation::evaluate(ModelKind kind, int set, datasets::Dataset ClientData::*on) {
  std::vector<int64_t> benign;
  for (int64_t k = 0; k < num_clients(); ++k)
    if (!is_byzantine_[k]) benign.push_back(k);
  std::vector<ClientScore> scores(benign.size());
  for_each_client(benign, [&](int64_t i) {
    const int64_t k = benign[i];
    static_cast<nn::Evaluation&>(scores[i]) =
        score(model_for(kind, k, set), clients_[k].*on, config_.eval_batch_size, device_);
    scores[i].client = k;
  });
  share(benign, scores);
  return scores;
}

}  // namespace nanofed::fl
