// updates.h — what flows from clients to the server: updates stacked as rows.
//
// Updates.rows is [K, P] f32 (client k's update, a flat parameter-arena difference, is row k);
// weights holds one non-negative weight per row (usually the client's sample count), or is
// empty for equal weights. Pre-aggregators map Updates to Updates (clipping, NNM, bucketing);
// an aggregator maps Updates to one [P] vector; Byzantine attacks rewrite the corrupted rows.
// Every piece documents the reference it matches (paper, equation, code).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::fl {

struct Updates {
  Tensor rows;                  // f32 [K, P]
  std::vector<double> weights;  // size K, or empty = all equal
  int64_t count() const { return rows.defined() ? rows.size(0) : 0; }
  int64_t dim() const { return rows.defined() ? rows.size(1) : 0; }
  // Throws naming `who` unless rows is f32 [K, P] with K >= 1 and weights empty or of size K, >= 0.
  void validate(const char* who) const;
};

class PreAggregator {
 public:
  virtual ~PreAggregator() = default;
  virtual Updates apply(const Updates& in, Generator& gen) const = 0;
  virtual std::string describe() const = 0;  // e.g. "clip(norm=10)"
};

class Aggregator {
 public:
  virtual ~Aggregator() = default;
  virtual Tensor aggregate(const Updates& in) const = 0;  // f32 [P] on the rows' device
  virtual std::string describe() const = 0;              // e.g. "krum(f=1, neighbours=n-f-2)"
};

// pre-aggregators in order, then the aggregator.
struct AggregatorChain {
  std::vector<std::shared_ptr<PreAggregator>> pre;
  std::shared_ptr<Aggregator> aggregator;
  Tensor operator()(const Updates& in, Generator& gen) const;
  std::string describe() const;  // "clip(norm=10) -> nnm(f=1) -> median"
};

}  // namespace nanofed::fl
