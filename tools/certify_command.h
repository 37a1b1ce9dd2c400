// certify_command.h — `nanofed certify`: randomized-smoothing certification of a checkpoint,
// Cohen et al.'s certify.py loop and TSV (resumable), for Gaussian pixel noise or a DeformRS
// warp distribution; ends with the certified accuracy at radii 0, 0.25, 0.5, ... and the ACR.
#pragma once
#include <string>
#include <vector>

namespace nanofed::cli {

// Runs the command on its arguments (without "certify"); returns the exit code. Bad flags,
// an existing result without --resume and data errors throw nanofed::Error (one line).
int certify_command(const std::vector<std::string>& args);

}  // namespace nanofed::cli
