#include "fl/updates.h"

namespace nanofed::fl {

void Updates::validate(const char* who) const {
  NF_CHECK(rows.defined() && rows.dim() == 2 && rows.dtype() == DType::f32,
           who << ": updates must be f32 [K, P], got " << rows.str());
  NF_CHECK(rows.size(0) >= 1, who << ": no client updates (K = 0)");
  NF_CHECK(weights.empty() || (int64_t)weights.size() == rows.size(0),
           who << ": " << weights.size() << " weights for " << rows.size(0) << " updates");
  for (double w : weights) NF_CHECK(w >= 0, who << ": negative weight " << w);
}

Tensor AggregatorChain::operator()(const Updates& in, Generator& gen) const {
  NF_CHECK(aggregator != nullptr, "aggregator chain: no aggregator");
  Updates current = in;
  for (const auto& p : pre) current = p->apply(current, gen);
  return aggregator->aggregate(current);
}

std::string AggregatorChain::describe() const {
  std::string s;
  for (const auto& p : pre) s += p->describe() + " -> ";
  return s + (aggregator ? aggregator->describe() : "?");
}

}  // namespace nanofed::fl
