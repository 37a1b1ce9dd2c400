// attack_command.h — `nanofed attack`: white-box PGD (L-inf or L2, torchattacks conventions)
// against a checkpoint written by `nanofed train`: clean accuracy, robust accuracy and attack
// success rate for one eps or a sweep, optionally a PNG grid of adversarial examples and the
// adversarial transferability to a second model (global -> personalized).
#pragma once
#include <string>
#include <vector>

namespace nanofed::cli {

// Runs the command on its arguments (without "attack"); returns the exit code. Bad flags and
// data errors throw nanofed::Error (the program prints them as one line).
int attack_command(const std::vector<std::string>& args);

}  // namespace nanofed::cli
