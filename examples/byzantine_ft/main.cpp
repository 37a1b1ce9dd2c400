// examples/byzantine_ft — the reproduction of "Fine-Tuning Personalization in Federated Learning
// to Mitigate Adversarial Clients" (FT-Byzantine, Allouah et al., NeurIPS 2024). Today it runs
// RT-A1, the federated mean estimation of FT-Byzantine §2.5 / Figure 1; RT-A2 (binary logistic
// regression, the Phishing substitute) and RT-A3 (MNIST CNN) are not built yet.
//
//   build/examples/byzantine_ft [--repetitions N] [--seed S] [--out DIR]
//
//   --repetitions  Monte Carlo repetitions per swept value (default 200; the paper uses 20)
//   --seed         the draws' seed (default 0)
//   --out          the output folder (default runs/byzantine_ft)
//
// Output: <out>/mean_estimation/*.csv, results.md (written from the CSVs), figures/*.png and
// report.html. A rerun recomputes everything in seconds, deterministically (same seed, same bytes).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/machine.h"
#include "engine/common.h"
#include "engine/file_io.h"
#include "engine/text.h"
#include "examples/byzantine_ft/mean_estimation.h"
#include "tools/report.h"
#include "tools/reproduction.h"

using namespace nanofed;
using namespace nanofed::byzantine_ft;

namespace {

struct Args {
  int64_t repetitions = 200;
  uint64_t seed = 0;
  std::string out = "runs/byzantine_ft";
};

const char* kUsage =
    "usage: build/examples/byzantine_ft [--repetitions N] [--seed S] [--out DIR]\n"
    "  the FT-Byzantine reproduction (RT-A1 mean estimation); results in <out>/results.md\n"
    "  (see examples/byzantine_ft/README.md)\n";

// A non-negative integer for `flag`, or one line naming it.
uint64_t parse_count(const std::string& flag, const char* text) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  NF_CHECK(text[0] != '\0' && text[0] != '-' && *end == '\0',
           "byzantine_ft: " << flag << " expects a non-negative integer, got '" << text << "'");
  return v;
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") std::printf("%s", kUsage), std::exit(0);
    NF_CHECK(s == "--repetitions" || s == "--seed" || s == "--out",
             "byzantine_ft: unknown argument '" << s << "' (expected --repetitions, --seed or --out)\n" << kUsage);
    NF_CHECK(i + 1 < argc, "byzantine_ft: " << s << " needs a value\n" << kUsage);
    const char* value = argv[++i];
    if (s == "--repetitions") a.repetitions = (int64_t)parse_count(s, value);
    else if (s == "--seed") a.seed = parse_count(s, value);
    else a.out = value;
  }
  NF_CHECK(a.repetitions >= 2, "byzantine_ft: --repetitions must be >= 2, got " << a.repetitions);
  NF_CHECK(!a.out.empty(), "byzantine_ft: --out is empty");
  return a;
}

std::string header(const Args& a, double seconds, const std::vector<report::Criterion>& all) {
  const int passed = report::count_pass(all);
  return "# FT-Byzantine reproduction: results\n\n"
         "**Built so far: RT-A1 (mean estimation, §2.5 / Figure 1) only. RT-A2 (binary logistic regression, the "
         "Phishing substitute) and RT-A3 (MNIST CNN) are not built yet.**\n\n"
         "Written by build/examples/byzantine_ft on " + bench::utc_now() + " from the CSVs under " + a.out +
         "/mean_estimation/, " + std::to_string(a.repetitions) + " repetitions per value, seed " +
         std::to_string(a.seed) + ", " + fmt(seconds, "%.1f") + " s. Machine: " + report::machine_line() + ".\n\n**" +
         std::to_string(passed) + " PASS, " + std::to_string((int)all.size() - passed) + " FAIL** of " +
         std::to_string(all.size()) + " criteria.\n\n";
}

std::string rt_a1_text() {
  return "## RT-A1: federated mean estimation (FT-Byzantine §2.5, Figure 1)\n\n"
         "500 honest clients with means 10 + σ_h ξ_i hold m samples each (noise σ); f Byzantine clients send one value: "
         "sign flipping on the honest raw sample vectors, clipped to norm 1, averaged (≈ −1/√m). The server runs "
         "server_clip → NNM → coordinate-wise trimmed mean on the n scalars; the last honest client's estimate is "
         "(1 − λ) x̄_i + λ R, scored by (· − μ_i)² on a 200-point λ grid, averaged over the repetitions (the same draws "
         "for every λ and every swept value). Derived λ*: the boxed minimizer of §2.5's bound with κ = f/(n − 2f) and "
         "(μ_i − μ_H)² = Δ² = σ_h². Notebook λ*: the curve the paper's Figure 1 draws (σ² for σ²/m, A² for A, "
         "σ_c = √2 σ_h).\n\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const Args args = parse_args(argc, argv);
    std::error_code ec;
    std::filesystem::create_directories(args.out, ec);
    NF_CHECK(!ec, "byzantine_ft: cannot create --out " << args.out << ": " << ec.message());
    std::printf("byzantine_ft: RT-A1 mean estimation, %lld repetitions per value\n", (long long)args.repetitions);
    const MeanEstimationResult rt_a1 = run_mean_estimation(args.out + "/mean_estimation", args.repetitions, args.seed);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::string md = header(args, seconds, rt_a1.criteria) + rt_a1_text() + report::criteria_table(rt_a1.criteria) +
                     "\n" + rt_a1.markdown + "\n## Figures\n\n";
    for (const report::Figure& f : rt_a1.figures) md += "- " + f.title + ": figures/" + f.name + ".png\n";
    report::write_reproduction(args.out, md, rt_a1.figures, "FT-Byzantine reproduction");
    const int passed = report::count_pass(rt_a1.criteria);
    std::printf("\n%s\nbyzantine_ft: %d PASS, %d FAIL in %.1f s -> %s/results.md, %s/report.html\n",
                report::criteria_table(rt_a1.criteria).c_str(), passed, (int)rt_a1.criteria.size() - passed, seconds,
                args.out.c_str(), args.out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
