// The papers' models and make_model: parameter names, shapes and counts (ResNet18 against the
// kuangliu/pytorch-cifar layout and its 11,173,962 parameters), output shapes on small batches,
// str(), a CPU training smoke test of ResNet18 (width 8), and CUDA parity of forward/backward.
#include <cmath>
#include <type_traits>

#include "engine/autograd.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/pool.h"
#include "engine/ops/softmax.h"
#include "nn/models.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

// ResNet18 on 3 channels, 10 classes, at `width`, drawing from gen.
nn::ResNet18Options resnet_width(int64_t width, Generator* gen) {
  nn::ResNet18Options o;
  o.width = width;
  o.gen = gen;
  return o;
}

Shape shape_of(const nn::Module& m, const std::string& name) {
  for (auto& [n, t] : m.state_dict())
    if (n == name) return t.shape();
  BOOST_FAIL("no parameter " << name);
  return {};
}

// The kuangliu/pytorch-cifar ResNet18 parameter names, written out from its layout.
std::vector<std::string> resnet18_parameter_names() {
  std::vector<std::string> out = {"conv1.weight", "bn1.weight", "bn1.bias"};
  for (int layer = 1; layer <= 4; ++layer)
    for (int block = 0; block < 2; ++block) {
      const std::string p = "layer" + std::to_string(layer) + "." + std::to_string(block) + ".";
      for (const char* n : {"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias"})
        out.push_back(p + n);
      if (layer > 1 && block == 0)
        for (const char* n : {"shortcut.0.weight", "shortcut.1.weight", "shortcut.1.bias"}) out.push_back(p + n);
    }
  out.push_back("linear.weight");
  out.push_back("linear.bias");
  return out;
}

// Parameter count of the CIFAR ResNet18 by hand: 3x3 convs without bias, BN = 2 per channel,
// a 1x1 conv + BN shortcut where the shape changes, linear 8w -> K with bias.
int64_t resnet18_parameter_count(int64_t c, int64_t w, int64_t k) {
  int64_t total = 9 * c * w + 2 * w, in = w;
  for (auto [o, s] : std::vector<std::pair<int64_t, int64_t>>{{w, 1}, {2 * w, 2}, {4 * w, 2}, {8 * w, 2}}) {
    total += 9 * in * o + 9 * o * o + 4 * o + ((s != 1 || in != o) ? in * o + 2 * o : 0);  // block 0
    total += 18 * o * o + 4 * o;                                                            // block 1
    in = o;
  }
  return total + 8 * w * k + k;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_models)

// ---------------------------------------------------------------- ResNet18

BOOST_AUTO_TEST_CASE(resnet18_names_and_count_match_the_pytorch_cifar_model) {
  BOOST_TEST(resnet18_parameter_count(3, 64, 10) == 11173962);  // the helper, against the known count
  Generator gen(1);
  nn::ResNet18 net(resnet_width(64, &gen));
  BOOST_TEST(net.num_parameters() == 11173962);
  BOOST_TEST(names(net.named_parameters()) == resnet18_parameter_names(), boost::test_tools::per_element());
  BOOST_TEST(net.named_buffers().size() == 40u);  // 20 BatchNorms x (running_mean, running_var)
  const std::vector<std::string> sd = names(net.state_dict());
  BOOST_TEST(std::vector<std::string>(sd.begin(), sd.begin() + 6) ==
                 std::vector<std::string>({"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                           "bn1.running_var", "layer1.0.conv1.weight"}),
             boost::test_tools::per_element());
  BOOST_TEST(shape_of(net, "conv1.weight") == Shape({64, 3, 3, 3}));
  BOOST_TEST(shape_of(net, "layer2.0.conv1.weight") == Shape({128, 64, 3, 3}));
  BOOST_TEST(shape_of(net, "layer2.0.shortcut.0.weight") == Shape({128, 64, 1, 1}));
  BOOST_TEST(shape_of(net, "layer4.1.bn2.running_var") == Shape({512}));
  BOOST_TEST(shape_of(net, "linear.weight") == Shape({10, 512}));
}

BOOST_AUTO_TEST_CASE(resnet18_variants_shapes_and_str) {
  Generator gen(2);
  nn::ResNet18Options gray_options = resnet_width(8, &gen);
  gray_options.in_channels = 1;
  nn::ResNet18 gray(gray_options);
  BOOST_TEST(gray.num_parameters() == resnet18_parameter_count(1, 8, 10));
  BOOST_TEST(gray(random_tensor({2, 1, 28, 28}, 1)).shape() == Shape({2, 10}));
  nn::ResNet18Options w16_options = resnet_width(16, &gen);
  w16_options.num_classes = 100;
  nn::ResNet18 w16(w16_options);
  BOOST_TEST(w16.num_parameters() == resnet18_parameter_count(3, 16, 100));
  BOOST_TEST(names(w16.named_parameters()) == resnet18_parameter_names(), boost::test_tools::per_element());
  BOOST_TEST(w16(random_tensor({2, 3, 32, 32}, 2)).shape() == Shape({2, 100}));

  const std::string s = nn::ResNet18(resnet_width(8, &gen)).str();
  const std::string head =
      "ResNet(\n"
      "  (conv1): Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n"
      "  (bn1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
      "  (layer1): Sequential(\n"
      "    (0): BasicBlock(\n"
      "      (conv1): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)\n";
  BOOST_TEST(s.substr(0, head.size()) == head);
  BOOST_TEST(s.find("      (shortcut): Sequential()\n") != std::string::npos);
  BOOST_TEST(s.find("      (shortcut): Sequential(\n"
                    "        (0): Conv2d(8, 16, kernel_size=(1, 1), stride=(2, 2), bias=False)\n"
                    "        (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)\n"
                    "      )\n") != std::string::npos);
  const std::string tail = "  (linear): Linear(in_features=64, out_features=10, bias=True)\n)";
  BOOST_TEST(s.substr(s.size() - tail.size()) == tail);
  expect_error([&] { gray(ones({1, 3, 8, 8})); }, {"ResNet18", "[N, 1, H, W]", "[1, 3, 8, 8]"});
}

// ResNet18(16) used to compile and build a 16-input-channel model when a width of 16 was
// meant: the models with several sizes take named options only.
BOOST_AUTO_TEST_CASE(models_with_several_sizes_take_no_positional_ints) {
  BOOST_TEST(!(std::is_constructible_v<nn::ResNet18, int64_t>));
  BOOST_TEST(!(std::is_constructible_v<nn::ResNet18, int, int, int>));
  BOOST_TEST(!(std::is_constructible_v<nn::FmnistCNN, int64_t>));
  BOOST_TEST(!(std::is_constructible_v<nn::MnistCNN, int64_t>));
  BOOST_TEST(!(std::is_constructible_v<nn::SpuriousCNN, int, int, int, int, int, int>));
  Generator gen(7);
  BOOST_TEST(shape_of(nn::ResNet18(resnet_width(16, &gen)), "conv1.weight") == Shape({16, 3, 3, 3}));
}

BOOST_AUTO_TEST_CASE(resnet18_eval_is_deterministic_and_state_dict_moves_between_models) {
  Generator g1(3), g2(4);
  nn::ResNet18 a(resnet_width(8, &g1)), b(resnet_width(8, &g2));
  Tensor x = random_tensor({2, 3, 16, 16}, 5);
  a(x);  // one training step of statistics so running stats are not the defaults
  a.eval();
  b.eval();
  const Tensor flat_stats = a.flat_buffers().clone();
  Tensor ya = a(x);
  expect_close(a.flat_buffers(), flat_stats, 0, 0, "eval leaves running statistics");
  expect_close(a(x), ya, 0, 0, "eval forward is deterministic");
  b.load_state_dict(a.state_dict());
  expect_close(b(x), ya, 0, 0, "same state_dict, same outputs");
}

BOOST_AUTO_TEST_CASE(resnet18_width8_trains_on_a_tiny_batch_cpu) {
  Generator gen(10);
  nn::ResNet18 net(resnet_width(8, &gen));
  Tensor x = random_tensor({16, 3, 32, 32}, 11);
  std::vector<int32_t> labels(16);
  for (int i = 0; i < 16; ++i) labels[i] = i % 10;
  Tensor y = from_vector(labels, {16});
  std::vector<Tensor> params = net.parameters();
  std::vector<float> losses;
  for (int step = 0; step < 10; ++step) {
    net.zero_grad();
    Tensor loss = cross_entropy(net(x), y);
    losses.push_back(loss.item());
    loss.backward();
    NoGrad no_grad;
    for (Tensor& p : params) add_(p, p.grad(), -0.1f);  // plain SGD, lr 0.1
  }
  BOOST_TEST_MESSAGE("resnet18 w8 loss " << losses.front() << " -> " << losses.back());
  BOOST_TEST(losses.front() > 1.8f);  // ~ln(10) = 2.30 at initialization
  BOOST_TEST(losses.back() < 0.6f * losses.front());
  for (float l : losses) BOOST_TEST(std::isfinite(l));
}

// ---------------------------------------------------------------- the papers' small models

BOOST_AUTO_TEST_CASE(ditto_fmnist_cnn_layout_count_and_forward) {
  Generator gen(6);
  nn::ModelOptions o;
  o.gen = &gen;
  auto m = nn::make_model("cnn", o);
  BOOST_TEST(names(m->state_dict()) == std::vector<std::string>({"conv1.weight", "conv1.bias", "conv2.weight",
                                                                 "conv2.bias", "fc1.weight", "fc1.bias",
                                                                 "fc2.weight", "fc2.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(shape_of(*m, "conv1.weight") == Shape({32, 1, 5, 5}));
  BOOST_TEST(shape_of(*m, "conv2.weight") == Shape({64, 32, 5, 5}));
  BOOST_TEST(shape_of(*m, "fc1.weight") == Shape({1024, 3136}));  // 64 * 7 * 7
  // 832 + 51,264 + 3,212,288 + 10,250
  BOOST_TEST(m->num_parameters() == 3274634);
  // Forward = the op composition of the reference (same-padded 5x5 convs, ReLU, 2x2 max-pool).
  auto& cnn = dynamic_cast<nn::FmnistCNN&>(*m);
  Tensor x = random_tensor({2, 1, 28, 28}, 7);
  Tensor h = max_pool2d(relu(conv2d(x, cnn.conv1->weight, cnn.conv1->bias, 1, 2)), 2);
  h = max_pool2d(relu(conv2d(h, cnn.conv2->weight, cnn.conv2->bias, 1, 2)), 2);
  Tensor expected = linear(relu(linear(h.flatten(1), cnn.fc1->weight, cnn.fc1->bias)), cnn.fc2->weight, cnn.fc2->bias);
  expect_close((*m)(x), expected, 0, 0, "FmnistCNN forward vs ops");
  BOOST_TEST(m->str() ==
             "FmnistCNN(\n"
             "  (conv1): Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
             "  (conv2): Conv2d(32, 64, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
             "  (fc1): Linear(in_features=3136, out_features=1024, bias=True)\n"
             "  (fc2): Linear(in_features=1024, out_features=10, bias=True)\n"
             ")");
  // The TF1 initialisation of the reference code: Glorot weights, zero biases.
  o.init = nn::Init::glorot_uniform;
  auto g = nn::make_model("cnn", o);
  BOOST_TEST(dynamic_cast<nn::FmnistCNN&>(*g).fc1->bias.to_vector() == std::vector<float>(1024, 0.0f));
}

// The CPU-scaled Ditto reproduction's narrower member of the family: same layout, given widths.
BOOST_AUTO_TEST_CASE(fmnist_cnn_takes_narrower_widths) {
  nn::ModelOptions o;
  o.channels = {16, 32};
  o.fc_hidden = 256;
  auto m = nn::make_model("cnn", o);
  BOOST_TEST(shape_of(*m, "conv1.weight") == Shape({16, 1, 5, 5}));
  BOOST_TEST(shape_of(*m, "conv2.weight") == Shape({32, 16, 5, 5}));
  BOOST_TEST(shape_of(*m, "fc1.weight") == Shape({256, 1568}));  // 32 * 7 * 7
  // 416 + 12,832 + 401,664 + 2,570
  BOOST_TEST(m->num_parameters() == 417482);
  o.channels = {16};
  expect_error([&] { nn::make_model("cnn", o); }, {"channels must hold the two conv widths"});
}

BOOST_AUTO_TEST_CASE(byzantine_mnist_cnn_layout_count_and_forward) {
  auto m = nn::make_model("mnist_cnn");
  BOOST_TEST(names(m->named_parameters()) == std::vector<std::string>({"conv1.weight", "conv1.bias", "conv2.weight",
                                                                       "conv2.bias", "fc1.weight", "fc1.bias",
                                                                       "fc2.weight", "fc2.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(shape_of(*m, "fc1.weight") == Shape({1024, 1024}));  // 64 * 4 * 4
  BOOST_TEST(m->num_parameters() == 1111946);                      // the reference's count
  BOOST_TEST((*m)(random_tensor({3, 1, 28, 28}, 8)).shape() == Shape({3, 10}));
  BOOST_TEST(m->repr() == "MnistCNN");
}

BOOST_AUTO_TEST_CASE(spurious_cnns_follow_table_5) {
  Generator gen(9);
  nn::ModelOptions o;
  o.gen = &gen;
  auto full = nn::make_model("cnn28", o);
  // conv 3*64*16 + BN 128 + conv 64*128*16 + BN 256 + fc 6272*4096 + 4096 + fc 4096*10 + 10
  BOOST_TEST(full->num_parameters() == 25869706);
  BOOST_TEST(shape_of(*full, "fc1.weight") == Shape({4096, 6272}));
  full.reset();
  o.fc_hidden = 32;  // small hidden FC for the forward checks
  auto c28 = nn::make_model("cnn28", o);
  BOOST_TEST(names(c28->named_parameters()) ==
                 std::vector<std::string>({"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight",
                                           "bn2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(shape_of(*c28, "conv1.weight") == Shape({64, 3, 4, 4}));
  BOOST_TEST(shape_of(*c28, "conv2.weight") == Shape({128, 64, 4, 4}));
  BOOST_TEST((*c28)(random_tensor({2, 3, 28, 28}, 1)).shape() == Shape({2, 10}));
  BOOST_TEST(c28->str().find("(conv1): Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)") !=
             std::string::npos);
  o.num_classes = 20;  // Coil20
  auto c64 = nn::make_model("cnn64", o);
  BOOST_TEST(shape_of(*c64, "conv2.weight") == Shape({64, 64, 4, 4}));
  BOOST_TEST(shape_of(*c64, "fc1.weight") == Shape({32, 16384}));  // 64 * 16 * 16
  // 3072 + 128 + 65536 + 128 + (16384*32 + 32) + (32*20 + 20)
  BOOST_TEST(c64->num_parameters() == 593844);
  BOOST_TEST((*c64)(random_tensor({2, 3, 64, 64}, 2)).shape() == Shape({2, 20}));
  // Forward = conv -> BN (batch statistics in training) -> LeakyReLU(0.2), twice; FC + ReLU; FC.
  auto& s = dynamic_cast<nn::SpuriousCNN&>(*c28);
  Tensor x = random_tensor({2, 3, 28, 28}, 5);
  auto block = [](const Tensor& in, nn::Conv2d& conv, nn::BatchNorm2d& bn) {
    return leaky_relu(batch_norm(conv2d(in, conv.weight, Tensor(), 2, 1), Tensor(), Tensor(), bn.weight, bn.bias, true),
                      0.2f);
  };
  Tensor h = block(block(x, *s.conv1, *s.bn1), *s.conv2, *s.bn2);
  Tensor expected = linear(relu(linear(h.flatten(1), s.fc1->weight, s.fc1->bias)), s.fc2->weight, s.fc2->bias);
  expect_close(s(x), expected, 1e-5f, 1e-5f, "SpuriousCNN forward vs ops");
  BOOST_TEST(s.negative_slope == 0.2f);
}

BOOST_AUTO_TEST_CASE(linear_models_and_mlp) {
  auto lr = nn::make_model("logreg");
  BOOST_TEST(names(lr->named_parameters()) == std::vector<std::string>({"linear.weight", "linear.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(lr->num_parameters() == 7850);  // 784 * 10 + 10
  BOOST_TEST((*lr)(random_tensor({4, 1, 28, 28}, 3)).shape() == Shape({4, 10}));
  nn::ModelOptions o;
  o.init = nn::Init::zeros;  // the Ditto SVM's zero start
  o.in_channels = 1;
  o.image_size = 10;
  o.num_classes = 2;
  auto svm = nn::make_model("logreg", o);
  BOOST_TEST((*svm)(random_tensor({3, 100}, 4)).to_vector() == std::vector<float>(6, 0.0f));
  auto mlp = nn::make_model("mlp");
  BOOST_TEST(names(mlp->named_parameters()) ==
                 std::vector<std::string>({"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(mlp->num_parameters() == 159010);  // 784*200 + 200 + 200*10 + 10
  // Hand-built MLP: fc1 = identity-ish weights, check ReLU between layers and none at the end.
  nn::MLP tiny({2, 2, 1});
  tiny.layers[0]->weight.copy_(fv({1, 0, 0, 1}, {2, 2}));
  tiny.layers[0]->bias.fill_(0.0f);
  tiny.layers[1]->weight.copy_(fv({1, 1}, {1, 2}));
  tiny.layers[1]->bias.fill_(-5.0f);
  // x = [3, -2]: relu -> [3, 0]; 3 + 0 - 5 = -2 (no final ReLU)
  BOOST_TEST(tiny(fv({3, -2}, {1, 2})).to_vector() == std::vector<float>({-2}));
  expect_error([] { nn::MLP({5}); }, {"MLP", "at least {in, out}"});
}

BOOST_AUTO_TEST_CASE(make_model_names_reproducibility_and_errors) {
  BOOST_TEST(nn::model_names() ==
                 std::vector<std::string>({"logreg", "mlp", "cnn", "mnist_cnn", "cnn28", "cnn64", "resnet18"}),
             boost::test_tools::per_element());
  Generator g1(42), g2(42);
  nn::ModelOptions a, b;
  a.gen = &g1;
  b.gen = &g2;
  a.width = b.width = 8;
  auto m1 = nn::make_model("resnet18", a), m2 = nn::make_model("resnet18", b);
  expect_close(m1->flat_parameters(), m2->flat_parameters(), 0, 0, "same seed, same weights");
  BOOST_TEST(m1->num_parameters() == resnet18_parameter_count(3, 8, 10));
  expect_error([] { nn::make_model("vgg16"); },
               {"make_model", "unknown model 'vgg16'", "logreg, mlp, cnn, mnist_cnn, cnn28, cnn64, resnet18"});
  nn::ModelOptions bad;
  bad.num_classes = 0;
  expect_error([&] { nn::make_model("cnn", bad); }, {"FmnistCNN", "num_classes", "positive"});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(models_forward_backward_match_on_cuda) {
  struct Case {
    const char* name;
    Shape input;
    int64_t fc_hidden;
  };
  for (const Case& c : {Case{"resnet18", {4, 3, 32, 32}, 0}, Case{"cnn", {3, 1, 28, 28}, 0},
                        Case{"mnist_cnn", {3, 1, 28, 28}, 0}, Case{"cnn28", {3, 3, 28, 28}, 64},
                        Case{"cnn64", {2, 3, 64, 64}, 32}, Case{"logreg", {5, 1, 28, 28}, 0},
                        Case{"mlp", {5, 1, 28, 28}, 0}}) {
    // Same seed => same initial weights (drawn on the host on both devices).
    Generator g1(13), g2(13);
    nn::ModelOptions o;
    o.width = 8;
    o.fc_hidden = c.fc_hidden;
    o.gen = &g1;
    auto cpu = nn::make_model(c.name, o);
    o.gen = &g2;
    auto gpu = nn::make_model(c.name, o);
    gpu->to(Device::cuda());
    Tensor x = random_tensor(c.input, 14);
    std::vector<int32_t> labels((size_t)c.input[0]);
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = (int32_t)(i * 3 % 10);
    Tensor y = from_vector(labels, {c.input[0]});
    Tensor out_cpu = (*cpu)(x), out_gpu = (*gpu)(x.cuda());
    const std::string what = std::string(c.name) + " cuda vs cpu: ";
    expect_close(out_gpu.cpu(), out_cpu, 2e-4f, 2e-3f, what + "logits");
    cross_entropy(out_cpu, y).backward();
    cross_entropy(out_gpu, y.cuda()).backward();
    expect_close(gpu->flat_gradients().cpu(), cpu->flat_gradients(), 2e-4f, 2e-3f, what + "gradients");
    expect_close(gpu->flat_buffers().cpu(), cpu->flat_buffers(), 1e-5f, 1e-4f, what + "running stats");
    cpu->eval();
    gpu->eval();
    expect_close((*gpu)(x.cuda()).cpu(), (*cpu)(x), 2e-4f, 2e-3f, what + "eval logits");
  }
}

BOOST_AUTO_TEST_SUITE_END()
