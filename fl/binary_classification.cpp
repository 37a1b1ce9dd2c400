#include "fl/binary_classification.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"
#include "fl/aggregators.h"
#include "fl/host_draws.h"

namespace nanofed::fl {
namespace {

constexpr const char* kWho = "binary_classification";

// With two classes only the gap between the logits matters: the softmax gradient is
// antisymmetric (p1 - y = -(p0 - (1 - y))), and the prediction is the gap's sign.
struct Gap {
  std::vector<double> w;  // w1 - w0
  double b = 0;           // b1 - b0
};

Gap gap_weights(const std::vector<double>& theta, int64_t D) {
  Gap g;
  g.w.resize((size_t)D);
  for (int64_t k = 0; k < D; ++k) g.w[(size_t)k] = theta[(size_t)(D + k)] - theta[(size_t)k];
  g.b = theta[(size_t)(2 * D + 1)] - theta[(size_t)(2 * D)];
  return g;
}

// z1 - z0 for row r, summed in four interleaved partial sums (independent chains the CPU overlaps).
double logit_gap(const Gap& g, const BinaryData& d, int64_t r) {
  const double* x = d.x.data() + r * d.dim;
  const double* w = g.w.data();
  double s[4] = {0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 4 <= d.dim; k += 4)
    for (int u = 0; u < 4; ++u) s[u] += w[k + u] * x[k + u];
  for (; k < d.dim; ++k) s[0] += w[k] * x[k];
  return g.b + ((s[0] + s[1]) + (s[2] + s[3]));
}

void check_theta(const std::vector<double>& theta, const BinaryData& d) {
  NF_CHECK((int64_t)theta.size() == logistic_params(d.dim),
           kWho << ": theta has " << theta.size() << " values, Linear(" << d.dim << ", 2) has " << logistic_params(d.dim));
  NF_CHECK(d.size() >= 1 && (int64_t)d.x.size() == d.size() * d.dim,
           kWho << ": " << d.x.size() << " features do not form " << d.size() << " rows of " << d.dim);
}

// The honest gradients as f32 rows, then the f copies of the attack on them.
Updates gradient_rows(const std::vector<std::vector<double>>& honest, const IpgdSetting& s) {
  const int64_t N = (int64_t)honest.size(), P = (int64_t)honest[0].size();
  std::vector<double> rows;
  rows.reserve((size_t)((N + s.byzantine) * P));
  for (const std::vector<double>& g : honest) rows.insert(rows.end(), g.begin(), g.end());
  if (s.byzantine > 0) {
    const std::vector<double> b = byzantine_vector(rows, P, s.attack, s.byzantine_clip);
    for (int64_t k = 0; k < s.byzantine; ++k) rows.insert(rows.end(), b.begin(), b.end());
  }
  Updates u;
  u.rows = detail::to_tensor(rows, {N + s.byzantine, P}, Device::cpu());
  return u;
}

void check_setting(const std::vector<BinaryClient>& clients, int64_t honest, int64_t main, const IpgdSetting& s) {
  NF_CHECK(honest >= 1 && honest <= (int64_t)clients.size(),
           kWho << ": honest must be in [1, " << clients.size() << " clients], got " << honest);
  NF_CHECK(main >= 0 && main < honest, kWho << ": main client " << main << " is not one of the " << honest << " honest clients");
  NF_CHECK(s.lambda >= 0 && s.lambda <= 1, kWho << ": lambda must be in [0, 1], got " << s.lambda);
  NF_CHECK(s.lr > 0 && s.steps >= 0 && s.byzantine >= 0,
           kWho << ": need lr > 0, steps >= 0 and byzantine >= 0, got " << s.lr << ", " << s.steps << ", " << s.byzantine);
  NF_CHECK(s.lambda == 0 || s.chain.aggregator, kWho << ": lambda > 0 needs an aggregator chain");
}

}  // namespace

std::vector<int32_t> binary_labels(const std::vector<int32_t>& labels, int32_t threshold) {
  std::vector<int32_t> out(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) out[i] = labels[i] <= threshold ? 1 : 0;
  return out;
}

// Per draw: a class c with probability proportions[c] r_c / sum_k proportions[k] r_k (r = what is
// left of each class), then one of its remaining samples uniformly: the same law as drawing
// samples one by one with weight proportions[label].
std::vector<int64_t> draw_by_label(const std::vector<int32_t>& labels, const std::vector<double>& proportions,
                                   int64_t count, Generator& gen) {
  std::vector<std::vector<int64_t>> left(proportions.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    NF_CHECK(labels[i] >= 0 && (size_t)labels[i] < proportions.size(),
             kWho << ": label " << labels[i] << " at index " << i << " has no proportion (" << proportions.size() << " given)");
    left[(size_t)labels[i]].push_back((int64_t)i);
  }
  int64_t available = 0;
  for (size_t c = 0; c < left.size(); ++c) {
    NF_CHECK(proportions[c] >= 0 && std::isfinite(proportions[c]), kWho << ": proportion " << proportions[c] << " of class " << c << " must be finite and >= 0");
    if (proportions[c] > 0) available += (int64_t)left[c].size();
  }
  NF_CHECK(count >= 0 && count <= available,
           kWho << ": cannot draw " << count << " samples without replacement, " << available << " have positive weight");
  std::vector<int64_t> out;
  for (int64_t k = 0; k < count; ++k) {
    double total = 0;
    for (size_t c = 0; c < left.size(); ++c) total += proportions[c] * (double)left[c].size();
    double u = uniform_open(gen) * total;
    size_t c = 0, last = 0;  // last: the last class with weight left (rounding may carry u past the end)
    for (size_t k = 0; k < left.size(); ++k)
      if (proportions[k] > 0 && !left[k].empty()) last = k;
    for (; c < last; ++c) {
      const double w = proportions[c] * (double)left[c].size();
      if (u < w) break;
      u -= w;
    }
    std::vector<int64_t>& pool = left[c];
    const size_t pick = (size_t)gen.next_below(pool.size());
    out.push_back(pool[pick]);
    pool[pick] = pool.back();
    pool.pop_back();
  }
  return out;
}

BinaryData BinaryData::subset(const std::vector<int64_t>& rows) const {
  BinaryData out;
  out.dim = dim;
  for (int64_t r : rows) {
    NF_CHECK(r >= 0 && r < size(), kWho << ": row " << r << " is outside the " << size() << " rows");
    out.x.insert(out.x.end(), x.begin() + r * dim, x.begin() + (r + 1) * dim);
    out.y.push_back(y[(size_t)r]);
  }
  return out;
}

BinaryData binary_data(const datasets::Dataset& d, const std::vector<int32_t>& labels01, double shift, double scale) {
  NF_CHECK((int64_t)labels01.size() == d.size(), kWho << ": " << labels01.size() << " labels for the " << d.size()
                                                     << " samples of " << d.name);
  NF_CHECK(scale > 0, kWho << ": scale must be > 0, got " << scale);
  BinaryData out;
  out.dim = d.size() > 0 ? d.images.numel() / d.size() : 0;
  for (float v : d.images.to_vector<float>()) out.x.push_back(((double)v - shift) / scale);
  for (int32_t y : labels01) NF_CHECK(y == 0 || y == 1, kWho << ": labels must be 0 or 1, got " << y);
  out.y = labels01;
  return out;
}

std::vector<BinaryClient> label_skew_clients(const BinaryData& train, const BinaryData& test,
                                             const std::vector<std::vector<double>>& proportions, int64_t m,
                                             int64_t test_m, Generator& gen) {
  std::vector<BinaryClient> out;
  for (const std::vector<double>& p : proportions) {
    BinaryClient c;
    c.train = train.subset(draw_by_label(train.y, p, m, gen));
    c.test = test.subset(draw_by_label(test.y, p, test_m, gen));
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<double> logistic_gradient(const std::vector<double>& theta, const BinaryData& d) {
  check_theta(theta, d);
  const int64_t D = d.dim;
  std::vector<double> g((size_t)logistic_params(D), 0.0);
  double* g1 = g.data() + D;  // class 1's row; class 0's is its negative
  double bias1 = 0;
  const Gap gap = gap_weights(theta, D);
  for (int64_t r = 0; r < d.size(); ++r) {
    const double p1 = 1.0 / (1.0 + std::exp(-logit_gap(gap, d, r)));
    const double e = (p1 - (double)d.y[(size_t)r]) / (double)d.size();
    const double* x = d.x.data() + r * D;
    for (int64_t k = 0; k < D; ++k) g1[k] += e * x[k];
    bias1 += e;
  }
  for (int64_t k = 0; k < D; ++k) g[(size_t)k] = -g1[k];
  g[(size_t)(2 * D)] = -bias1;
  g[(size_t)(2 * D + 1)] = bias1;
  return g;
}

double logistic_accuracy(const std::vector<double>& theta, const BinaryData& d) {
  check_theta(theta, d);
  int64_t correct = 0;
  const Gap gap = gap_weights(theta, d.dim);
  for (int64_t r = 0; r < d.size(); ++r) correct += (logit_gap(gap, d, r) > 0 ? 1 : 0) == d.y[(size_t)r];
  return 100.0 * (double)correct / (double)d.size();
}

std::vector<double> ipgd_personal(const std::vector<BinaryClient>& clients, int64_t honest, int64_t main,
                                  const IpgdSetting& s, std::vector<double> theta) {
  check_setting(clients, honest, main, s);
  Generator unused(0);  // server_clip, NNM, the trimmed mean and SF draw nothing
  std::vector<std::vector<double>> grads((size_t)honest);
  for (int64_t t = 0; t < s.steps; ++t) {
    if (s.lambda == 0) {
      grads[(size_t)main] = logistic_gradient(theta, clients[(size_t)main].train);
    } else {
      for (size_t j = 0; j < grads.size(); ++j) grads[j] = logistic_gradient(theta, clients[j].train);
    }
    const std::vector<double>& own = grads[(size_t)main];
    std::vector<float> R;
    if (s.lambda > 0) R = s.chain(gradient_rows(grads, s), unused).to_vector<float>();
    for (size_t k = 0; k < theta.size(); ++k)
      theta[k] -= s.lr * ((1 - s.lambda) * own[k] + (s.lambda > 0 ? s.lambda * (double)R[k] : 0.0));
  }
  return theta;
}

double largest_fall(const std::vector<double>& v) {
  double worst = 0;
  for (size_t i = 1; i < v.size(); ++i) worst = std::max(worst, v[i - 1] - v[i]);
  return worst;
}

size_t first_argmax(const std::vector<double>& v) {
  NF_CHECK(!v.empty(), kWho << ": argmax of no values");
  return (size_t)(std::max_element(v.begin(), v.end()) - v.begin());
}

bool non_increasing(const std::vector<double>& v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[i - 1]) return false;
  return true;
}

double crossover_f(const std::vector<double>& fs, const std::vector<double>& local, const std::vector<double>& full) {
  NF_CHECK(fs.size() == local.size() && fs.size() == full.size(), kWho << ": crossover needs one local and one full "
                                                                       "accuracy per f");
  for (size_t i = 0; i < fs.size(); ++i)
    if (local[i] > full[i]) return fs[i];
  return std::numeric_limits<double>::infinity();
}

std::vector<double> argmax_path(const std::vector<std::vector<double>>& curves, const std::vector<double>& lambdas) {
  std::vector<double> out;
  for (const std::vector<double>& c : curves) {
    NF_CHECK(c.size() == lambdas.size(), kWho << ": a curve has " << c.size() << " values for " << lambdas.size() << " λ");
    out.push_back(lambdas[fl::first_argmax(c)]);
  }
  return out;
}

double largest_gap(const std::vector<std::vector<double>>& ours, const std::vector<std::vector<double>>& paper) {
  NF_CHECK(ours.size() == paper.size(), kWho << ": " << ours.size() << " rows against the paper's " << paper.size());
  double worst = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    NF_CHECK(ours[i].size() == paper[i].size(), kWho << ": row " << i << " has " << ours[i].size() << " cells, the paper's "
                                                     << paper[i].size());
    for (size_t k = 0; k < ours[i].size(); ++k) worst = std::max(worst, std::fabs(ours[i][k] - paper[i][k]));
  }
  return worst;
}

}  // namespace nanofed::fl
