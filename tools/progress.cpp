// progress.cpp — see progress.h.
#include "tools/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace nanofed::cli {

std::string progress_bar(int64_t done, int64_t total, int width) {
  const int filled = total > 0 ? (int)(width * std::min(done, total) / total) : width;
  return "[" + std::string(filled, '=') + std::string(width - filled, ' ') + "]";
}

std::string format_duration(double seconds) {
  char buf[64];
  const long s = (long)(seconds + 0.5);
  if (seconds < 60) std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  return buf;
}

Progress::Progress(int64_t total) : Progress(total, isatty(2)) {}
Progress::Progress(int64_t total, bool tty) : total_(total), tty_(tty) {}

void Progress::update(int64_t done, const std::string& text) {
  const std::string line = progress_bar(done, total_) + " " + std::to_string(done) + "/" + std::to_string(total_) + "  " + text;
  if (tty_) {
    std::fprintf(stderr, "\r%s ", line.c_str());
  } else {
    if (total_ > 0 && done * 10 < next_decile_ * total_ && done < total_) return;
    while (total_ > 0 && done * 10 >= next_decile_ * total_) ++next_decile_;
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace nanofed::cli
