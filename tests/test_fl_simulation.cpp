// Strategies on quadratic objectives with hand-computed values, FedAvg invariants, and Ditto's
// point-estimation theory (Ditto §2.8).
//
// The quadratic client: one parameter vector w [d] started at 0, loss 1/2 mean_i ||w - x_i||^2,
// so grad = w - xbar (xbar = the client's sample mean) and every update rule can be worked out
// by hand.
#include <cmath>
#include <memory>

#include "datasets/synthetic.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "fl/simulation.h"
#include "nn/models.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

class Quadratic : public nn::Module {
 public:
  explicit Quadratic(int64_t d) { w = register_parameter("w", zeros({d})); }
  Tensor forward(const Tensor& x) override { return sub(w, x); }  // [B, d]: w - x_i
  std::string repr() const override { return "Quadratic"; }
  Tensor w;
};

Tensor half_mean_square(const Tensor& out, const Tensor&) {
  return mul(sum(mul(out, out)), 0.5f / (float)out.size(0));
}

datasets::Dataset samples(const std::vector<float>& xs, int64_t d = 1) {
  datasets::Dataset ds;
  const int64_t n = (int64_t)xs.size() / d;
  ds.images = from_vector(xs, {n, d});
  ds.labels = zeros({n}, Device::cpu(), DType::i32);
  ds.num_classes = 1;
  ds.name = "quadratic";
  return ds;
}

// One client per entry of `data` (its samples, d = 1), test set = train set.
std::vector<ClientData> quadratic_clients(const std::vector<std::vector<float>>& data) {
  std::vector<ClientData> out;
  for (const auto& xs : data) out.push_back({samples(xs), samples(xs)});
  return out;
}

FlConfig quadratic_config(const std::string& strategy) {
  FlConfig c;
  c.strategy = strategy;
  c.sampling = "all";
  c.local_steps = 1;
  c.batch_size = 1000;  // full batch: gradients do not depend on the batch order
  c.lr = 0.1;
  c.aggregator = "mean";
  c.progress = false;
  return c;
}

ModelFactory quadratic_model(int64_t d = 1) {
  return [d]() { return std::make_shared<Quadratic>(d); };
}

float first(const Tensor& t) { return t.to_vector<float>().at(0); }

// The "add a strategy" recipe of docs/fl.md, followed here: a toy method in which every selected
// client k sends the constant update k + 1 (no training) and reports the loss k, and the server
// moves by server_lr times the aggregate.
class Shift : public Strategy {
 public:
  void run_round(Simulation& sim, int64_t round) override {
    const std::vector<int64_t> selected = sim.last_round().selected;
    std::vector<Simulation::LocalResult> results;
    std::vector<double> losses;
    for (int64_t k : selected) {
      Simulation::LocalResult r;
      r.update = full_like(sim.global_params(), (float)(k + 1));
      r.loss = (double)k;
      losses.push_back(r.loss);
      results.push_back(std::move(r));
    }
    sim.round_log().train_loss = sim.mean_benign_loss(selected, losses);
    sim.apply_aggregate(sim.aggregate(round, 0, selected, results));
  }
  std::string parameters() const override { return "(toy)"; }
};

// TERM on the quadratic clients, worked out on the host in doubles: L_i(w) = 1/2 mean_j (w - x_ij)^2
// at the round-start w, one full-batch step gives Δ_i = -lr (w - xbar_i), and
// w <- w + Σ_i softmax(t L)_i Δ_i.
double term_by_hand(const std::vector<std::vector<float>>& data, double lr, double t, int rounds) {
  double w = 0;
  for (int r = 0; r < rounds; ++r) {
    double num = 0, den = 0;
    for (const auto& xs : data) {
      double loss = 0, mean = 0;
      for (float x : xs) loss += 0.5 * (w - x) * (w - x) / xs.size(), mean += x / (double)xs.size();
      num += std::exp(t * loss) * -lr * (w - mean);
      den += std::exp(t * loss);
    }
    w += num / den;
  }
  return w;
}

// Logits = b for every sample (the images are zeros [n, 2]), b^0 = (1, 0): the cross-entropy of
// label y is log(e^b0 + e^b1) - b_y, and a full-batch step moves b by -lr (softmax(b) - the
// label frequencies).
class Bias : public nn::Module {
 public:
  Bias() { b = register_parameter("b", from_vector(std::vector<float>{1, 0}, {2})); }
  Tensor forward(const Tensor& x) override { return add(x, b); }
  std::string repr() const override { return "Bias"; }
  Tensor b;
};

ClientData zero_images(int64_t n) {
  datasets::Dataset ds;
  ds.images = zeros({n, 2});
  ds.labels = zeros({n}, Device::cpu(), DType::i32);  // every label 0
  ds.num_classes = 2;
  ds.name = "zeros";
  return {ds, ds};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fl_simulation)

BOOST_AUTO_TEST_CASE(term_round_matches_hand_computation) {
  // xbar = 1, 2, -1 and L_i(0) = 0.5, 2, 2.5; lr 0.1 gives Δ = 0.1, 0.2, -0.1, so with t = 1
  //   w^1 = (0.1 e^0.5 + 0.2 e^2 - 0.1 e^2.5) / (e^0.5 + e^2 + e^2.5) = 0.0200013.
  // Losses taken after local training (at w_k = 0.1, 0.2, -0.1: 0.405, 1.62, 2.405) would give
  // 0.0029894, and the plain mean 0.0667.
  const std::vector<std::vector<float>> data = {{1}, {2}, {-3, 1}};
  FlConfig c = quadratic_config("term");
  Simulation sim(c, quadratic_clients(data), {}, quadratic_model(), half_mean_square);
  BOOST_TEST(sim.global_train_loss(2) == 2.5, boost::test_tools::tolerance(1e-6));
  sim.run_round(0);
  BOOST_TEST(first(sim.global_params()) == 0.0200013f, boost::test_tools::tolerance(1e-5f));
  // Later rounds take L_i at the round-start model w^t, not w^0.
  for (int64_t t = 1; t < 4; ++t) sim.run_round(t);
  BOOST_TEST(first(sim.global_params()) == (float)term_by_hand(data, 0.1, 1.0, 4), boost::test_tools::tolerance(1e-5f));
  // The tilted weights replace the train sizes: weighted_mean gives the same numbers.
  FlConfig w = c;
  w.aggregator = "weighted_mean";
  Simulation weighted(w, quadratic_clients(data), {}, quadratic_model(), half_mean_square);
  for (int64_t t = 0; t < 4; ++t) weighted.run_round(t);
  BOOST_TEST(first(weighted.global_params()) == first(sim.global_params()));
  BOOST_TEST(sim.describe().find("term(tilt=1, weights softmax(tilt L) replace the aggregator's)") != std::string::npos, sim.describe());
}

BOOST_AUTO_TEST_CASE(term_tilt_goes_from_the_mean_to_the_worst_client) {
  const std::vector<std::vector<float>> data = {{1}, {2}, {-3, 1}};
  auto one_round = [&](double tilt) {
    FlConfig c = quadratic_config("term");
    c.tilt = tilt;
    Simulation sim(c, quadratic_clients(data), {}, quadratic_model(), half_mean_square);
    sim.run_round(0);
    return first(sim.global_params());
  };
  // t -> 0: the plain mean of Δ = 0.1, 0.2, -0.1 (fedavg with the mean).
  Simulation mean(quadratic_config("fedavg"), quadratic_clients(data), {}, quadratic_model(), half_mean_square);
  mean.run_round(0);
  BOOST_TEST(one_round(1e-9) == first(mean.global_params()), boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(one_round(1e-9) == 0.0666667f, boost::test_tools::tolerance(1e-5f));
  // A larger t moves the aggregate toward the highest-loss client's Δ_2 = -0.1 (t = 10: -0.0979921).
  BOOST_TEST(one_round(1) < one_round(1e-9));
  BOOST_TEST(one_round(10) < one_round(1));
  BOOST_TEST(one_round(10) == -0.0979921f, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(term_gives_the_poisoned_label_client_the_higher_weight) {
  // Clients 0 and 1 hold label 0 only; client 2 is Byzantine under A1 (labels drawn uniformly).
  // Its L is taken on its poisoned labels, as Ditto's code does, so it weighs more than a clean
  // client: with q = the share of its labels that are 1, p = softmax(b^0)_0 = e / (1 + e),
  //   L_clean = -log p,  L_2 = L_clean + q (b0 - b1) = L_clean + q,
  //   Δ_clean = -lr (p - 1, 1 - p),  Δ_2 = -lr (p - (1 - q), (1 - p) - q).
  FlConfig c = quadratic_config("term");
  c.attack = "label_poisoning";
  c.num_byzantine = 1;
  std::vector<ClientData> clients = {zero_images(4), zero_images(4), zero_images(8)};
  Simulation sim(c, clients, {2}, [] { return std::make_shared<Bias>(); });
  const std::vector<int32_t> labels = sim.client(2).train.labels.to_vector<int32_t>();
  double q = 0;
  for (int32_t y : labels) q += y / (double)labels.size();
  BOOST_REQUIRE(q > 0);  // the seed's draw has some 1s
  const double p = std::exp(1.0) / (1 + std::exp(1.0)), lr = c.lr;
  const double clean = -std::log(p), poisoned = clean + q;
  BOOST_TEST(sim.global_train_loss(0) == clean, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(sim.global_train_loss(2) == poisoned, boost::test_tools::tolerance(1e-5));
  const double w_clean = std::exp(clean), w_poisoned = std::exp(poisoned), total = 2 * w_clean + w_poisoned;
  BOOST_TEST(w_poisoned > w_clean);
  const double b0 = 1 + (2 * w_clean * -lr * (p - 1) + w_poisoned * -lr * (p - (1 - q))) / total;
  const double b1 = (2 * w_clean * -lr * (1 - p) + w_poisoned * -lr * ((1 - p) - q)) / total;
  sim.run_round(0);
  const std::vector<float> b = sim.global_params().to_vector<float>();
  BOOST_TEST(b[0] == (float)b0, boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(b[1] == (float)b1, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(term_config_rules) {
  BOOST_TEST(parse_config(json{{"strategy", "term"}, {"aggregator", "mean"}, {"tilt", 5}}).tilt == 5.0);
  BOOST_TEST(parse_config(json{{"strategy", "term"}}).tilt == 1.0);  // weighted_mean, the default
  expect_error([] { parse_config(json{{"strategy", "term"}, {"aggregator", "median"}}); },
               {"config: aggregator = 'median' must be mean or weighted_mean for strategy 'term' (it weights the "
                "updates itself, replacing the aggregator)"});
  expect_error([] { parse_config(json{{"strategy", "term"}, {"pre_aggregators", {"clip"}}}); },
               {"config: pre_aggregators = [\"clip\"] must be empty for strategy 'term'"});
  expect_error([] { parse_config(json{{"strategy", "term"}, {"tilt", 0}}); }, {"config: tilt = 0 must be > 0"});
  expect_error([] { parse_config(json{{"tilt", -1}}); }, {"config: tilt = -1 must be > 0"});
  // Other strategies keep any aggregator.
  BOOST_TEST(parse_config(json{{"strategy", "fedavg"}, {"aggregator", "median"}}).aggregator == "median");
}

BOOST_AUTO_TEST_CASE(fedprox_steps_match_hand_computation) {
  // One client, xbar = 2, mu = 1, lr 0.1, 2 steps from 0:
  //   grad = (0 - 2) + 1 (0 - 0) = -2        -> w = 0.2
  //   grad = (0.2 - 2) + 1 (0.2 - 0) = -1.6  -> w = 0.36
  FlConfig c = quadratic_config("fedprox");
  c.mu = 1.0;
  c.local_steps = 2;
  Simulation sim(c, quadratic_clients({{1, 3}}), {}, quadratic_model(), half_mean_square);
  sim.run_round(0);
  BOOST_TEST(first(sim.global_params()) == 0.36f, boost::test_tools::tolerance(1e-6f));
  // Without the proximal term (fedavg): 0 -> 0.2 -> 0.38.
  FlConfig a = c;
  a.strategy = "fedavg";
  Simulation plain(a, quadratic_clients({{1, 3}}), {}, quadratic_model(), half_mean_square);
  plain.run_round(0);
  BOOST_TEST(first(plain.global_params()) == 0.38f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(adam_local_steps_match_hand_computation) {
  // optimizer adam (Spurious D.2 trains FedAvg with Adam): one client, xbar = 2, lr 0.1, 2 steps
  // from 0, torch's Adam (betas 0.9, 0.999, eps 1e-8), fresh each round:
  //   g1 = -2: m_hat = -2, v_hat = 4 -> w = 0.1;  g2 = 0.1 - 2 = -1.9 -> w = 0.1 + 0.1 m_hat / sqrt(v_hat).
  FlConfig c = quadratic_config("fedavg");
  c.optimizer = "adam";
  c.local_steps = 2;
  Simulation sim(c, quadratic_clients({{1, 3}}), {}, quadratic_model(), half_mean_square);
  sim.run_round(0);
  const double m2 = 0.9 * 0.1 * -2 + 0.1 * -1.9, v2 = 0.999 * 0.001 * 4 + 0.001 * 1.9 * 1.9;
  const double w2 = 0.1 - 0.1 * (m2 / (1 - 0.81)) / (std::sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
  BOOST_TEST(first(sim.global_params()) == w2, boost::test_tools::tolerance(1e-5));
  // SGD momentum has no meaning for Adam: rejected, naming the key.
  json j = to_json(c);
  j["momentum"] = 0.9;
  expect_error([&] { parse_config(j, "cfg.json"); }, {"cfg.json", "momentum", "must be 0 with optimizer adam"});
}

BOOST_AUTO_TEST_CASE(ditto_personal_steps_match_hand_computation) {
  // xbar = 2, lambda = 1, lr 0.1, 2 steps; the anchor is w^t = 0 throughout the round:
  //   v: grad = (0 - 2) + 1 (0 - 0) = -2 -> 0.2; grad = (0.2 - 2) + 1 (0.2 - 0) = -1.6 -> 0.36
  //   w: 0 -> 0.2 -> 0.38 (plain local SGD), the new global model.
  // Round 2 (anchor 0.38): v: grad = (0.36 - 2) + (0.36 - 0.38) = -1.66 -> 0.526;
  //   grad = (0.526 - 2) + (0.526 - 0.38) = -1.328 -> 0.6588.
  FlConfig c = quadratic_config("ditto");
  c.lambda = 1.0;
  c.local_steps = 2;
  Simulation sim(c, quadratic_clients({{1, 3}}), {}, quadratic_model(), half_mean_square);
  sim.run_round(0);
  BOOST_TEST(first(sim.global_params()) == 0.38f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(sim.personal_params(0)) == 0.36f, boost::test_tools::tolerance(1e-6f));
  sim.run_round(1);
  BOOST_TEST(first(sim.personal_params(0)) == 0.6588f, boost::test_tools::tolerance(1e-5f));
  // after_global with personal_steps = 1: one step on its own batch: v: 0 -> 0.2 only.
  FlConfig after = c;
  after.ditto_order = "after_global";
  after.personal_steps = 1;
  Simulation sim2(after, quadratic_clients({{1, 3}}), {}, quadratic_model(), half_mean_square);
  sim2.run_round(0);
  BOOST_TEST(first(sim2.personal_params(0)) == 0.2f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(mixture_follows_eq5) {
  // 004 Eq. 5, lambda = 0.5, gamma = 0.1, clients xbar = 2 and -1, theta_bar = 0:
  //   theta_0 = 0 - 0.1 (0.5 (0 - 2) + 2 * 0.5 (0 - 0)) = 0.1
  //   theta_1 = 0 - 0.1 (0.5 (0 + 1)) = -0.05;   theta_bar = mean = 0.025
  // Round 2: theta_0 = 0.1 - 0.1 (0.5 (0.1 - 2) + (0.1 - 0.025)) = 0.1875
  FlConfig c = quadratic_config("mixture");
  c.lambda = 0.5;
  Simulation sim(c, quadratic_clients({{1, 3}, {-1}}), {}, quadratic_model(), half_mean_square);
  sim.run_round(0);
  BOOST_TEST(first(sim.personal_params(0)) == 0.1f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(sim.personal_params(1)) == -0.05f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(sim.global_params()) == 0.025f, boost::test_tools::tolerance(1e-6f));
  sim.run_round(1);
  BOOST_TEST(first(sim.personal_params(0)) == 0.1875f, boost::test_tools::tolerance(1e-6f));
  // lambda = 1 is pure local training: theta_0 = 0 - 0.1 (0 - 2) = 0.2, no pull.
  FlConfig local = c;
  local.lambda = 1.0;
  Simulation l(local, quadratic_clients({{1, 3}, {-1}}), {}, quadratic_model(), half_mean_square);
  l.run_round(0);
  BOOST_TEST(first(l.personal_params(0)) == 0.2f, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(ipgd_uses_robust_aggregate_of_gradients_at_own_model) {
  // 002 Algorithm 1. xbar = 2, -1, 5; lambda 0.5, lr 0.1, median; all theta_i = 0, so every
  // client's gradient at theta_i is (0 - xbar_j) = -2, 1, -5 and R = median = -2.
  //   theta_0 = -0.1 (0.5 (-2) + 0.5 (-2)) = 0.2
  //   theta_1 = -0.1 (0.5 (1) + 0.5 (-2)) = 0.05
  //   theta_2 = -0.1 (0.5 (-5) + 0.5 (-2)) = 0.35
  FlConfig c = quadratic_config("ipgd");
  c.lambda = 0.5;
  c.aggregator = "median";
  c.f = 0;
  Simulation sim(c, quadratic_clients({{2}, {-1}, {5}}), {}, quadratic_model(), half_mean_square);
  sim.run_round(0);
  BOOST_TEST(first(sim.personal_params(0)) == 0.2f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(sim.personal_params(1)) == 0.05f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(sim.personal_params(2)) == 0.35f, boost::test_tools::tolerance(1e-6f));
  // Client 2 Byzantine, boosting x10: its row -5 becomes -50; median(-2, 1, -50) = -2 is
  // unchanged, so theta_0 and theta_1 are as above; the Byzantine client is not personalized.
  FlConfig b = c;
  b.attack = "boosting";
  b.boost_factor = 10;
  b.num_byzantine = 1;
  b.poison_labels = "false";
  Simulation byz(b, quadratic_clients({{2}, {-1}, {5}}), {2}, quadratic_model(), half_mean_square);
  byz.run_round(0);
  BOOST_TEST(first(byz.personal_params(0)) == 0.2f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(first(byz.personal_params(1)) == 0.05f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(!byz.personal_params(2).defined());
  // With the mean instead, R = (-2 + 1 - 50) / 3 = -17: theta_0 = -0.1 (-1 - 8.5) = 0.95.
  FlConfig m = b;
  m.aggregator = "mean";
  Simulation mean(m, quadratic_clients({{2}, {-1}, {5}}), {2}, quadratic_model(), half_mean_square);
  mean.run_round(0);
  BOOST_TEST(first(mean.personal_params(0)) == 0.95f, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_CASE(fedavg_one_client_equals_local_training) {
  // A real model (MLP) and data: with one client and the mean, w^{t+1} = w_k, i.e. FedAvg is
  // local training; compare with the `local` strategy, which trains v_k on the same batches.
  Generator g(5);
  datasets::Dataset data = datasets::gaussian_blobs(40, 3, {6}, 0.5f, g);
  FlConfig c;
  c.strategy = "fedavg";
  c.sampling = "all";
  c.local_steps = 3;
  c.batch_size = 8;
  c.lr = 0.1;
  c.aggregator = "mean";
  auto factory = []() {
    Generator init(1);
    return std::shared_ptr<nn::Module>(std::make_shared<nn::MLP>(std::vector<int64_t>{6, 5, 3}, &init));
  };
  Simulation fed(c, {{data, data}}, {}, factory);
  FlConfig lc = c;
  lc.strategy = "local";
  Simulation local(lc, {{data, data}}, {}, factory);
  for (int t = 0; t < 3; ++t) {
    fed.run_round(t);
    local.run_round(t);
  }
  expect_close(fed.global_params(), local.personal_params(0), 1e-5f, 1e-6f, "fedavg(1 client) vs local");
}

BOOST_AUTO_TEST_CASE(fedavg_averaging_identical_updates_is_a_noop) {
  // Three clients holding the same single sample send bit-identical updates; their mean is that
  // update, so the global model equals the one-client run's bit for bit.
  FlConfig c = quadratic_config("fedavg");
  c.local_steps = 2;
  Simulation three(c, quadratic_clients({{1.7f}, {1.7f}, {1.7f}}), {}, quadratic_model(), half_mean_square);
  Simulation one(c, quadratic_clients({{1.7f}}), {}, quadratic_model(), half_mean_square);
  for (int t = 0; t < 3; ++t) {
    three.run_round(t);
    one.run_round(t);
  }
  BOOST_TEST(three.global_params().to_vector<float>() == one.global_params().to_vector<float>(),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(fedavg_equal_shards_weighted_equals_unweighted) {
  FlConfig c = quadratic_config("fedavg");
  c.local_steps = 2;
  const std::vector<std::vector<float>> equal = {{1, 2}, {-3, 0.5f}, {4, 4}};
  c.aggregator = "weighted_mean";
  Simulation w(c, quadratic_clients(equal), {}, quadratic_model(), half_mean_square);
  c.aggregator = "mean";
  Simulation u(c, quadratic_clients(equal), {}, quadratic_model(), half_mean_square);
  w.run_round(0);
  u.run_round(0);
  BOOST_TEST(first(w.global_params()) == first(u.global_params()), boost::test_tools::tolerance(1e-7f));
  // Unequal shards differ: sizes 2, 1 -> weighted (2 * u0 + u1) / 3 vs (u0 + u1) / 2.
  const std::vector<std::vector<float>> unequal = {{1, 3}, {-1}};
  c.aggregator = "weighted_mean";
  Simulation w2(c, quadratic_clients(unequal), {}, quadratic_model(), half_mean_square);
  c.aggregator = "mean";
  Simulation u2(c, quadratic_clients(unequal), {}, quadratic_model(), half_mean_square);
  w2.run_round(0);
  u2.run_round(0);
  // Updates after 2 steps from 0: xbar (1 - 0.9^2) = 0.19 xbar: 0.38 and -0.19.
  BOOST_TEST(first(w2.global_params()) == (2 * 0.38f - 0.19f) / 3, boost::test_tools::tolerance(1e-5f));
  BOOST_TEST(first(u2.global_params()) == (0.38f - 0.19f) / 2, boost::test_tools::tolerance(1e-5f));
}

// The shared-trajectory trick (Ditto §5): w^t does not depend on lambda, so one run with
// personal_lambdas trains every v_k(lambda) of separate runs, on the same batches and anchor.
BOOST_AUTO_TEST_CASE(ditto_personal_lambdas_equal_separate_runs_and_survive_a_checkpoint) {
  auto config = [](double lambda, std::vector<double> more) {
    FlConfig c = quadratic_config("ditto");
    c.sampling = "uniform";
    c.clients_per_round = 2;  // v_k persists between the rounds k is selected in
    c.local_steps = 2;
    c.batch_size = 1;
    c.lambda = lambda;
    c.personal_lambdas = more;
    return c;
  };
  const std::vector<std::vector<float>> data = {{1, 3}, {-2, 0, 5}, {4}, {0.5f, 1.5f}};
  Simulation shared(config(1.0, {0.0, 0.5}), quadratic_clients(data), {}, quadratic_model(), half_mean_square);
  BOOST_TEST(shared.personal_sets() == std::vector<std::string>({"personal", "personal@lambda=0", "personal@lambda=0.5"}),
             boost::test_tools::per_element());
  for (int t = 0; t < 3; ++t) shared.run_round(t);
  // A checkpoint after round 3 carries every set; the resumed run goes on exactly.
  Simulation resumed(config(1.0, {0.0, 0.5}), quadratic_clients(data), {}, quadratic_model(), half_mean_square);
  resumed.load_state(shared.state());
  for (int t = 3; t < 6; ++t) shared.run_round(t), resumed.run_round(t);
  const std::vector<double> lambdas = {1.0, 0.0, 0.5};
  for (int set = 0; set < 3; ++set) {
    Simulation alone(config(lambdas[set], {}), quadratic_clients(data), {}, quadratic_model(), half_mean_square);
    for (int t = 0; t < 6; ++t) alone.run_round(t);
    BOOST_TEST(alone.global_params().to_vector<float>() == shared.global_params().to_vector<float>(),
               boost::test_tools::per_element());
    for (int64_t k = 0; k < 4; ++k) {
      BOOST_TEST_CONTEXT("set " << set << ", client " << k) {
        const Tensor v = alone.personal_params(k);
        BOOST_REQUIRE(shared.personal_params(k, set).defined() == v.defined());
        if (!v.defined()) continue;
        BOOST_TEST(shared.personal_params(k, set).to_vector<float>() == v.to_vector<float>(), boost::test_tools::per_element());
        BOOST_TEST(resumed.personal_params(k, set).to_vector<float>() == v.to_vector<float>(), boost::test_tools::per_element());
      }
    }
  }
  // The sets differ (a test of three copies of one model would pass the checks above).
  BOOST_TEST(first(shared.personal_params(0, 1)) != first(shared.personal_params(0, 0)));
}

BOOST_AUTO_TEST_CASE(ditto_personal_models_converge_to_lemma9) {
  // Federated point estimation (Ditto §2.8), clean Fig. 1 setting in d = 1 and d = 3: Ditto's
  // Algorithm 2 run by the engine with full participation and full-batch GD; v_k must reach
  // lambda/(1+lambda) w* + 1/(1+lambda) w_hat_k (Lemma 9) and w^t the mean of the local
  // estimates w*. lambda = 0 is local training; a wrong sign or anchor of the pull term moves v_k
  // off Lemma 9's point for lambda > 0.
  for (int64_t d : {1, 3}) {
    datasets::PointEstimationConfig pe;
    pe.dim = d;
    Generator g(7);
    const datasets::PointEstimation p = datasets::point_estimation(pe, g);
    const std::vector<float> x = p.x.to_vector<float>();
    const int64_t K = pe.devices, n = pe.samples;
    for (double lambda : {0.0, 0.5, 2.0}) {
      std::vector<ClientData> clients;
      for (int64_t k = 0; k < K; ++k) {
        std::vector<float> xs(x.begin() + k * n * d, x.begin() + (k + 1) * n * d);
        clients.push_back({samples(xs, d), samples(xs, d)});
      }
      FlConfig c = quadratic_config("ditto");
      c.lambda = lambda;
      c.local_steps = 2;
      c.lr = 0.2;
      Simulation sim(c, std::move(clients), {}, quadratic_model(d), half_mean_square);
      for (int t = 0; t < 150; ++t) sim.run_round(t);
      const Tensor expected = datasets::ditto_point_solution(p.w_hat, lambda);
      for (int64_t k = 0; k < K; ++k)
        expect_close(sim.personal_params(k), expected.slice(k, k + 1).reshape({d}), 1e-4f, 1e-4f, "v_k vs Lemma 9");
      expect_close(sim.global_params(), mean(p.w_hat, 0), 1e-4f, 1e-4f, "w vs mean of local estimates");
    }
  }
}

BOOST_AUTO_TEST_CASE(ditto_lambda_star_minimizes_simulated_error) {
  // Ditto Fig. 1: the argmin over its lambda grid of the Monte-Carlo error lies within one grid
  // step of lambda* (2.13 clean, 1.19 adversarial), and the error there is within 3% of sigma_w^2.
  std::vector<double> grid;
  for (int i = 0; i <= 14; ++i) grid.push_back(0.2 * i);
  for (int i = 0; i < 14; ++i) grid.push_back(3.0 + 0.5 * i);
  for (int i = 1; i <= 19; ++i) grid.push_back(10.0 * i);
  struct Case {
    datasets::PointEstimationConfig config;
    double lambda_star;
  };
  datasets::PointEstimationConfig clean;
  clean.dim = 20000;  // independent trials
  datasets::PointEstimationConfig adv = clean;
  adv.devices = 16;
  adv.adversaries = 8;
  adv.tau_adv = 0.5;
  for (const Case& cs : {Case{clean, 2.1333}, Case{adv, 1.1852}}) {
    BOOST_TEST(datasets::ditto_optimal_lambda(cs.config) == cs.lambda_star, boost::test_tools::tolerance(1e-3));
    Generator g(11);
    const datasets::PointEstimation p = datasets::point_estimation(cs.config, g);
    const std::vector<float> w = p.w.to_vector<float>();
    const int64_t first_benign = cs.config.adversaries * cs.config.dim;
    auto error = [&](double lambda) {
      const std::vector<float> v = datasets::ditto_point_solution(p.w_hat, lambda).to_vector<float>();
      double e = 0;
      for (size_t i = first_benign; i < v.size(); ++i) e += (v[i] - w[i]) * (v[i] - w[i]);
      return e / (v.size() - first_benign);
    };
    size_t best = 0;
    std::vector<double> errs;
    for (double l : grid) errs.push_back(error(l));
    for (size_t i = 1; i < grid.size(); ++i)
      if (errs[i] < errs[best]) best = i;
    BOOST_TEST_MESSAGE("lambda* " << cs.lambda_star << " grid argmin " << grid[best]);
    BOOST_TEST(std::abs(grid[best] - cs.lambda_star) <= 0.2 + 1e-9);
    BOOST_TEST(error(cs.lambda_star) == datasets::ditto_optimal_error(cs.config), boost::test_tools::tolerance(0.03));
    BOOST_TEST(error(cs.lambda_star) < error(0.0));    // better than local
    BOOST_TEST(error(cs.lambda_star) < error(190.0));  // better than (nearly) global
  }
}

BOOST_AUTO_TEST_CASE(registered_toy_strategy_runs_through_simulation) {
  register_strategy("shift", [](const FlConfig&) { return std::make_unique<Shift>(); });
  BOOST_TEST((strategy_names().back() == "shift"));
  // 3 clients (all sampled), client 2 Byzantine with no attack: updates 1, 2, 3, mean 2, so each
  // round moves w by server_lr * 2 = 1; the logged loss is the benign mean (0 + 1) / 2 = 0.5.
  FlConfig c = quadratic_config("shift");
  c.server_lr = 0.5;
  Simulation sim(c, quadratic_clients({{1}, {2}, {3}}), {2}, quadratic_model(2));
  for (int64_t t = 0; t < 2; ++t) sim.run_round(t);
  const std::vector<float> w = sim.global_params().to_vector<float>();
  BOOST_TEST(w.at(0) == 2.0f);
  BOOST_TEST(w.at(1) == 2.0f);
  BOOST_TEST(sim.last_round().train_loss == 0.5);
  BOOST_TEST(sim.has_global());
  BOOST_TEST(!sim.has_personal());
  BOOST_TEST((sim.headline() == ModelKind::global));
  BOOST_TEST(sim.describe() == "strategy shift(toy) | aggregation mean | attack none on 1 of 3 clients");
  sim.finish();  // the default finish does nothing
  BOOST_TEST(sim.global_params().to_vector<float>().at(0) == 2.0f);
}

// The config asks the registry when it checks a value, so a strategy registered after the
// first parse_config (which builds the key table) is accepted.
BOOST_AUTO_TEST_CASE(strategy_registered_after_the_first_parse_is_accepted) {
  json j = json::object();
  j["strategy"] = "fedavg";  // builds the key table
  parse_config(j);
  register_strategy("late", [](const FlConfig&) { return std::make_unique<Shift>(); });
  j["strategy"] = "late";
  BOOST_TEST(parse_config(j).strategy == "late");
}

// Strategy rules in the config (lambda's range, save_personal) come from the registry entry.
BOOST_AUTO_TEST_CASE(config_rules_come_from_the_strategy_registry) {
  StrategyInfo info;
  info.name = "shift_personal";
  info.factory = [](const FlConfig&) { return std::make_unique<Shift>(); };
  info.lambda = StrategyInfo::Lambda::unit_interval;
  info.personal_models = true;
  register_strategy(info);
  json j = {{"strategy", "shift_personal"}, {"save_personal", true}, {"lambda", 0.5}};
  BOOST_TEST(parse_config(j).save_personal);
  j["lambda"] = 1.5;
  expect_error([&] { parse_config(j); }, {"config: lambda = 1.5 must be in [0, 1] for strategy 'shift_personal'"});
  expect_error([&] { parse_config(json{{"save_personal", true}}); },
               {"needs a strategy with personal models (local, finetune, ditto, mixture, ipgd, shift_personal), "
                "not 'fedavg'"});
  // Replaced under the same name: any lambda, no personal models.
  info.lambda = StrategyInfo::Lambda::unused;
  info.personal_models = false;
  register_strategy(info);
  j["save_personal"] = false;
  BOOST_TEST(parse_config(j).lambda == 1.5);
  j["save_personal"] = true;
  expect_error([&] { parse_config(j); }, {"(local, finetune, ditto, mixture, ipgd), not 'shift_personal'"});
}

// A built-in entry's personal_models says what its strategy's has_personal(finished) says.
BOOST_AUTO_TEST_CASE(builtin_registry_entries_match_their_strategies) {
  for (const char* name : {"fedavg", "fedprox", "local", "finetune", "ditto", "mixture", "ipgd", "term"}) {
    const StrategyInfo* info = find_strategy(name);
    BOOST_REQUIRE(info != nullptr);
    FlConfig c;
    c.strategy = name;
    BOOST_TEST(info->factory(c)->has_personal(true) == info->personal_models, name);
  }
  BOOST_TEST(find_strategy("dito") == nullptr);
}

// Every aggregator name maps to its rule; a name that is none of them is refused naming the
// accepted ones (the chain is built from names parsed once, fl/chain.h).
BOOST_AUTO_TEST_CASE(chain_names_map_to_their_rules) {
  FlConfig c;
  c.num_clients = c.clients_per_round = 10;
  c.f = 1;
  for (const char* name : {"mean", "weighted_mean", "median", "trimmed_mean", "krum", "multi_krum",
                                  "geometric_median", "centered_clipping", "k_norm"}) {
    c.aggregator = name;
    BOOST_TEST(make_chain(c).describe().rfind(name, 0) == 0u, name << ": " << make_chain(c).describe());
  }
  c.pre_aggregators = {"clip", "median_clip", "nnm", "bucketing"};
  BOOST_TEST(make_chain(c, 10, 2).describe() ==
             "clip(norm=10) -> median_norm_clip -> nnm(f=2) -> bucketing(s=2) -> k_norm(f=2)");
  c.aggregator = "medain";
  expect_error([&] { make_chain(c); }, {"config: aggregator 'medain' is not one of mean, weighted_mean, median, "
                                        "trimmed_mean, krum, multi_krum, geometric_median, centered_clipping, k_norm"});
}

BOOST_AUTO_TEST_CASE(unknown_strategy_names_the_known_ones) {
  expect_error([] { Simulation(quadratic_config("dito"), quadratic_clients({{1}}), {}, quadratic_model()); },
               {"strategy = 'dito' is not one of fedavg, fedprox, local, finetune, ditto, mixture, ipgd"});
}

BOOST_AUTO_TEST_SUITE_END()
