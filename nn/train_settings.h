// train_settings.h — the ranges of the settings every trainer takes, checked in one place so
// that `nanofed train`'s flags and the fl config's keys accept and reject the same values
// (--momentum 2 and momentum = 2 alike). Each caller names the setting in its own words (a flag
// or a config key) and reports the violation on one line.
//
//   const std::string why = nn::out_of_range(nn::Setting::momentum, 2.0);  // "must be in [0, 1)"
#pragma once
#include <string>

namespace nanofed::nn {

enum class Setting {
  lr,            // > 0 (an lr of 0 trains nothing)
  momentum,      // [0, 1) (1 or more diverges)
  weight_decay,  // >= 0
  batch_size,    // >= 1
  seed,          // >= 0 (seeds are unsigned)
  limit,         // >= 0 (0 = no limit)
  classes,       // >= 2 (one class is no classification)
};

// "" when `value` is allowed for `s`, else what is expected, e.g. "must be > 0".
std::string out_of_range(Setting s, double value);

}  // namespace nanofed::nn
