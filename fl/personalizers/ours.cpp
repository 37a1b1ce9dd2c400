// ours — the paper's method (Spurious §5): CE + lambda_adv times the soft cross-entropy between
// f_g's and f_l's outputs on f_g's PGD examples of the train split (made once) + lambda_L2
// ||w_l - w_g||; the checkpoint maximizing val-acc - (1 - AdvTrans_val) (§6.2).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_ours(const Context& c) {
  Recipe r;
  r.train = c.inputs.train;
  r.consistency_x = c.inputs.train_adv, r.consistency_p = c.inputs.adv_probs;
  r.lambda_adv = c.options.lambda_adv, r.lambda_l2 = c.options.lambda_l2;
  r.select_by_adv_trans = true;
  return r;
}

}  // namespace nanofed::fl::personalize
