#include "tools/fl_command.h"

#include <algorithm>
#include <cstdio>

#include "engine/common.h"
#include "fl/comm.h"
#include "fl/config.h"
#include "fl/run.h"
#include "tools/cli_args.h"
#include "tools/report_command.h"

namespace nanofed::cli {

namespace {
const char* kCommand = "nanofed fl";
const char* kUsage =
    "usage: nanofed fl CONFIG.json [key=value ...]\n"
    "  Runs a federated experiment: every grid point (list-valued keys) and seed of the config,\n"
    "  each into <out>/<name>[/<grid label>]/seed_<seed>/ (config.json, rounds.csv, clients.csv,\n"
    "  summary.json, checkpoint.safetensors while it runs), then prints a results table and\n"
    "  writes it to <out>/<name>/results.md.\n"
    "  key=value overrides a config key (value parsed as JSON when it is JSON): strategy=ditto\n"
    "  lambda=[0.1,1] resume=true threads=1 (--threads N, as the other commands take it, is\n"
    "  threads=N). The keys, their defaults and meaning: fl/config.h, docs/fl.md.\n";

// The overrides after CONFIG.json, with `--threads N` / `--threads=N` (the flag every command
// takes, checked as there) spelled threads=N. Any other --flag is most likely an override
// written as one (--lr=0.1 for lr=0.1): a usage error saying so.
std::vector<std::string> overrides_of(const std::vector<std::string>& args) {
  const std::string see = std::string("; see ") + kCommand + " --help";
  if (args.empty() || args[0].rfind("--threads", 0) == 0)
    throw UsageError(kCommand + std::string(": missing CONFIG.json (it comes first)") + see);
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--threads" || a.rfind("--threads=", 0) == 0) {
      if (a == "--threads" && i + 1 >= args.size())
        throw UsageError(kCommand + std::string(": --threads needs a value") + see);
      out.push_back("threads=" + std::to_string(thread_count(kCommand, a == "--threads" ? args[++i] : a.substr(10))));
      continue;
    }
    if (a.size() >= 2 && a[0] == '-') {
      const std::string key = flag_name(a);
      const std::string example = key.find('=') == std::string::npos ? key + "=VALUE" : key;
      throw UsageError(kCommand + std::string(": unknown flag '") + a +
                       "' (it takes no flags but --threads; overrides are key=value: " + example + ")" + see);
    }
    if (i > 0) out.push_back(a);  // args[0] is CONFIG.json
  }
  return out;
}

}  // namespace

int fl_command(const std::vector<std::string>& args) {
  if (std::any_of(args.begin(), args.end(), [](const std::string& a) { return a == "--help" || a == "-h"; })) {
    std::printf("%s", kUsage);
    return 0;
  }
  const std::vector<std::string> overrides = overrides_of(args);
  fl::json config = fl::read_config_file(args[0]);
  fl::apply_overrides(config, overrides);
  std::vector<std::string> folders;  // one per experiment: <out>/<name>
  for (const fl::RunResult& r : fl::run(config, true, args[0]))
    if (std::find(folders.begin(), folders.end(), r.config.out + "/" + r.config.name) == folders.end())
      folders.push_back(r.config.out + "/" + r.config.name);
  if (fl::world().rank() == 0)
    for (const std::string& folder : folders) print_report_command(folder);
  return 0;
}

}  // namespace nanofed::cli
