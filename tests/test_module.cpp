// nn::Module: names, state_dict order, arenas, load_state_dict, modes, devices.
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "nn/module.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;
using nanofed::test::names;

namespace {
struct Leaf : nn::Module {
  Tensor w;
  explicit Leaf(int64_t n) { w = register_parameter("w", full({n}, 2.0f)); }
  Tensor forward(const Tensor& x) override { return mul(x, w); }
  std::string repr() const override { return "Leaf(" + std::to_string(w.numel()) + ")"; }
};
struct Toy : nn::Module {
  Tensor weight, stat;
  std::shared_ptr<Leaf> sub;
  Toy() {
    weight = register_parameter("weight", from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3}));
    stat = register_buffer("running", full({3}, 0.5f));
    sub = register_module("sub", std::make_shared<Leaf>(3));
  }
  Tensor forward(const Tensor& x) override { return sub->forward(matmul_like(x)); }
  // x [3] -> sum over rows of weight * x: [3]
  Tensor matmul_like(const Tensor& x) { return sum(mul(weight, x), 0); }
  std::string repr() const override { return "Toy"; }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(module)

BOOST_AUTO_TEST_CASE(names_and_order_follow_pytorch) {
  Toy m;
  BOOST_TEST(names(m.named_parameters()) == std::vector<std::string>({"weight", "sub.w"}), boost::test_tools::per_element());
  BOOST_TEST(names(m.state_dict()) == std::vector<std::string>({"weight", "running", "sub.w"}), boost::test_tools::per_element());
  BOOST_TEST(m.num_parameters() == 9);
  BOOST_TEST(m.str() == "Toy(\n  (sub): Leaf(3)\n)");
  for (const Tensor& p : m.parameters()) BOOST_TEST(p.requires_grad());
  BOOST_TEST(!m.named_buffers()[0].second.requires_grad());
}

BOOST_AUTO_TEST_CASE(flat_parameters_rebinds_layers_in_place) {
  Toy m;
  Tensor flat = m.flat_parameters();
  BOOST_TEST(flat.numel() == 9);
  BOOST_TEST(flat.to_vector() == std::vector<float>({1, 2, 3, 4, 5, 6, 2, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(m.weight.same_storage(flat));
  BOOST_TEST(m.sub->w.same_storage(flat));
  flat.fill_(1.0f);  // writes through to the layers
  BOOST_TEST(m.sub->w.to_vector()[0] == 1.0f);
  BOOST_TEST(m.flat_parameters().same_storage(flat));  // second call: no copy
  // A child's arena is a slice of the parent's, not a new one.
  BOOST_TEST(m.sub->flat_parameters().same_storage(flat));
}

BOOST_AUTO_TEST_CASE(backward_accumulates_into_the_gradient_arena) {
  Toy m;
  Tensor grads = m.flat_gradients();
  BOOST_TEST(grads.numel() == 9);
  Tensor x = from_vector(std::vector<float>{1, 10, 100}, {3});
  sum(m(x)).backward();
  // y_j = w_j * sum_i W_ij x_j  => dW_ij = w_j x_j = 2 x_j ; dw_j = sum_i W_ij x_j
  BOOST_TEST(grads.to_vector() == std::vector<float>({2, 20, 200, 2, 20, 200, 5, 70, 900}), boost::test_tools::per_element());
  m.zero_grad();
  BOOST_TEST(grads.to_vector() == std::vector<float>(9, 0.0f), boost::test_tools::per_element());
  sum(m(x)).backward();
  BOOST_TEST(m.flat_gradients().same_storage(grads));
  BOOST_TEST(grads.to_vector()[8] == 900.0f);
}

BOOST_AUTO_TEST_CASE(load_state_dict_copies_and_checks) {
  Toy a, b;
  b.flat_parameters().fill_(7.0f);
  a.load_state_dict(b.state_dict());
  BOOST_TEST(a.weight.to_vector()[5] == 7.0f);
  BOOST_TEST(!a.weight.same_storage(b.weight));
  nn::NamedTensors bad = b.state_dict();
  bad[0].second = zeros({3, 2});
  expect_error([&] { a.load_state_dict(bad); }, {"load_state_dict", "'weight'", "[3, 2]", "[2, 3]"});
  nn::NamedTensors extra = b.state_dict();
  extra.push_back({"nope", zeros({1})});
  expect_error([&] { a.load_state_dict(extra); }, {"unexpected key 'nope'"});
  a.load_state_dict(extra, /*strict=*/false);
  nn::NamedTensors missing = b.state_dict();
  missing.pop_back();
  expect_error([&] { a.load_state_dict(missing); }, {"missing key 'sub.w'"});
  // All checks run before any copy: a bad last entry leaves the earlier ones uncopied.
  Toy c;
  nn::NamedTensors late_bad = b.state_dict();
  late_bad.back().second = zeros({7});
  expect_error([&] { c.load_state_dict(late_bad); }, {"'sub.w'", "[7]"});
  BOOST_TEST(c.weight.to_vector()[5] == 6.0f);
}

// A PyTorch-written state_dict has BatchNorm's "<...>.num_batches_tracked" counters, which our
// modules do not have: a strict load ignores them (load_checkpoint always did), and only them.
BOOST_AUTO_TEST_CASE(strict_load_ignores_pytorch_num_batches_tracked) {
  Toy a, b;
  b.flat_parameters().fill_(3.0f);
  nn::NamedTensors torch_state = b.state_dict();
  torch_state.push_back({"sub.num_batches_tracked", full({}, 17.0f, Device::cpu(), DType::i32)});
  torch_state.push_back({"num_batches_tracked", full({}, 17.0f, Device::cpu(), DType::i32)});
  a.load_state_dict(torch_state, /*strict=*/true);
  BOOST_TEST(a.weight.to_vector()[5] == 3.0f);
  torch_state.push_back({"sub.my_num_batches_tracked", zeros({1})});
  expect_error([&] { a.load_state_dict(torch_state); }, {"unexpected key 'sub.my_num_batches_tracked'"});
}

BOOST_AUTO_TEST_CASE(train_eval_is_recursive_and_seed_is_global) {
  Toy m;
  m.eval();
  BOOST_TEST(!m.is_training());
  BOOST_TEST(!m.sub->is_training());
  m.train();
  BOOST_TEST(m.sub->is_training());
  nn::manual_seed(5);
  float a = rand({1}, nn::default_generator()).item();
  nn::manual_seed(5);
  BOOST_TEST(rand({1}, nn::default_generator()).item() == a);
}

BOOST_AUTO_TEST_CASE(input_normalization_applies_before_forward) {
  Leaf m(2);  // y = 2 * x along the last dim
  Tensor x = test::random_uniform({2, 3, 2, 2}, 4, 0.0f, 1.0f);
  Tensor mean = from_vector(std::vector<float>{0.5f, 0.25f, 0.0f}, {3, 1, 1});
  Tensor std = from_vector(std::vector<float>{0.5f, 2.0f, 1.0f}, {3, 1, 1});
  const nn::NamedTensors before = m.state_dict();
  m.set_input_normalization(mean, std);
  BOOST_TEST(m.has_input_normalization());
  mean.fill_(9.0f);  // the module holds its own copy
  BOOST_TEST(m.input_mean().to_vector() == std::vector<float>({0.5f, 0.25f, 0.0f}), boost::test_tools::per_element());
  // By hand: sample 0, channel 1, element 0.
  const std::vector<float> xs = x.to_vector(), ys = m(x).to_vector();
  BOOST_TEST(ys[4] == 2.0f * (xs[4] - 0.25f) / 2.0f, boost::test_tools::tolerance(1e-6f));
  BOOST_TEST(m.forward(x).to_vector()[4] == 2.0f * xs[4]);  // forward() itself is unchanged
  // Not in the state_dict: checkpoints keep their keys.
  BOOST_TEST(names(m.state_dict()) == names(before), boost::test_tools::per_element());
  BOOST_TEST(m.str() == "Leaf(2)(\n  (input_normalization): Normalize(mean=[0.5, 0.25, 0], std=[0.5, 2, 1])\n)");
  // d/dx of 2 (x - mean) / std, through autograd.
  test::gradcheck("normalized module", [&](const std::vector<Tensor>& in) { return m(in[0]); },
                  {test::random_uniform({2, 3, 2, 2}, 5, 0.0f, 1.0f).requires_grad_(true)});
  m.set_input_normalization(Tensor(), Tensor());
  BOOST_TEST(!m.has_input_normalization());
  BOOST_TEST(m(x).to_vector()[4] == 2.0f * xs[4]);
}

BOOST_AUTO_TEST_CASE(input_normalization_is_checked_and_local) {
  Toy m;
  expect_error([&] { m.set_input_normalization(zeros({3}), Tensor()); }, {"both"});
  expect_error([&] { m.set_input_normalization(zeros({3}), ones({2})); }, {"[3]", "[2]"});
  expect_error([&] { m.set_input_normalization(zeros({3}), zeros({3})); }, {"std must be positive"});
  m.set_input_normalization(zeros({3}), full({3}, 2.0f));
  BOOST_TEST(!m.sub->has_input_normalization());  // only the module it is set on applies it
  Tensor x = from_vector(std::vector<float>{1, 10, 100}, {3});
  BOOST_TEST(m(x).to_vector() == m.forward(mul(x, 0.5f)).to_vector(), boost::test_tools::per_element());
}

NF_CUDA_TEST_CASE(cuda_to_moves_input_normalization) {
  Toy m;
  m.set_input_normalization(full({3}, 1.0f), full({3}, 2.0f));
  m.to(Device::cuda());
  BOOST_TEST(m.input_mean().device().is_cuda());
  BOOST_TEST(m.input_std().device().is_cuda());
  Tensor x = from_vector(std::vector<float>{1, 10, 100}, {3});
  const std::vector<float> on_gpu = m(x.cuda()).cpu().to_vector();
  m.to(Device::cpu());
  BOOST_TEST(!m.input_mean().device().is_cuda());
  test::expect_close(on_gpu, m(x).to_vector(), 1e-5f, 1e-5f, "normalized Toy cuda vs cpu");
}

NF_CUDA_TEST_CASE(cuda_to_moves_arenas) {
  Toy m;
  m.flat_gradients();
  m.to(Device::cuda());
  BOOST_TEST(m.device().is_cuda());
  BOOST_TEST(m.weight.device().is_cuda());
  BOOST_TEST(m.sub->w.same_storage(m.weight));
  Tensor x = from_vector(std::vector<float>{1, 10, 100}, {3}, Device::cuda());
  sum(m(x)).backward();
  BOOST_TEST(m.flat_gradients().cpu().to_vector()[8] == 900.0f);
  m.to(Device::cpu());
  BOOST_TEST(m.flat_parameters().to_vector()[0] == 1.0f);
}

BOOST_AUTO_TEST_SUITE_END()
