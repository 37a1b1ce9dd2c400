#include "fl/ipgd_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/common.h"
#include "engine/ops/elementwise.h"
#include "nn/group_gradients.h"
#include "nn/training.h"

namespace nanofed::fl {
namespace {

constexpr const char* kWho = "ipgd_model";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
enum : uint64_t { kDirichletKey = 21, kClientsKey = 22 };  // draw streams, apart from RT-A2's

// The mean of the rows of an [N, P] host array, in double.
std::vector<double> row_mean(const std::vector<float>& rows, int64_t N, int64_t P) {
  std::vector<double> mean((size_t)P, 0.0);
  for (int64_t j = 0; j < N; ++j)
    for (int64_t k = 0; k < P; ++k) mean[(size_t)k] += rows[(size_t)(j * P + k)];
  for (double& v : mean) v /= (double)N;
  return mean;
}

// ||row - c||^2 for row `j` of an [N, P] host array.
double squared_distance(const float* row, const std::vector<double>& c) {
  double s = 0;
  for (size_t k = 0; k < c.size(); ++k) s += (row[k] - c[k]) * (row[k] - c[k]);
  return s;
}

// The sum over rows of ||g_j - gbar||^2 and gbar itself.
double total_spread(const std::vector<float>& rows, int64_t N, int64_t P, std::vector<double>& mean) {
  mean = row_mean(rows, N, P);
  double s = 0;
  for (int64_t j = 0; j < N; ++j) s += squared_distance(rows.data() + j * P, mean);
  return s;
}

void check_rows(const Tensor& rows, int64_t min_rows) {
  NF_CHECK(rows.defined() && rows.dim() == 2 && rows.size(0) >= min_rows,
           kWho << ": expected gradient rows [N >= " << min_rows << ", P]");
}

void check_inputs(const Tensor& theta0, nn::Module& model, const Tensor& train_x, int64_t m, int64_t honest,
                  int64_t main, const Tensor& test_x, const IpgdSetting& s, int64_t every) {
  NF_CHECK(theta0.defined() && theta0.numel() == model.num_parameters(),
           kWho << ": theta0 has " << (theta0.defined() ? theta0.numel() : 0) << " values, the model "
                << model.num_parameters());
  NF_CHECK(m >= 2, kWho << ": m must be >= 2 (the gradient noise needs two samples), got " << m);
  NF_CHECK(honest >= 1 && honest * m <= train_x.size(0),
           kWho << ": " << honest << " honest clients of " << m << " samples need " << honest * m << " train rows, got "
                << train_x.size(0));
  NF_CHECK(main >= 0 && main < honest, kWho << ": main client " << main << " is not one of the " << honest << " honest");
  NF_CHECK(test_x.defined() && test_x.size(0) >= 1, kWho << ": the main client's test set is empty");
  NF_CHECK(s.lambda >= 0 && s.lambda <= 1, kWho << ": lambda must be in [0, 1], got " << s.lambda);
  NF_CHECK(s.lr > 0 && s.steps >= 0 && s.byzantine >= 0 && every >= 1,
           kWho << ": need lr > 0, steps >= 0, byzantine >= 0 and every >= 1, got " << s.lr << ", " << s.steps << ", "
                << s.byzantine << ", " << every);
  NF_CHECK(s.lambda == 0 || s.chain.aggregator, kWho << ": lambda > 0 needs an aggregator chain");
}

// The honest rows, then the f copies of the (clipped) attack on them.
Updates attacked_rows(const Tensor& honest, const IpgdSetting& s) {
  const int64_t N = honest.size(0), P = honest.size(1);
  Updates u;
  u.rows = empty({N + s.byzantine, P}, honest.device());
  u.rows.slice(0, N).copy_(honest);
  if (s.byzantine > 0) {
    const Tensor b = byzantine_row(honest, s.attack, s.byzantine_clip);
    for (int64_t k = 0; k < s.byzantine; ++k) u.rows.slice(N + k, N + k + 1).copy_(b);
  }
  return u;
}

double test_accuracy(nn::Module& model, const Tensor& x, const Tensor& y) {
  return 100.0 * nn::evaluate(model, x, y, 500).accuracy();
}

}  // namespace

ClientSplit draw_client_split(const std::vector<int32_t>& labels, const std::vector<double>& proportions, int64_t m,
                              int64_t test_m, Generator& gen) {
  NF_CHECK(m >= 1 && test_m >= 1, kWho << ": a client needs m >= 1 and test_m >= 1, got " << m << " and " << test_m);
  const std::vector<int64_t> drawn = draw_by_label(labels, proportions, m + test_m, gen);
  const std::vector<int64_t> order = randperm((int64_t)drawn.size(), gen);
  ClientSplit out;
  for (size_t k = 0; k < order.size(); ++k) ((int64_t)k < m ? out.train : out.test).push_back(drawn[(size_t)order[k]]);
  return out;
}

LabelSkewFederation label_skew_federation(const std::vector<int32_t>& labels, int64_t classes, int64_t clients,
                                          double alpha, int64_t m, int64_t test_m, uint64_t seed, int64_t run) {
  NF_CHECK(classes >= 1 && clients >= 1 && alpha > 0 && run >= 0,
           kWho << ": need classes >= 1, clients >= 1, alpha > 0 and run >= 0, got " << classes << ", " << clients << ", "
                << alpha << ", " << run);
  LabelSkewFederation out;
  Generator p = Generator(seed).derive({kDirichletKey});
  for (int64_t j = 0; j < clients; ++j) out.proportions.push_back(dirichlet_draw(classes, alpha, p));
  Generator draws = Generator(seed).derive({kClientsKey, (uint64_t)run});
  for (const std::vector<double>& pj : out.proportions) out.clients.push_back(draw_client_split(labels, pj, m, test_m, draws));
  return out;
}

GradientSpread gradient_spread(const Tensor& honest, int64_t main, const Tensor& R) {
  check_rows(honest, 1);
  const int64_t N = honest.size(0), P = honest.size(1);
  NF_CHECK(main >= 0 && main < N, kWho << ": main row " << main << " is not one of the " << N << " honest rows");
  NF_CHECK(R.defined() && R.numel() == P, kWho << ": the aggregate has " << (R.defined() ? R.numel() : 0)
                                              << " values, the rows " << P);
  const std::vector<float> rows = honest.to_vector<float>(), r = R.to_vector<float>();
  std::vector<double> mean;
  GradientSpread out;
  out.spread = total_spread(rows, N, P, mean) / (double)N;
  out.gap2 = squared_distance(rows.data() + main * P, mean);
  out.kappa = out.spread > 0 ? squared_distance(r.data(), mean) / out.spread : kNaN;
  return out;
}

double mean_noise(const Tensor& per_sample) {
  check_rows(per_sample, 2);
  const int64_t m = per_sample.size(0);
  std::vector<double> mean;
  return total_spread(per_sample.to_vector<float>(), m, per_sample.size(1), mean) / (double)(m * (m - 1));
}

double plug_in_lambda_star(int64_t honest, double noise, double kappa, double spread, double gap2) {
  NF_CHECK(honest >= 1 && noise >= 0 && kappa >= 0 && spread >= 0 && gap2 >= 0,
           kWho << ": lambda* needs honest >= 1 and non-negative statistics, got " << honest << ", " << noise << ", "
                << kappa << ", " << spread << ", " << gap2);
  const double in_noise = (1 - 1.0 / (double)honest) * noise;
  // derived_lambda_star takes sigma and m with a = sigma^2 / m: m = 1 passes a itself.
  return derived_lambda_star(honest, 1, std::sqrt(noise), kappa, std::max(0.0, gap2 - in_noise),
                             std::max(0.0, spread - in_noise));
}

IpgdTrace ipgd_model(nn::Module& model, const Tensor& theta0, const Tensor& train_x, const Tensor& train_y, int64_t m,
                     int64_t honest, int64_t main, const Tensor& test_x, const Tensor& test_y, const IpgdSetting& s,
                     int64_t every) {
  check_inputs(theta0, model, train_x, m, honest, main, test_x, s, every);
  Tensor theta = model.flat_parameters();
  theta.copy_(theta0.reshape({theta0.numel()}));
  const Tensor x = train_x.slice(0, honest * m), y = train_y.slice(0, honest * m);
  const Tensor own_x = x.slice(main * m, (main + 1) * m), own_y = y.slice(main * m, (main + 1) * m);
  Generator unused(0);  // server_clip, NNM, the trimmed mean and SF draw nothing
  IpgdTrace trace;
  for (int64_t t = 0; t <= s.steps; ++t) {
    const bool record = t % every == 0 || t == s.steps;
    if (record) {
      trace.step.push_back(t);
      trace.accuracy.push_back(test_accuracy(model, test_x, test_y));
      if (s.lambda == 0)
        for (std::vector<double>* v : {&trace.kappa, &trace.spread, &trace.gap2, &trace.noise}) v->push_back(kNaN);
    }
    if (t == s.steps && s.lambda == 0) break;
    if (s.lambda == 0) {  // local training: client i's own gradient only
      add_(theta, nn::group_gradients(model, own_x, own_y, 1).reshape({theta.numel()}), (float)-s.lr);
      continue;
    }
    // Every honest gradient at theta_i in one call; row `main` is client i's own.
    const Tensor rows = nn::group_gradients(model, x, y, honest);
    const Tensor R = s.chain(attacked_rows(rows, s), unused);
    if (record) {
      const GradientSpread g = gradient_spread(rows, main, R);
      trace.kappa.push_back(g.kappa), trace.spread.push_back(g.spread), trace.gap2.push_back(g.gap2);
      trace.noise.push_back(mean_noise(nn::group_gradients(model, own_x, own_y, m)));  // one group per sample
    }
    if (t == s.steps) break;
    if (s.lambda < 1) add_(theta, rows.slice(main, main + 1).reshape({theta.numel()}), (float)(-s.lr * (1 - s.lambda)));
    add_(theta, R.reshape({theta.numel()}), (float)(-s.lr * s.lambda));
  }
  return trace;
}

}  // namespace nanofed::fl
