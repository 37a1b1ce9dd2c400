// personalizers.h — the built-in personalizers (fl/personalize.h), one file each; the registry
// (registry.cpp) lists them in table order.
#pragma once
#include "fl/personalize.h"

namespace nanofed::fl::personalize {

Recipe make_ft(const Context& c);                // fine-tuning on the train split
Recipe make_ours(const Context& c);              // + consistency on f_g's PGD examples + un-squared L2
Recipe make_ditto(const Context& c);             // + ditto_lambda ||w_l - w_g||
Recipe make_ditto_high(const Context& c);        // + ditto_lambda_high ||w_l - w_g||
Recipe make_naive(const Context& c);             // + f_g's fooling PGD examples with flipped labels
Recipe make_uw(const Context& c);                // + recoloured counter-examples, up-weighted
Recipe make_jtt(const Context& c);               // + FT's error set, up-sampled, from w_g again
Recipe make_consistency_only(const Context& c);  // Ours without the L2 term
Recipe make_l2_only(const Context& c);           // Ours without the consistency term
Recipe make_benign(const Context& c);            // consistency on the clean samples instead

}  // namespace nanofed::fl::personalize
