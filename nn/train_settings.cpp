// train_settings.cpp — the shared setting ranges (see train_settings.h).
#include "nn/train_settings.h"

namespace nanofed::nn {

std::string out_of_range(Setting s, double v) {
  switch (s) {
    case Setting::lr: return v > 0 ? "" : "must be > 0";
    case Setting::momentum: return v >= 0 && v < 1 ? "" : "must be in [0, 1)";
    case Setting::weight_decay:
    case Setting::seed:
    case Setting::limit: return v >= 0 ? "" : "must be >= 0";
    case Setting::batch_size: return v >= 1 ? "" : "must be >= 1";
    case Setting::classes: return v >= 2 ? "" : "must be >= 2";
  }
  return "";
}

}  // namespace nanofed::nn
