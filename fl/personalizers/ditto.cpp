// ditto — Ditto as the paper runs it on a finished global model (Spurious §6.2, D.2): fine-tuning
// + ditto_lambda ||w_l - w_g|| (un-squared, as the paper writes it; lambda in {0.1, 1}).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_ditto(const Context& c) {
  Recipe r = make_ft(c);
  r.lambda_l2 = c.options.ditto_lambda;
  return r;
}

}  // namespace nanofed::fl::personalize
