// consistency_only — the Fig. 3b ablation: Ours without the L2 term (selected by val-acc, as
// every method but Ours).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_consistency_only(const Context& c) {
  Recipe r = make_ours(c);
  r.lambda_l2 = 0, r.select_by_adv_trans = false;
  return r;
}

}  // namespace nanofed::fl::personalize
