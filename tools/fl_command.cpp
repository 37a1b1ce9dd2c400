#include "tools/fl_command.h"

#include <algorithm>
#include <cstdio>

#include "engine/common.h"
#include "fl/config.h"
#include "fl/run.h"
#include "tools/cli_args.h"

namespace nanofed::cli {

namespace {
const char* kCommand = "nanofed fl";
const char* kUsage =
    "usage: nanofed fl CONFIG.json [key=value ...]\n"
    "  Runs a federated experiment: every grid point (list-valued keys) and seed of the config,\n"
    "  each into <out>/<name>[/<grid label>]/seed_<seed>/ (config.json, rounds.csv, clients.csv,\n"
    "  summary.json, checkpoint.safetensors), then prints a results table.\n"
    "  key=value overrides a config key (value parsed as JSON when it is JSON): strategy=ditto\n"
    "  lambda=[0.1,1] resume=true. The keys, their defaults and meaning: fl/config.h, docs/fl.md.\n";

// fl takes a file and key=value overrides, no flags: a --flag is most likely an override
// written as one (--lr=0.1 for lr=0.1).
void check_args(const std::vector<std::string>& args) {
  const std::string see = std::string("; see ") + kCommand + " --help";
  if (args.empty()) throw UsageError(kCommand + std::string(": missing CONFIG.json") + see);
  for (const std::string& a : args) {
    if (a.size() < 2 || a[0] != '-') continue;
    const std::string key = flag_name(a);
    const std::string example = key.find('=') == std::string::npos ? key + "=VALUE" : key;
    throw UsageError(kCommand + std::string(": unknown flag '") + a + "' (it takes no flags; overrides are key=value: " +
                     example + ")" + see);
  }
}

}  // namespace

int fl_command(const std::vector<std::string>& args) {
  if (std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; })) {
    std::printf("%s", kUsage);
    return 0;
  }
  check_args(args);
  fl::json config = fl::read_json_file(args[0]);
  fl::apply_overrides(config, std::vector<std::string>(args.begin() + 1, args.end()));
  fl::run(config, true, args[0]);
  return 0;
}

}  // namespace nanofed::cli
