// gaussian.h — target 6 of the spurious-features reproduction: the Gaussian simulation of
// Spurious App. E.2 (Figs. 7-8) on fl/spurious_gaussian.h, written to CSVs and judged from them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tools/report.h"
#include "tools/reproduction.h"

namespace nanofed::spurious {

struct GaussianSection {
  std::vector<report::Criterion> criteria;
  std::vector<report::Figure> figures;
  std::string markdown;  // the tables under the criteria
};

// Runs the simulation for seeds 0..seeds-1 into <dir>/*.csv (rewritten: it takes seconds), then
// reads the CSVs back and judges target 6.
GaussianSection run_gaussian(const std::string& dir, int64_t seeds);

}  // namespace nanofed::spurious
