// progress.h — the progress line of long-running commands, on stderr: redrawn in place (\r) on
// a terminal; on a pipe or log file one line each time another ~10% is done, so logs stay short.
//
//   Progress p(total);
//   p.update(done, "certified 31  ...");   // "[=======         ] 40/100  certified 31  ..."
//   p.finish();                             // ends the line on a terminal
#pragma once
#include <cstdint>
#include <string>

namespace nanofed::cli {

// "[=======         ]": done/total of `width` characters filled.
std::string progress_bar(int64_t done, int64_t total, int width = 24);
// "42.1 s", "3 min 07 s", "2 h 05 min": durations a person reads at a glance.
std::string format_duration(double seconds);

class Progress {
 public:
  explicit Progress(int64_t total);
  Progress(int64_t total, bool tty);
  void update(int64_t done, const std::string& text);
  void finish();

 private:
  int64_t total_;
  bool tty_;
  int64_t next_decile_ = 1;  // off a terminal: print when done reaches next_decile_ * total / 10
};

}  // namespace nanofed::cli
