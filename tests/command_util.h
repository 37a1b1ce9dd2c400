// command_util.h — what the in-process tests of the nanofed commands share: capturing what a
// command prints, a small checkpoint trained by `nanofed train`, and PNG header fields.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace nanofed::test {

// Runs fn with stdout redirected to a file; returns what it printed (fn's exceptions propagate
// after stdout is restored).
std::string capture_stdout(const std::function<void()>& fn);
std::string capture_stderr(const std::function<void()>& fn);  // the same for stderr

// `nanofed train --dataset synthetic --model mlp --epochs 1` on 1x8x8 images of 3 classes
// (300 training, 60 test samples) into dir; returns the checkpoint path. `extra` flags are
// appended (e.g. {"--seed", "4"}). About 0.1 s.
std::string train_synthetic_checkpoint(const std::string& dir, const std::vector<std::string>& extra = {});
// The data flags that select the same synthetic set.
std::vector<std::string> synthetic_data_flags();

struct PngHeader {
  int64_t width, height, color_type;  // color type 0: gray, 2: RGB
};
PngHeader read_png_header(const std::string& path);
// The pixels of a gray PNG, row-major bytes [height * width] (decoded by read_image_folder).
std::vector<uint8_t> read_png_gray(const std::string& path);

}  // namespace nanofed::test
