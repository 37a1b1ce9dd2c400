// pgd.h — white-box gradient attacks on an nn::Module: FGSM and PGD under an L-inf or L2
// budget, untargeted or targeted, torchattacks conventions.
//
//   attacks::AttackOptions o;                       // L-inf, eps 8/255, alpha 2/255, 10 steps
//   Tensor x_adv = attacks::pgd(model, x, y, o, gen);
//
// Conventions (torchattacks; docs/references.md):
//   * inputs live in [clip_min, clip_max] = [0, 1]; any normalization belongs inside the model
//     (nn::Module::set_input_normalization), so eps is a pixel-space budget;
//   * the model runs in eval mode during the attack (BN running statistics, no dropout); its
//     train/eval mode is restored afterwards;
//   * the gradient is taken w.r.t. the input only: the model's parameters are switched to
//     requires_grad = false for the attack (and restored), so no weight-gradient GEMM runs and
//     the parameters' .grad() buffers are left untouched;
//   * the input tensor is never modified; the result is a new tensor without history;
//   * loss = mean cross-entropy over the batch (the mean only scales the gradient; the sign step
//     and the L2-normalized step are per sample, so the batch size does not change the attack);
//   * untargeted: ascend CE(model(x'), y); targeted: `y` holds the target classes and the attack
//     descends CE(model(x'), y);
//   * L-inf step: x' <- clip(x + clamp(x' + alpha * sign(g) - x, -eps, eps), clip_min, clip_max)
//     (sign(0) = 0);
//   * L2 step: x' <- x' + alpha * g / (||g||_2 + 1e-10) per sample, then delta = x' - x is scaled
//     by min(1, eps / ||delta||_2) per sample, then x' = clip(x + delta) (torchattacks PGDL2);
//   * random start: L-inf uniform in [-eps, eps] per element, L2 a Gaussian direction scaled to a
//     radius drawn U(0, 1) * eps per sample (torchattacks PGDL2: not uniform in the ball); then
//     clipped to [clip_min, clip_max]. Drawn from `gen` on the input's device;
//   * FGSM = one L-inf step of size eps from x, no random start.
// After clipping, ||x' - x|| <= eps still holds (clipping moves every coordinate towards x).
// A sample whose gradient is exactly 0 does not move (sign(0) = 0; the L2 step is 0 / 1e-10).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/random.h"
#include "engine/tensor.h"
#include "nn/module.h"

namespace nanofed::attacks {

enum class Norm { linf, l2 };
Norm parse_norm(const std::string& s, const char* what = "norm");  // "linf" | "l2"
const char* norm_name(Norm n);

struct AttackOptions {
  Norm norm = Norm::linf;
  float eps = 8.0f / 255.0f;    // budget, in the chosen norm (L2 per sample)
  float alpha = 2.0f / 255.0f;  // step size
  int64_t steps = 10;
  bool random_start = true;
  bool targeted = false;        // y holds target classes
  float clip_min = 0.0f, clip_max = 1.0f;
};

// torchattacks' PGDL2 defaults: eps 1.0, alpha 0.2, 10 steps, random start.
AttackOptions l2_defaults();

// Throws one line naming the option and what was expected: eps >= 0, alpha >= 0, steps >= 0,
// clip_min < clip_max. `who` prefixes the message (e.g. "nanofed attack", "config").
void validate(const AttackOptions& o, const std::string& who = "attack");

// x [N, ...] f32 in [clip_min, clip_max], y i32 [N] (true labels, or targets if targeted), both
// on the model's device. Returns x_adv (same shape and device, no history). Needs grad mode on
// (calling it inside a NoGrad scope throws: the input gradient could not be taped).
Tensor pgd(nn::Module& model, const Tensor& x, const Tensor& y, const AttackOptions& o, Generator& gen);
Tensor fgsm(nn::Module& model, const Tensor& x, const Tensor& y, float eps, bool targeted = false);

}  // namespace nanofed::attacks
