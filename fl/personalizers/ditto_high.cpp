// ditto_high — Ditto at the larger coefficient of D.2's grid {0.1, 1}: fine-tuning +
// ditto_lambda_high ||w_l - w_g|| (un-squared, as the paper writes it).
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

Recipe make_ditto_high(const Context& c) {
  Recipe r = make_ft(c);
  r.lambda_l2 = c.options.ditto_lambda_high;
  return r;
}

}  // namespace nanofed::fl::personalize
