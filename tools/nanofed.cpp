// nanofed — the command-line program: `demo`, `train` (tools/train.cpp), `fl` (tools/fl_command.cpp),
// `attack` (tools/attack_command.cpp), `certify` (tools/certify_command.cpp).
#include <cstdio>
#include <string>
#include <vector>

#include "engine/device.h"
#include "nn/tiny_models.h"
#include "tools/attack_command.h"
#include "tools/certify_command.h"
#include "tools/cli_args.h"
#include "tools/fl_command.h"
#include "tools/train.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

using namespace nanofed;

namespace {

void report(const char* name, Device device, const tiny::TrainResult& r) {
  std::printf("  %-4s on %-6s loss %.4f -> %.4f  train acc %5.1f%%  %3zu steps in %.3f s\n", name,
              device.str().c_str(), r.losses.front(), r.final_loss, 100.0 * r.accuracy, r.losses.size(),
              r.seconds);
}

int demo(const std::vector<std::string>& args) {
  cli::ArgParser a("nanofed demo", "Trains two tiny models on synthetic data on every device (the engine end to end).");
  if (!a.parse(args)) {
    std::printf("%s", a.help().c_str());
    return 0;
  }
  std::printf("nanofed engine demo (backends: cpu%s%s)\n",
              cuda_available() ? " + cuda" : cuda_compiled() ? "; cuda compiled, not usable: " : "",
              cuda_compiled() && !cuda_available() ? cuda_unavailable_reason().c_str() : "");
  std::vector<Device> devices{Device::cpu()};
  if (cuda_available()) devices.push_back(Device::cuda());
  for (Device d : devices) {
    report("mlp", d, tiny::train_mlp(d, 100, 1));
    report("cnn", d, tiny::train_cnn(d, 100, 2));
  }
#if NANOFED_CUDA
  if (cuda_available()) {
    cuda::MemoryStats m = cuda::memory_stats();
    std::printf("  cuda memory: peak %.2f MiB allocated, %.2f MiB reserved, %zu cudaMalloc calls\n",
                m.peak_allocated / 1048576.0, m.reserved / 1048576.0, m.system_allocations);
  }
#endif
  std::printf("(the main job is `make run`: Ditto vs FedAvg vs fine-tuning on Fashion-MNIST; see README.md)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per epoch reaches a log file at once
  const std::vector<cli::Command> commands = {
      {"demo", "train two tiny models on synthetic data (the engine end to end)", demo},
      {"train", "train and evaluate one model", cli::train_command},
      {"fl", "run a federated experiment from a JSON config", cli::fl_command},
      {"attack", "PGD robust accuracy of a checkpoint, eps sweeps, transferability", cli::attack_command},
      {"certify", "randomized-smoothing certification, Cohen's TSV", cli::certify_command},
  };
  return cli::run_program("nanofed", commands, std::vector<std::string>(argv + 1, argv + argc));
}
