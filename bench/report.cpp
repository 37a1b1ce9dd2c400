#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/common.h"

namespace nanofed::bench {

namespace {
bool present(double v) { return std::isfinite(v) && v > 0; }
}  // namespace

double median(std::vector<double> values) {
  NF_CHECK(!values.empty(), "median: no values");
  const size_t n = values.size(), mid = n / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  if (n % 2) return values[mid];
  const double upper = values[mid];
  const double lower = *std::max_element(values.begin(), values.begin() + mid);
  return 0.5 * (lower + upper);
}

int64_t iterations_per_round(double seconds_per_iteration, double target_seconds, int64_t max_iterations) {
  if (!(seconds_per_iteration > 0)) return max_iterations;  // too fast for the clock
  const double k = std::ceil(target_seconds / seconds_per_iteration);
  return (int64_t)std::clamp(k, 1.0, (double)max_iterations);
}

int64_t timed_rounds(double t_ours, double t_theirs, double target_seconds, double budget_seconds, int64_t repeats) {
  const double per_round =
      std::max(target_seconds, t_ours) + (t_theirs > 0 ? std::max(target_seconds, t_theirs) : 0.0);
  return std::clamp((int64_t)(budget_seconds / per_round), (int64_t)1, std::max<int64_t>(1, repeats));
}

std::string format_ratio(double nanofed, double torch) {
  if (!present(nanofed) || !present(torch)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", nanofed / torch);
  return buf;
}

std::string format_rate(double value, const std::string& unit) {
  if (!present(value)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", value, unit.c_str());
  return buf;
}

std::string format_mib(double bytes) {
  if (!(bytes >= 0)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

}  // namespace nanofed::bench
