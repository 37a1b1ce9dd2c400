// resnet.h — ResNet18 in its CIFAR form, parameter for parameter the widely used PyTorch model
// of kuangliu/pytorch-cifar (models/resnet.py), so state_dicts move between the two.
//
//   conv1 3x3 (in_channels -> w, stride 1, padding 1, no bias), bn1, ReLU   (no max-pool)
//   layer1: 2 BasicBlocks, w channels,  stride 1
//   layer2: 2 BasicBlocks, 2w channels, first stride 2
//   layer3: 2 BasicBlocks, 4w channels, first stride 2
//   layer4: 2 BasicBlocks, 8w channels, first stride 2
//   adaptive average pool to 1x1, flatten, linear (8w -> num_classes)
// BasicBlock: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), 3x3 convs without bias;
// shortcut = Sequential(conv1x1 stride s, no bias; BatchNorm2d) when the shape changes, else an
// empty Sequential (the identity; kuangliu registers it too, so str() matches).
// Names: conv1.weight, bn1.{weight,bias,running_mean,running_var}, layer1.0.conv1.weight,
// layer1.0.bn1.*, layer1.0.conv2.weight, layer1.0.bn2.*, layer2.0.shortcut.0.weight,
// layer2.0.shortcut.1.*, ..., linear.weight, linear.bias. 11,173,962 parameters at w = 64,
// 10 classes, 3 input channels.
// ReLU and pooling are applied functionally (no child modules), as kuangliu does.
// Deviation from kuangliu: the final pooling is global (adaptive to 1x1; F.avg_pool2d(out, 4)
// there), which is the same at 32x32 and also works at other input sizes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/layers.h"

namespace nanofed::nn {

class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, Generator* gen = nullptr,
             Init init = Init::pytorch);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "BasicBlock"; }
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Sequential> shortcut;
};

// Named fields, not positional ints: ResNet18(16) would otherwise build a 16-input-channel
// model when a width of 16 was meant.
struct ResNet18Options {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t width = 64;        // base width (64 = the standard model)
  Generator* gen = nullptr;  // nullptr = nn::default_generator()
  Init init = Init::pytorch;
};

class ResNet18 : public Module {
 public:
  explicit ResNet18(const ResNet18Options& options = ResNet18Options());
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "ResNet"; }  // kuangliu's class name
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<Linear> linear;
};

}  // namespace nanofed::nn
