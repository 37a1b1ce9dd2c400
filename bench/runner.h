// runner.h — the measurement protocol for one workload, both sides interleaved:
//   1. build nanofed's side, then ask torch_ref.py to build its own (same name, same device);
//      each side's peak memory is reset right before its build;
//   2. warm up each side (one iteration; one more, timed, when the first took under 0.5 s) and
//      choose each side's iterations per round k so that a round lasts about the target
//      (0.5 s; --quick 0.2 s);
//   3. R rounds, alternating A/B order (nanofed first in even rounds, torch first in odd ones,
//      so that a drift in machine load hits both sides alike); a round = the time of k
//      iterations. Unless --repeats was given, R shrinks (to 1 at least) so that the rounds of
//      one workload take about the time budget (20 s; --quick: one round), which keeps the
//      slow workloads (an FL round of 100 CNN clients) from dominating the run;
//   4. per side: the median over rounds of round time / k; throughput = items / that median.
// --quick (a smoke run, not a measurement) also takes the warm-up iteration of a side slower
// than 2 s as its one round.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/measure.h"
#include "bench/workloads.h"

namespace nanofed::bench {

class TorchPeer;

struct RunOptions {
  Device device;
  int64_t repeats = 5;
  bool repeats_given = false;  // --repeats: also for slow workloads
  double target_seconds = 0.5;  // per round
  double budget_seconds = 20;   // for all rounds of one workload, both sides
  bool quick = false;
};

struct SideResult {
  bool ran = false;
  int64_t iterations_per_round = 0;
  std::vector<double> round_seconds;
  double seconds_per_iteration = 0;  // median
  double throughput = 0;             // items / seconds_per_iteration
  PeakMemory memory;
  std::string error;  // why this side has no number ("" when torch was not there at all)
};

struct WorkloadResult {
  std::string name, unit;
  double items = 0;
  SideResult nanofed, torch;
};

// Measures one workload; `peer` may be null (nanofed alone). A torch failure is recorded in
// result.torch.error; a torch process that died is reset to null (later workloads run alone).
WorkloadResult run_workload(const WorkloadSpec& spec, const RunOptions& options, std::unique_ptr<TorchPeer>& peer);

using json = nlohmann::ordered_json;
json to_json(const WorkloadResult& r);

}  // namespace nanofed::bench
