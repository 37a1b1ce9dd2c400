// nanofed_bench — nanofed beside PyTorch, interleaved in one run (docs/performance.md).
//
//   nanofed_bench [--device cpu|cuda] [--only a,b] [--repeats R] [--threads N] [--json FILE]
//                 [--quick] [--no-torch]
//
// Prints a header (date, machine, load, threads, torch version), then one line per workload:
// `workload nanofed torch ratio` (throughputs with units; ratio = nanofed / torch, higher =
// nanofed faster) and both sides' peak memory; --json writes every round's time as well.
// PyTorch's side is `torch_ref.py --serve` (bench/torch_ref.py; NANOFED_TORCH_REF overrides),
// run as a child process; without python3 + torch the torch column is "-" and one line says why.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/machine.h"
#include "bench/report.h"
#include "bench/runner.h"
#include "bench/torch_peer.h"
#include "engine/file_io.h"
#include "engine/text.h"
#include "engine/threads.h"
#include "tools/cli_args.h"

using namespace nanofed;
using namespace nanofed::bench;

namespace {

constexpr int kDefaultThreads = 2;

struct Options {
  RunOptions run;
  std::vector<const WorkloadSpec*> workloads;
  std::string json_path;
  bool torch = true;
};

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const WorkloadSpec& s : workload_specs()) names.push_back(s.name);
  return names;
}

// --only a,b (any workload, on the chosen device) or the device's default list.
std::vector<const WorkloadSpec*> select(const std::string& only, Device device) {
  std::vector<const WorkloadSpec*> out;
  if (only.empty()) {
    for (const WorkloadSpec& s : workload_specs())
      if (device.is_cuda() ? s.cuda_default : s.cpu_default) out.push_back(&s);
    return out;
  }
  for (const std::string& name : split(only, ',')) {
    const WorkloadSpec* found = nullptr;
    for (const WorkloadSpec& s : workload_specs())
      if (s.name == name) found = &s;
    if (!found)
      throw cli::UsageError("nanofed_bench: --only: unknown workload '" + name + "'" + did_you_mean(name, all_names()) +
                            " (workloads: " + join(all_names()) + ")");
    out.push_back(found);
  }
  return out;
}

// The folder of --json must exist (the file is written at the end, after minutes of work).
void check_json_path(const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::is_directory(dir))
    throw cli::UsageError("nanofed_bench: --json " + path + ": folder '" + dir.string() + "' does not exist");
}

// Everything is checked here, before any workload is built or any file written.
bool parse(const std::vector<std::string>& args, Options* o) {
  cli::ArgParser a("nanofed_bench", "nanofed beside PyTorch: the workloads of docs/performance.md, interleaved.");
  a.option("device", "cpu", "cpu | cuda (each has its own default workload list)")
      .option("only", "", "comma list of workloads to run (any of: " + join(all_names()) + ")")
      .option("repeats", "5", "timed rounds per side and workload (--quick: 1)")
      .option("json", "", "also write every round's time, medians and peak memory to this JSON file")
      .flag("quick", "smoke run (about a minute on 2 idle cores): one 0.2 s round per side; a side slower "
                     "than 2 s per iteration is timed on its warm-up iteration alone")
      .flag("no-torch", "nanofed alone");
  if (!a.parse(args)) {
    std::printf("%s", a.help().c_str());
    return false;
  }
  if (!a.given("threads")) set_num_threads(kDefaultThreads);
  o->run.device = a.device("device");
  const bool quick = a.on("quick");
  o->run.quick = quick;
  o->run.repeats_given = a.given("repeats");
  o->run.repeats = quick && !o->run.repeats_given ? 1 : a.integer("repeats");
  if (o->run.repeats < 1)
    throw cli::UsageError("nanofed_bench: --repeats expects an integer >= 1, got " + a.str("repeats"));
  o->run.target_seconds = quick ? 0.2 : 0.5;
  o->run.budget_seconds = quick ? 0 : 20;
  o->workloads = select(a.str("only"), o->run.device);
  o->json_path = a.str("json");
  check_json_path(o->json_path);
  o->torch = !a.on("no-torch");
  return true;
}

std::string header(const Options& o, const TorchPeer* peer, const std::string& why) {
  std::string torch = peer ? "torch " + reply_field(peer->hello(), "torch") + " (" + peer->python() + ", " +
                                 reply_field(peer->hello(), "threads") + " threads)"
                           : "torch -";
  std::string machine = cpu_model() + ", " + std::to_string(cpu_cores()) + " cores, OpenBLAS " + blas_core();
  if (o.run.device.is_cuda()) machine += " | " + gpu_name(o.run.device);
  std::string line = "nanofed_bench " + utc_now() + " | " + machine + " | load " + load_average() + " | device " +
                     o.run.device.str() + " | threads " + std::to_string(num_threads()) + " | " + torch;
  if (!peer) line += "\ntorch column empty: " + why;
  return line;
}

void print_row(const WorkloadResult& r) {
  // Above the start; the kernel's RSS counters lag by a few pages, so a delta may dip below 0.
  auto mem = [](const SideResult& s) {
    if (!s.ran || s.memory.peak < 0) return std::string("-");
    return format_mib(std::max(0.0, s.memory.peak - std::max(0.0, s.memory.base)));
  };
  std::printf("%-26s %-18s %-18s %-7s %s / %s\n", r.name.c_str(), format_rate(r.nanofed.throughput, r.unit).c_str(),
              format_rate(r.torch.throughput, r.unit).c_str(),
              format_ratio(r.nanofed.throughput, r.torch.throughput).c_str(), mem(r.nanofed).c_str(),
              mem(r.torch).c_str());
  if (!r.torch.ran && !r.torch.error.empty()) std::printf("  (torch: %s)\n", r.torch.error.c_str());
}

// The JSON file's top level: where, when, with what (the workloads are added as they run).
json describe_run(const Options& o, const TorchPeer* peer, const std::string& head, const std::string& why) {
  json torch = json{{"missing", why}};
  if (peer)
    torch = {{"version", reply_field(peer->hello(), "torch")},
             {"python", peer->python()},
             {"threads", reply_field(peer->hello(), "threads")}};
  return {{"header", head},
          {"date", utc_now()},
          {"machine",
           {{"cpu", cpu_model()}, {"cores", cpu_cores()}, {"openblas_core", blas_core()}, {"gpu", gpu_name(o.run.device)}}},
          {"load_before", load_average()},
          {"device", o.run.device.str()},
          {"threads", num_threads()},
          {"torch", torch},
          {"protocol",
           {{"repeats", o.run.repeats},
            {"target_round_seconds", o.run.target_seconds},
            {"budget_seconds", o.run.budget_seconds},
            {"quick", o.run.quick}}}};
}

int run(const Options& o) {
  std::string why = "--no-torch";
  std::unique_ptr<TorchPeer> peer = o.torch ? TorchPeer::start(torch_ref_path(), num_threads(), &why) : nullptr;
  const std::string head = header(o, peer.get(), why);
  std::printf("%s\n%-26s %-18s %-18s %-7s %s\n", head.c_str(), "workload", "nanofed", "torch", "ratio",
              "peak memory above start (nanofed / torch)");
  json out = describe_run(o, peer.get(), head, why);
  json rows = json::array();
  int failed = 0;
  for (const WorkloadSpec* spec : o.workloads) {
    try {
      const WorkloadResult r = run_workload(*spec, o.run, peer);
      print_row(r);
      rows.push_back(to_json(r));
    } catch (const Error& e) {  // one workload failing (e.g. out of GPU memory) ends only itself
      std::printf("%-26s FAILED: %s\n", spec->name.c_str(), e.what());
      rows.push_back({{"name", spec->name}, {"error", e.what()}});
      ++failed;
    }
  }
  out["workloads"] = rows;
  out["load_after"] = load_average();
  std::printf("load after: %s%s\n", load_average().c_str(),
              failed ? (", " + std::to_string(failed) + " workload(s) FAILED").c_str() : "");
  if (!o.json_path.empty()) write_file_atomic(o.json_path, out.dump(1) + "\n", "nanofed_bench --json");
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    Options o;
    if (!parse(std::vector<std::string>(argv + 1, argv + argc), &o)) return 0;
    return run(o);
  } catch (const cli::UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // nanofed's errors name their origin ("fl::Simulation: ...")
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
