// test_group_gradients.cpp — nn::group_gradients and nn::GroupedParameters: a hand-computed
// case, the one-pass grouped path against the per-group loop bit for bit (MNIST CNN, MLP),
// the fallback and the error for models with BatchNorm, and the scope restoring the model.
#include <boost/test/unit_test.hpp>

#include <cstring>

#include "engine/ops/softmax.h"
#include "nn/group_gradients.h"
#include "nn/grouped_parameters.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {


// Grouped and sequential paths on the same model and data: same bits, same losses.
void check_paths_agree(const std::string& what, nn::Module& model, const Tensor& x, const Tensor& y, int64_t G) {
  std::vector<float> loss_grouped, loss_sequential;
  const Tensor grouped = nn::group_gradients(model, x, y, G, &loss_grouped, nn::GroupPath::grouped);
  const Tensor sequential = nn::group_gradients(model, x, y, G, &loss_sequential, nn::GroupPath::sequential);
  BOOST_CHECK(grouped.shape() == Shape({G, model.num_parameters()}));
  BOOST_CHECK_MESSAGE(same_bits(grouped, sequential), what << ": grouped rows differ from the per-group loop");
  BOOST_CHECK_MESSAGE(loss_grouped == loss_sequential, what << ": losses differ");
  BOOST_CHECK_EQUAL(loss_grouped.size(), (size_t)G);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(group_gradients)

BOOST_AUTO_TEST_CASE(hand_computed_linear) {
  // Linear(2 -> 2) with zero weights and bias: p = (1/2, 1/2) for every sample, so group k's
  // gradient of its mean cross-entropy is dW = (p - onehot(y)) x^T averaged over its rows.
  nn::Linear model(2, 2);
  model.weight.fill_(0.0f);
  model.bias.fill_(0.0f);
  const Tensor x = fv({1, 2, 3, 4, -1, 0, 2, 2}, {4, 2});
  const Tensor y = labels({0, 1, 1, 1});
  for (nn::GroupPath path : {nn::GroupPath::grouped, nn::GroupPath::sequential}) {
    const Tensor g = nn::group_gradients(model, x, y, 2, nullptr, path);
    // group 0: rows (1,2) y=0 -> dW = [[-.5,-1],[.5,1]]; (3,4) y=1 -> [[1.5,2],[-1.5,-2]];
    // mean [[.5,.5],[-.5,-.5]], db = mean of [-.5,.5] and [.5,-.5] = [0, 0].
    // group 1: rows (-1,0) y=1 -> [[-.5,0],[.5,0]]; (2,2) y=1 -> [[1,1],[-1,-1]]; mean
    // [[.25,.5],[-.25,-.5]], db = [.5, -.5].
    expect_values(g, {0.5f, 0.5f, -0.5f, -0.5f, 0, 0, 0.25f, 0.5f, -0.25f, -0.5f, 0.5f, -0.5f}, "grouped gradients");
  }
}

BOOST_AUTO_TEST_CASE(grouped_equals_sequential_bit_for_bit) {
  nn::manual_seed(3);
  auto cnn = nn::make_model("mnist_cnn");  // 002's 1.1M-parameter CNN
  check_paths_agree("mnist_cnn", *cnn, random_uniform({12, 1, 28, 28}, 4, 0.0f, 1.0f), random_labels(12, 10, 5), 4);
  nn::ModelOptions o;
  o.in_channels = 1, o.image_size = 6, o.hidden = {7, 5};
  auto mlp = nn::make_model("mlp", o);
  check_paths_agree("mlp", *mlp, random_tensor({15, 1, 6, 6}, 6), random_labels(15, 10, 7), 5);
  check_paths_agree("mlp one group", *mlp, random_tensor({3, 1, 6, 6}, 8), random_labels(3, 10, 9), 1);
}

BOOST_AUTO_TEST_CASE(batchnorm_falls_back_or_refuses) {
  nn::ModelOptions o;
  o.channels = {4, 6}, o.fc_hidden = 8;
  auto cnn28 = nn::make_model("cnn28", o);  // conv -> BatchNorm -> LeakyReLU
  BOOST_CHECK(!nn::supports_grouped(*cnn28));
  BOOST_CHECK_EQUAL(nn::first_ungroupable(*cnn28), "bn1 (BatchNorm2d)");
  const Tensor x = random_uniform({4, 3, 28, 28}, 10, 0.0f, 1.0f);
  const Tensor y = random_labels(4, 10, 11);
  const Tensor automatic = nn::group_gradients(*cnn28, x, y, 2);
  BOOST_CHECK(same_bits(automatic, nn::group_gradients(*cnn28, x, y, 2, nullptr, nn::GroupPath::sequential)));
  expect_error([&] { nn::group_gradients(*cnn28, x, y, 2, nullptr, nn::GroupPath::grouped); },
               {"group_gradients: bn1 (BatchNorm2d) has no grouped form"});
  expect_error([&] { nn::group_gradients(*cnn28, x, y, 3); }, {"4 rows do not split into 3 equal non-empty groups"});
}

BOOST_AUTO_TEST_CASE(scope_restores_and_groups_differ) {
  nn::manual_seed(12);
  nn::ModelOptions o;
  o.in_channels = 1, o.image_size = 8, o.hidden = {6};
  auto model = nn::make_model("mlp", o);
  const Tensor before = model->flat_parameters().clone();
  const Shape weight_shape = model->parameters()[0].shape();
  // Two different parameter vectors in one pass: the output of group g equals the model
  // loaded with row g alone (the cohort use: G clients' models over their own batches).
  const Tensor other = random_tensor(before.shape(), 13, 0.1f);
  const Tensor x = random_tensor({6, 1, 8, 8}, 14);
  Tensor out;
  {
    nn::GroupedParameters stacked(*model, 2);
    BOOST_CHECK(same_bits(stacked.rows().view_range(0, before.shape()), before));
    Tensor rows = empty({2, before.numel()});
    rows.view_range(0, before.shape()).copy_(before);
    rows.view_range(before.numel(), before.shape()).copy_(other);
    stacked.load_rows(rows);
    BOOST_CHECK(same_bits(stacked.rows(), rows));
    out = (*model)(x).detach();
  }
  BOOST_CHECK(model->parameters()[0].shape() == weight_shape);
  BOOST_CHECK(same_bits(model->flat_parameters(), before));
  BOOST_CHECK(same_bits((*model)(x.slice(0, 3)), out.slice(0, 3)));
  model->flat_parameters().copy_(other);
  BOOST_CHECK(same_bits((*model)(x.slice(3, 6)), out.slice(3, 6)));
}

BOOST_AUTO_TEST_SUITE_END()
