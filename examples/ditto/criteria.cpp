#include "examples/ditto/criteria.h"

namespace nanofed::ditto {

std::string criteria_table(const std::vector<Criterion>& criteria, int first, const std::string& prefix) {
  std::string out = "| # | claim | paper | ours | verdict |\n|---|---|---|---|---|\n";
  int i = first;
  for (const Criterion& c : criteria)
    out += "| " + prefix + std::to_string(i++) + " | " + c.claim + " | " + c.paper + " | " + c.ours + " | " +
           (c.pass ? "PASS" : "**FAIL**") + " |\n";
  return out;
}

}  // namespace nanofed::ditto
