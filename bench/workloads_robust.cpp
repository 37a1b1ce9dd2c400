// Robustness workloads through the project's own code: PGD (attacks/) and randomized
// smoothing (certify/), on the FMNIST CNN (CPU) and ResNet18 (GPU).
#include <memory>

#include "attacks/pgd.h"
#include "bench/workloads.h"
#include "certify/certify.h"
#include "nn/models.h"
#include "nn/resnet.h"

namespace nanofed::bench {

namespace {

std::shared_ptr<nn::Module> model_for(const std::string& name, Device d) {
  Generator gen(0);
  nn::ModelOptions o;
  o.gen = &gen;
  auto model = nn::make_model(name, o);  // "cnn": Ditto's FMNIST CNN; "resnet18": width 64
  model->to(d);
  model->eval();
  return model;
}

// L-inf PGD-10, eps 8/255, alpha 2/255, random start (torchattacks' defaults), eval mode.
Workload pgd10(Device d, const std::string& model_name, const Shape& image, int64_t batch) {
  auto model = model_for(model_name, d);
  Generator gen(1);
  Shape shape{batch};
  shape.insert(shape.end(), image.begin(), image.end());
  const Tensor x = rand(shape, gen, d), y = random_labels(batch, 10, gen, d);
  const attacks::AttackOptions o;
  auto attack_gen = std::make_shared<Generator>(2);
  return {[model, x, y, o, attack_gen] { attacks::pgd(*model, x, y, o, *attack_gen); }, (double)batch, "img/s"};
}

// `num` Gaussian-noise copies (sigma 0.25) of one image classified in batches of 1000: the
// SAMPLE step of randomized smoothing.
Workload smooth(Device d, const std::string& model_name, const Shape& image, int64_t num) {
  auto model = model_for(model_name, d);
  Generator gen(1);
  const Tensor x = rand(image, gen, d);
  auto noise = std::make_shared<Generator>(2);
  return {[model, x, num, noise] { certify::sample_counts(*model, x, num, certify::Smoothing(), 1000, *noise); },
          (double)num, "samples/s"};
}

// Cohen's CERTIFY of one image: n0 = 100 selection draws, n = 100,000 estimation draws.
Workload certify_one(Device d) {
  auto model = model_for("resnet18", d);
  Generator gen(1);
  const Tensor x = rand({3, 32, 32}, gen, d);
  const certify::CertifyOptions o;  // pixel, sigma 0.25, n0 100, n 100000, alpha 0.001, batch 1000
  auto noise = std::make_shared<Generator>(2);
  return {[model, x, o, noise] { certify::certify(*model, x, o, *noise); }, (double)(o.n0 + o.n), "samples/s"};
}

}  // namespace

std::vector<WorkloadSpec> robust_workloads() {
  using D = Device;
  return {
      {"pgd10_cnn_b128", true, false, false, [](D d) { return pgd10(d, "cnn", {1, 28, 28}, 128); }},
      {"smooth_10k_cnn", true, false, false, [](D d) { return smooth(d, "cnn", {1, 28, 28}, 10000); }},
      {"pgd10_resnet18_b256", false, true, false, [](D d) { return pgd10(d, "resnet18", {3, 32, 32}, 256); }},
      {"certify_n100k", false, true, false, certify_one},
  };
}

}  // namespace nanofed::bench
