// aggregators.h — robust aggregation rules: Updates [K, P] -> one f32 [P] vector.
//
// The reference implementation: every rule copies the rows to the host (to_vector), computes in
// double, and returns a [P] tensor on the rows' device. Clarity first; GPU versions come later
// and are tested against these. Each class names the reference and convention it matches (see
// FT-Byzantine (002) §2.3, the field's "Byzantine count" convention and its drift between
// libraries; docs/references.md). Ties are always broken by the lowest row index.
#pragma once
#include <string>
#include <vector>

#include "fl/updates.h"

namespace nanofed::fl {

namespace detail {
// Rows copied to the host in double: x[k * P + j].
struct HostRows {
  int64_t K = 0, P = 0;
  std::vector<double> x;
  const double* row(int64_t k) const { return x.data() + k * P; }
  double* row(int64_t k) { return x.data() + k * P; }
};
HostRows to_host(const Updates& in, const char* who);  // validates first
Tensor to_tensor(const std::vector<double>& v, const Shape& shape, Device device);
double sq_dist(const double* a, const double* b, int64_t P);
double norm(const double* a, int64_t P);
// Weights as given, or all ones when empty.
std::vector<double> weights_or_ones(const Updates& in);
// numpy.median convention: the average of the two middle values for an even count.
double median_of(std::vector<double> v);
}  // namespace detail

// Plain unweighted mean of the rows (ignores Updates.weights; see WeightedMean).
class Mean : public Aggregator {
 public:
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override { return "mean"; }
};

// FedAvg: sum_k w_k x_k / sum_k w_k (McMahan et al. 2017). Empty weights = equal weights;
// all-zero weights are an error.
class WeightedMean : public Aggregator {
 public:
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override { return "weighted_mean"; }
};

// Coordinate-wise median (Yin et al. 2018). Even K: the average of the two middle values, as
// numpy.median and torch.quantile(0.5) (ByzFL, 002 §2.3) do. DEVIATION from torch.median,
// which returns the lower of the two. Ignores weights.
class CoordinateMedian : public Aggregator {
 public:
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override { return "median"; }
};

// Coordinate-wise trimmed mean (Yin et al. 2018; ByzFL "trmean", 002 §2.3 eq. CWTM): per
// coordinate drop the f smallest and f largest values and average the remaining K - 2f.
// Requires K > 2f. Two ways to give f (ByzFL counts f, Flower and
// FederatedScope give a fraction β): a count, or a fraction beta with f = floor(beta * K) per side. Ignores weights.
class TrimmedMean : public Aggregator {
 public:
  explicit TrimmedMean(int64_t f);                   // count per side
  static TrimmedMean by_fraction(double beta);       // f = floor(beta * K), 0 <= beta < 0.5
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override;
  int64_t f_for(int64_t K) const;  // the count used for K rows

 private:
  TrimmedMean() = default;
  int64_t f_ = 0;
  double beta_ = -1;  // < 0: count mode
};

// Ditto's k-norm (Li et al. 2021, 001 §2.9 "k-norm"): drop the f rows with the largest L2
// norms and return the unweighted mean of the remaining K - f. Requires 0 <= f < K. Among equal
// norms the higher index is dropped first (the lowest index is kept, as everywhere here).
// Ignores weights.
class KNorm : public Aggregator {
 public:
  explicit KNorm(int64_t f);
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override { return "k_norm(f=" + std::to_string(f_) + ")"; }

 private:
  int64_t f_;
};

// Which neighbours a Krum score sums over (libraries differ here):
//   n_minus_f_minus_2: the K - f - 2 nearest OTHER rows — Blanchard et al. 2017 (the paper),
//                      Flower, FederatedScope. Requires K > 2f + 2.
//   n_minus_f:         the K - f nearest rows counting the row itself (distance 0), i.e. the
//                      K - f - 1 nearest others — ByzFL (002 §2.3). Requires K > 2f.
enum class KrumNeighbours { n_minus_f_minus_2, n_minus_f };

// Krum / Multi-Krum (Blanchard et al. 2017; El Mhamdi et al. 2018). score_i = sum of squared
// distances to its neighbours (above); m = 1 returns the row with the lowest score, m > 1 the
// unweighted mean of the m lowest-scoring rows. Ties: lowest index. Ignores weights.
class Krum : public Aggregator {
 public:
  // strict = false drops the resilience bound (K > 2f + 2, or K > 2f): the score then sums the
  // max(0, K - f - 2) (or K - f - 1) nearest others, as Ditto's code runs multi-Krum at 50% and
  // 80% corrupted (at 0 neighbours every score is 0 and the lowest indices win).
  explicit Krum(int64_t f, int64_t m = 1, KrumNeighbours neighbours = KrumNeighbours::n_minus_f_minus_2,
                bool strict = true);
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override;  // "krum(f=1, neighbours=n-f-2)" / "multi_krum(f=1, m=3, ...)"
  // The scores and the selected rows (ascending score, then index), exposed for tests.
  std::vector<double> scores(const Updates& in) const;
  std::vector<int64_t> selection(const Updates& in) const;

 private:
  int64_t f_, m_;
  KrumNeighbours neighbours_;
  bool strict_;
};

// Geometric median by smoothed Weiszfeld (Pillutla et al. 2022, RFA): start at the weighted
// mean, z <- sum_i b_i x_i / sum_i b_i with b_i = w_i / max(||z - x_i||, eps); stop after
// max_iter iterations or when ||z_new - z|| <= tol * max(1, ||z||). DEVIATION from ByzFL
// (002 §2.3: z0 = 0, nu = 0.1, T = 3): those defaults stop far from the median; pass
// GeometricMedian(0.1, 3, 0) to approximate them (the start still differs).
class GeometricMedian : public Aggregator {
 public:
  explicit GeometricMedian(double eps = 1e-6, int64_t max_iter = 100, double tol = 1e-7);
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override;

 private:
  double eps_, tol_;
  int64_t max_iter_;
};

// Centered clipping (Karimireddy et al. 2021, "Learning from history"):
//   v <- v + sum_i w_i (x_i - v) min(1, tau / ||x_i - v||) / sum_i w_i, repeated `iterations`
// times, starting from `center` when given (the previous aggregate, 002 §2.3 "warm-started")
// else from the weighted mean. Empty weights = equal (the paper's 1/n).
class CenteredClipping : public Aggregator {
 public:
  explicit CenteredClipping(double tau, int64_t iterations = 1, std::vector<float> center = {});
  Tensor aggregate(const Updates& in) const override;
  std::string describe() const override;

 private:
  double tau_;
  int64_t iterations_;
  std::vector<float> center_;
};

}  // namespace nanofed::fl
