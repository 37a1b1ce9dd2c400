// train_command.h — `nanofed train`: trains and evaluates one model on one data set.
#pragma once
#include <string>
#include <vector>

namespace nanofed::cli {

// Runs the command on its arguments (without "train"); returns the exit code. Errors in the
// arguments or the data throw nanofed::Error (the program prints them as one line).
int train_command(const std::vector<std::string>& args);

}  // namespace nanofed::cli
