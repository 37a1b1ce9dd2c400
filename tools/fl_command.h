// fl_command.h — `nanofed fl CONFIG.json [key=value ...]`: runs fl::run on a config file.
#pragma once
#include <string>
#include <vector>

namespace nanofed::cli {

// Returns the exit code; bad configs and data errors throw nanofed::Error (one line).
int fl_command(const std::vector<std::string>& args);

}  // namespace nanofed::cli
