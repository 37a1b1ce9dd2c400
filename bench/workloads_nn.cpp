// The engine's building blocks and models: GEMM, convolution, MLP/CNN/ResNet18 training steps
// and ResNet18 inference.
#include <memory>

#include "bench/workloads.h"
#include "engine/autograd.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "nn/models.h"
#include "nn/resnet.h"

namespace nanofed::bench {

namespace {

constexpr double kGiga = 1e9;

Workload gemm(Device d, int64_t n) {
  Generator gen(0);
  const Tensor a = randn({n, n}, gen, d), b = randn({n, n}, gen, d);
  return {[a, b] {
            NoGrad no_grad;
            matmul(a, b);
          },
          2.0 * n * n * n / kGiga, "GFLOP/s"};
}

// conv2d N32 C64 16x16 K64 3x3 pad 1; with_backward adds the input and weight gradients.
Workload conv(Device d, bool with_backward) {
  const int64_t N = 32, C = 64, H = 16, K = 64, R = 3;
  Generator gen(0);
  Tensor x = randn({N, C, H, H}, gen, d), w = mul(randn({K, C, R, R}, gen, d), 0.05f);
  const double fwd_flops = 2.0 * N * K * H * H * C * R * R;  // stride 1, pad 1: output H x H
  if (!with_backward)
    return {[x, w] {
              NoGrad no_grad;
              conv2d(x, w, Tensor(), 1, 1);
            },
            fwd_flops / kGiga, "GFLOP/s"};
  x.requires_grad_();
  w.requires_grad_();
  const Tensor g = randn({N, K, H, H}, gen, d);
  // Gradients accumulate into x.grad and w.grad, as PyTorch's do without zeroing.
  return {[x, w, g] { conv2d(x, w, Tensor(), 1, 1).backward(g); }, 3 * fwd_flops / kGiga, "GFLOP/s"};
}

Workload mlp_step(Device d, int64_t batch) {
  Generator gen(0);
  auto model = std::make_shared<nn::MLP>(std::vector<int64_t>{784, 200, 200, 10}, &gen);
  const Tensor x = rand({batch, 1, 28, 28}, gen, d), y = random_labels(batch, 10, gen, d);
  return {train_step(model, nn::SGDOptions(0.01), x, y), 1, "steps/s"};
}

Workload fmnist_cnn_train(Device d, int64_t batch) {
  Generator gen(0);
  nn::CNNOptions o;
  o.gen = &gen;
  auto model = std::make_shared<nn::FmnistCNN>(o);
  const Tensor x = rand({batch, 1, 28, 28}, gen, d), y = random_labels(batch, 10, gen, d);
  return {train_step(model, nn::SGDOptions(0.05), x, y), (double)batch, "img/s"};
}

std::shared_ptr<nn::ResNet18> resnet18(int64_t width, Generator& gen) {
  nn::ResNet18Options o;
  o.width = width;
  o.gen = &gen;
  return std::make_shared<nn::ResNet18>(o);
}

// CIFAR ResNet18, SGD lr 0.1, momentum 0.9, weight decay 5e-4, BN in training mode.
Workload resnet18_train(Device d, int64_t width, int64_t batch) {
  Generator gen(0);
  auto model = resnet18(width, gen);
  const Tensor x = randn({batch, 3, 32, 32}, gen, d), y = random_labels(batch, 10, gen, d);
  return {train_step(model, nn::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4), x, y), (double)batch, "img/s"};
}

Workload resnet18_eval(Device d, int64_t width, int64_t batch) {
  Generator gen(0);
  auto model = resnet18(width, gen);
  model->to(d);
  model->eval();
  const Tensor x = randn({batch, 3, 32, 32}, gen, d);
  return {[model, x] {
            NoGrad no_grad;
            (*model)(x);
          },
          (double)batch, "img/s"};
}

}  // namespace

std::vector<WorkloadSpec> nn_workloads() {
  using D = Device;
  return {
      {"gemm_1024", true, false, false, [](D d) { return gemm(d, 1024); }},
      {"mlp_step", true, true, false, [](D d) { return mlp_step(d, 32); }},
      {"fmnist_cnn_train_b64", true, false, false, [](D d) { return fmnist_cnn_train(d, 64); }},
      {"conv_fwd", true, false, false, [](D d) { return conv(d, false); }},
      {"conv_fwd_bwd", true, false, false, [](D d) { return conv(d, true); }},
      {"resnet18_w16_train_b32", true, false, false, [](D d) { return resnet18_train(d, 16, 32); }},
      {"resnet18_w16_eval_b256", true, false, false, [](D d) { return resnet18_eval(d, 16, 256); }},
      {"resnet18_train_b128_fp32", false, true, false, [](D d) { return resnet18_train(d, 64, 128); }},
      {"resnet18_train_b128_tf32", false, true, true, [](D d) { return resnet18_train(d, 64, 128); }},
      {"resnet18_train_b64_fp32", false, true, false, [](D d) { return resnet18_train(d, 64, 64); }},
      {"resnet18_train_b64_tf32", false, true, true, [](D d) { return resnet18_train(d, 64, 64); }},
      {"resnet18_eval_b1000", false, true, false, [](D d) { return resnet18_eval(d, 64, 1000); }},
  };
}

}  // namespace nanofed::bench
