// report_command.h — `nanofed report DIR`: DIR/report.html and DIR/figures/*.png for the output
// folder of nanofed train, fl, attack or certify (tools/report.h, docs/report.md).
#pragma once
#include <string>
#include <vector>

namespace nanofed::cli {

// Runs the command on its arguments (without "report"); returns the exit code (2: the figures
// could not be rendered, the page was written without them). A bad DIR throws nanofed::Error.
int report_command(const std::vector<std::string>& args);

// The last line of a long command: "report: nanofed report DIR" (the command that makes one).
void print_report_command(const std::string& folder);

}  // namespace nanofed::cli
