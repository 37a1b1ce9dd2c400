// host_draws.h — double-precision draws on the host for fl's samplers (partition sizes and
// proportions, Gaussian attack noise), shared so both draw exactly the same numbers.
#pragma once
#include <cmath>

#include "engine/random.h"

namespace nanofed::fl {

// Uniform double in (0, 1) from 53 random bits (Generator::next_uniform has only 24).
inline double uniform_open(Generator& gen) {
  return ((double)gen.next_below(1ull << 53) + 0.5) / 9007199254740992.0;
}

// Box-Muller, one of the pair.
inline double standard_normal(Generator& gen) {
  const double u1 = uniform_open(gen), u2 = uniform_open(gen);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace nanofed::fl
