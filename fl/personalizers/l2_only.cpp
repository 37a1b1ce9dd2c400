// l2_only — the Fig. 3c ablation: Ours without the consistency term (selected by val-acc).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_l2_only(const Context& c) {
  Recipe r = make_ft(c);
  r.lambda_l2 = c.options.lambda_l2;
  return r;
}

}  // namespace nanofed::fl::personalize
