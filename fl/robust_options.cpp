// robust_options.cpp — the robust-training and robust-evaluation options a config describes.
#include "fl/robust_options.h"

namespace nanofed::fl {

namespace {

certify::Grid grid_of(const FlConfig& c) { return certify::parse_grid(c.certify_grid, "certify_grid"); }

}  // namespace

std::optional<certify::Smoothing> training_augmentation(const FlConfig& c, bool personal) {
  std::string name = c.augment;
  double sigma = c.augment_sigma;
  if (personal) {
    if (c.personal_augment != "same") name = c.personal_augment;
    if (c.personal_augment_sigma > 0) sigma = c.personal_augment_sigma;
  }
  return certify::augmentation(name, sigma, grid_of(c), personal ? "personal_augment" : "augment");
}

attacks::AttackOptions adversarial_training_attack(const FlConfig& c) {
  attacks::AttackOptions o;
  o.norm = attacks::parse_norm(c.adv_norm, "adv_norm");
  o.eps = (float)c.adv_eps;
  o.alpha = (float)c.adv_alpha;
  o.steps = c.adv_steps;
  o.random_start = c.adv_random_start;
  return o;
}

attacks::AttackOptions evaluation_attack(const FlConfig& c) {
  attacks::AttackOptions o = c.eval_attack == "l2" ? attacks::l2_defaults() : attacks::AttackOptions();
  if (c.eval_eps >= 0) o.eps = (float)c.eval_eps;
  if (c.eval_alpha >= 0) o.alpha = (float)c.eval_alpha;
  o.steps = c.eval_steps;
  o.random_start = c.eval_random_start;
  return o;
}

certify::CertifyOptions certification(const FlConfig& c) {
  certify::CertifyOptions o;
  if (c.eval_certify != "none") o.smoothing.transform = certify::parse_transform(c.eval_certify, "eval_certify");
  o.smoothing.sigma = (float)c.certify_sigma;
  o.smoothing.grid = grid_of(c);
  o.n0 = c.certify_n0;
  o.n = c.certify_n;
  o.alpha = c.certify_alpha;
  o.batch = c.certify_batch;
  return o;
}

}  // namespace nanofed::fl
