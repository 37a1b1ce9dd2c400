#include "tools/reproduction.h"

#include "bench/machine.h"

namespace nanofed::report {

std::string criteria_table(const std::vector<Criterion>& criteria, int first, const std::string& prefix) {
  std::string out = "| # | claim | paper | ours | verdict |\n|---|---|---|---|---|\n";
  int i = first;
  for (const Criterion& c : criteria)
    out += "| " + prefix + std::to_string(i++) + " | " + c.claim + " | " + c.paper + " | " + c.ours + " | " +
           (c.pass ? "PASS" : "**FAIL**") + " |\n";
  return out;
}

int count_pass(const std::vector<Criterion>& criteria) {
  int n = 0;
  for (const Criterion& c : criteria) n += c.pass;
  return n;
}

std::string machine_line() {
  return bench::cpu_model() + ", " + std::to_string(bench::cpu_cores()) + " cores; load average at the end " +
         bench::load_average();
}

}  // namespace nanofed::report
