// nn layers and initializers: PyTorch names, shapes, reprs, default initialisation bounds and
// statistics, seeded reproducibility, forward values (by hand or against the wrapped op),
// BatchNorm modes and running statistics, Dropout, Sequential.
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;
using nn::Size2d;

namespace {

struct Stats {
  float min, max, mean, var;
};
Stats stats_of(const Tensor& t) {
  const std::vector<float> v = t.to_vector();
  double s = 0, s2 = 0;
  float lo = v[0], hi = v[0];
  for (float x : v) {
    s += x;
    s2 += (double)x * x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double m = s / v.size();
  return {lo, hi, (float)m, (float)(s2 / v.size() - m * m)};
}

// Every value in [-bound, bound], the extremes near +-bound, mean ~0, variance ~bound^2/3.
void expect_uniform(const Tensor& t, float bound, const std::string& what) {
  const Stats s = stats_of(t);
  BOOST_TEST_INFO(what);
  BOOST_TEST(s.min >= -bound);
  BOOST_TEST(s.max <= bound);
  BOOST_TEST(s.max > 0.98f * bound);
  BOOST_TEST(s.min < -0.98f * bound);
  BOOST_TEST(std::fabs(s.mean) < 0.03f * bound);
  BOOST_TEST(std::fabs(s.var / (bound * bound / 3.0f) - 1.0f) < 0.05f);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_layers)

// ---------------------------------------------------------------- init

BOOST_AUTO_TEST_CASE(fans_and_gain_follow_pytorch) {
  BOOST_TEST((nn::compute_fans({10, 784}) == std::pair<int64_t, int64_t>(784, 10)));
  BOOST_TEST((nn::compute_fans({32, 3, 5, 5}) == std::pair<int64_t, int64_t>(75, 800)));
  BOOST_TEST(nn::leaky_relu_gain(0.0f) == std::sqrt(2.0f), boost::test_tools::tolerance(1e-6f));
  // a = sqrt(5): gain sqrt(2/6) = sqrt(1/3)
  BOOST_TEST(nn::leaky_relu_gain(std::sqrt(5.0f)) == std::sqrt(1.0f / 3.0f), boost::test_tools::tolerance(1e-6f));
  expect_error([] { nn::compute_fans({5}); }, {"compute_fans", "rank >= 2", "[5]"});
  Generator gen(1);
  Tensor t = empty({3, 3});
  expect_error([&] { nn::kaiming_uniform_(t, 0.0f, 0, gen); }, {"kaiming_uniform_", "fan_in", "positive"});
}

BOOST_AUTO_TEST_CASE(initializers_have_the_pytorch_bounds_and_moments) {
  Generator gen(11);
  Tensor t = empty({200, 300});
  // kaiming_uniform_, a = 0, fan_in 300: bound = sqrt(2) * sqrt(3/300) = sqrt(0.02)
  expect_uniform(nn::kaiming_uniform_(t, 0.0f, 300, gen), std::sqrt(0.02f), "kaiming_uniform_ a=0");
  // a = sqrt(5) (PyTorch's Linear default): bound = 1/sqrt(fan_in)
  expect_uniform(nn::kaiming_uniform_(t, std::sqrt(5.0f), 784, gen), 1.0f / 28.0f, "kaiming_uniform_ a=sqrt5");
  // xavier_uniform_: bound = sqrt(6 / (fan_in + fan_out)) = sqrt(6/500)
  expect_uniform(nn::xavier_uniform_(t, 300, 200, gen), std::sqrt(6.0f / 500.0f), "xavier_uniform_");
  expect_uniform(nn::glorot_uniform_(t, 300, 200, gen), std::sqrt(6.0f / 500.0f), "glorot_uniform_");
  expect_uniform(nn::uniform_(t, -2.0f, 2.0f, gen), 2.0f, "uniform_");
  // kaiming_normal_, a = 0, fan_in 100: std = sqrt(2)/10
  Stats s = stats_of(nn::kaiming_normal_(t, 0.0f, 100, gen));
  BOOST_TEST(std::fabs(std::sqrt(s.var) / (std::sqrt(2.0f) / 10.0f) - 1.0f) < 0.03f);
  BOOST_TEST(std::fabs(s.mean) < 0.005f);
  // xavier_normal_: std = sqrt(2 / 500)
  s = stats_of(nn::xavier_normal_(t, 300, 200, gen));
  BOOST_TEST(std::fabs(std::sqrt(s.var) / std::sqrt(2.0f / 500.0f) - 1.0f) < 0.03f);
  BOOST_TEST(nn::zeros_(t).to_vector() == std::vector<float>(60000, 0.0f));
  BOOST_TEST(nn::ones_(t).to_vector() == std::vector<float>(60000, 1.0f));
  BOOST_TEST(nn::constant_(t, 0.5f).to_vector() == std::vector<float>(60000, 0.5f));
}

BOOST_AUTO_TEST_CASE(layer_defaults_match_pytorch_init) {
  Generator gen(5);
  nn::Linear fc(784, 512, true, &gen);
  expect_uniform(fc.weight, 1.0f / 28.0f, "Linear(784, 512).weight");
  const Stats b = stats_of(fc.bias);
  BOOST_TEST(b.min >= -1.0f / 28.0f);
  BOOST_TEST(b.max <= 1.0f / 28.0f);
  nn::Conv2d conv(16, 64, 3, 1, 1, true, &gen);  // fan_in = 16 * 9 = 144: bound 1/12
  expect_uniform(conv.weight, 1.0f / 12.0f, "Conv2d(16, 64, 3).weight");
  BOOST_TEST(stats_of(conv.bias).max <= 1.0f / 12.0f);
  // Glorot: weight U(+-sqrt(6/(fan_in+fan_out))), zero bias (TF1 defaults).
  nn::Linear g(300, 200, true, &gen, nn::Init::glorot_uniform);
  expect_uniform(g.weight, std::sqrt(6.0f / 500.0f), "Linear glorot");
  BOOST_TEST(g.bias.to_vector() == std::vector<float>(200, 0.0f));
  nn::Conv2d gc(4, 8, 3, 1, 0, true, &gen, nn::Init::glorot_uniform);  // fans 36, 72
  BOOST_TEST(stats_of(gc.weight).max <= std::sqrt(6.0f / 108.0f));
  nn::Linear z(3, 2, true, &gen, nn::Init::zeros);
  BOOST_TEST(z.weight.to_vector() == std::vector<float>(6, 0.0f));
}

BOOST_AUTO_TEST_CASE(seeded_construction_is_reproducible) {
  Generator g1(7), g2(7), g3(8);
  nn::Linear a(20, 10, true, &g1), b(20, 10, true, &g2), c(20, 10, true, &g3);
  BOOST_TEST(a.weight.to_vector() == b.weight.to_vector());
  BOOST_TEST(a.bias.to_vector() == b.bias.to_vector());
  BOOST_TEST(a.weight.to_vector() != c.weight.to_vector());
  // The default generator, like torch.manual_seed.
  nn::manual_seed(3);
  nn::Conv2d d(2, 4, 3);
  nn::manual_seed(3);
  nn::Conv2d e(2, 4, 3);
  BOOST_TEST(d.weight.to_vector() == e.weight.to_vector());
  nn::Conv2d f(2, 4, 3);  // the stream went on
  BOOST_TEST(d.weight.to_vector() != f.weight.to_vector());
}

// ---------------------------------------------------------------- Linear, Conv2d

BOOST_AUTO_TEST_CASE(linear_names_forward_and_repr) {
  nn::Linear fc(2, 3);
  BOOST_TEST(names(fc.state_dict()) == std::vector<std::string>({"weight", "bias"}), boost::test_tools::per_element());
  BOOST_TEST(fc.weight.shape() == Shape({3, 2}));
  BOOST_TEST(fc.bias.shape() == Shape({3}));
  BOOST_TEST(fc.repr() == "Linear(in_features=2, out_features=3, bias=True)");
  fc.weight.copy_(fv({1, 2, 3, 4, 5, 6}, {3, 2}));
  fc.bias.copy_(fv({0.5f, -1, 0}, {3}));
  // x = [1, -1]: W x = [1-2, 3-4, 5-6] = [-1, -1, -1]; + b
  BOOST_TEST(fc(fv({1, -1}, {1, 2})).to_vector() == std::vector<float>({-0.5f, -2, -1}),
             boost::test_tools::per_element());
  // Gradients reach the parameters: d sum(y)/d b = N per output.
  sum(fc(ones({4, 2}))).backward();
  BOOST_TEST(fc.bias.grad().to_vector() == std::vector<float>({4, 4, 4}), boost::test_tools::per_element());

  nn::Linear nb(784, 10, false);
  BOOST_TEST(names(nb.named_parameters()) == std::vector<std::string>({"weight"}), boost::test_tools::per_element());
  BOOST_TEST(nb.repr() == "Linear(in_features=784, out_features=10, bias=False)");
  expect_error([&] { fc(ones({1, 3})); }, {"Linear", "[..., 2]", "[1, 3]"});
  expect_error([] { nn::Linear(0, 3); }, {"Linear", "in_features", "positive"});
}

BOOST_AUTO_TEST_CASE(conv2d_names_forward_and_repr) {
  nn::Conv2d conv(1, 1, 2, 1, 0, true);
  BOOST_TEST(names(conv.state_dict()) == std::vector<std::string>({"weight", "bias"}), boost::test_tools::per_element());
  conv.weight.fill_(1.0f);
  conv.bias.fill_(0.5f);
  // ones 3x3, 2x2 kernel of ones: every window sums 4, + 0.5
  Tensor y = conv(ones({1, 1, 3, 3}));
  BOOST_TEST(y.shape() == Shape({1, 1, 2, 2}));
  BOOST_TEST(y.to_vector() == std::vector<float>(4, 4.5f), boost::test_tools::per_element());

  Generator gen(2);
  nn::Conv2d c2(3, 4, {3, 2}, {2, 1}, {1, 0}, false, &gen);
  BOOST_TEST(c2.weight.shape() == Shape({4, 3, 3, 2}));
  BOOST_TEST(!c2.bias.defined());
  Tensor x = random_tensor({2, 3, 7, 6}, 4);
  expect_close(c2(x), conv2d(x, c2.weight, Tensor(), {2, 1}, {1, 0}), 0, 0, "Conv2d vs conv2d op");

  BOOST_TEST(nn::Conv2d(3, 64, 3, 1, 1, false).repr() ==
             "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)");
  BOOST_TEST(nn::Conv2d(1, 32, 5).repr() == "Conv2d(1, 32, kernel_size=(5, 5), stride=(1, 1))");
  BOOST_TEST(c2.repr() == "Conv2d(3, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), bias=False)");
  expect_error([&] { c2(ones({1, 2, 5, 5})); }, {"Conv2d", "[N, 3, H, W]", "[1, 2, 5, 5]"});
  expect_error([] { nn::Conv2d(1, 2, 3, 0); }, {"Conv2d", "stride", "positive"});
}

// ---------------------------------------------------------------- BatchNorm

BOOST_AUTO_TEST_CASE(batchnorm2d_train_updates_running_stats_and_eval_uses_them) {
  nn::BatchNorm2d bn(1);
  BOOST_TEST(names(bn.named_parameters()) == std::vector<std::string>({"weight", "bias"}), boost::test_tools::per_element());
  BOOST_TEST(names(bn.named_buffers()) == std::vector<std::string>({"running_mean", "running_var"}),
             boost::test_tools::per_element());
  BOOST_TEST(bn.weight.to_vector() == std::vector<float>({1}));
  BOOST_TEST(bn.bias.to_vector() == std::vector<float>({0}));
  BOOST_TEST(bn.running_mean.to_vector() == std::vector<float>({0}));
  BOOST_TEST(bn.running_var.to_vector() == std::vector<float>({1}));
  BOOST_TEST(bn.repr() == "BatchNorm2d(1, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");

  // x = {1, 2, 3, 4} in one channel: mean 2.5, biased var 1.25, unbiased 5/3.
  Tensor x = fv({1, 2, 3, 4}, {2, 1, 1, 2});
  const float inv = 1.0f / std::sqrt(1.25f + 1e-5f);
  expect_close(bn(x), fv({-1.5f * inv, -0.5f * inv, 0.5f * inv, 1.5f * inv}, {2, 1, 1, 2}), 1e-6f, 1e-5f,
               "train: batch statistics");
  expect_close(bn.running_mean, fv({0.25f}, {1}), 1e-7f, 1e-6f, "running_mean = 0.1 * 2.5");
  expect_close(bn.running_var, fv({0.9f + 0.1f * 5.0f / 3.0f}, {1}), 1e-6f, 1e-6f,
               "running_var = 0.9 + 0.1 * unbiased var");
  bn.eval();
  const float inv_run = 1.0f / std::sqrt(0.9f + 0.5f / 3.0f + 1e-5f);
  expect_close(bn(x), fv({0.75f * inv_run, 1.75f * inv_run, 2.75f * inv_run, 3.75f * inv_run}, {2, 1, 1, 2}),
               1e-6f, 1e-5f, "eval: running statistics");
  expect_close(bn.running_mean, fv({0.25f}, {1}), 0, 0, "eval leaves running_mean");
  expect_error([&] { bn(ones({2, 1})); }, {"BatchNorm2d", "4-D", "[2, 1]"});
  expect_error([&] { bn(ones({2, 3, 2, 2})); }, {"BatchNorm2d", "1 channels", "[2, 3, 2, 2]"});
}

BOOST_AUTO_TEST_CASE(batchnorm1d_forms_and_options) {
  nn::BatchNorm1d bn(2, 1e-5f, 0.5f);
  BOOST_TEST(bn.repr() == "BatchNorm1d(2, eps=1e-05, momentum=0.5, affine=True, track_running_stats=True)");
  // [N, C]: channel 0 = {0, 2}, channel 1 = {1, 1}; mean {1, 1}; var {1, 0}
  Tensor y = bn(fv({0, 1, 2, 1}, {2, 2}));
  const float inv = 1.0f / std::sqrt(1.0f + 1e-5f);
  expect_close(y, fv({-inv, 0, inv, 0}, {2, 2}), 1e-6f, 1e-5f, "BatchNorm1d [N, C]");
  expect_close(bn.running_mean, fv({0.5f, 0.5f}, {2}), 1e-7f, 0, "momentum 0.5");
  // [N, C, L] gives the same as the [N*L, C] arrangement of the same values.
  nn::BatchNorm1d b3(2);
  Tensor x3 = random_tensor({3, 2, 4}, 9);
  Tensor y3 = b3(x3);
  BOOST_TEST(y3.shape() == Shape({3, 2, 4}));
  const std::vector<float> v = y3.to_vector();
  for (int c = 0; c < 2; ++c) {  // each channel normalised to mean 0, biased var 1
    double s = 0, s2 = 0;
    for (int n = 0; n < 3; ++n)
      for (int l = 0; l < 4; ++l) s += v[(n * 2 + c) * 4 + l], s2 += v[(n * 2 + c) * 4 + l] * v[(n * 2 + c) * 4 + l];
    BOOST_TEST(std::fabs(s / 12) < 1e-5);
    BOOST_TEST(std::fabs(s2 / 12 - 1) < 1e-3);
  }
  // affine = false: no parameters; track_running_stats = false: no buffers, eval uses the batch.
  nn::BatchNorm1d plain(2, 1e-5f, 0.1f, false, false);
  BOOST_TEST(plain.state_dict().empty());
  plain.eval();
  expect_close(plain(fv({0, 1, 2, 1}, {2, 2})), fv({-inv, 0, inv, 0}, {2, 2}), 1e-6f, 1e-5f,
               "no running stats: batch statistics in eval");
  BOOST_TEST(plain.repr() == "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)");
  expect_error([&] { bn(ones({2, 2, 2, 2})); }, {"BatchNorm1d", "[N, C]", "[2, 2, 2, 2]"});
}

// ---------------------------------------------------------------- activations, pooling, shape

BOOST_AUTO_TEST_CASE(activations) {
  Tensor x = fv({-2, -0.5f, 0, 3}, {4});
  BOOST_TEST(nn::ReLU()(x).to_vector() == std::vector<float>({0, 0, 0, 3}), boost::test_tools::per_element());
  BOOST_TEST(nn::LeakyReLU(0.2f)(x).to_vector() == std::vector<float>({-0.4f, -0.1f, 0, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(nn::ReLU().repr() == "ReLU()");
  BOOST_TEST(nn::LeakyReLU().repr() == "LeakyReLU(negative_slope=0.01)");
  BOOST_TEST(nn::LeakyReLU(0.2f).repr() == "LeakyReLU(negative_slope=0.2)");
  BOOST_TEST(nn::Identity()(x).same_storage(x));
}

BOOST_AUTO_TEST_CASE(pooling_layers) {
  Tensor x = arange(16).reshape({1, 1, 4, 4});  // rows 0..3, 4..7, 8..11, 12..15
  BOOST_TEST(nn::MaxPool2d(2)(x).to_vector() == std::vector<float>({5, 7, 13, 15}), boost::test_tools::per_element());
  BOOST_TEST(nn::AvgPool2d(2)(x).to_vector() == std::vector<float>({2.5f, 4.5f, 10.5f, 12.5f}),
             boost::test_tools::per_element());
  // kernel 3, stride 1: 2x2 output of window maxima
  BOOST_TEST(nn::MaxPool2d(3, 1)(x).to_vector() == std::vector<float>({10, 11, 14, 15}), boost::test_tools::per_element());
  Tensor g = nn::AdaptiveAvgPool2d(1)(arange(16).reshape({2, 2, 2, 2}));
  BOOST_TEST(g.shape() == Shape({2, 2, 1, 1}));
  BOOST_TEST(g.to_vector() == std::vector<float>({1.5f, 5.5f, 9.5f, 13.5f}), boost::test_tools::per_element());
  BOOST_TEST(nn::MaxPool2d(2).repr() == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)");
  BOOST_TEST(nn::MaxPool2d(3, 2, 1).repr() == "MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)");
  BOOST_TEST(nn::AvgPool2d(2).repr() == "AvgPool2d(kernel_size=2, stride=2, padding=0)");
  BOOST_TEST(nn::AvgPool2d(Size2d(2, 3), 1, 0, false).repr() ==
             "AvgPool2d(kernel_size=(2, 3), stride=1, padding=0, count_include_pad=False)");
  BOOST_TEST(nn::AdaptiveAvgPool2d().repr() == "AdaptiveAvgPool2d(output_size=1)");
  expect_error([] { nn::AdaptiveAvgPool2d(2); }, {"AdaptiveAvgPool2d", "output_size=1", "2"});
}

BOOST_AUTO_TEST_CASE(flatten_layer) {
  BOOST_TEST(nn::Flatten()(zeros({2, 3, 4, 5})).shape() == Shape({2, 60}));
  BOOST_TEST(nn::Flatten(2)(zeros({2, 3, 4, 5})).shape() == Shape({2, 3, 20}));
  BOOST_TEST(nn::Flatten().repr() == "Flatten(start_dim=1, end_dim=-1)");
}

// ---------------------------------------------------------------- Dropout

BOOST_AUTO_TEST_CASE(dropout_masks_in_training_and_is_the_identity_in_eval) {
  Generator gen(21);
  nn::Dropout drop(0.5f, &gen);
  BOOST_TEST(drop.repr() == "Dropout(p=0.5, inplace=False)");
  Tensor x = ones({10000});
  const std::vector<float> y = drop(x).to_vector();
  int zeros_seen = 0;
  for (float v : y) {
    BOOST_TEST((v == 0.0f || v == 2.0f));  // survivors scaled by 1/(1-p)
    zeros_seen += v == 0.0f;
  }
  BOOST_TEST(std::abs(zeros_seen - 5000) < 250);  // ~5 sigma
  BOOST_TEST(drop(x).to_vector() != y);           // a fresh mask per call
  drop.eval();
  BOOST_TEST(drop(x).same_storage(x));            // eval: identity, no copy
  // Reproducible from the constructing generator; two Dropouts from one generator differ.
  Generator a(4), b(4);
  nn::Dropout d1(0.3f, &a), d2(0.3f, &b), d3(0.3f, &a);
  const std::vector<float> m1 = d1(x).to_vector();
  BOOST_TEST(m1 == d2(x).to_vector());
  BOOST_TEST(m1 != d3(x).to_vector());
  expect_error([] { nn::Dropout(1.5f); }, {"Dropout", "p", "[0, 1]", "1.5"});
}

// ---------------------------------------------------------------- Sequential, repr helper

BOOST_AUTO_TEST_CASE(sequential_names_children_and_chains_them) {
  Generator gen(1);
  auto l0 = std::make_shared<nn::Linear>(4, 3, true, &gen);
  auto l2 = std::make_shared<nn::Linear>(3, 2, true, &gen);
  nn::Sequential seq(l0, std::make_shared<nn::ReLU>(), l2);
  BOOST_TEST(seq.size() == 3u);
  BOOST_TEST(names(seq.state_dict()) == std::vector<std::string>({"0.weight", "0.bias", "2.weight", "2.bias"}),
             boost::test_tools::per_element());
  BOOST_TEST(seq.str() ==
             "Sequential(\n"
             "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
             "  (1): ReLU()\n"
             "  (2): Linear(in_features=3, out_features=2, bias=True)\n"
             ")");
  Tensor x = random_tensor({5, 4}, 3);
  expect_close(seq(x), linear(relu(linear(x, l0->weight, l0->bias)), l2->weight, l2->bias), 0, 0, "chain");
  BOOST_TEST(seq[1]->repr() == "ReLU()");
  seq.push_back(std::make_shared<nn::Flatten>());
  BOOST_TEST(seq.children().back().first == "3");
  nn::Sequential empty_seq;
  BOOST_TEST(empty_seq.str() == "Sequential()");
  BOOST_TEST(empty_seq(x).same_storage(x));
  expect_error([&] { empty_seq[0]; }, {"Sequential", "index 0", "size 0"});
  // train()/eval() reach nested children.
  nn::Sequential outer(std::make_shared<nn::Sequential>(std::make_shared<nn::Dropout>(0.5f)));
  outer.eval();
  BOOST_TEST(!(*std::static_pointer_cast<nn::Sequential>(outer[0]))[0]->is_training());
}

BOOST_AUTO_TEST_CASE(python_float_repr) {
  BOOST_TEST(nn::python_float(0.1f) == "0.1");
  BOOST_TEST(nn::python_float(1e-5f) == "1e-05");
  BOOST_TEST(nn::python_float(1.0f) == "1.0");
  BOOST_TEST(nn::python_float(0.2f) == "0.2");
  BOOST_TEST(nn::python_float(0.001f) == "0.001");
  BOOST_TEST(nn::python_float(-2.5f) == "-2.5");
}

BOOST_AUTO_TEST_SUITE_END()
