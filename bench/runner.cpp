#include "bench/runner.h"

#include <algorithm>
#include <cmath>

#include "bench/report.h"
#include "bench/torch_peer.h"
#include "engine/common.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::bench {

namespace {

constexpr double kSecondWarmUpBelow = 0.5;  // s: a faster first iteration gets a second, timed one
constexpr double kSlowIteration = 2.0;      // s: --quick times such an iteration only once

// The time of k iterations of one side; NaN once that side has failed.
using Timer = std::function<double(int64_t k)>;

void set_precision(const WorkloadSpec& spec, Device device) {
#if NANOFED_CUDA
  if (device.is_cuda()) cuda::set_tf32(spec.tf32);
#endif
}

// Warm-up; returns the time of one warm iteration.
double warm_up(const Timer& time) {
  const double first = time(1);
  return first < kSecondWarmUpBelow ? time(1) : first;
}

// PyTorch's side: builds the workload there, then times `run k` requests. An `err` reply ends
// this workload's torch side; a process that stops answering ends it for the rest of the run.
class TorchSide {
 public:
  TorchSide(std::unique_ptr<TorchPeer>& peer, SideResult& result) : peer_(peer), result_(result) {}

  bool setup(const std::string& name, Device device, double nanofed_items) {
    const Reply r = call("setup " + name + " " + (device.is_cuda() ? "cuda" : "cpu"));
    if (!r.ok) return false;
    const double items = number(r, "items");
    if (std::fabs(items - nanofed_items) > 1e-9 * std::fabs(nanofed_items)) {
      result_.error = "torch_ref.py counts " + std::to_string(items) + " items per iteration of " + name +
                      ", nanofed " + std::to_string(nanofed_items) + " (the two sides differ)";
      return false;
    }
    return true;
  }
  double time(int64_t k) {
    const Reply r = call("run " + std::to_string(k));
    return r.ok ? number(r, "seconds") : NAN;
  }
  void read_peak() {
    const Reply r = call("peak");
    if (r.ok) result_.memory = {number(r, "peak"), number(r, "base"), r.fields.count("measure") ? r.fields.at("measure") : "?"};
  }
  bool alive() const { return peer_ && result_.error.empty(); }

 private:
  Reply call(const std::string& request) {
    Reply r;
    if (!alive()) return r;
    try {
      r = peer_->request(request);
      if (!r.ok) result_.error = "torch_ref.py: " + r.error;
    } catch (const Error& e) {
      result_.error = e.what();
      peer_.reset();
    }
    return r;
  }
  // A field of an ok reply; a missing or malformed one ends this workload's torch side.
  double number(const Reply& r, const std::string& key) {
    try {
      return reply_number(r, key);
    } catch (const Error& e) {
      result_.error = e.what();
      return NAN;
    }
  }
  std::unique_ptr<TorchPeer>& peer_;
  SideResult& result_;
};

void summarize(SideResult& side, double items) {
  std::vector<double> per_iteration;
  for (double t : side.round_seconds) per_iteration.push_back(t / (double)side.iterations_per_round);
  side.seconds_per_iteration = median(per_iteration);
  side.throughput = items / side.seconds_per_iteration;
  side.ran = true;
}

}  // namespace

WorkloadResult run_workload(const WorkloadSpec& spec, const RunOptions& o, std::unique_ptr<TorchPeer>& peer) {
  WorkloadResult r;
  r.name = spec.name;
  set_precision(spec, o.device);
  reset_peak_memory(o.device);
  const Workload w = spec.make(o.device);
  r.unit = w.unit;
  r.items = w.items;
  TorchSide torch(peer, r.torch);
  const bool with_torch = peer && torch.setup(spec.name, o.device, w.items);

  const Timer ours = [&](int64_t k) { return time_iterations(w.step, k, o.device); };
  const Timer theirs = [&](int64_t k) { return torch.time(k); };
  const double t_ours = warm_up(ours);
  const double t_theirs = with_torch ? warm_up(theirs) : 0.0;
  r.nanofed.iterations_per_round = iterations_per_round(t_ours, o.target_seconds);
  r.torch.iterations_per_round = with_torch ? iterations_per_round(t_theirs, o.target_seconds) : 0;
  // --quick: a side slower than kSlowIteration has its warm-up iteration as its one round.
  const bool ours_done = o.quick && t_ours > kSlowIteration;
  const bool theirs_done = o.quick && t_theirs > kSlowIteration;
  if (ours_done) r.nanofed.round_seconds = {t_ours};
  if (theirs_done) r.torch.round_seconds = {t_theirs};
  const int64_t rounds = o.repeats_given ? o.repeats : timed_rounds(t_ours, t_theirs, o.target_seconds, o.budget_seconds, o.repeats);

  for (int64_t round = 0; round < rounds; ++round)
    for (int side = 0; side < 2; ++side) {
      const bool nanofed_now = (side == 0) == (round % 2 == 0);  // ABBA: alternate who goes first
      if (nanofed_now && !ours_done) r.nanofed.round_seconds.push_back(ours(r.nanofed.iterations_per_round));
      if (!nanofed_now && !theirs_done && torch.alive())
        r.torch.round_seconds.push_back(theirs(r.torch.iterations_per_round));
    }
  summarize(r.nanofed, r.items);
  r.nanofed.memory = peak_memory(o.device);
  if (torch.alive()) torch.read_peak();
  if (torch.alive()) summarize(r.torch, r.items);
  return r;
}

json to_json(const WorkloadResult& r) {
  auto side = [](const SideResult& s) {
    if (!s.ran) return s.error.empty() ? json(nullptr) : json{{"error", s.error}};  // null: no torch
    return json{{"iterations_per_round", s.iterations_per_round},
                {"round_seconds", s.round_seconds},
                {"median_seconds_per_iteration", s.seconds_per_iteration},
                {"throughput", s.throughput},
                {"peak_bytes", s.memory.peak},
                {"base_bytes", s.memory.base},
                {"memory_measure", s.memory.measure}};
  };
  json j = {{"name", r.name}, {"unit", r.unit}, {"items_per_iteration", r.items}};
  j["nanofed"] = side(r.nanofed);
  j["torch"] = side(r.torch);
  j["ratio"] = r.torch.ran ? json(r.nanofed.throughput / r.torch.throughput) : json(nullptr);
  return j;
}

}  // namespace nanofed::bench
