// attack_command.cpp — `nanofed attack` (see attack_command.h): flags -> attacks::evaluate per
// eps (and attacks::transferability with --transfer-to), printed and written as CSV.
#include "tools/attack_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "attacks/evaluate.h"
#include "datasets/image_write.h"
#include "engine/text.h"
#include "nn/model_io.h"
#include "tools/cli_args.h"
#include "tools/cli_data.h"
#include "tools/report_command.h"

namespace nanofed::cli {

namespace {

const char* const kCommand = "nanofed attack";

ArgParser make_parser() {
  ArgParser p(kCommand,
              "PGD against a checkpoint of `nanofed train`: clean accuracy, robust accuracy (correct on x and on\n"
              "x', AutoAttack's convention) and attack success rate, per eps. Inputs are in [0, 1]; a\n"
              "normalization belongs inside the model (nanofed train --normalize).");
  p.required("model", "checkpoint written by nanofed train");
  add_eval_data_options(p);
  p.option("norm", "linf", "linf | l2")
      .option("eps", "", "budget, or a comma list for a sweep (default: torchattacks' 8/255 for linf, 1.0 for l2)")
      .option("alpha", "", "step size at the first eps; a sweep keeps alpha/eps (default: eps/4 for linf, eps/5 for l2)")
      .option("steps", "10", "PGD steps (1 with --alpha = --eps and --random-start false is FGSM)")
      .option("random-start", "true", "true | false: start from a random point in the eps-ball")
      .flag("targeted", "targeted attack, target class (y + 1) mod K")
      .option("batch-size", "256", "images per attack batch")
      .option("max", "0", "attack only the first N images of the split (0 = all)")
      .option("device", "cpu", "cpu | cuda")
      .option("seed", "0", "seeds the random starts")
      .option("save-png", "", "PNG of the first --png-count images: clean | adversarial, \"T<true> P<predicted>\" under each")
      .option("png-eps", "", "the eps of the --save-png examples, one of --eps (default: the largest)")
      .option("png-count", "64", "images in each --save-png panel (8 per row)")
      .option("transfer-to", "", "second checkpoint: also report AdvTrans from --model (source) to it (target)")
      .option("out", "", "also write the results as CSV to this file");
  return p;
}

// The attack the flags describe: a reference attack and the eps list; eps k runs
// attacks::at_eps(ref, eps_k) (alpha scaled with eps, as eps_sweep does). Without --alpha the
// reference is torchattacks' default (2/255 per 8/255, 0.2 per 1.0); with it, (eps_0, alpha).
struct AttackPlan {
  attacks::AttackOptions ref;
  std::vector<float> eps;
  attacks::AttackOptions at(float eps_k) const { return attacks::at_eps(ref, eps_k); }
};

AttackPlan make_plan(const ArgParser& a) {
  AttackPlan plan;
  const std::string who = std::string(kCommand) + ": --norm";
  plan.ref = attacks::parse_norm(a.str("norm"), who.c_str()) == attacks::Norm::l2 ? attacks::l2_defaults()
                                                                                   : attacks::AttackOptions();
  plan.ref.steps = a.integer("steps");
  plan.ref.random_start = a.boolean("random-start");
  plan.ref.targeted = a.on("targeted");
  if (a.given("eps"))
    for (double e : a.numbers("eps")) plan.eps.push_back((float)e);
  else
    plan.eps = {plan.ref.eps};
  if (a.given("alpha")) {
    plan.ref.eps = plan.eps.front();
    plan.ref.alpha = (float)a.number("alpha");
  }
  for (float e : plan.eps) attacks::validate(plan.at(e), kCommand);
  return plan;
}


std::string percent(double fraction) { return fmt(100 * fraction, "%.2f%%"); }

// "0.0313725 (8/255)" for L-inf budgets that are whole 255ths, else the number.
std::string eps_str(const attacks::AttackOptions& o) {
  const double in_255ths = o.eps * 255.0;
  std::string s = fmt(o.eps, "%.6g");
  if (o.norm == attacks::Norm::linf && o.eps > 0 && std::abs(in_255ths - std::round(in_255ths)) < 1e-3)
    s += fmt(in_255ths, " (%.0f/255)");
  return s;
}

// How alpha follows eps: "eps/4" (the default ratio), "0.01" (one eps), or "0.01 at eps 0.03,
// scaled with eps" (a sweep with --alpha).
std::string alpha_str(const AttackPlan& plan, bool given) {
  if (!given) return "eps/" + fmt(plan.ref.eps / plan.ref.alpha, "%.3g");
  std::string s = fmt(plan.ref.alpha, "%.6g");
  if (plan.eps.size() > 1) s += plan.ref.eps > 0 ? " at eps " + fmt(plan.ref.eps, "%.6g") + ", scaled with eps" : " at every eps";
  return s;
}

// Which eps the --save-png examples come from: --png-eps (one of --eps), else the largest.
size_t png_eps_index(const ArgParser& a, const std::vector<float>& eps) {
  NF_CHECK(!a.given("png-eps") || a.given("save-png"), kCommand << ": --png-eps needs --save-png");
  if (!a.given("png-eps")) return (size_t)(std::max_element(eps.begin(), eps.end()) - eps.begin());
  const auto at = std::find(eps.begin(), eps.end(), (float)a.number("png-eps"));
  std::vector<std::string> listed;
  for (float e : eps) listed.push_back(fmt(e, "%.6g"));
  NF_CHECK(at != eps.end(), kCommand << ": --png-eps " << a.str("png-eps") << " must be one of --eps (" << join(listed, ",") << ")");
  return (size_t)(at - eps.begin());
}

// The first `count` images side by side, clean (left panel) and adversarial (right), each with
// "T<true label> P<predicted label>" under it.
void save_png(const std::string& path, const datasets::Dataset& data, const Tensor& adversarial,
              const attacks::AttackResult& r, int64_t count) {
  const std::vector<int32_t> y = data.labels.slice(0, count).to_vector<int32_t>();
  auto captions = [&](const std::vector<int32_t>& predicted) {
    std::vector<std::string> out;
    for (int64_t i = 0; i < count; ++i) out.push_back("T" + std::to_string(y[i]) + " P" + std::to_string(predicted[i]));
    return out;
  };
  datasets::save_captioned_panels(path, {{data.images.slice(0, count), captions(r.clean_prediction)},
                                         {adversarial.slice(0, count), captions(r.adversarial_prediction)}});
}

std::string describe(const std::string& path, const nn::Module& model, const nn::Metadata& meta) {
  return path + " (" + meta.at("model") + ", " + std::to_string(model.num_parameters()) + " parameters" +
         (model.has_input_normalization() ? ", input normalization" : "") + ")";
}

// The attack line of the header: the settings of the first eps.
void print_attack(const ArgParser& a, const AttackPlan& plan, int64_t batch_size, Device device) {
  const attacks::AttackOptions first = plan.at(plan.eps.front());
  std::printf("attack: PGD %s, eps %s, alpha %s, steps %lld, random_start %s, %s, batch %lld, %s, seed %s\n",
              attacks::norm_name(first.norm), a.given("eps") ? a.str("eps").c_str() : eps_str(first).c_str(),
              alpha_str(plan, a.given("alpha")).c_str(), (long long)first.steps, first.random_start ? "true" : "false",
              first.targeted ? "targeted (y + 1 mod K)" : "untargeted", (long long)batch_size,
              device.str().c_str(), a.str("seed").c_str());
}

// --out: the CSV with its header (transfer columns with --transfer-to); closed without --out.
std::ofstream open_results(const ArgParser& a, bool transfer) {
  std::ofstream csv;
  if (!a.given("out")) return csv;
  csv.open(a.str("out"), std::ios::trunc);
  NF_CHECK(csv.good(), kCommand << ": --out " << a.str("out") << ": cannot write");
  csv << "norm,eps,alpha,steps,random_start,targeted,samples,clean_accuracy,robust_accuracy,success_rate";
  if (transfer) csv << ",target_clean_accuracy,source_fooled,adv_trans,adv_trans_loss";
  csv << "\n";
  return csv;
}

void write_row(std::ofstream& csv, const attacks::AttackOptions& o, const attacks::AttackResult& r) {
  csv << attacks::norm_name(o.norm) << "," << fmt(o.eps, "%.7g") << "," << fmt(o.alpha, "%.7g") << "," << o.steps << ","
      << (o.random_start ? "true" : "false") << "," << (o.targeted ? "true" : "false") << "," << r.samples << ","
      << fmt(r.clean_accuracy(), "%.6f") << "," << fmt(r.robust_accuracy(), "%.6f") << "," << fmt(r.success_rate(), "%.6f");
}

void write_transfer_columns(std::ofstream& csv, const attacks::Transferability& t) {
  csv << "," << fmt(t.target_clean_accuracy, "%.6f") << "," << t.fooled_source << "," << fmt(t.adv_trans(), "%.6f") << ","
      << fmt(t.loss_measure, "%.6f");
}

}  // namespace

int attack_command(const std::vector<std::string>& args) {
  ArgParser a = make_parser();
  if (!a.parse_or_print_help(args)) return 0;
  const Device device = a.device("device");
  const AttackPlan plan = make_plan(a);
  const int64_t batch_size = a.integer("batch-size"), max = a.integer("max"), png_count = a.integer("png-count");
  NF_CHECK(batch_size > 0, kCommand << ": --batch-size must be positive, got " << batch_size);
  NF_CHECK(max >= 0, kCommand << ": --max must be >= 0 (0 = all), got " << max);
  NF_CHECK(png_count > 0, kCommand << ": --png-count must be positive, got " << png_count);
  const size_t png_index = png_eps_index(a, plan.eps);
  const bool transfer = a.given("transfer-to");
  NF_CHECK(!(transfer && plan.ref.targeted),
           kCommand << ": --transfer-to measures untargeted transferability; drop --targeted");

  nn::Metadata meta;
  std::shared_ptr<nn::Module> model = nn::load_model(a.str("model"), device, &meta);
  datasets::Dataset data = load_eval_split(a, meta);
  if (max > 0 && max < data.size()) data = data.slice(0, max);
  std::shared_ptr<nn::Module> target;
  nn::Metadata target_meta;
  if (transfer) {
    target = nn::load_model(a.str("transfer-to"), device, &target_meta);
    check_model_input(a, target_meta, data);
  }

  std::printf("%s: %s on %s/%s (%lld images %s)\n", kCommand, describe(a.str("model"), *model, meta).c_str(),
              a.str("dataset").c_str(), a.str("split").c_str(), (long long)data.size(),
              shape_str(data.sample_shape()).c_str());
  print_attack(a, plan, batch_size, device);
  if (transfer)
    std::printf("transfer to: %s\n", describe(a.str("transfer-to"), *target, target_meta).c_str());

  std::ofstream csv = open_results(a, transfer);

  Generator gen((uint64_t)a.integer("seed"));  // evaluate() derives one stream per batch from it
  for (size_t k = 0; k < plan.eps.size(); ++k) {
    const attacks::AttackOptions o = plan.at(plan.eps[k]);
    attacks::EvaluateOptions eo;
    eo.batch_size = batch_size;
    Tensor adversarial;  // x' of this eps: the PNG and the transfer reuse it (no second PGD run)
    const bool png = k == png_index && a.given("save-png");
    if (png || transfer) eo.adversarial = &adversarial;
    const auto start = std::chrono::steady_clock::now();
    const attacks::AttackResult r = attacks::evaluate(*model, data, o, gen, eo);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("eps %s  alpha %.6g  clean accuracy %s  robust accuracy %s  attack success %s  (%.1f s)\n",
                eps_str(o).c_str(), o.alpha, percent(r.clean_accuracy()).c_str(), percent(r.robust_accuracy()).c_str(),
                percent(r.success_rate()).c_str(), seconds);
    if (csv.is_open()) write_row(csv, o, r);
    if (transfer) {
      const attacks::Transferability t = attacks::transferability(*model, *target, data, adversarial, batch_size);
      std::printf("  transfer: AdvTrans %s (%lld of the %lld examples that fool the source fool the target), "
                  "loss measure %.4f, clean accuracy source %s target %s\n",
                  percent(t.adv_trans()).c_str(), (long long)t.fooled_both, (long long)t.fooled_source, t.loss_measure,
                  percent(t.source_clean_accuracy).c_str(), percent(t.target_clean_accuracy).c_str());
      if (csv.is_open()) write_transfer_columns(csv, t);
    }
    if (csv.is_open()) {
      csv << "\n";
      csv.flush();  // a killed sweep keeps the finished eps
    }
    if (png && data.size() > 0) {  // after the row: a bad path cannot leave a torn CSV line
      const int64_t count = std::min(png_count, data.size());
      save_png(a.str("save-png"), data, adversarial, r, count);
      std::printf("  wrote the first %lld images at eps %s to %s: clean | adversarial, T<true label> "
                  "P<predicted label> under each\n",
                  (long long)count, eps_str(o).c_str(), a.str("save-png").c_str());
    }
  }
  if (a.given("out")) print_report_command(std::filesystem::path(a.str("out")).parent_path().lexically_normal().string());
  return 0;
}

}  // namespace nanofed::cli
