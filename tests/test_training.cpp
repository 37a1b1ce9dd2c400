// nn/training.h against hand-computed scores and a hand-written loop; end to end, the demo's
// tiny MLP and CNN (tools/demo_command.h) learn a synthetic problem on the CPU, and, with a
// GPU, the CUDA run follows the same loss curve.
#include <cmath>

#include "engine/ops/softmax.h"
#include "nn/models.h"
#include "nn/training.h"
#include "tests/test_util.h"
#include "tools/demo_command.h"

using namespace nanofed;
using test::expect_close;
using test::fv;

namespace {

// Linear(2, 2) with W = I, b = 0: the logits are the inputs.
std::shared_ptr<nn::Linear> identity_linear() {
  auto m = std::make_shared<nn::Linear>(2, 2);
  m->weight.copy_(fv({1, 0, 0, 1}, {2, 2}));
  m->bias.fill_(0.0f);
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(training)

// logits (2, 0) label 0: log(1 + e^-2), right; (0, 1) label 0: log(1 + e), wrong;
// (1, 3) label 1: log(1 + e^-2), right. Batches of 2 split the set unevenly.
BOOST_AUTO_TEST_CASE(evaluate_matches_hand_computed_loss_and_accuracy) {
  auto model = identity_linear();
  const nn::Evaluation e = nn::evaluate(*model, fv({2, 0, 0, 1, 1, 3}, {3, 2}), test::labels({0, 0, 1}), 2);
  const double expected = 2 * std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.0));
  BOOST_TEST(e.samples == 3);
  BOOST_TEST(e.correct == 2);
  BOOST_TEST(e.loss_sum == expected, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(e.loss() == expected / 3, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(e.accuracy() == 2.0 / 3, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(model->is_training());  // eval mode for the pass only
  BOOST_TEST(!model->weight.grad().defined());  // no tape
  const nn::Evaluation none = nn::evaluate(*model, zeros({0, 2}), test::labels({}), 2);
  BOOST_TEST((none.samples == 0 && none.loss() == 0 && none.accuracy() == 0));
}

BOOST_AUTO_TEST_CASE(evaluate_rejects_mismatched_labels) {
  auto model = identity_linear();
  test::expect_error([&] { nn::evaluate(*model, zeros({3, 2}), test::labels({0, 1}), 2); },
                     {"nn::evaluate", "3 images", "2 labels"});
  test::expect_error([&] { nn::evaluate(*model, zeros({3, 2}), test::labels({0, 1, 0}), 0); },
                     {"batch_size must be positive"});
}

// train_epoch is the loop a user would write: zero the gradients, cross-entropy, backward,
// step; its mean loss is the mean of the batch losses.
BOOST_AUTO_TEST_CASE(train_epoch_equals_a_hand_written_loop) {
  Generator g1(3), g2(3);
  nn::MLP a({4, 5, 3}, &g1), b({4, 5, 3}, &g2);
  nn::SGD opt_a(a.parameters(), nn::SGDOptions(0.1).momentum(0.9)), opt_b(b.parameters(), nn::SGDOptions(0.1).momentum(0.9));
  const Tensor x = test::random_tensor({6, 4}, 5), y = test::labels({0, 1, 2, 2, 1, 0});
  auto batch = [&](int64_t s) { return nn::Batch{x.slice(2 * s, 2 * s + 2), y.slice(2 * s, 2 * s + 2)}; };
  a.eval();  // train_epoch switches to train mode
  int64_t observed = 0;
  const nn::EpochResult r = nn::train_epoch(a, opt_a, 3, batch, [&](int64_t steps, const Tensor&) { observed = steps; });
  double loss_sum = 0;
  for (int64_t s = 0; s < 3; ++s) {
    const nn::Batch bt = batch(s);
    Tensor loss = cross_entropy(b(bt.x), bt.y);
    opt_b.zero_grad();
    loss.backward();
    opt_b.step();
    loss_sum += loss.item();
  }
  BOOST_TEST(a.is_training());
  BOOST_TEST((r.steps == 3 && r.samples == 6 && observed == 3));
  BOOST_TEST(r.loss == loss_sum / 3, boost::test_tools::tolerance(1e-6));
  expect_close(a.flat_parameters(), b.flat_parameters(), 0.0f, 0.0f, "train_epoch vs the hand-written loop");
}

// The edit runs between backward and the step: a gradient scaled to 0 leaves the model as it was.
BOOST_AUTO_TEST_CASE(train_steps_edits_the_gradients_before_each_step) {
  auto model = identity_linear();
  nn::SGD opt(model->parameters(), nn::SGDOptions(0.5));
  const Tensor x = fv({2, 0, 0, 1}, {2, 2}), y = test::labels({0, 0});
  int edits = 0;
  const Tensor loss_sum = nn::train_steps(
      opt, 2, [&](int64_t) { return nn::batch_gradients(*model, x, y); },
      [&] {
        ++edits;
        for (const Tensor& p : model->parameters()) p.grad().fill_(0.0f);
      });
  BOOST_TEST(edits == 2);
  test::expect_values(model->weight, {1, 0, 0, 1}, "weight untouched");
  const double step_loss = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(1.0))) / 2;
  BOOST_TEST(loss_sum.item() == 2 * step_loss, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(demo_mlp_learns_blobs_on_cpu) {
  const cli::DemoResult r = cli::train_demo_mlp(Device::cpu(), 60, 1);
  BOOST_TEST_MESSAGE("mlp loss " << r.losses.front() << " -> " << r.final_loss << ", acc " << r.accuracy);
  BOOST_TEST(r.losses.front() > 1.0f);                 // ~ln(4) = 1.39 at initialization
  BOOST_TEST(r.final_loss < r.losses.front() / 5.0f);  // falls by at least a factor of 5
  BOOST_TEST(r.accuracy >= 0.9f);
}

BOOST_AUTO_TEST_CASE(demo_cnn_learns_quadrants_on_cpu) {
  const cli::DemoResult r = cli::train_demo_cnn(Device::cpu(), 60, 2);
  BOOST_TEST_MESSAGE("cnn loss " << r.losses.front() << " -> " << r.final_loss << ", acc " << r.accuracy);
  BOOST_TEST(r.losses.front() > 1.0f);
  BOOST_TEST(r.final_loss < r.losses.front() / 5.0f);
  BOOST_TEST(r.accuracy >= 0.9f);
}

BOOST_AUTO_TEST_CASE(training_is_reproducible_on_cpu) {
  const cli::DemoResult a = cli::train_demo_mlp(Device::cpu(), 5, 3), b = cli::train_demo_mlp(Device::cpu(), 5, 3);
  BOOST_TEST(a.losses == b.losses, boost::test_tools::per_element());
}

NF_CUDA_TEST_CASE(cuda_training_matches_cpu_curve) {
  // Same seed => same data and initial weights (generated on the host, then moved).
  const cli::DemoResult cpu = cli::train_demo_cnn(Device::cpu(), 20, 2), gpu = cli::train_demo_cnn(Device::cuda(), 20, 2);
  expect_close(gpu.losses, cpu.losses, 1e-3f, 1e-3f, "cnn loss curve, cuda vs cpu");
  const cli::DemoResult mcpu = cli::train_demo_mlp(Device::cpu(), 20, 1), mgpu = cli::train_demo_mlp(Device::cuda(), 20, 1);
  expect_close(mgpu.losses, mcpu.losses, 1e-3f, 1e-3f, "mlp loss curve, cuda vs cpu");
}

BOOST_AUTO_TEST_SUITE_END()
