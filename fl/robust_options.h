// robust_options.h — what the config's robustness keys mean as engine options: training-time
// smoothing augmentation and PGD adversarial training (used by fl::Simulation every step), and
// the PGD evaluation and certification options (used by fl/robustness.h after the last round).
// Only config -> options: no simulation, so the simulation and the evaluation both use it.
#pragma once
#include <optional>

#include "attacks/pgd.h"
#include "certify/certify.h"
#include "certify/smoothing.h"
#include "fl/config.h"

namespace nanofed::fl {

// The smoothing augmentation of global-side (personal = false) or personal training; nullopt
// for "none".
std::optional<certify::Smoothing> training_augmentation(const FlConfig& c, bool personal);
attacks::AttackOptions adversarial_training_attack(const FlConfig& c);
attacks::AttackOptions evaluation_attack(const FlConfig& c);
certify::CertifyOptions certification(const FlConfig& c);

}  // namespace nanofed::fl
