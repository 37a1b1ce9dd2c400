// ft — vanilla fine-tuning (Spurious §6.2): cross-entropy on the client's train split, the
// checkpoint with the best validation accuracy.
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_ft(const Context& c) {
  Recipe r;
  r.train = c.inputs.train;
  return r;
}

}  // namespace nanofed::fl::personalize
