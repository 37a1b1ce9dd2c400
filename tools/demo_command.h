// demo_command.h — `nanofed demo`: two tiny nn::Module models trained on synthetic data on
// every device, the engine end to end in a second.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.h"

namespace nanofed::cli {

struct DemoResult {
  std::vector<float> losses;  // full-batch training loss of each step
  float final_loss = 0;
  float accuracy = 0;         // training accuracy after the last step
  double seconds = 0;
};

// MLP 16-32-4 (nn::MLP) on 4 Gaussian blobs, 256 samples, full-batch SGD.
DemoResult train_demo_mlp(Device device, int steps, uint64_t seed, float lr = 0.5f);
// CNN on 1x8x8 images whose class is the bright quadrant: Conv2d(1, 8, 3, padding 1), ReLU,
// MaxPool2d(2), Flatten, Linear(128, 4); 128 samples, full-batch SGD.
DemoResult train_demo_cnn(Device device, int steps, uint64_t seed, float lr = 0.2f);

int demo_command(const std::vector<std::string>& args);

}  // namespace nanofed::cli
