// naive — the flipped-label baseline (Spurious §3.3, Fig. 1c): f_g's PGD examples that fool it,
// labelled with its wrong prediction, added to the train split; plain CE, val-acc selection.
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_naive(const Context& c) {
  Recipe r;
  r.train = with_flipped_labels(c.inputs);
  return r;
}

}  // namespace nanofed::fl::personalize
