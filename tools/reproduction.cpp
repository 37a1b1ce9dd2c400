#include "tools/reproduction.h"

#include <cstdio>

#include "bench/machine.h"
#include "engine/file_io.h"

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

void write_reproduction(const std::string& root, const std::string& md, const std::vector<Figure>& figures,
                        const std::string& kind) {
  write_file_atomic(root + "/results.md", md, kind.c_str());
  Report r;
  r.dir = root;
  r.kinds = {kind};
  r.figures = figures;
  Table t;
  t.title = "results.md";
  t.text = md;
  r.tables.push_back(t);
  bool missing_package = false;
  const std::string problem = render_figures(r, missing_package);
  write_html(r, problem);
  if (!problem.empty()) std::fprintf(stderr, "%s\n", problem.c_str());
}

}  // namespace nanofed::report
