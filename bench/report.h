// report.h — the pure arithmetic and formatting of nanofed_bench (no timing, no I/O), so that
// tests can pin it down: medians, iterations per round, throughput and ratio columns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nanofed::bench {

// The median of `values` (the mean of the two middle ones for an even count); throws on none.
double median(std::vector<double> values);

// Iterations per timed round: enough that a round lasts about `target_seconds`, from the time of
// one iteration; at least 1, at most max_iterations.
int64_t iterations_per_round(double seconds_per_iteration, double target_seconds, int64_t max_iterations = 100000);

// Timed rounds for one workload: `repeats`, fewer when that many rounds of both sides would
// take more than budget_seconds (a side's round lasts about the target or one iteration,
// whichever is longer; t_theirs = 0 when torch does not run); at least 1.
int64_t timed_rounds(double t_ours, double t_theirs, double target_seconds, double budget_seconds, int64_t repeats);

// "3.21x": nanofed throughput / torch throughput (higher = nanofed faster); "-" when either is
// missing (<= 0 or not finite).
std::string format_ratio(double nanofed, double torch);

// A throughput with 4 significant digits and its unit, "1234 img/s", "0.2143 rounds/s"; "-"
// when missing (<= 0 or not finite).
std::string format_rate(double value, const std::string& unit);

// Bytes as MiB with one decimal ("12.3 MiB"); "-" when negative (unknown).
std::string format_mib(double bytes);

}  // namespace nanofed::bench
