// simulation.h — one federated experiment in memory: clients, the server, a strategy.
//
//   fl::Simulation sim(config, clients, make_model);   // config: a parsed FlConfig
//   for (int64_t t = 0; t < config.rounds; ++t) sim.run_round(t);
//   fl::Summary s = fl::summarize(sim.evaluate(fl::ModelKind::personal));
//
// State (everything a resumed run needs, see state()/load_state()):
//   global_params [P], global_buffers [B]   the server model (flat arenas, nn::Module order)
//   per client: personal params/buffers     ditto, local, mixture, ipgd (and finetune at the end)
//               local buffers               when average_bn_buffers = false (FedBN-style stats)
//               optimizer state             when persist_optimizer_state
// Nothing else persists between rounds: every random draw comes from
// Generator(seed).derive({purpose, round, client, ...}), so results do not depend on the order
// in which clients are simulated, and a run resumed at round r continues exactly.
//
// Strategies (fedavg, fedprox, local, finetune, ditto, mixture, ipgd, term) are fl::Strategy
// subclasses, one file each under fl/strategies/ (the update rule of each, with its source, is
// written there); config.strategy picks one from the registry in fl/strategy.h. A strategy
// works through the building blocks below, so this class never asks which strategy runs.
//
// Over MPI (fl/comm.h, docs/scaling.md) each rank simulates a contiguous block of clients and
// holds only their data and state: for_each_client runs the calling rank's clients, and the
// blocks that meet at the server (aggregate, mean_benign_loss, evaluate, share, state) exchange
// what the server step needs, so every rank computes the same server model as one process
// would, bit for bit.
#pragma once
#include <cstdint>
#include <functional>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "attacks/pgd.h"
#include "certify/smoothing.h"
#include "datasets/dataset.h"
#include "engine/random.h"
#include "fl/byzantine.h"
#include "fl/chain.h"
#include "fl/comm.h"
#include "fl/config.h"
#include "fl/metrics.h"
#include "fl/model_kind.h"
#include "fl/strategy.h"
#include "fl/updates.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace nanofed::fl {

struct ClientData {
  datasets::Dataset train, test;  // test labels are never poisoned
  datasets::Dataset val{};        // validation_fraction > 0: held out of train, never poisoned
  datasets::Dataset other_env{};  // colored environments: the test images in the other environment
};

// Keys of Generator(seed).derive({purpose, ...}).
enum Purpose : uint64_t {
  kInit = 1, kSampling, kBatches, kAttack, kPoison, kPreAggregate, kFinetune, kIpgd,
  kPerturb, kEvalAttack, kCertify
};

// Builds a fresh model; the simulation calls it for its working models and copies the first
// one's initial weights into the global (and personal) models. It must be deterministic.
using ModelFactory = std::function<std::shared_ptr<nn::Module>()>;
// The training loss of a batch (nn/training.h): default cross_entropy(output, labels), the mean
// over the batch.
using nn::LossFn;

// Per-round log of what the server saw.
struct RoundLog {
  int64_t round = -1;
  std::vector<int64_t> selected;        // client ids, ascending
  std::vector<int64_t> rejected;        // non-finite updates dropped by a robust aggregator
  double train_loss = 0;                // mean local training loss over benign selected clients
};

class Simulation {
 public:
  // config must come from parse_config. clients[k] is client k. byzantine: the corrupted ids
  // (their train labels are poisoned here when the attack says so).
  Simulation(const FlConfig& config, std::vector<ClientData> clients, std::vector<int64_t> byzantine,
             ModelFactory make_model, LossFn loss = {});

  void run_round(int64_t round);
  // The strategy's work after the last round, once (finetune's fine-tuning; run() calls it).
  void finish();

  // Which models the strategy has to show (Strategy::has_global etc.): global for
  // fedavg/fedprox/finetune/ditto/mixture/term, personal for local/ditto/mixture/ipgd and finetune
  // once finished.
  bool has_global() const;
  bool has_personal() const;
  ModelKind headline() const;  // the model the strategy is judged by

  // Scores of every benign client on its own test set.
  // `set` picks one of the strategy's personal model sets (personal_sets(); 0 = "personal").
  // `on` picks the data: the clients' test sets, or their validation sets (validation_fraction).
  std::vector<ClientScore> evaluate(ModelKind kind, int set = 0,
                                    datasets::Dataset ClientData::*on = &ClientData::test);
  // Client k's model of that kind, loaded into a working module (valid until the next call
  // that loads the same kind): the global model with the BN statistics k uses, or k's personal
  // model of that set (w^0 if k was never selected).
  nn::Module& model_for(ModelKind kind, int64_t client, int set = 0);
  // The names of the strategy's personal model sets (rounds.csv's model column), set 0 first.
  const std::vector<std::string>& personal_sets() const { return personal_sets_; }

  // Clients selected in `round` (a pure function of seed and round).
  std::vector<int64_t> sample(int64_t round) const;

  const RoundLog& last_round() const { return log_; }
  const std::vector<int64_t>& byzantine() const { return byzantine_ids_; }
  bool is_byzantine(int64_t client) const { return is_byzantine_[client]; }
  int64_t num_clients() const { return (int64_t)clients_.size(); }
  // Client k's data: empty on a rank that does not own k (owns()); train_size(k) is known everywhere.
  const ClientData& client(int64_t k) const { return clients_[k]; }
  int64_t train_size(int64_t k) const { return train_sizes_[k]; }
  // Whether this process simulates client k (always, without MPI).
  bool owns(int64_t client) const { return blocks_.owner(client) == comm_->rank(); }
  Comm& comm() const { return *comm_; }
  const Tensor& global_params() const { return global_params_; }
  Tensor personal_params(int64_t client, int set = 0) const;  // undefined if the client has none
  std::string describe() const;                  // strategy, chain, attack in one line

  // All state as named tensors ("global.params", "client.3.personal.params", ...) and back.
  // Over MPI state() is collective and only rank 0 gets the clients of every rank (the others
  // get theirs); load_state keeps the entries of the calling rank's clients.
  nn::NamedTensors state() const;
  void load_state(const nn::NamedTensors& state);

  // ---- building blocks for strategies (fl/strategy.h)
  struct ClientState {
    Tensor personal_params, personal_buffers;  // personalized strategies
    Tensor local_buffers;                      // BN stats kept locally (average_bn_buffers = false)
    nn::NamedTensors optimizer;                // persist_optimizer_state
  };
  struct LocalResult {
    Tensor update;          // [P] w_k - w^t (or theta_i - theta_bar)
    Tensor buffers;         // [B] after training (may be undefined)
    double loss = 0;        // mean training loss over the steps
    bool finite = true;
  };

  struct Batches {
    std::vector<std::vector<int64_t>> steps;  // index lists into a client's train set
    Generator perturb;                        // step s perturbs its batch from perturb.derive({s})
  };
  // Minibatches of one client for one round.
  Batches plan_batches(int64_t client, int64_t round, uint64_t purpose, int64_t steps, int64_t epochs) const;
  // Forward + backward of one batch on `model` (gradients zeroed first); returns the loss
  // (detached, on the device). The batch is first perturbed as configured for global-side or
  // personal training (smoothing augmentation, then PGD adversarial examples), drawing from gen.
  Tensor step_gradients(nn::Module& model, int64_t client, const std::vector<int64_t>& idx, const Generator& gen,
                        bool personal);
  // Client k's batch `idx` as its model sees it: the images (smoothing-augmented when configured,
  // drawing from gen.derive({0})) and labels. step_gradients then adds the PGD examples.
  std::pair<Tensor, Tensor> load_batch(int64_t client, const std::vector<int64_t>& idx, const Generator& gen,
                                       bool personal);
  // Copies params (when defined) and buffers (when non-empty) into the model's arenas.
  void load_into(nn::Module& model, const Tensor& params, const Tensor& buffers);
  // Client k's state with its personal model of that set (v_k = w^0 when it had none yet).
  // Sets above 0 hold only personal_params / personal_buffers.
  ClientState& personal_state(int64_t client, int set = 0);
  Tensor client_buffers(int64_t client) const;  // the BN stats the global model uses for `client`
  nn::Module& worker() { return *task_workers().global; }  // the calling task's global-side module
  // Runs work(i) for each i with clients[i] owned by this rank (every i without MPI). On the CPU
  // with more than one thread, the
  // clients train at once on the engine's pool, each task on working modules of its own (the
  // "cohort" of a round on the CPU); the numbers equal one client after another because a
  // client's ops never depend on the thread count and every client draws from its own keys.
  // work(i) may call the client building blocks below for its own client only, and must write
  // its results to slot i of vectors sized beforehand. On the GPU (one stream) it runs in order.
  // Slots of other ranks' clients stay as they were: aggregate / share fill them.
  void for_each_client(const std::vector<int64_t>& clients, const std::function<void(int64_t i)>& work);
  // values[i] from the rank that owns clients[i], on every rank (a no-op in one process).
  template <class T>
  void share(const std::vector<int64_t>& clients, std::vector<T>& values) const;
  // Client k's personal model of that set, loaded into `model` on every rank (its owner sends it).
  void load_personal_everywhere(nn::Module& model, int64_t client, int set = 0);
  // Clients for_each_client has handed to the pool so far (0 when it always ran in order).
  int64_t pooled_client_tasks() const { return pooled_tasks_; }
  const Generator& generator() const { return base_; }  // Generator(seed): derive({Purpose, ...})
  const Tensor& global_buffers() const { return global_buffers_; }
  RoundLog& round_log() { return log_; }

  // Local SGD of the global model w^t on the client's batches, pulled toward w^t by mu
  // (FedProx); returns w_k - w^t.
  LocalResult train_global_side(int64_t client, const Batches& batches, double mu);
  // The same for several clients (batches[i] for clients[i]), results[i] for each owned client:
  // in lockstep cohorts when the config allows (`cohort`, fl/cohort.cpp), else one client per
  // task (for_each_client). Either way the numbers of one client after another.
  std::vector<LocalResult> train_global_sides(const std::vector<int64_t>& clients, const std::vector<Batches>& batches,
                                              double mu);
  // Steps of client k's personal model v on the batches: v <- v - lr (grad_scale grad + pull (v - anchor)).
  double train_personal(int64_t client, const Batches& batches, const Tensor& anchor, double pull,
                        double grad_scale, double lr, int set = 0);
  // train_personal for several clients (one anchor for all), lockstep when possible; returns the
  // losses (0 for clients of other ranks).
  std::vector<double> train_personals(const std::vector<int64_t>& clients, const std::vector<Batches>& batches,
                                      const Tensor& anchor, double pull, double grad_scale, double lr, int set = 0);
  // g_j for clients[j] at the model loaded in `model` (IPGD's per-client gradients at theta_i):
  // the gradients of client j's batch idx[j] (perturbed from gens[j]) as step_gradients leaves
  // them, for each owned client; clients with equal batch sizes in one grouped pass when the
  // cohort is on (nn::group_gradients: the same bits). losses[j] gets client loss_of's loss
  // (a client computed alone is read from the device only when it is loss_of; 0 otherwise).
  std::vector<Tensor> gradients_at(nn::Module& model, const std::vector<int64_t>& clients,
                                   const std::vector<std::vector<int64_t>>& idx, const std::vector<Generator>& gens,
                                   int64_t loss_of, std::vector<double>& losses);
  // Why the clients of a round cannot train in lockstep ("" when they can): the config's
  // `cohort`, a layer without a grouped form, adversarial training, per-client optimizer state.
  std::string cohort_blocker(bool global_side);
  // Lockstep cohorts run so far and the clients they held (tests, the run's log).
  int64_t cohorts_run() const { return cohorts_run_; }
  int64_t cohort_clients() const { return cohort_clients_; }
  // The mean training loss (the simulation's loss) of the round-start global model w^t on
  // client k's full train set (its labels as the client holds them: poisoned for a Byzantine
  // client that poisons), in eval mode, batches of eval_batch_size. Loads the calling task's
  // global-side module, so call it before train_global_side. TERM's L_i.
  double global_train_loss(int64_t client);
  // Attack (corrupted rows), NaN/Inf screening, then the chain; returns the aggregate [P]
  // (undefined when every row was rejected). `key` separates several aggregations in a round.
  // Over MPI the rows come from their owners: a coordinate-wise rule with no attack on the round
  // (mean, weighted_mean, median, trimmed_mean, row_weights) runs on coordinate shards, one per
  // rank, else every rank gathers all rows and runs the chain; results[k]'s loss, finite flag
  // and buffers reach every rank either way (update_buffers reads them).
  // row_weights (one per selected client), when given, replace the train sizes as the rows'
  // weights and the rows are combined by their weighted mean in place of the configured chain:
  // a strategy that weights the clients itself (TERM) is the aggregator, so its registry entry
  // sets StrategyInfo::weights_rows and the config allows it only mean / weighted_mean and no
  // pre-aggregators.
  Tensor aggregate(int64_t round, uint64_t key, const std::vector<int64_t>& selected,
                   std::vector<LocalResult>& results, const std::vector<double>& row_weights = {});
  void update_buffers(const std::vector<int64_t>& selected, const std::vector<LocalResult>& results);
  void apply_aggregate(const Tensor& aggregate);
  double mean_benign_loss(const std::vector<int64_t>& selected, std::vector<double> losses) const;

 private:
  double run_steps(nn::Module& model, nn::Optimizer& opt, int64_t client, const Batches& batches,
                   const Tensor& anchor, double pull, double grad_scale, bool personal);
  // fl/cohort.cpp: the owned clients among clients[] in lockstep cohorts (indices into clients)
  // and the rest one by one; run_cohort steps G models from their start rows [G, P] together.
  void for_each_cohort(const std::vector<int64_t>& clients, const std::vector<Batches>& batches, bool global_side,
                       const std::function<void(const std::vector<size_t>&)>& cohort,
                       const std::function<void(int64_t i)>& alone);
  Tensor run_cohort(nn::Module& model, const std::vector<int64_t>& clients, const std::vector<const Batches*>& batches,
                    const Tensor& start_rows, const Tensor& anchor, double pull, double grad_scale, double lr,
                    bool personal, std::vector<double>& losses);
  std::atomic<int64_t> cohorts_run_{0}, cohort_clients_{0};
  std::unique_ptr<nn::Optimizer> make_optimizer(nn::Module& model, double lr) const;
  // aggregate's parts: results' loss/finite/buffers (and updates) from their owners; the rows'
  // NaN/Inf screen; the chain on the kept rows; the coordinate-sharded path.
  void share_results(const std::vector<int64_t>& selected, std::vector<LocalResult>& results, bool updates) const;
  std::vector<int64_t> screen(int64_t round, const std::vector<int64_t>& selected, std::vector<LocalResult>& results,
                              const std::vector<uint8_t>& row_finite);
  Tensor reduce(int64_t round, uint64_t key, Updates u, const std::vector<int64_t>& keep, bool strategy_weights);
  Tensor aggregate_by_coordinate(int64_t round, uint64_t key, const std::vector<int64_t>& selected,
                                 std::vector<LocalResult>& results, std::vector<double> weights, bool strategy_weights);
  FlConfig config_;
  Comm* comm_;
  ClientBlocks blocks_;
  std::vector<int64_t> train_sizes_;  // every client's, on every rank
  std::vector<ClientData> clients_;
  std::vector<int64_t> byzantine_ids_;
  std::vector<bool> is_byzantine_;
  std::vector<ClientState> state_;
  std::vector<std::vector<ClientState>> extra_sets_;  // personal sets 1.. (extra_sets_[set - 1][client])
  std::vector<std::string> personal_sets_;
  ClientState& set_state(int64_t client, int set);
  const ClientState& set_state(int64_t client, int set) const;
  ModelFactory make_model_;
  LossFn loss_;
  Device device_;
  Generator base_;
  // Working modules, one pair per concurrent client task (pair 0 serves the caller).
  struct Workers {
    std::shared_ptr<nn::Module> global, personal;
  };
  Workers make_workers() const;
  Workers& task_workers();
  std::vector<Workers> workers_;
  std::vector<size_t> free_slots_;  // pairs not in use by a running task
  std::mutex slots_mutex_;
  std::atomic<int64_t> pooled_tasks_{0};
  Tensor global_params_, global_buffers_;
  Tensor init_params_, init_buffers_;  // w^0: every personal model's start
  ChainSpec chain_spec_;  // the chain's names parsed once (a round with rejected rows rebuilds it)
  AggregatorChain chain_;
  AttackConfig attack_;
  std::optional<certify::Smoothing> augment_[2];  // [personal]: training-time smoothing augmentation
  attacks::AttackOptions adversarial_;            // when config.adv_train
  std::unique_ptr<Strategy> strategy_;
  // Names read once here, so the round loop compares no strings.
  enum class Sampling { all, uniform, proportional } sampling_;
  bool robust_;            // the aggregator can reject non-finite rows
  bool coordinatewise_;    // no pre-aggregator, and a rule of each coordinate alone (shardable)
  bool weighted_buffers_;  // BN statistics averaged by train size (weighted_mean)
  bool finished_ = false;
  RoundLog log_;
};

template <class T>
void Simulation::share(const std::vector<int64_t>& clients, std::vector<T>& values) const {
  static_assert(std::is_trivially_copyable_v<T>, "Simulation::share sends plain values");
  if (comm_->size() == 1) return;
  std::vector<char> mine;
  for (size_t i = 0; i < clients.size(); ++i)
    if (owns(clients[i])) append_bytes(mine, values[i]);
  const std::vector<char> all = comm_->allgather(mine.data(), mine.size());
  const char* p = all.data();  // rank r's entries, in the order of `clients`, then rank r + 1's
  for (int r = 0; r < comm_->size(); ++r)
    for (size_t i = 0; i < clients.size(); ++i)
      if (blocks_.owner(clients[i]) == r) values[i] = read_bytes<T>(p);
}

}  // namespace nanofed::fl
