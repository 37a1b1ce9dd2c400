// nanofed — the command-line program: `demo` (tools/demo_command.cpp), `train` (tools/train_command.cpp),
// `fl` (tools/fl_command.cpp), `attack` (tools/attack_command.cpp), `certify` (tools/certify_command.cpp),
// `report` (tools/report_command.cpp).
#include <cstdio>
#include <string>
#include <vector>

#include "tools/attack_command.h"
#include "tools/certify_command.h"
#include "tools/cli_args.h"
#include "tools/demo_command.h"
#include "tools/fl_command.h"
#include "tools/report_command.h"
#include "tools/train_command.h"

using namespace nanofed;

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per epoch reaches a log file at once
  const std::vector<cli::Command> commands = {
      {"demo", "train two tiny models on synthetic data (the engine end to end)", cli::demo_command},
      {"train", "train and evaluate one model", cli::train_command},
      {"fl", "run a federated experiment from a JSON config", cli::fl_command},
      {"attack", "PGD robust accuracy of a checkpoint, eps sweeps, transferability", cli::attack_command},
      {"certify", "randomized-smoothing certification, Cohen's TSV", cli::certify_command},
      {"report", "figures and an HTML page for the output folder of train, fl, attack or certify", cli::report_command},
  };
  return cli::run_program("nanofed", commands, std::vector<std::string>(argv + 1, argv + argc));
}
