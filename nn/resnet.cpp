#include "nn/resnet.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"

namespace nanofed::nn {

BasicBlock::BasicBlock(int64_t in_planes, int64_t planes, int64_t stride, Generator* gen, Init init) {
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_planes, planes, 3, stride, 1, false, gen, init));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(planes, planes, 3, 1, 1, false, gen, init));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
  shortcut = register_module("shortcut", std::make_shared<Sequential>());
  if (stride != 1 || in_planes != planes) {
    shortcut->push_back(std::make_shared<Conv2d>(in_planes, planes, 1, stride, 0, false, gen, init));
    shortcut->push_back(std::make_shared<BatchNorm2d>(planes));
  }
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = bn2->forward(conv2->forward(out));
  return relu(add(out, shortcut->forward(x)));
}

ResNet18::ResNet18(const ResNet18Options& o) {
  const int64_t in_channels = o.in_channels, num_classes = o.num_classes, width = o.width;
  Generator* gen = o.gen;
  const Init init = o.init;
  NF_CHECK(in_channels > 0, "ResNet18: in_channels must be positive, got " << in_channels);
  NF_CHECK(num_classes > 0, "ResNet18: num_classes must be positive, got " << num_classes);
  NF_CHECK(width > 0, "ResNet18: width must be positive, got " << width);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, width, 3, 1, 1, false, gen, init));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(width));
  int64_t in_planes = width;
  auto make_layer = [&](const char* name, int64_t planes, int64_t stride) {
    auto layer = std::make_shared<Sequential>();
    layer->push_back(std::make_shared<BasicBlock>(in_planes, planes, stride, gen, init));
    layer->push_back(std::make_shared<BasicBlock>(planes, planes, 1, gen, init));
    in_planes = planes;
    return register_module(name, layer);
  };
  layer1 = make_layer("layer1", width, 1);
  layer2 = make_layer("layer2", 2 * width, 2);
  layer3 = make_layer("layer3", 4 * width, 2);
  layer4 = make_layer("layer4", 8 * width, 2);
  linear = register_module("linear", std::make_shared<Linear>(8 * width, num_classes, true, gen, init));
}

Tensor ResNet18::forward(const Tensor& x) {
  NF_CHECK(x.dim() == 4 && x.size(1) == conv1->in_channels,
           "ResNet18: expected input [N, " << conv1->in_channels << ", H, W], got " << shape_str(x.shape()));
  Tensor out = relu(bn1->forward(conv1->forward(x)));
  out = layer4->forward(layer3->forward(layer2->forward(layer1->forward(out))));
  return linear->forward(global_avg_pool2d(out));  // [N, 8w]: pooled and flattened in one op
}

}  // namespace nanofed::nn
