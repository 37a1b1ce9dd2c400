// report_command.cpp — `nanofed report DIR` (tools/report.h, docs/report.md).
#include "tools/report_command.h"

#include <cstdio>

#include "tools/cli_args.h"
#include "tools/report.h"

namespace nanofed {

namespace report {

int build_report(const std::string& dir) {
  const Report r = collect(dir);  // every check before anything is written
  bool missing_package = false;
  const std::string problem = render_figures(r, missing_package);
  write_html(r, problem);
  std::printf("report: %s/report.html (%zu figures%s, from %zu files)\n", r.dir.c_str(), r.figures.size(),
              problem.empty() ? "" : " not drawn", r.sources.size());
  if (problem.empty()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", problem.c_str());
  return missing_package ? 2 : 1;
}

}  // namespace report

namespace cli {

namespace {
const char* const kUsage =
    "usage: nanofed report DIR\n"
    "  Writes DIR/report.html and DIR/figures/*.png for the output folder of nanofed train (epochs.csv),\n"
    "  nanofed fl (one run with rounds.csv, or a folder of runs: a grid, the quickstart), nanofed attack\n"
    "  (its --out CSV and --save-png images) or nanofed certify (its --out TSVs). Figures need\n"
    "  python3-matplotlib; without it the page is written with the tables alone (exit status 2).\n"
    "  Environment: NANOFED_PYTHON (interpreter), NANOFED_PLOT_SCRIPT (tools/plot_figures.py). See docs/report.md.\n";
}  // namespace

int report_command(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::printf("%s", kUsage);
    return 0;
  }
  if (args.size() != 1) throw UsageError("nanofed report: expected one argument, the output directory DIR; see nanofed report --help");
  return report::build_report(args[0]);
}

void print_report_command(const std::string& folder) {
  const std::string dir = folder.empty() ? "." : folder;  // the parent of a bare file name
  const bool plain = dir.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._=,+-") ==
                     std::string::npos;
  std::printf("report: nanofed report %s%s%s  (figures + report.html)\n", plain ? "" : "'", dir.c_str(), plain ? "" : "'");
}

}  // namespace cli

}  // namespace nanofed
