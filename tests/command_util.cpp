#include "tests/command_util.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/file_io.h"
#include "datasets/image_folder.h"
#include "tests/test_util.h"
#include "tools/train_command.h"

namespace nanofed::test {

namespace {

// Runs fn with the file descriptor of `stream` (1 or 2) redirected to a file; returns its text.
std::string capture(FILE* stream, const std::function<void()>& fn) {
  char path[] = "/tmp/nanofed_capture_XXXXXX";
  const int fd = mkstemp(path), target = fileno(stream);
  std::fflush(stream);
  const int saved = dup(target);
  dup2(fd, target);
  auto restore = [&] {
    std::fflush(stream);
    dup2(saved, target);
    close(saved);
    close(fd);
  };
  try {
    fn();
  } catch (...) {
    restore();
    std::remove(path);
    throw;
  }
  restore();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  return text.str();
}

}  // namespace

std::string capture_stdout(const std::function<void()>& fn) { return capture(stdout, fn); }
std::string capture_stderr(const std::function<void()>& fn) { return capture(stderr, fn); }

std::vector<std::string> synthetic_data_flags() {
  return {"--dataset", "synthetic", "--shape", "1x8x8", "--classes", "3", "--synthetic-size", "300"};
}

std::string train_synthetic_checkpoint(const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> args = synthetic_data_flags();
  args.insert(args.end(), {"--model", "mlp", "--epochs", "1", "--batch-size", "30", "--lr", "0.1", "--out", dir});
  args.insert(args.end(), extra.begin(), extra.end());
  capture_stdout([&] { cli::train_command(args); });
  return dir + "/model.safetensors";
}

PngHeader read_png_header(const std::string& path) {
  const std::vector<uint8_t> b = nanofed::read_file_bytes(path, "read_png_header");
  auto be32 = [&](size_t at) { return (int64_t)b.at(at) << 24 | (int64_t)b[at + 1] << 16 | (int64_t)b[at + 2] << 8 | b[at + 3]; };
  return {be32(16), be32(20), b.at(25)};
}

std::vector<uint8_t> read_png_gray(const std::string& path) {
  const PngHeader hdr = read_png_header(path);
  TempDir root;  // read_image_folder reads root/<class>/<image>
  std::filesystem::create_directories(root / "c");
  std::filesystem::copy_file(path, root / "c/image.png");
  // Same size: no resize; gray -> RGB -> L = (0.299 + 0.587 + 0.114) v, v again up to rounding.
  const std::vector<float> v = datasets::read_image_folder(root.path, hdr.height, hdr.width, 1).data.images.to_vector();
  std::vector<uint8_t> bytes;
  for (float x : v) bytes.push_back((uint8_t)std::lround(x * 255));
  return bytes;
}

}  // namespace nanofed::test
