#include "nn/tiny_models.h"

#include <chrono>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "engine/random.h"

namespace nanofed::tiny {

namespace {

// PyTorch's default for Linear/Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, and
// Kaiming-uniform with a=sqrt(5) for the weight, which is the same bound.
Tensor init_param(const Shape& shape, int64_t fan_in, Generator& gen, Device device) {
  const float bound = 1.0f / std::sqrt((float)fan_in);
  return uniform(shape, -bound, bound, gen).to(device).requires_grad_();
}

void sgd_step(std::vector<Tensor>& params, float lr) {
  NoGrad no_grad;
  for (Tensor& p : params) {
    add_(p, p.grad(), -lr);
    p.zero_grad();
  }
}

float accuracy_of(const Tensor& logits, const Tensor& labels) {
  NoGrad no_grad;
  const std::vector<int32_t> pred = argmax(logits, 1).to_vector<int32_t>(), y = labels.to_vector<int32_t>();
  int correct = 0;
  for (size_t i = 0; i < y.size(); ++i) correct += pred[i] == y[i];
  return (float)correct / (float)y.size();
}

template <typename Forward>
TrainResult train(std::vector<Tensor> params, const Tensor& x, const Tensor& y, int steps, float lr,
                  Forward forward) {
  TrainResult r;
  const auto start = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) {
    Tensor loss = cross_entropy(forward(x), y);
    r.losses.push_back(loss.item());
    loss.backward();
    sgd_step(params, lr);
  }
  {
    NoGrad no_grad;
    Tensor logits = forward(x);
    r.final_loss = cross_entropy(logits, y).item();
    r.accuracy = accuracy_of(logits, y);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

TrainResult train_mlp(Device device, int steps, uint64_t seed, float lr) {
  const int64_t n = 256, d = 16, hidden = 32, classes = 4;
  Generator gen(seed);
  Tensor centers = normal({classes, d}, 0.0f, 1.5f, gen);
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = (int32_t)(i % classes);
  const std::vector<float> c = centers.to_vector();
  std::vector<float> xs = randn({n, d}, gen).to_vector();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) xs[i * d + j] += c[labels[i] * d + j];
  Tensor x = from_vector(xs, {n, d}, device), y = from_vector(labels, {n}, device);
  Tensor w1 = init_param({hidden, d}, d, gen, device), b1 = init_param({hidden}, d, gen, device);
  Tensor w2 = init_param({classes, hidden}, hidden, gen, device),
         b2 = init_param({classes}, hidden, gen, device);
  return train({w1, b1, w2, b2}, x, y, steps, lr,
               [&](const Tensor& in) { return linear(relu(linear(in, w1, b1)), w2, b2); });
}

TrainResult train_cnn(Device device, int steps, uint64_t seed, float lr) {
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
  Tensor x = from_vector(xs, {n, 1, side, side}, device), y = from_vector(labels, {n}, device);
  Tensor wc = init_param({channels, 1, 3, 3}, 9, gen, device), bc = init_param({channels}, 9, gen, device);
  const int64_t flat = channels * (side / 2) * (side / 2);
  Tensor wf = init_param({classes, flat}, flat, gen, device), bf = init_param({classes}, flat, gen, device);
  return train({wc, bc, wf, bf}, x, y, steps, lr, [&](const Tensor& in) {
    Tensor h = max_pool2d(relu(conv2d(in, wc, bc, 1, 1)), 2);
    return linear(h.flatten(1), wf, bf);
  });
}

}  // namespace nanofed::tiny
