// examples/spurious — the reproduction of "Personalized Federated Learning with Spurious
// Features: An Adversarial Approach" (Spurious, docs/references.md): target 6, the Gaussian
// simulation of App. E.2 (gaussian.h), and targets 1-5, 9 on colored MNIST-10k (images.h:
// the global model by FedAvg with Adam, the personalizers of fl/personalize.h, the criteria).
//
//   build/examples/spurious [--seeds N] [--out DIR] [--clients N] [--gaussian-only] [key=value ...]
//
//   --seeds          Gaussian simulation seeds (default 5)
//   --out            the output folder (default runs/spurious)
//   --clients        personalize only the first N clients (smoke runs; give them their own --out)
//   --gaussian-only  target 6 alone (seconds)
//   key=value        overrides of examples/spurious/config.json (the global model's FL config;
//                    its "seeds" are the personalization seeds)
//
// Output: <out>/gaussian/*.csv, <out>/images/ (resumable), results.md (written from the CSVs),
// figures/*.png, report.html. The simulation takes seconds and is recomputed on each call.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/machine.h"
#include "engine/common.h"
#include "engine/text.h"
#include "examples/spurious/gaussian.h"
#include "examples/spurious/images.h"
#include "tools/reproduction.h"

using namespace nanofed;

namespace {

struct Args {
  int64_t seeds = 5;
  std::string out = "runs/spurious";
  bool gaussian_only = false;
  int64_t clients = 0;  // > 0: personalize only the first N clients (smoke runs; use their own --out)
  std::vector<std::string> overrides;  // key=value on examples/spurious/config.json
};

const char* kUsage =
    "usage: build/examples/spurious [--seeds N] [--out DIR] [--clients N] [--gaussian-only] [key=value ...]\n"
    "  the spurious-features reproduction: the Gaussian simulation (target 6, --seeds of it) and colored\n"
    "  MNIST (targets 1-5, 9; key=value overrides examples/spurious/config.json; --clients N personalizes\n"
    "  only the first N clients, a smoke run); results in <out>/results.md (examples/spurious/README.md)\n";

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") std::printf("%s", kUsage), std::exit(0);
    if (s == "--gaussian-only") {
      a.gaussian_only = true;
      continue;
    }
    if (s.find('=') != std::string::npos && s[0] != '-') {
      a.overrides.push_back(s);
      continue;
    }
    NF_CHECK(s == "--seeds" || s == "--out" || s == "--clients", "spurious: unknown argument '" << s << "' (expected --seeds, --out, --clients, --gaussian-only or key=value)\n" << kUsage);
    NF_CHECK(i + 1 < argc, "spurious: " << s << " needs a value\n" << kUsage);
    const std::string value = argv[++i];
    if (s == "--out") {
      a.out = value;
      continue;
    }
    char* end = nullptr;
    const long long n = std::strtoll(value.c_str(), &end, 10);
    NF_CHECK(!value.empty() && *end == '\0' && n >= 1 && n <= 1000,
             "spurious: " << s << " expects an integer in [1, 1000], got '" << value << "'");
    (s == "--seeds" ? a.seeds : a.clients) = n;
  }
  NF_CHECK(!a.out.empty(), "spurious: --out is empty");
  NF_CHECK(!a.gaussian_only || (a.overrides.empty() && a.clients == 0),
           "spurious: --gaussian-only runs no colored-MNIST target, so key=value and --clients have nothing to configure");
  return a;
}

// The colored-MNIST experiment, parsed and validated before anything runs.
struct ImageExperiment {
  fl::json base;
  std::vector<uint64_t> seeds;
  fl::FlConfig config;
};
ImageExperiment image_experiment(const Args& args) {
  ImageExperiment e;
  e.base = report::experiment_config("examples/spurious", false, args.overrides, e.seeds, "spurious");
  e.config = spurious::global_config(e.base, args.out + "/images");
  return e;
}

// Targets 1-5 and 9 on colored MNIST (resumable), judged from their CSVs.
spurious::ImagesSection image_targets(const Args& args, const ImageExperiment& e) {
  const std::vector<uint64_t>& seeds = e.seeds;
  const fl::json& base = e.base;
  const std::string root = args.out + "/images";
  spurious::run_personalizations(e.config, seeds, root, args.clients);
  spurious::ImagesSection s = spurious::judge_images(root, seeds);
  s.markdown = "Data " + base.value("dataset", std::string("?")) + ", FL seed " + std::to_string(base.value("seed", 0)) +
               ", personalization seeds " + std::to_string(seeds.size()) +
               (args.clients > 0 ? ", only the first " + std::to_string(args.clients) + " clients (--clients)" : "") + " (global model: examples/spurious/config.json; "
               "the scale-downs: README.md). CSVs under " + root + "/.\n\n" + report::criteria_table(s.criteria, 1, "I") +
               "\n" + s.markdown;
  return s;
}

const char* kGaussianText =
    "50 clients of 128 samples, x = [x_r, x_s], x_r ~ N(2y - 1, 1), x_s ~ N(c(2y - 1), 1) with c = 1 on even "
    "clients and −1 on odd ones (flip; vanish: 0); logistic regression without bias; FedAvg 200 rounds, 5 "
    "clients a round, 5 SGD steps of batch 16 at lr 0.1. Then w = [2, 0] (the paper's start) is personalized on "
    "client 0 (c = 1) for 200 SGD steps: fine-tuning (ft), + λ_adv times the consistency with f_g's "
    "probabilities on f_g's PGD examples, + λ_L2 ‖w − w_g‖ (un-squared), or both (ours). Values are means over "
    "the seeds; the paper shows curves, not numbers.\n\n";

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const Args args = parse_args(argc, argv);
    ImageExperiment experiment;
    if (!args.gaussian_only) experiment = image_experiment(args);  // a bad key fails before anything is written
    std::printf("spurious: target 6, the Gaussian simulation (App. E.2), %lld seeds\n", (long long)args.seeds);
    const spurious::GaussianSection e2 = spurious::run_gaussian(args.out + "/gaussian", args.seeds);
    spurious::ImagesSection img;
    if (!args.gaussian_only) img = image_targets(args, experiment);
    std::vector<report::Criterion> all = e2.criteria;
    all.insert(all.end(), img.criteria.begin(), img.criteria.end());
    std::vector<report::Figure> figures = e2.figures;
    figures.insert(figures.end(), img.figures.begin(), img.figures.end());
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int passed = report::count_pass(all);
    std::string md =
        "# Spurious-features reproduction: results\n\n"
        "Targets 6 (the Gaussian simulation, App. E.2) and 1-5, 9 (colored MNIST: the method, its baselines, the "
        "mechanism, the ablations, the gradient ratios, robustness)" +
        std::string(args.gaussian_only ? " — this run: target 6 only (--gaussian-only)" : "") +
        ". Not built: targets 7, 8, 10.\n\nWritten by build/examples/spurious on " + bench::utc_now() +
        " from the CSVs under " + args.out + "/, " + fmt(seconds, "%.1f") + " s this call. Machine: " +
        report::machine_line() + ".\n\n**" + std::to_string(passed) + " PASS, " +
        std::to_string((int)all.size() - passed) + " FAIL** of " + std::to_string(all.size()) +
        " criteria.\n\n## Target 6: the Gaussian simulation (Spurious App. E.2, Figs. 7-8)\n\n" + kGaussianText +
        report::criteria_table(e2.criteria) + "\n" + e2.markdown;
    if (!args.gaussian_only)
      md += "\n## Targets 1-5, 9: colored MNIST (Spurious Table 2, Figs. 1, 3, 4, App. E.4)\n\n" + img.markdown;
    md += "\n## Figures\n\n";
    for (const report::Figure& f : figures) md += "- " + f.title + ": figures/" + f.name + ".png\n";
    report::write_reproduction(args.out, md, figures, "spurious-features reproduction");
    std::printf("\n%s\n%s\nspurious: %d PASS, %d FAIL in %.1f s -> %s/results.md, %s/report.html\n",
                report::criteria_table(e2.criteria).c_str(),
                img.criteria.empty() ? "" : report::criteria_table(img.criteria, 1, "I").c_str(), passed,
                (int)all.size() - passed, seconds, args.out.c_str(), args.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
