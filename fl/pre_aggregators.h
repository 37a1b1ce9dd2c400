// pre_aggregators.h — Updates -> Updates transforms applied before an aggregator (ByzFL's
// pre-aggregation chain). Host reference implementations in double (see aggregators.h). Ties
// are broken by the lowest row index.
#pragma once
#include <string>

#include "fl/updates.h"

namespace nanofed::fl {

// Static clipping (ByzFL "clipping", c): every row whose L2 norm exceeds max_norm is scaled to
// norm max_norm; others are unchanged. Weights kept.
class StaticClip : public PreAggregator {
 public:
  explicit StaticClip(double max_norm);
  Updates apply(const Updates& in, Generator& gen) const override;
  std::string describe() const override;

 private:
  double max_norm_;
};

// Clip every row to the median row norm (numpy.median: even K averages the two middle norms).
// A parameter-free adaptive clip; DEVIATION: not ByzFL's server_clip / ARC (002 §2.3 item 1),
// whose threshold is the c-th smallest norm with c depending on f.
class MedianNormClip : public PreAggregator {
 public:
  Updates apply(const Updates& in, Generator& gen) const override;
  std::string describe() const override { return "median_norm_clip"; }
};

// ByzFL's server_clip (FT-Byzantine §2.3 item 1, the adaptive clip its released code runs
// before NNM): with n the worker count the rule is told (0 = the number of rows K), the cut-off
// c = n - floor(f (1 + f / (n - 2f))) when f < floor(n / 3), else n - f; the rows ranked above
// c by L2 norm (stable: equal norms keep index order) are scaled to the c-th smallest norm.
// n is separate from K because the paper's f sweep tells the rule n = 500 while it receives
// 500 + f rows. Requires 1 <= c <= K. It is ByzFL's rule as released, not checked against the
// ARC paper's (Allouah et al. 2024) count of clipped rows. Weights kept.
class ServerClip : public PreAggregator {
 public:
  explicit ServerClip(int64_t f, int64_t n = 0);
  Updates apply(const Updates& in, Generator& gen) const override;
  std::string describe() const override;  // "server_clip(f=1)", "server_clip(f=1, n=500)"
  int64_t cut_off(int64_t K) const;       // c for K rows; throws unless 1 <= c <= K

 private:
  int64_t f_, n_;
};

// Nearest-neighbour mixing (Allouah et al. 2023; 002 §2.3 item 2): row i becomes the mean of
// its K - f nearest rows in squared L2 distance, itself included (distance 0). Distance ties:
// lowest index. Requires 0 <= f < K. Weights kept.
class NNM : public PreAggregator {
 public:
  explicit NNM(int64_t f);
  Updates apply(const Updates& in, Generator& gen) const override;
  std::string describe() const override;

 private:
  int64_t f_;
};

// Bucketing (Karimireddy et al. 2022): permute the rows with randperm(K, gen), then average
// groups of s consecutive rows (unweighted, as in the paper); the last bucket may be smaller.
// Output weights: the sum of each bucket's weights (1 per row when weights are empty), so the
// total weight is preserved.
class Bucketing : public PreAggregator {
 public:
  explicit Bucketing(int64_t s);
  Updates apply(const Updates& in, Generator& gen) const override;
  std::string describe() const override;

 private:
  int64_t s_;
};

}  // namespace nanofed::fl
