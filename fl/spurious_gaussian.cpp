// spurious_gaussian.cpp — the Gaussian simulation of Spurious App. E.2 (header: the model).
#include "fl/spurious_gaussian.h"

#include <algorithm>
#include <cmath>

#include "engine/common.h"
#include "fl/host_draws.h"

namespace nanofed::fl {

namespace {

enum Purpose : uint64_t { kData = 1, kSampling, kBatches };

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double dot(const LinearWeights& w, const SpuriousSample& x) { return w.r * x.xr + w.s * x.xs; }
double sign(double v) { return (v > 0) - (v < 0); }

// batch_size indices of [0, n) drawn with replacement (minibatch SGD on a stream).
std::vector<int64_t> draw_batch(int64_t n, int64_t batch_size, Generator& g) {
  std::vector<int64_t> idx((size_t)std::min(n, batch_size));
  for (int64_t& i : idx) i = (int64_t)g.next_below((uint64_t)n);
  return idx;
}

}  // namespace

std::vector<SpuriousClient> spurious_gaussian_clients(int64_t clients, int64_t samples, SpuriousShift shift,
                                                      const Generator& gen) {
  NF_CHECK(clients >= 1 && samples >= 1, "spurious_gaussian_clients: " << clients << " clients of " << samples
                                                                       << " samples (both must be >= 1)");
  std::vector<SpuriousClient> out((size_t)clients);
  for (int64_t i = 0; i < clients; ++i) {
    const double c = i % 2 == 0 ? 1.0 : (shift == SpuriousShift::flip ? -1.0 : 0.0);
    Generator g = gen.derive({kData, (uint64_t)i});
    for (int64_t k = 0; k < samples; ++k) {
      SpuriousSample x;
      x.y = (int)g.next_below(2);
      const double sign_y = 2.0 * x.y - 1.0;
      x.xr = sign_y + standard_normal(g);
      x.xs = c * sign_y + standard_normal(g);
      out[i].push_back(x);
    }
  }
  return out;
}

LinearWeights cross_entropy_gradient(const LinearWeights& w, const SpuriousClient& d, const std::vector<int64_t>& idx) {
  LinearWeights g;
  for (int64_t i : idx) {
    const double e = sigmoid(dot(w, d[i])) - d[i].y;
    g.r += e * d[i].xr / idx.size();
    g.s += e * d[i].xs / idx.size();
  }
  return g;
}

LinearWeights consistency_gradient(const LinearWeights& w, const LinearWeights& w_g, const SpuriousClient& adv,
                                   const std::vector<int64_t>& idx) {
  LinearWeights g;
  for (int64_t i : idx) {
    const double e = sigmoid(dot(w, adv[i])) - sigmoid(dot(w_g, adv[i]));
    g.r += e * adv[i].xr / idx.size();
    g.s += e * adv[i].xs / idx.size();
  }
  return g;
}

LinearWeights distance_subgradient(const LinearWeights& w, const LinearWeights& w_g) {
  const double dr = w.r - w_g.r, ds = w.s - w_g.s, norm = std::sqrt(dr * dr + ds * ds);
  if (norm == 0) return {};
  return {dr / norm, ds / norm};
}

SpuriousClient spurious_pgd(const LinearWeights& w_g, const SpuriousClient& d, double eps, int64_t steps, double alpha) {
  SpuriousClient adv = d;
  for (size_t i = 0; i < d.size(); ++i)
    for (int64_t t = 0; t < steps; ++t) {
      // d CE / d x = (sigmoid(w_g . x) - y) w_g: ascend its sign, stay within eps of x.
      const double e = sigmoid(dot(w_g, adv[i])) - d[i].y;
      adv[i].xr = std::clamp(adv[i].xr + alpha * sign(e * w_g.r), d[i].xr - eps, d[i].xr + eps);
      adv[i].xs = std::clamp(adv[i].xs + alpha * sign(e * w_g.s), d[i].xs - eps, d[i].xs + eps);
    }
  return adv;
}

std::vector<LinearWeights> spurious_fedavg(const std::vector<SpuriousClient>& clients, const SpuriousFedAvgOptions& o,
                                           const Generator& gen) {
  const int64_t N = (int64_t)clients.size(), m = std::min(o.clients_per_round, N);
  std::vector<LinearWeights> path = {LinearWeights{}};
  for (int64_t t = 0; t < o.rounds; ++t) {
    Generator pick = gen.derive({kSampling, (uint64_t)t});
    const std::vector<int64_t> order = randperm(N, pick);
    const LinearWeights w = path.back();
    LinearWeights sum;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t k = order[j];
      Generator batches = gen.derive({kBatches, (uint64_t)t, (uint64_t)k});
      LinearWeights local = w;
      for (int64_t s = 0; s < o.local_steps; ++s) {
        const LinearWeights g = cross_entropy_gradient(local, clients[k], draw_batch(clients[k].size(), o.batch_size, batches));
        local.r -= o.lr * g.r;
        local.s -= o.lr * g.s;
      }
      sum.r += local.r / m;
      sum.s += local.s / m;
    }
    path.push_back(sum);
  }
  return path;
}

std::vector<LinearWeights> spurious_personalize(const SpuriousClient& d, const LinearWeights& w_g,
                                                const SpuriousPersonalizeOptions& o, const Generator& gen) {
  const SpuriousClient adv = o.lambda_adv != 0 ? spurious_pgd(w_g, d, o.eps, o.pgd_steps, o.alpha) : SpuriousClient();
  Generator batches = gen.derive({kBatches});
  std::vector<LinearWeights> path = {w_g};
  for (int64_t s = 0; s < o.steps; ++s) {
    const LinearWeights w = path.back();
    const std::vector<int64_t> idx = draw_batch((int64_t)d.size(), o.batch_size, batches);
    LinearWeights g = cross_entropy_gradient(w, d, idx);
    if (o.lambda_adv != 0) {  // the same indices: each clean sample beside its adversarial one
      const LinearWeights c = consistency_gradient(w, w_g, adv, idx);
      g.r += o.lambda_adv * c.r;
      g.s += o.lambda_adv * c.s;
    }
    if (o.lambda_l2 != 0) {
      const LinearWeights a = distance_subgradient(w, w_g);
      g.r += o.lambda_l2 * a.r;
      g.s += o.lambda_l2 * a.s;
    }
    path.push_back({w.r - o.lr * g.r, w.s - o.lr * g.s});
  }
  return path;
}

double spurious_accuracy(const LinearWeights& w, const SpuriousClient& d) {
  int64_t right = 0;
  for (const SpuriousSample& x : d) right += (dot(w, x) > 0) == (x.y == 1);
  return d.empty() ? 0.0 : (double)right / d.size();
}

}  // namespace nanofed::fl
