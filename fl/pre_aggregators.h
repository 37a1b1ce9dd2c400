// pre_aggregators.h — Updates -> Updates transforms applied before an aggregator (ByzFL's
// pre-aggregation chain, fl_ecosystem.md "Robust aggregation as a chain"). Host reference
// implementations in double (see aggregators.h). Ties are broken by the lowest row index.
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
