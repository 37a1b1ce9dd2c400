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
    "  summary.json, checkpoint.safetensors), then prints a results table.\n"
    "  key=value overrides a config key (value parsed as JSON when it is JSON): strategy=ditto\n"
    "  lambda=[0.1,1] resume=true threads=1 (--threads N, as the other commands take it, is\n"
    "  threads=N). The keys, their defaults and meaning: fl/config.h, docs/fl.md.\n";

// The overrides after CONFIG.json, with `--threads N` / `--threads=N` spelled threads=N.
std::vector<std::string> overrides_of(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--threads" && i + 1 < args.size()) out.push_back("threads=" + args[++i]);
    else if (args[i].rfind("--threads=", 0) == 0) out.push_back(args[i].substr(2));
    else out.push_back(args[i]);
  }
  return out;
}
}  // namespace

int fl_command(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fprintf(args.empty() ? stderr : stdout, "%s", kUsage);
    return args.empty() ? 2 : 0;
  }
  fl::json config = fl::read_json_file(args[0]);
  fl::apply_overrides(config, overrides_of(args));
  fl::run(config, true);
  return 0;
}

}  // namespace nanofed::cli
