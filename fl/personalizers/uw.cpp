// uw — up-weighting (Spurious §6.2.2, D.2): a random uw_fraction of the train split recoloured
// in the other environment (counter-examples to the colour shortcut), each sampled upweight
// times as often (2% x 50: biased and counter-examples about equally likely).
#include <algorithm>
#include <cmath>

#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_uw(const Context& c) {
  const datasets::Dataset& train = c.inputs.train;
  const int64_t k = std::max<int64_t>(1, (int64_t)std::lround(c.options.uw_fraction * train.size()));
  std::vector<int64_t> perm = randperm(train.size(), c.gen);
  perm.resize((size_t)std::min<int64_t>(k, train.size()));
  const datasets::Dataset counter = recolor(train.subset(perm), 1 - c.inputs.env);
  std::vector<int64_t> rows(counter.size());
  for (int64_t i = 0; i < counter.size(); ++i) rows[i] = i;
  Recipe r;
  r.train = upsample(train, counter, rows, c.options.upweight);
  return r;
}

}  // namespace nanofed::fl::personalize
