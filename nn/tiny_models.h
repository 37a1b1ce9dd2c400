// tiny_models.h — two small functional models (an MLP and a CNN) trained with plain SGD on a
// synthetic problem. They exercise the whole engine end to end before nn::Module exists:
// the engine's training test and `nanofed demo` both use them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/device.h"

namespace nanofed::tiny {

struct TrainResult {
  std::vector<float> losses;  // full-batch training loss before each step
  float final_loss = 0;
  float accuracy = 0;         // training accuracy after the last step
  double seconds = 0;
};

// MLP 16-32-4 (linear, relu, linear) on 4 Gaussian blobs, 256 samples, full batch.
TrainResult train_mlp(Device device, int steps, uint64_t seed, float lr = 0.5f);
// CNN on 1x8x8 images whose class is the bright quadrant: conv3x3(1->8, pad 1), relu,
// max_pool 2, flatten, linear(128->4); 128 samples, full batch.
TrainResult train_cnn(Device device, int steps, uint64_t seed, float lr = 0.2f);

}  // namespace nanofed::tiny
