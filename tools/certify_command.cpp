// certify_command.cpp — `nanofed certify` (see certify_command.h).
//
// The loop is Cohen's certify.py:
//   for i in range(len(dataset)): if i % skip: continue; if i == max: break; certify image i
// so --max is an index bound (the first image NOT certified), not a count: --skip 20 --max 500
// certifies idx 0, 20, ..., 480 (25 images). One deviation: we stop at the first i >= max;
// Cohen's `==` never fires when max is not a multiple of skip and then runs the whole set.
// Image i draws from Generator(seed).derive({i}), so its row does not depend on --skip,
// --max or on having been resumed: a killed run continued with --resume writes the rows an
// uninterrupted run would have written.
#include "tools/certify_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "certify/certify.h"
#include "certify/results.h"
#include "nn/model_io.h"
#include "tools/cli_args.h"
#include "tools/cli_data.h"
#include "tools/progress.h"
#include "tools/report_command.h"

namespace nanofed::cli {

namespace {

const char* const kCommand = "nanofed certify";
using Clock = std::chrono::steady_clock;

ArgParser make_parser() {
  ArgParser p(kCommand,
              "Certifies a checkpoint of `nanofed train` by randomized smoothing (Cohen et al.'s CERTIFY) image by\n"
              "image, writing Cohen's TSV (idx label predict radius correct time) plus radius_full (17 digits, what the\n"
              "summary uses), flushed per image.");
  p.required("model", "checkpoint written by nanofed train");
  add_eval_data_options(p);
  p.required("out", "the result TSV (an existing non-empty file needs --resume)")
      .option("sigma", "0.25", "noise level (pixel, translation, affine: std; rotation: in units of pi; scaling: half-width)")
      .option("transform", "pixel", "pixel | rotation | translation | scaling | affine")
      .option("grid", "linspace", "warp sampling grid: linspace (DeformRS) | centers (exact identity at 0)")
      .option("N0", "100", "noise samples to select the class")
      .option("N", "100000", "noise samples to estimate its probability")
      .option("alpha", "0.001", "failure probability of the certificate")
      .option("batch", "1000", "noisy copies per forward pass")
      .option("skip", "1", "certify every skip-th image (idx % skip == 0)")
      .option("max", "-1", "stop at this index: idx < max (-1 = the whole split; Cohen's --max)")
      .flag("resume", "continue an interrupted run: keep the rows in --out, skip their idx")
      .option("seed", "0", "image i draws its noise from this seed and i")
      .option("device", "cpu", "cpu | cuda");
  return p;
}

certify::CertifyOptions make_options(const ArgParser& a) {
  certify::CertifyOptions o;
  o.smoothing.transform = certify::parse_transform(a.str("transform"), std::string(kCommand) + ": --transform");
  o.smoothing.sigma = (float)a.number("sigma");
  o.smoothing.grid = certify::parse_grid(a.str("grid"), std::string(kCommand) + ": --grid");
  o.n0 = a.integer("N0");
  o.n = a.integer("N");
  o.alpha = a.number("alpha");
  o.batch = a.integer("batch");
  certify::validate(o, kCommand);  // sigma, N0 <= N, alpha in (0, 1), batch
  return o;
}

// Cohen's indices: i % skip == 0 and i < max (max < 0: no bound).
std::vector<int64_t> planned_indices(int64_t size, int64_t skip, int64_t max) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < size && (max < 0 || i < max); i += skip) out.push_back(i);
  return out;
}

// Certified accuracy at 0, 0.25, ... up to the largest radius seen, and the ACR.
void print_summary(const std::vector<certify::CertifyRow>& rows, const std::string& path) {
  if (rows.empty()) {
    std::printf("%s: no images certified (check --skip and --max)\n", path.c_str());
    return;
  }
  double max_radius = 0;
  int64_t abstained = 0;
  for (const certify::CertifyRow& r : rows) {
    if (std::isfinite(r.radius)) max_radius = std::max(max_radius, r.radius);
    abstained += r.predict < 0;
  }
  std::vector<double> radii;
  for (int k = 0; k * 0.25 <= max_radius || k == 0; ++k) radii.push_back(k * 0.25);
  const std::vector<double> curve = certify::certified_accuracy_curve(rows, radii);
  std::printf("%s: %zu images (%lld abstained)\n", path.c_str(), rows.size(), (long long)abstained);
  std::printf("radius  certified accuracy\n");
  for (size_t k = 0; k < radii.size(); ++k) std::printf("%6.2f  %6.2f%%\n", radii[k], 100 * curve[k]);
  std::printf("ACR %.6f\n", certify::average_certified_radius(rows));
}

}  // namespace

int certify_command(const std::vector<std::string>& args) {
  ArgParser a = make_parser();
  if (!a.parse_or_print_help(args)) return 0;
  const Device device = a.device("device");
  const certify::CertifyOptions o = make_options(a);
  const int64_t skip = a.integer("skip"), max = a.integer("max");
  NF_CHECK(skip >= 1, kCommand << ": --skip must be >= 1, got " << skip);
  NF_CHECK(max >= -1, kCommand << ": --max must be -1 (no bound) or an index >= 0, got " << max);
  const uint64_t seed = (uint64_t)a.integer("seed");
  const std::string out = a.str("out");
  // TsvWriter refuses too, but this says which flag to add, and before the data are loaded.
  std::error_code ec;
  NF_CHECK(a.on("resume") || !std::filesystem::exists(out, ec) || std::filesystem::file_size(out, ec) == 0,
           kCommand << ": --out " << out << " already holds results; pass --resume to continue it (it is never overwritten)");

  nn::Metadata meta;
  std::shared_ptr<nn::Module> model = nn::load_model(a.str("model"), device, &meta);
  const datasets::Dataset data = load_eval_split(a, meta);
  const std::vector<int64_t> planned = planned_indices(data.size(), skip, max);

  certify::TsvWriter writer(out, a.on("resume"));  // refuses an existing result without --resume
  std::printf("%s: %s (%s%s) on %s/%s: %zu of %lld images (skip %lld, max %lld), %s sigma %g, N0 %lld, N %lld, "
              "alpha %g, batch %lld, %s, seed %llu -> %s\n",
              kCommand, a.str("model").c_str(), meta.at("model").c_str(),
              model->has_input_normalization() ? ", input normalization" : "", a.str("dataset").c_str(),
              a.str("split").c_str(), planned.size(), (long long)data.size(), (long long)skip, (long long)max,
              certify::transform_name(o.smoothing.transform), o.smoothing.sigma, (long long)o.n0, (long long)o.n,
              o.alpha, (long long)o.batch, device.str().c_str(), (unsigned long long)seed, out.c_str());

  int64_t done = 0, correct = 0, todo = 0;
  for (const certify::CertifyRow& r : writer.done())  // the progress line counts this run's images only
    correct += r.correct && std::binary_search(planned.begin(), planned.end(), r.idx);
  for (int64_t i : planned) (writer.has(i) ? done : todo) += 1;
  if (done) std::printf("resuming: %lld of the %zu images are in %s\n", (long long)done, planned.size(), out.c_str());

  const std::vector<int32_t> labels = data.labels.to_vector<int32_t>();
  Progress progress((int64_t)planned.size());
  const auto start = Clock::now();
  int64_t certified_now = 0;
  for (int64_t i : planned) {
    if (writer.has(i)) continue;
    const Tensor x = data.images.slice(i, i + 1).to(device);
    Generator gen = Generator(seed).derive({(uint64_t)i});
    const certify::CertifyRow row = certify::certify_row(*model, x, i, labels[(size_t)i], o, gen);
    writer.write(row);
    ++done, ++certified_now;
    correct += row.correct;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    progress.update(done, "certified-correct " + std::to_string(correct) + "  " + format_duration(elapsed) + " elapsed, ETA " +
                              format_duration(elapsed / certified_now * (todo - certified_now)));
  }
  progress.finish();
  print_summary(writer.done(), out);  // the file's rows: resumed ones and this run's
  print_report_command(std::filesystem::path(out).parent_path().lexically_normal().string());
  return 0;
}

}  // namespace nanofed::cli
