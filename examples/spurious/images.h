// images.h — targets 1-5 and 9 of the spurious-features reproduction on colored MNIST-10k
// (colored FMNIST with dataset=cfmnist): stage 0 trains the global model by FedAvg with Adam
// (examples/spurious/config.json, fl::run_one, resumable), then every personalizer of
// fl/personalize.h personalizes it on every client, for each personalization seed.
//
// Files under <root>/ (each written once, atomically; a killed driver skips what exists):
//   global/seed_<fl seed>/          the FedAvg run (fl::run_one's files, checkpoint kept: f_g)
//   personal/<method>_seed<s>.csv   one row per client at the selected checkpoint:
//       client, env, best_batches, acc, acc_other, loss, loss_other, adv_trans, direct_success
//   trajectory/<method>_seed<s>.csv one row per client and checkpoint (every eval_every batches;
//       rows only for ft, naive, ours and the three ablations, the methods the curves follow):
//       client, batches, acc, acc_other, loss, loss_other, adv_trans, logr_median, logr_iqr
// "global" is a method too (the unpersonalized f_g, batch 0 only).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "fl/config.h"
#include "tools/report.h"
#include "tools/reproduction.h"

namespace nanofed::spurious {

struct ImagesSection {
  std::vector<report::Criterion> criteria;
  std::vector<report::Figure> figures;
  std::string markdown;
};

// Fig. 4 and §6.3 look at the models after this many fine-tuning batches.
constexpr int64_t kRatioBatches = 16;

// "global" and the personalizers' names, in table order.
std::vector<std::string> image_methods();
// The global model's FL config: `base` (config.json + overrides, without "seeds") parsed and
// validated, writing under <root>/global, checkpoint kept, resumable. Throws one line naming the
// key before anything is written.
fl::FlConfig global_config(const fl::json& base, const std::string& root);
// Trains (or resumes) the global model, then writes every missing (method, personalization seed)
// pair's CSVs; clients > 0 keeps only the first that many clients (a smoke run: its CSVs are not
// the full run's, so give it its own root).
void run_personalizations(const fl::FlConfig& cfg, const std::vector<uint64_t>& seeds, const std::string& root,
                          int64_t clients = 0);
// Targets 1-5 and 9 judged from the CSVs under root (whatever of them exists).
ImagesSection judge_images(const std::string& root, const std::vector<uint64_t>& seeds);

}  // namespace nanofed::spurious
