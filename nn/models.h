// models.h — the models the papers of docs/references.md use, and make_model(name, options).
//
//   name         class               default input  reference
//   "logreg"     LogisticRegression  1x28x28        one Linear on the flattened input (logistic
//                                                   regression / linear SVM: 002 §4.2, 001 Vehicle)
//   "mlp"        MLP                 1x28x28        Linear + ReLU per hidden width, then Linear
//   "cnn"        FmnistCNN           1x28x28        Ditto's Fashion-MNIST CNN (001, "Per-dataset
//                                                   details / Fashion-MNIST")
//   "mnist_cnn"  MnistCNN            1x28x28        fine-tuning-vs-Byzantine MNIST CNN (002 §4.3)
//   "cnn28"      SpuriousCNN         3x28x28        spurious-features CNN 28x28 (000, Table 5)
//   "cnn64"      SpuriousCNN         3x64x64        spurious-features CNN 64x64 (000, Table 5)
//   "resnet18"   ResNet18            3x32x32        CIFAR ResNet18 (kuangliu/pytorch-cifar names)
//
// Every model flattens nothing it is not given: inputs are [N, C, H, W] images.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/layers.h"
#include "nn/resnet.h"

namespace nanofed::nn {

// x.flatten(1) -> Linear(in_features, num_classes), child "linear". With Init::zeros it is the
// Ditto linear SVM's zero start (train it with multi_margin_loss or binary_hinge_loss).
class LogisticRegression : public Module {
 public:
  LogisticRegression(int64_t in_features, int64_t num_classes, Generator* gen = nullptr,
                     Init init = Init::pytorch);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "LogisticRegression"; }
  std::shared_ptr<Linear> linear;
};

// sizes = {in, h1, ..., hk, out}: x.flatten(1) -> fc1 -> ReLU -> ... -> fc(k+1) (no ReLU at
// the end). Children "fc1", "fc2", ...
class MLP : public Module {
 public:
  explicit MLP(const std::vector<int64_t>& sizes, Generator* gen = nullptr, Init init = Init::pytorch);
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "MLP"; }
  std::vector<std::shared_ptr<Linear>> layers;
};

// Ditto's FMNIST CNN (001, Fashion-MNIST model [C]): conv5x5-32 "same" (padding 2), ReLU,
// maxpool 2; conv5x5-64 "same", ReLU, maxpool 2; flatten (64*7*7 = 3136 at 28x28);
// fc 1024, ReLU; fc num_classes. 3,274,634 parameters at 1x28x28, 10 classes ("about 3.27M").
// The reference code initialises with TF1 defaults: pass Init::glorot_uniform for that.
// FmnistCNN's and MnistCNN's sizes, named (not positional ints).
struct CNNOptions {
  int64_t in_channels = 1;
  int64_t image_size = 28;   // square inputs (H = W)
  int64_t num_classes = 10;
  // The reference widths; narrower ones make the same family cheaper (the CPU-scaled Ditto
  // reproduction, examples/ditto).
  int64_t channels1 = 32, channels2 = 64, fc_hidden = 1024;
  Generator* gen = nullptr;  // nullptr = nn::default_generator()
  Init init = Init::pytorch;
};

// The layout FmnistCNN and MnistCNN share: conv5x5 in->32, ReLU, maxpool 2; conv5x5 32->64,
// ReLU, maxpool 2; flatten; fc 1024, ReLU; fc num_classes (widths from CNNOptions). They differ only in the convs'
// padding (hence the flattened side). Children: conv1, conv2, fc1, fc2.
class TwoConvCNN : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<Linear> fc1, fc2;

 protected:
  // `side`: the side of conv2's pooled output (the flattened map is channels2 x side x side).
  TwoConvCNN(const CNNOptions& o, int64_t padding, int64_t side);
};

class FmnistCNN : public TwoConvCNN {
 public:
  explicit FmnistCNN(const CNNOptions& options = CNNOptions());
  std::string repr() const override { return "FmnistCNN"; }
};

// The MNIST CNN of 002 §4.3 (run_mnist.py): conv5x5 1->32 valid (24x24), ReLU, maxpool 2
// (12x12); conv5x5 32->64 valid (8x8), ReLU, maxpool 2 (4x4); flatten 1024; fc 1024, ReLU;
// fc num_classes. 1,111,946 parameters at 1x28x28, 10 classes (as the reference states).
class MnistCNN : public TwoConvCNN {
 public:
  explicit MnistCNN(const CNNOptions& options = CNNOptions());
  std::string repr() const override { return "MnistCNN"; }
};

// The spurious-features paper's CNNs (000, Table 5), with the reference's resolutions of what
// the table leaves open: 4x4 convs, stride 2, padding 1 (28 -> 14 -> 7, 64 -> 32 -> 16);
// conv -> BN -> LeakyReLU(0.2); flatten; "FC 4096 ReLU" = Linear(flat, 4096) + ReLU; final
// Linear with num_classes outputs (the table's "FC 10" is per data set).
//   CNN 28x28: channels 64, 128 -> flatten 128*7*7 = 6272 -> 4096 -> K (25,869,706 params, K=10)
//   CNN 64x64: channels 64, 64  -> flatten 64*16*16 = 16384 -> 4096 -> K (67,222,794, K=10)
// Our choice (the table does not say): the convs have no bias, since the BN right after
// cancels it (as in ResNet). Children: conv1, bn1, conv2, bn2, fc1, fc2.
// Defaults: the 28x28 model.
struct SpuriousCNNOptions {
  int64_t in_channels = 3;
  int64_t image_size = 28;   // square inputs (H = W)
  int64_t channels1 = 64, channels2 = 128;
  int64_t fc_hidden = 4096;
  int64_t num_classes = 10;
  float negative_slope = 0.2f;
  Generator* gen = nullptr;  // nullptr = nn::default_generator()
  Init init = Init::pytorch;
};

class SpuriousCNN : public Module {
 public:
  explicit SpuriousCNN(const SpuriousCNNOptions& options = SpuriousCNNOptions());
  Tensor forward(const Tensor& x) override;
  std::string repr() const override { return "SpuriousCNN"; }
  const float negative_slope;
  std::shared_ptr<Conv2d> conv1, conv2;
  std::shared_ptr<BatchNorm2d> bn1, bn2;
  std::shared_ptr<Linear> fc1, fc2;
};

// What make_model needs. 0 means "the model's reference default" (table above).
struct ModelOptions {
  int64_t in_channels = 0;
  int64_t image_size = 0;              // square inputs (H = W)
  int64_t num_classes = 10;
  std::vector<int64_t> hidden = {200};  // MLP hidden widths
  int64_t width = 64;                  // ResNet18 base width (64 = the standard model)
  int64_t fc_hidden = 0;               // hidden FC width of the CNNs (0 = the model's: 1024, cnn28/64 4096)
  std::vector<int64_t> channels;       // the CNNs' two conv widths ({} = the model's: 32 64, cnn28 64 128)
  float negative_slope = 0.2f;         // cnn28/cnn64 LeakyReLU slope
  Init init = Init::pytorch;
  Generator* gen = nullptr;            // nullptr = nn::default_generator()
};

// The names make_model accepts, in the order of the table above.
const std::vector<std::string>& model_names();
// Builds a model by name; an unknown name throws an Error listing the valid ones.
std::shared_ptr<Module> make_model(const std::string& name, const ModelOptions& options = ModelOptions());

}  // namespace nanofed::nn
