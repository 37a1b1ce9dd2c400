#include "tools/fl_command.h"

#include <cstdio>

#include "engine/common.h"
#include "fl/config.h"
#include "fl/run.h"

namespace nanofed::cli {

namespace {
const char* kUsage =
    "usage: nanofed fl CONFIG.json [key=value ...]\n"
    "  Runs a federated experiment: every grid point (list-valued keys) and seed of the config,\n"
    "  each into <out>/<name>[/<grid label>]/seed_<seed>/ (config.json, rounds.csv, clients.csv,\n"
    "  summary.json, checkpoint.safetensors while it runs), then prints a results table and\n"
    "  writes it to <out>/<name>/results.md.\n"
    "  key=value overrides a config key (value parsed as JSON when it is JSON): strategy=ditto\n"
    "  lambda=[0.1,1] resume=true. The keys, their defaults and meaning: fl/config.h, docs/fl.md.\n";
}

int fl_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout, "%s", kUsage);
    return args.empty() ? 2 : 0;
  }
  fl::json config = fl::read_json_file(args[0]);
  fl::apply_overrides(config, std::vector<std::string>(args.begin() + 1, args.end()));
  fl::run(config, true);
  return 0;
}

}  // namespace nanofed::cli
