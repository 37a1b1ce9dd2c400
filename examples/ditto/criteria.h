// criteria.h — one reproduction claim judged from our own CSVs: what the paper says, what we
// measured, PASS or FAIL. Every section of the driver (theory, Fashion-MNIST, FMTL) returns a
// list of these; results.md prints them as tables, and the run's exit line counts them.
#pragma once
#include <string>
#include <vector>

namespace nanofed::ditto {

struct Criterion {
  std::string claim;  // what must hold, e.g. "argmin of the mean error within one grid step of lambda*"
  std::string paper;  // the paper's number or statement, with its table/figure ("Fig. 1: 2.1333")
  std::string ours;   // our measured value(s), formatted
  bool pass = false;
};

// A markdown table: | # | claim | paper | ours | verdict |, numbered prefix + first, first + 1, ...
// (a prefix such as "B" keeps a table of uncounted reference checks apart from the criteria).
std::string criteria_table(const std::vector<Criterion>& criteria, int first = 1, const std::string& prefix = "");

}  // namespace nanofed::ditto
