// config.h — the experiment config of `nanofed fl CONFIG.json [key=value ...]` / fl::run.
//
// A config is one flat JSON object; every key is a field of FlConfig below (same name), with
// the default written beside it. Names follow what users already type (Flower, FedML, LEAF):
// rounds (alias num_rounds), num_clients, clients_per_round, local_epochs xor local_steps,
// batch_size, lr, momentum, weight_decay, mu, lambda, alpha, min_partition_size, f, seed.
//
// Grid: a list given for a scalar key ("lambda": [0.1, 1, 2]) makes one run per value; several
// lists make their Cartesian product (in key order of the table in config_keys.cpp, last key
// fastest). List-typed keys (pre_aggregators) form a grid only when given a list of lists.
// "seeds": [0, 1, 2] repeats every grid point per seed (it sets `seed`).
// Overrides: "key=value" strings applied after the file; value is parsed as JSON when it is
// valid JSON (numbers, true, [1,2], "quoted"), else taken as a string (strategy=ditto).
//
// Validation happens before any training and throws nanofed::Error with ONE line naming the
// key, the value and what is accepted, e.g.
//   config: unknown key 'lamda' (did you mean 'lambda'?)
//   config: strategy = 'dito' is not one of fedavg, fedprox, local, finetune, ditto, mixture, ipgd, term
//   config: lambda = 1.5 must be in [0, 1] for strategy 'mixture'
//   config: f = 5 needs f < clients_per_round / 2 = 5 for aggregator 'trimmed_mean'
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nanofed::fl {

using json = nlohmann::ordered_json;

struct FlConfig {
  // ---- run identity and output ----
  std::string name = "fl";       // results in <out>/<name>[/<grid point>]/seed_<seed>
  std::string out = "runs";
  uint64_t seed = 0;             // training seed: init, sampling, batches, attacks
  std::string device = "cpu";    // cpu | cuda
  int64_t threads = 0;           // CPU threads; 0 = the engine's default (engine/threads.h).
                                 // Results do not depend on it; a resumed run may change it.

  // ---- data ----
  std::string dataset = "synthetic";  // fmnist | mnist | synthetic | cmnist | cfmnist (= mnist / fmnist, colored)
  std::string data_dir;               // "" = the catalog default (data/fashion-mnist, ...)
  int64_t synthetic_train = 1200;     // synthetic: samples (train pool, test pool)
  int64_t synthetic_test = 400;
  int64_t synthetic_size = 8;         // synthetic: square image side, 1 channel
  int64_t synthetic_classes = 4;
  bool normalize = true;              // per-pixel z-score with train statistics (Ditto: sigma + 0.001)
  // The spurious-feature environments (Spurious §6.1; datasets::colorize): every client trains in
  // one of two color environments (half of the clients each, drawn from partition_seed), its
  // images colored by label with that environment's map, and is tested on its test images in
  // both (clients.csv set = other_env for the other). Implied by cmnist / cfmnist.
  bool colored = false;

  // ---- partition ----
  std::string partition = "iid";  // iid | dirichlet | shards | ditto
  int64_t num_clients = 10;
  double alpha = 0.5;             // dirichlet concentration (> 0)
  int64_t min_partition_size = 10;  // dirichlet: minimum train+test samples per client
  int64_t classes_per_client = 2;   // shards
  double test_fraction = 0.2;       // iid/dirichlet/shards: per-client test split, in (0, 1)
  double validation_fraction = 0.0;  // of each client's train list held out as validation, in [0, 1)
                                     // (Ditto's dynamic lambda: 0.1); never poisoned, never trained on
  uint64_t partition_seed = 0;      // data split seed (separate from `seed`)
  double ditto_scale = 1.0;         // ditto: total sizes scaled by this (1 = 60k train)

  // ---- model ----
  std::string model = "cnn";   // nn::make_model names: logreg, mlp, cnn, mnist_cnn, cnn28, ...
  std::vector<int64_t> hidden = {200};  // mlp hidden widths
  std::vector<int64_t> channels;        // cnn, mnist_cnn, cnn28, cnn64: the two conv widths ([] = the model's)
  int64_t fc_hidden = 0;                // the CNNs' hidden FC width (0 = the model's: 1024; cnn28/64: 4096)
  std::string init = "pytorch";  // pytorch | glorot_uniform (TF1 default, Ditto's code)

  // ---- local training ----
  std::string strategy = "fedavg";  // fedavg | fedprox | local | finetune | ditto | mixture | ipgd | term
  int64_t rounds = 10;              // alias num_rounds
  int64_t clients_per_round = 10;   // ignored (= num_clients) when sampling = all
  std::string sampling = "uniform";  // all | uniform | proportional (to train size, w/o replacement)
  int64_t local_steps = 0;          // minibatch steps per round; 0 = use local_epochs
  int64_t local_epochs = 1;
  int64_t batch_size = 16;
  double lr = 0.05;
  std::string optimizer = "sgd";    // sgd | adam (torch defaults, fresh each round unless persisted)
  double momentum = 0.0;            // sgd only
  double weight_decay = 0.0;
  bool persist_optimizer_state = false;  // keep each client's momentum across rounds (004 §2.6)
  double server_lr = 1.0;                // w <- w + server_lr * aggregate
  bool average_bn_buffers = true;        // BN running stats averaged (FedAvg) or kept per client (FedBN)
  // Lockstep cohorts (fl/cohort.cpp): the clients of a round with the same batch shapes train as
  // one grouped model. auto = on with device cuda, off on the CPU (where clients already train
  // at once on the thread pool); on | off. cohort_size caps the clients of one cohort (memory:
  // parameters, gradients and optimizer state of each).
  std::string cohort = "auto";
  int64_t cohort_size = 32;

  // ---- strategy parameters ----
  double mu = 0.01;                    // fedprox
  double tilt = 1.0;                   // term: t > 0 in softmax(t L_i) (Ditto §5 tables: 1)
  double lambda = 1.0;                 // ditto: [0, inf); mixture, ipgd: [0, 1]
  // ditto: more personal models, one per value, trained beside v_k on the same global trajectory
  // (Ditto §5's shared-trajectory trick: w^t does not depend on lambda); evaluated as the models
  // "personal@lambda=<value>". [0] is the "local" baseline (no pull, the same schedule).
  std::vector<double> personal_lambdas;
  std::string ditto_order = "per_step";  // per_step (official code) | after_global (s personal steps after)
  int64_t personal_steps = 0;          // ditto after_global: 0 = as many as the global steps
  int64_t finetune_epochs = 5;         // finetune: epochs of SGD from the final global model
  double finetune_lr = 0.0;            // 0 = lr
  double finetune_lambda = 0.0;        // > 0: fine-tune h_k(v; w^T) (Ditto's two-stage solver)
  bool mixture_overwrite = false;      // mixture: reset theta_i to the average each round

  // ---- robust aggregation: pre_aggregators -> aggregator ----
  std::string aggregator = "weighted_mean";  // mean | weighted_mean | median | trimmed_mean | krum |
                                             // multi_krum | geometric_median | centered_clipping | k_norm
  std::vector<std::string> pre_aggregators;  // in order: clip | median_clip | nnm | bucketing
  int64_t f = -1;                 // Byzantine count the aggregator assumes; -1 = floor(cpr * nb / n) (Ditto)
  double beta = -1.0;             // trimmed_mean by fraction when >= 0 (else by count f)
  int64_t krum_m = 0;             // multi_krum: rows averaged; 0 = n - f
  std::string krum_neighbours = "n-f-2";  // n-f-2 (Blanchard, Flower, FS) | n-f (ByzFL)
  // false: krum / multi_krum run past their resilience bound (n > 2f + 2; n > 2f for n-f), as
  // Ditto's code does at 50% and 80% corrupted; only the bounds that keep a rule defined stay.
  bool enforce_f_bounds = true;
  double clip_norm = 10.0;        // pre clip
  int64_t bucket_size = 2;        // pre bucketing
  double cc_tau = 10.0;           // centered_clipping radius
  int64_t cc_iterations = 1;

  // ---- Byzantine clients ----
  std::string attack = "none";  // none | label_poisoning | gaussian | sign_flip | boosting | alie | ipm |
                                // mimic | non_finite
  double byzantine_fraction = 0.0;  // of num_clients, rounded down
  int64_t num_byzantine = -1;       // overrides byzantine_fraction when >= 0
  std::string poison_labels = "auto";  // auto (label_poisoning, gaussian, boosting: as Ditto) | true | false
  double boost_factor = 0.0;      // boosting: 0 = clients_per_round (Ditto A3)
  double gaussian_sigma = 0.0;    // gaussian: 0 = the update's own std (Ditto A2)
  double sign_flip_scale = 1.0;
  double alie_z = 0.0;            // alie: 0 = Baruch z_max(n, f); else fixed z
  double ipm_tau = 2.0;
  std::string non_finite_value = "inf";  // inf | nan

  // ---- robust training (004 §2.4: smoothing augmentation; Madry PGD adversarial training) ----
  // Smoothing augmentation: one draw of certify::perturb's distribution per image per step.
  std::string augment = "none";        // none | pixel | rotation | translation | scaling | affine
  double augment_sigma = 0.25;         // pixel/translation/affine: std; rotation: in units of pi
  std::string personal_augment = "same";  // personal-model training (ditto v, local, mixture, ipgd,
                                          // finetune): same (= augment) | none | pixel | ...
  double personal_augment_sigma = -1;  // -1 = augment_sigma
  bool adv_train = false;              // every local step trains on PGD examples of its batch
  std::string adv_norm = "linf";       // linf | l2
  double adv_eps = 8.0 / 255.0;
  double adv_alpha = 2.0 / 255.0;
  int64_t adv_steps = 10;
  bool adv_random_start = true;

  // ---- robust evaluation of every benign client's models after the last round ----
  std::string eval_attack = "none";    // none | linf | l2: PGD robust accuracy (robust.csv)
  double eval_eps = -1;                // -1 = torchattacks' default of the norm (8/255 | 1.0)
  double eval_alpha = -1;              // -1 = torchattacks' default of the norm (2/255 | 0.2)
  int64_t eval_steps = 10;
  bool eval_random_start = true;
  int64_t eval_samples = 0;            // per client, evenly spaced over its test set; 0 = all
  std::string eval_certify = "none";   // none | pixel | rotation | translation | scaling | affine
  double certify_sigma = 0.25;
  int64_t certify_n0 = 100;
  int64_t certify_n = 100000;
  double certify_alpha = 0.001;
  int64_t certify_batch = 1000;
  int64_t certify_samples = 100;       // per client, evenly spaced over its test set (Cohen's skip)
  std::string certify_grid = "linspace";  // linspace (DeformRS code) | centers (exact identity)

  // ---- evaluation, checkpoints ----
  int64_t eval_every = 1;         // rounds; the last round is always evaluated
  int64_t eval_batch_size = 256;
  int64_t checkpoint_every = 0;   // rounds; 0 = eval_every
  bool keep_checkpoint = false;   // keep checkpoint.safetensors once the run has finished
  bool save_personal = false;     // write each benign client's personal model (models/, loadable)
  bool resume = false;            // continue from <run dir>/checkpoint if present
  int64_t stop_at_round = 0;      // > 0: stop after this round (after its checkpoint), as if killed
  bool progress = true;           // progress line on stderr
};

// Parses one scalar (grid-free) config, filling defaults and checking every key, type, range
// and cross-key constraint. `source` names the origin in messages ("runs/x/config.json").
FlConfig parse_config(const json& config, const std::string& source = "config");

// The resolved config: every field, defaults filled in (what is saved beside the results), in
// table order. parse_config(to_json(c)) == c. With local_steps > 0 the (default) local_epochs
// is written as null (= unused), since giving both is an error.
json to_json(const FlConfig& config);

// Applies "key=value" overrides to a raw (possibly grid) config. Unknown keys are an error.
// A string key keeps the text as written unless it is a JSON string or list (name=123 -> "123").
// Overriding rounds removes num_rounds and vice versa; likewise seed and seeds.
void apply_overrides(json& config, const std::vector<std::string>& overrides);

// One entry per run: the scalar config (with `seed` set from `seeds` when given) and its grid
// label, e.g. "lambda=0.1,strategy=ditto" ("" for a config without lists).
struct GridPoint {
  json config;
  std::string label;
};
// `source` names the origin in messages, as for parse_config.
std::vector<GridPoint> expand_grid(const json& config, const std::string& source = "config");

// Reads a config file with the project's JSON parser (engine/file_io.h): "config: '<path>': ..."
// on a missing file, a directory, a syntax error (with its line) or a key given twice.
json read_config_file(const std::string& path);

// The names of every key (for messages and docs), in table order. Not included: the alias
// num_rounds (= rounds) and the grid-only key seeds.
const std::vector<std::string>& config_keys();

// ---- Byzantine counts (the runner and the validation use the same definitions) ----
// Updates per round: num_clients when sampling = all, else clients_per_round.
int64_t round_size(const FlConfig& config);
// Corrupted clients in the population: num_byzantine when >= 0, else
// floor(byzantine_fraction * num_clients) (with a 1e-9 nudge so 0.29 * 100 gives 29).
int64_t byzantine_count(const FlConfig& config);
// The Byzantine count per round the aggregator assumes: f when >= 0, else Ditto's expected
// count floor(round_size * byzantine_count / num_clients).
int64_t effective_f(const FlConfig& config);
// The rows the aggregator receives when n updates enter the pre-aggregators (bucketing shrinks
// them to ceil(n / bucket_size)); defined beside the chain (fl/chain.cpp).
int64_t aggregator_rows(const FlConfig& config, int64_t n);

// ---- data ----
// Whether clients live in colored environments: colored = true, or dataset cmnist / cfmnist.
bool colored_environments(const FlConfig& config);
// The gray data set under a colored one: mnist for cmnist, fmnist for cfmnist, else dataset.
std::string gray_dataset(const FlConfig& config);

// Field-by-field equality over every key of the table (doubles compared exactly).
bool operator==(const FlConfig& a, const FlConfig& b);
inline bool operator!=(const FlConfig& a, const FlConfig& b) { return !(a == b); }

}  // namespace nanofed::fl
