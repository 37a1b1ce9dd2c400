// benign — the §6.3 negative result: the consistency term on the clean train samples instead of
// f_g's adversarial examples (with the L2 term, as Ours; selected by val-acc).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_benign(const Context& c) {
  Recipe r = make_ours(c);
  r.consistency_x = c.inputs.train.images, r.consistency_p = c.inputs.clean_probs;
  r.select_by_adv_trans = false;
  return r;
}

}  // namespace nanofed::fl::personalize
