// demo_command.cpp — `nanofed demo` (see demo_command.h): the data are drawn on the host from
// the seed, so every device starts from the same samples and weights.
#include "tools/demo_command.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "engine/random.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "nn/training.h"
#include "tools/cli_args.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

namespace nanofed::cli {

namespace {

// Full-batch SGD on (x, y): one step per epoch of nn::train_epoch, then the training scores.
DemoResult train(nn::Module& model, const Tensor& x, const Tensor& y, int steps, float lr) {
  DemoResult r;
  const auto start = std::chrono::steady_clock::now();
  nn::SGD opt(model.parameters(), nn::SGDOptions(lr));
  for (int s = 0; s < steps; ++s)
    r.losses.push_back((float)nn::train_epoch(model, opt, 1, [&](int64_t) { return nn::Batch{x, y}; }).loss);
  const nn::Evaluation e = nn::evaluate(model, x, y, x.size(0));
  r.final_loss = (float)e.loss();
  r.accuracy = (float)e.accuracy();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

DemoResult train_demo_mlp(Device device, int steps, uint64_t seed, float lr) {
  const int64_t n = 256, d = 16, classes = 4;
  Generator gen(seed);
  const std::vector<float> centers = normal({classes, d}, 0.0f, 1.5f, gen).to_vector();
  std::vector<int32_t> labels(n);
  std::vector<float> xs = randn({n, d}, gen).to_vector();
  for (int64_t i = 0; i < n; ++i) {
    labels[i] = (int32_t)(i % classes);
    for (int64_t j = 0; j < d; ++j) xs[i * d + j] += centers[labels[i] * d + j];
  }
  nn::MLP model({d, 32, classes}, &gen);
  model.to(device);
  return train(model, from_vector(xs, {n, d}, device), from_vector(labels, {n}, device), steps, lr);
}

DemoResult train_demo_cnn(Device device, int steps, uint64_t seed, float lr) {
  const int64_t n = 128, side = 8, channels = 8, classes = 4;
  Generator gen(seed);
  std::vector<float> xs = normal({n, 1, side, side}, 0.0f, 0.5f, gen).to_vector();
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t k = (int32_t)(i % classes);
    labels[i] = k;
    const int64_t r0 = (k / 2) * side / 2, c0 = (k % 2) * side / 2;  // the bright quadrant
    for (int64_t r = r0; r < r0 + side / 2; ++r)
      for (int64_t q = c0; q < c0 + side / 2; ++q) xs[i * side * side + r * side + q] += 1.0f;
  }
  nn::Sequential model(std::make_shared<nn::Conv2d>(1, channels, 3, 1, 1, true, &gen), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>(),
                       std::make_shared<nn::Linear>(channels * (side / 2) * (side / 2), classes, true, &gen));
  model.to(device);
  return train(model, from_vector(xs, {n, 1, side, side}, device), from_vector(labels, {n}, device), steps, lr);
}

namespace {

void report(const char* name, Device device, const DemoResult& r) {
  std::printf("  %-4s on %-6s loss %.4f -> %.4f  train acc %5.1f%%  %3zu steps in %.3f s\n", name,
              device.str().c_str(), r.losses.front(), r.final_loss, 100.0 * r.accuracy, r.losses.size(), r.seconds);
}

}  // namespace

int demo_command(const std::vector<std::string>& args) {
  ArgParser a("nanofed demo", "Trains two tiny models on synthetic data on every device (the engine end to end).");
  if (!a.parse_or_print_help(args)) return 0;
  std::printf("nanofed engine demo (backends: cpu%s%s)\n",
              cuda_available() ? " + cuda" : cuda_compiled() ? "; cuda compiled, not usable: " : "",
              cuda_compiled() && !cuda_available() ? cuda_unavailable_reason().c_str() : "");
  std::vector<Device> devices{Device::cpu()};
  if (cuda_available()) devices.push_back(Device::cuda());
  for (Device d : devices) {
    report("mlp", d, train_demo_mlp(d, 100, 1));
    report("cnn", d, train_demo_cnn(d, 100, 2));
  }
#if NANOFED_CUDA
  if (cuda_available()) {
    cuda::MemoryStats m = cuda::memory_stats();
    std::printf("  cuda memory: peak %.2f MiB allocated, %.2f MiB reserved, %zu cudaMalloc calls\n",
                m.peak_allocated / 1048576.0, m.reserved / 1048576.0, m.system_allocations);
  }
#endif
  std::printf("(the main job is `make run`: Ditto vs FedAvg vs fine-tuning on Fashion-MNIST; see README.md)\n");
  return 0;
}

}  // namespace nanofed::cli
