// registry.cpp — the built-in personalizers in table order (fl/personalize.h).
#include <sstream>

#include "engine/common.h"
#include "fl/personalizers/personalizers.h"

namespace nanofed::fl::personalize {

const std::vector<PersonalizerInfo>& personalizers() {
  static const std::vector<PersonalizerInfo> all = {
      {"ft", "FT", make_ft},
      {"ditto", "Ditto (λ = 0.1)", make_ditto},
      {"ditto_high", "Ditto (λ = 1)", make_ditto_high},
      {"naive", "Naive (flipped labels)", make_naive},
      {"uw", "UW", make_uw},
      {"jtt", "JTT", make_jtt},
      {"ours", "Ours", make_ours},
      {"consistency_only", "Consistency only", make_consistency_only},
      {"l2_only", "L2 only", make_l2_only},
      {"benign", "Consistency on benign", make_benign},
  };
  return all;
}

const PersonalizerInfo& find_personalizer(const std::string& name) {
  std::ostringstream known;
  for (const PersonalizerInfo& p : personalizers()) {
    if (p.name == name) return p;
    known << (known.tellp() > 0 ? ", " : "") << p.name;
  }
  NF_CHECK(false, "personalizer '" << name << "' is unknown (expected one of " << known.str() << ")");
  throw;  // unreachable
}

}  // namespace nanofed::fl::personalize
