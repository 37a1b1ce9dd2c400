#include "nn/models.h"

#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "engine/text.h"

namespace nanofed::nn {

namespace {

// Output side of a convolution or pooling window over a square input.
int64_t out_side(int64_t side, int64_t kernel, int64_t stride, int64_t padding) {
  return (side + 2 * padding - kernel) / stride + 1;
}

void check_sizes(const char* model, int64_t in_channels, int64_t image_size, int64_t num_classes,
                 int64_t min_side) {
  NF_CHECK(in_channels > 0, model << ": in_channels must be positive, got " << in_channels);
  NF_CHECK(num_classes > 0, model << ": num_classes must be positive, got " << num_classes);
  NF_CHECK(image_size >= min_side, model << ": image_size must be >= " << min_side << ", got " << image_size);
}

// o once its sizes are checked: a CNN checks them before its base builds a layer from them.
const CNNOptions& checked(const char* model, const CNNOptions& o, int64_t min_side) {
  check_sizes(model, o.in_channels, o.image_size, o.num_classes, min_side);
  return o;
}

}  // namespace

// ---------------------------------------------------------------- linear models

LogisticRegression::LogisticRegression(int64_t in_features, int64_t num_classes, Generator* gen, Init init) {
  linear = register_module("linear", std::make_shared<Linear>(in_features, num_classes, true, gen, init));
}

Tensor LogisticRegression::forward(const Tensor& x) {
  return linear->forward(x.dim() > 2 ? x.flatten(1) : x);
}

MLP::MLP(const std::vector<int64_t>& sizes, Generator* gen, Init init) {
  NF_CHECK(sizes.size() >= 2, "MLP: sizes must hold at least {in, out}, got " << sizes.size() << " entries");
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    layers.push_back(register_module("fc" + std::to_string(i + 1),
                                     std::make_shared<Linear>(sizes[i], sizes[i + 1], true, gen, init)));
}

Tensor MLP::forward(const Tensor& x) {
  Tensor h = x.dim() > 2 ? x.flatten(1) : x;
  for (size_t i = 0; i < layers.size(); ++i) {
    h = layers[i]->forward(h);
    if (i + 1 < layers.size()) h = relu(h);
  }
  return h;
}

// ---------------------------------------------------------------- FMNIST and MNIST CNNs

TwoConvCNN::TwoConvCNN(const CNNOptions& o, int64_t padding, int64_t side) {
  Generator* gen = o.gen;
  const Init init = o.init;
  conv1 = register_module("conv1", std::make_shared<Conv2d>(o.in_channels, o.channels1, 5, 1, padding, true, gen, init));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(o.channels1, o.channels2, 5, 1, padding, true, gen, init));
  fc1 = register_module("fc1", std::make_shared<Linear>(o.channels2 * side * side, o.fc_hidden, true, gen, init));
  fc2 = register_module("fc2", std::make_shared<Linear>(o.fc_hidden, o.num_classes, true, gen, init));
}

Tensor TwoConvCNN::forward(const Tensor& x) {
  Tensor h = max_pool2d(relu(conv1->forward(x)), 2);
  h = max_pool2d(relu(conv2->forward(h)), 2);
  return fc2->forward(relu(fc1->forward(h.flatten(1))));
}

// ---------------------------------------------------------------- Ditto FMNIST CNN (001)

// "Same" convs keep the size; each pool halves it.
FmnistCNN::FmnistCNN(const CNNOptions& o) : TwoConvCNN(checked("FmnistCNN", o, 4), 2, o.image_size / 2 / 2) {}

// ---------------------------------------------------------------- Byzantine-FT MNIST CNN (002)

// Valid convs: 28 -> 24 -> 12 -> 8 -> 4.
MnistCNN::MnistCNN(const CNNOptions& o)
    : TwoConvCNN(checked("MnistCNN", o, 16), 0, (out_side(o.image_size, 5, 1, 0) / 2 - 4) / 2) {}

// ---------------------------------------------------------------- spurious-features CNNs (000)

SpuriousCNN::SpuriousCNN(const SpuriousCNNOptions& o) : negative_slope(o.negative_slope) {
  check_sizes("SpuriousCNN", o.in_channels, o.image_size, o.num_classes, 4);
  const int64_t in_channels = o.in_channels, channels1 = o.channels1, channels2 = o.channels2;
  const int64_t fc_hidden = o.fc_hidden, num_classes = o.num_classes;
  Generator* gen = o.gen;
  const Init init = o.init;
  const int64_t side = out_side(out_side(o.image_size, 4, 2, 1), 4, 2, 1);
  conv1 = register_module("conv1", std::make_shared<Conv2d>(in_channels, channels1, 4, 2, 1, false, gen, init));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(channels1));
  conv2 = register_module("conv2", std::make_shared<Conv2d>(channels1, channels2, 4, 2, 1, false, gen, init));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(channels2));
  fc1 = register_module("fc1", std::make_shared<Linear>(channels2 * side * side, fc_hidden, true, gen, init));
  fc2 = register_module("fc2", std::make_shared<Linear>(fc_hidden, num_classes, true, gen, init));
}

Tensor SpuriousCNN::forward(const Tensor& x) {
  Tensor h = leaky_relu(bn1->forward(conv1->forward(x)), negative_slope);
  h = leaky_relu(bn2->forward(conv2->forward(h)), negative_slope);
  return fc2->forward(relu(fc1->forward(h.flatten(1))));
}

// ---------------------------------------------------------------- factory

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {"logreg", "mlp",   "cnn",     "mnist_cnn",
                                                 "cnn28",  "cnn64", "resnet18"};
  return names;
}

std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& o) {
  auto pick = [](int64_t given, int64_t fallback) { return given ? given : fallback; };
  const bool rgb = name == "cnn28" || name == "cnn64" || name == "resnet18";
  const int64_t c = pick(o.in_channels, rgb ? 3 : 1);
  const int64_t side = pick(o.image_size, name == "cnn64" ? 64 : name == "resnet18" ? 32 : 28);
  const int64_t k = o.num_classes;
  if (name == "logreg") return std::make_shared<LogisticRegression>(c * side * side, k, o.gen, o.init);
  if (name == "mlp") {
    std::vector<int64_t> sizes = {c * side * side};
    sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
    sizes.push_back(k);
    return std::make_shared<MLP>(sizes, o.gen, o.init);
  }
  NF_CHECK(o.channels.empty() || o.channels.size() == 2,
           "make_model: channels must hold the two conv widths (got " << o.channels.size() << " values)");
  for (int64_t w : o.channels) NF_CHECK(w >= 1, "make_model: conv widths must be >= 1 (got " << w << ")");
  NF_CHECK(o.fc_hidden >= 0, "make_model: fc_hidden must be >= 1, or 0 for the model's own");
  auto channel = [&](size_t i, int64_t fallback) { return o.channels.empty() ? fallback : o.channels[i]; };
  if (name == "cnn" || name == "mnist_cnn") {
    CNNOptions cnn{c, side, k};
    cnn.channels1 = channel(0, 32), cnn.channels2 = channel(1, 64), cnn.fc_hidden = pick(o.fc_hidden, 1024);
    cnn.gen = o.gen, cnn.init = o.init;
    if (name == "cnn") return std::make_shared<FmnistCNN>(cnn);
    return std::make_shared<MnistCNN>(cnn);
  }
  if (name == "cnn28" || name == "cnn64") {
    return std::make_shared<SpuriousCNN>(SpuriousCNNOptions{c, side, channel(0, 64), channel(1, name == "cnn28" ? 128 : 64),
                                                            pick(o.fc_hidden, 4096), k, o.negative_slope, o.gen, o.init});
  }
  if (name == "resnet18") return std::make_shared<ResNet18>(ResNet18Options{c, k, o.width, o.gen, o.init});
  NF_CHECK(false, "make_model: unknown model '" << name << "' (expected one of: " << join(model_names()) << ")");
  return nullptr;
}

}  // namespace nanofed::nn
