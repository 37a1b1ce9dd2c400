// jtt — just-train-twice (Liu et al. 2021, as Spurious §6.2 runs it): fine-tune once (the
// identification model, entangled with the colour), take the train rows it gets wrong, then
// fine-tune again from w_g with that error set up-sampled upweight times.
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_jtt(const Context& c) {
  c.fine_tune(c.inputs.train);  // leaves the selected FT model in c.model
  const std::vector<int64_t> errors = misclassified(c.model, c.inputs.train);
  Recipe r;
  r.train = upsample(c.inputs.train, c.inputs.train, errors, c.options.upweight - 1);
  return r;
}

}  // namespace nanofed::fl::personalize
