// run.h — fl::run: a config in, results on disk (what `nanofed fl CONFIG.json` does).
//
// In <out>/<name>/ (the experiment folder):
//   results.md         the results table run() prints (results_table)
//   splits/<partition>_<hash>.txt   the client partition (fl/partition.h write_split), one file
//                      per partition (hash of the keys that decide it), shared by its runs
// For each grid point and seed (config.h), in <out>/<name>[/<grid label>]/seed_<seed>/:
//   config.json        the resolved config (every key, defaults filled in)
//   rounds.csv         one row per evaluated round and model (global / personal, and each further
//                      personal set, e.g. ditto's personal@lambda=0.1):
//                      round, model, the summary columns of metrics.h, train_loss, rejected
//   clients.csv        LEAF-style, benign clients: client_id, round_number, model, num_samples,
//                      set, accuracy, loss; set = test, val for the personal models when
//                      validation_fraction > 0, and other_env for every model with colored
//                      environments (the test images in the client's other environment)
//   summary.json       last and best round per model (best by pooled_acc), labelled; timing;
//                      "split": the run's split file, relative to this folder
//   checkpoint.safetensors  the whole run state after the latest checkpointed round; deleted
//                      once the run has finished unless keep_checkpoint = true. Its metadata
//                      also make it a model file of the global model (nn::load_model,
//                      `nanofed attack --model`, `nanofed certify --model`)
//   models/personal_client<k>.safetensors   save_personal = true: each benign client's
//                      personal model after the last round (nn::load_model)
// Resume (resume = true): the run continues from checkpoint.safetensors after checking that
// the config is the same (resume, stop_at_round, progress, threads and keep_checkpoint may
// differ); rows of rounds after the checkpoint are dropped from the CSVs first, so a resumed
// run's files equal an uninterrupted run's (bit-identical on the CPU). Rows without a checkpoint
// start over from round 0 (after the same config check). A finished run (summary.json says every
// round completed) is reported from its summary alone: no data are loaded, nothing is rerun.
// Nothing is created before the data are loaded and the simulation is built, so a rejected run
// leaves no folder.
#pragma once
#include <string>
#include <vector>

#include "fl/config.h"
#include "fl/federation.h"

namespace nanofed::fl {

struct RunResult {
  std::string dir;
  std::string label;
  FlConfig config;
  json summary;
  bool stopped = false;  // stop_at_round reached before the last round
};

// One scalar config into `dir`.
RunResult run_one(const FlConfig& config, const std::string& dir, const std::string& label = "");
// Every grid point and seed of a raw config; prints a results table unless quiet. `source`
// names the config in messages ("cfg.json: lambda = -1 must be >= 0 ...").
std::vector<RunResult> run(const json& raw_config, bool print_table = true, const std::string& source = "config");

// The results table of several runs (one row per run and model), as printed by run().
std::string results_table(const std::vector<RunResult>& results);
// <folder>/results.md: a printed table, as printed (run() writes one per experiment folder).
void write_results_md(const std::string& folder, const std::string& table);

}  // namespace nanofed::fl
