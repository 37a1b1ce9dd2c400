#include "examples/certified_fl/plan.h"

#include <algorithm>

#include "engine/common.h"
#include "engine/text.h"

namespace nanofed::certfl {
namespace {

const char* scheme_name(Scheme s) {
  switch (s) {
    case Scheme::robust_local: return "robust_local";
    case Scheme::robust_ft: return "robust_ft";
    case Scheme::nominal_ft: return "nominal_ft";
    case Scheme::affine_ft: return "affine_ft";
    case Scheme::mixture: return "mixture";
  }
  return "?";
}

// Eq. 5 couples theta_i to a theta bar that only moves when the server communicates. With
// FedAvg's period (an epoch, ~75 steps at K = 10) and lambda = 0.1, theta_i settles at a fixed
// offset from a stale theta bar within a few steps, so the average barely moves (measured: ACR
// 0.06 vs FedAvg's 0.25 after 6 rounds). The paper leaves the period open: the mixture
// communicates every `mixture_period` local steps, over the same number of steps as FedAvg.
json mixture_schedule(const json& base, const RunKey& k, const Scale& s) {
  const std::string dataset = base.value("dataset", std::string("fmnist"));
  NF_CHECK(dataset == "fmnist" || dataset == "mnist",
           "certified_fl: the mixture's schedule needs the train pool size of dataset '" << dataset << "' (fmnist or mnist)");
  const int64_t pool = dataset == "fmnist" ? 60000 : 8000;  // datasets/catalog.h
  const int64_t train = (int64_t)((pool / k.clients) * (1.0 - base.value("test_fraction", 0.2)));
  auto number = [&](const char* key, int64_t fallback) {  // a key set to null counts as unset
    return base.contains(key) && !base[key].is_null() ? base[key].get<int64_t>() : fallback;
  };
  const int64_t batch = number("batch_size", 64), rounds_fedavg = number("rounds", 1);
  // FedAvg's local work per round: local_steps when given, else local_epochs of the shard.
  const int64_t per_round = number("local_steps", 0) > 0 ? number("local_steps", 0)
                                                         : number("local_epochs", 1) * ((train + batch - 1) / batch);
  const int64_t epochs = rounds_fedavg * number("local_epochs", 1);
  const int64_t steps = rounds_fedavg * per_round;
  const int64_t rounds = std::max<int64_t>(1, steps / s.mixture_period);
  return {{"local_steps", s.mixture_period}, {"local_epochs", nullptr}, {"rounds", rounds},
          {"eval_every", std::max<int64_t>(1, rounds / std::max<int64_t>(1, epochs))}};
}

// The fl config keys of one run on top of the experiment config: strategy, clients, what each
// side trains with, and the certification distribution (= the target: the client certifies with what it trained on).
json run_keys(const json& base, const RunKey& k, const Scale& s) {
  json j = {{"num_clients", k.clients},         {"eval_certify", k.target.transform},
            {"certify_sigma", k.target.sigma},  {"augment", k.target.transform},
            {"augment_sigma", k.target.sigma},  {"personal_augment", "same"}};
  switch (k.scheme) {
    case Scheme::robust_local: j["strategy"] = "local"; break;
    case Scheme::robust_ft: j["strategy"] = "finetune"; break;
    case Scheme::mixture: {
      const json schedule = mixture_schedule(base, k, s);
      for (auto it = schedule.begin(); it != schedule.end(); ++it) j[it.key()] = it.value();
      j["strategy"] = "mixture", j["lambda"] = k.lambda;
      break;
    }
    case Scheme::nominal_ft:
    case Scheme::affine_ft: {
      // The federated side trains nominally (or with affine warps), the fine-tuning with the target.
      const bool affine = k.scheme == Scheme::affine_ft;
      j["strategy"] = "finetune";
      j["augment"] = affine ? s.affine.transform : "none";
      j["augment_sigma"] = affine ? s.affine.sigma : k.target.sigma;
      j["personal_augment"] = k.target.transform;
      j["personal_augment_sigma"] = k.target.sigma;
      break;
    }
  }
  return j;
}

void add_once(std::vector<RunKey>& out, const RunKey& k) {
  if (std::none_of(out.begin(), out.end(), [&](const RunKey& o) { return o.name() == k.name() && o.clients == k.clients; }))
    out.push_back(k);
}

}  // namespace

std::string Dist::id() const { return transform + fmt(sigma); }
std::string Dist::label() const { return transform + " σ=" + fmt(sigma); }

std::string RunKey::name() const {
  std::string n = std::string(scheme_name(scheme)) + "_" + target.id();
  if (scheme == Scheme::mixture) n += "_lambda" + fmt(lambda);
  if (spot_n > 0) n += "_n" + std::to_string(spot_n);
  return n;
}
std::string RunKey::group() const { return "k" + std::to_string(clients); }

Scale scale(bool full) {
  const Dist pixel12{"pixel", 0.12}, pixel25{"pixel", 0.25}, pixel50{"pixel", 0.5};
  const Dist rotation{"rotation", 0.1}, translation{"translation", 0.1};
  Scale s;
  s.r1_clients = full ? std::vector<int64_t>{4, 10, 20} : std::vector<int64_t>{4, 20};
  s.r1_dists = full ? std::vector<Dist>{pixel12, pixel25, pixel50, rotation} : std::vector<Dist>{pixel25, rotation};
  s.r2_dists = {pixel12, pixel50, rotation, translation};
  s.r3_dists = {pixel12, rotation};
  s.affine = {"affine", 0.1};
  s.r4_targets = {rotation, translation};
  s.lambdas = {0.1, 0.5, 0.9, 1.0};
  s.r5_dists = full ? std::vector<Dist>{rotation, pixel25} : std::vector<Dist>{rotation};
  s.spot_n = full ? 100000 : 10000;
  return s;
}

std::vector<RunKey> needed_runs(const Scale& s) {
  std::vector<RunKey> out;
  for (const Dist& d : s.r1_dists)
    for (int64_t k : s.r1_clients) add_once(out, {Scheme::robust_local, k, d}), add_once(out, {Scheme::robust_ft, k, d});
  for (const Dist& d : s.r2_dists) add_once(out, {Scheme::nominal_ft, s.k, d});
  for (const Dist& d : s.r3_dists)
    for (int64_t k : {s.k, s.r3_large}) add_once(out, {Scheme::nominal_ft, k, d}), add_once(out, {Scheme::robust_local, k, d});
  for (const Dist& d : s.r4_targets) add_once(out, {Scheme::affine_ft, s.k, d});
  for (const Dist& d : s.r5_dists) {
    add_once(out, {Scheme::robust_ft, s.k, d});
    for (double l : s.lambdas) add_once(out, {Scheme::mixture, s.k, d, l});
  }
  return out;
}

std::vector<RunKey> spot_runs(const Scale& s) {
  std::vector<RunKey> out;
  for (const Dist& d : s.r2_dists) out.push_back({Scheme::nominal_ft, s.k, d, -1, s.spot_n});
  return out;
}

std::string run_dir(const std::string& root, const RunKey& k, uint64_t seed) {
  return root + "/" + k.group() + "/" + k.name() + "/seed_" + std::to_string(seed);
}

std::vector<report::PlannedRun> plan_runs(const json& base, const std::vector<uint64_t>& seeds, const Scale& s,
                                          const std::string& source) {
  const std::string root = base.value("out", std::string("runs")) + "/" + base.value("name", std::string("certified_fl"));
  std::vector<report::PlannedRun> out;
  auto add = [&](const RunKey& k, uint64_t seed) {
    json j = base;
    const json keys = run_keys(base, k, s);
    for (auto it = keys.begin(); it != keys.end(); ++it) j[it.key()] = it.value();
    if (k.spot_n > 0) j["certify_n"] = k.spot_n, j["certify_samples"] = s.spot_samples;
    j["seed"] = seed;
    out.push_back({k.group(), k.name(), fl::parse_config(j, source + " [" + k.group() + "/" + k.name() + "]"),
                   run_dir(root, k, seed)});
  };
  for (uint64_t seed : seeds)
    for (const RunKey& k : needed_runs(s)) add(k, seed);
  for (const RunKey& k : spot_runs(s)) add(k, seeds.front());
  return out;
}

}  // namespace nanofed::certfl
