// test_batchnorm.cpp — batch_norm: hand values, running statistics, gradchecks (train and
// eval, 2-D and 4-D), errors, CUDA parity (including the in-place running-stat update).
#include <cmath>

#include "engine/ops/batchnorm.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

Tensor with_grad(Tensor t) {
  t.requires_grad_();
  return t;
}

// The [4, 2] batch of the hand-computed cases:
//   channel 0: {1, 3, 5, 7}: mean 4, centred {-3, -1, 1, 3}, sum sq 20 -> var 5, unbiased 20/3
//   channel 1: {0, 2, 2, 4}: mean 2, centred {-2, 0, 0, 2},  sum sq 8  -> var 2, unbiased 8/3
Tensor batch4x2() { return from_vector(std::vector<float>{1, 0, 3, 2, 5, 2, 7, 4}, {4, 2}); }

constexpr float kEps = 1e-5f;

}  // namespace

BOOST_AUTO_TEST_SUITE(batchnorm)

// ---------------------------------------------------------------- hand-computed values

BOOST_AUTO_TEST_CASE(train_values_2d_no_affine) {
  Tensor rm = zeros({2}), rv = ones({2});
  Tensor y = batch_norm(batch4x2(), rm, rv, Tensor(), Tensor(), /*training=*/true);
  const float s0 = std::sqrt(5.0f + kEps), s1 = std::sqrt(2.0f + kEps);
  expect_close(y.to_vector(), {-3 / s0, -2 / s1, -1 / s0, 0, 1 / s0, 0, 3 / s0, 2 / s1}, 1e-6f,
               1e-5f, "normalised [4, 2]");
}

BOOST_AUTO_TEST_CASE(train_values_2d_affine) {
  Tensor rm = zeros({2}), rv = ones({2});
  Tensor gamma = from_vector(std::vector<float>{2.0f, 0.5f}, {2});
  Tensor beta = from_vector(std::vector<float>{1.0f, -1.0f}, {2});
  Tensor y = batch_norm(batch4x2(), rm, rv, gamma, beta, true);
  const float s0 = std::sqrt(5.0f + kEps), s1 = std::sqrt(2.0f + kEps);
  expect_close(y.to_vector(),
               {2 * -3 / s0 + 1, 0.5f * -2 / s1 - 1, 2 * -1 / s0 + 1, -1, 2 * 1 / s0 + 1, -1,
                2 * 3 / s0 + 1, 0.5f * 2 / s1 - 1},
               1e-6f, 1e-5f, "affine [4, 2]");
}

BOOST_AUTO_TEST_CASE(running_stats_one_and_two_steps) {
  Tensor rm = zeros({2}), rv = ones({2});
  batch_norm(batch4x2(), rm, rv, Tensor(), Tensor(), true, 0.1f);
  // mean: 0.9*0 + 0.1*{4, 2};  var: 0.9*1 + 0.1*{20/3, 8/3} (unbiased).
  expect_close(rm.to_vector(), {0.4f, 0.2f}, 1e-6f, 1e-6f, "running_mean step 1");
  expect_close(rv.to_vector(), {0.9f + 2.0f / 3, 0.9f + 0.8f / 3}, 1e-6f, 1e-6f,
               "running_var step 1");
  batch_norm(batch4x2(), rm, rv, Tensor(), Tensor(), true, 0.1f);
  // mean: 0.9*{0.4, 0.2} + {0.4, 0.2} = {0.76, 0.38};
  // var:  0.9*{1.5666.., 1.1666..} + {0.6666.., 0.2666..} = {2.07666.., 1.31666..}.
  expect_close(rm.to_vector(), {0.76f, 0.38f}, 1e-6f, 1e-6f, "running_mean step 2");
  expect_close(rv.to_vector(), {1.41f + 2.0f / 3, 1.05f + 0.8f / 3}, 1e-6f, 1e-6f,
               "running_var step 2");
  // Eval mode leaves them alone.
  batch_norm(batch4x2(), rm, rv, Tensor(), Tensor(), false);
  expect_close(rm.to_vector(), {0.76f, 0.38f}, 1e-6f, 1e-6f, "running_mean after eval");
}

BOOST_AUTO_TEST_CASE(eval_values_use_running_stats) {
  Tensor rm = from_vector(std::vector<float>{1.0f, -1.0f}, {2});
  Tensor rv = from_vector(std::vector<float>{4.0f, 0.25f}, {2});
  Tensor gamma = from_vector(std::vector<float>{3.0f, -1.0f}, {2});
  Tensor beta = from_vector(std::vector<float>{0.5f, 2.0f}, {2});
  Tensor y = batch_norm(batch4x2(), rm, rv, gamma, beta, false);
  const float s0 = std::sqrt(4.0f + kEps), s1 = std::sqrt(0.25f + kEps);
  // (x - rm) / sqrt(rv + eps) * gamma + beta with x columns {1,3,5,7} and {0,2,2,4}.
  expect_close(y.to_vector(),
               {3 * 0 / s0 + 0.5f, -1 * 1 / s1 + 2, 3 * 2 / s0 + 0.5f, -1 * 3 / s1 + 2,
                3 * 4 / s0 + 0.5f, -1 * 3 / s1 + 2, 3 * 6 / s0 + 0.5f, -1 * 5 / s1 + 2},
               1e-5f, 1e-5f, "eval [4, 2]");
}

BOOST_AUTO_TEST_CASE(train_values_4d_match_naive) {
  // [2, 3, 2, 3]: statistics per channel over N, H, W, computed naively here in double.
  const int64_t N = 2, C = 3, HW = 6;
  Tensor x = random_tensor({N, C, 2, 3}, 41, 2.0f, 1.0f);
  Tensor gamma = random_tensor({C}, 42), beta = random_tensor({C}, 43);
  std::vector<float> xv = x.to_vector(), gv = gamma.to_vector(), bv = beta.to_vector();
  std::vector<float> expected(xv.size());
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, sq = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sum += xv[(n * C + c) * HW + i];
    const double mu = sum / (N * HW);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sq += std::pow(xv[(n * C + c) * HW + i] - mu, 2);
    const double sd = std::sqrt(sq / (N * HW) + kEps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t k = (n * C + c) * HW + i;
        expected[k] = (float)((xv[k] - mu) / sd * gv[c] + bv[c]);
      }
  }
  Tensor rm = zeros({C}), rv = ones({C});
  expect_close(batch_norm(x, rm, rv, gamma, beta, true).to_vector(), expected, 1e-5f, 1e-5f,
               "4-D train");
}

BOOST_AUTO_TEST_CASE(hand_gradients_of_a_sum) {
  // L = sum(y): dbeta = M per channel, dgamma = sum(xhat) = 0, dx = 0 (training: the output
  // is invariant to shifting one channel, and sum(y) only sees that).
  Tensor x = with_grad(batch4x2());
  Tensor gamma = with_grad(from_vector(std::vector<float>{2.0f, 0.5f}, {2}));
  Tensor beta = with_grad(zeros({2}));
  Tensor rm = zeros({2}), rv = ones({2});
  Tensor y = batch_norm(x, rm, rv, gamma, beta, true);
  y.backward(ones_like(y));
  expect_close(beta.grad().to_vector(), {4, 4}, 1e-6f, 0, "dbeta");
  expect_close(gamma.grad().to_vector(), {0, 0}, 1e-5f, 0, "dgamma");
  expect_close(x.grad().to_vector(), std::vector<float>(8, 0.0f), 1e-5f, 0, "dx");

  // Eval: dx = gamma / sqrt(rv + eps) * dy.
  Tensor x2 = with_grad(batch4x2());
  Tensor rv2 = from_vector(std::vector<float>{4.0f, 0.25f}, {2});
  Tensor y2 = batch_norm(x2, zeros({2}), rv2, gamma.detach(), Tensor(), false);
  y2.backward(ones_like(y2));
  const float a = 2.0f / std::sqrt(4.0f + kEps), b = 0.5f / std::sqrt(0.25f + kEps);
  expect_close(x2.grad().to_vector(), {a, b, a, b, a, b, a, b}, 1e-6f, 1e-6f, "eval dx");
}

// ---------------------------------------------------------------- gradchecks

BOOST_AUTO_TEST_CASE(gradcheck_train_4d) {
  Tensor rm = zeros({4}), rv = ones({4});
  gradcheck("batch_norm train 4-D (x, gamma, beta)",
            [rm, rv](const std::vector<Tensor>& in) {
              return batch_norm(in[0], rm, rv, in[1], in[2], true);
            },
            {with_grad(random_tensor({3, 4, 3, 5}, 51, 1.5f, 0.5f)),
             with_grad(random_tensor({4}, 52, 1.0f, 1.0f)), with_grad(random_tensor({4}, 53))});
}

BOOST_AUTO_TEST_CASE(gradcheck_train_1d) {
  Tensor rm = zeros({5}), rv = ones({5});
  gradcheck("batch_norm train 2-D (x, gamma, beta)",
            [rm, rv](const std::vector<Tensor>& in) {
              return batch_norm(in[0], rm, rv, in[1], in[2], true);
            },
            {with_grad(random_tensor({7, 5}, 54)), with_grad(random_tensor({5}, 55, 1.0f, 1.0f)),
             with_grad(random_tensor({5}, 56))});
  // No affine parameters, no running stats (track_running_stats=False).
  gradcheck("batch_norm train 2-D no affine",
            [](const std::vector<Tensor>& in) {
              return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true);
            },
            {with_grad(random_tensor({6, 3}, 57))});
}

BOOST_AUTO_TEST_CASE(gradcheck_eval) {
  Tensor rm = random_tensor({4}, 61), rv = random_uniform({4}, 62, 0.5f, 2.0f);
  gradcheck("batch_norm eval 4-D (x, gamma, beta)",
            [rm, rv](const std::vector<Tensor>& in) {
              return batch_norm(in[0], rm, rv, in[1], in[2], false);
            },
            {with_grad(random_tensor({2, 4, 3, 3}, 63)), with_grad(random_tensor({4}, 64)),
             with_grad(random_tensor({4}, 65))});
}

BOOST_AUTO_TEST_CASE(only_wanted_gradients) {
  // gamma alone requires grad: x gets none, gamma's matches the full computation.
  Tensor x = random_tensor({5, 3, 2, 2}, 71);
  Tensor gamma = with_grad(random_tensor({3}, 72));
  Tensor rm = zeros({3}), rv = ones({3});
  Tensor y = batch_norm(x, rm, rv, gamma, Tensor(), true);
  Tensor dy = random_tensor(y.shape(), 73);
  y.backward(dy);
  BOOST_CHECK(!x.grad().defined());
  Tensor x2 = with_grad(x.clone());
  Tensor gamma2 = with_grad(gamma.detach().clone());
  Tensor y2 = batch_norm(x2, rm, rv, gamma2, Tensor(), true);
  y2.backward(dy);
  expect_close(gamma.grad(), gamma2.grad(), 0, 0, "dgamma alone vs with dx");
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(errors) {
  Tensor x = random_tensor({4, 2}, 1);
  expect_error([&] { batch_norm(x, zeros({3}), ones({2}), Tensor(), Tensor(), true); },
               {"batch_norm", "running_mean", "[3]", "[4, 2]"});
  expect_error([&] { batch_norm(x, zeros({2}), ones({2, 1}), Tensor(), Tensor(), true); },
               {"batch_norm", "running_var", "[2, 1]"});
  expect_error([&] { batch_norm(x, zeros({2}), ones({2}), ones({5}), Tensor(), true); },
               {"batch_norm", "weight", "[5]"});
  expect_error([&] { batch_norm(x, zeros({2}), ones({2}), Tensor(), zeros({1}), true); },
               {"batch_norm", "bias", "[1]"});
  expect_error([&] { batch_norm(random_tensor({2, 3, 4}, 2), zeros({3}), ones({3})); },
               {"batch_norm", "[2, 3, 4]"});
  expect_error([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); },
               {"batch_norm", "eval", "running_mean"});
  expect_error([&] { batch_norm(x, zeros({2}), Tensor(), Tensor(), Tensor(), true); },
               {"batch_norm", "together"});
  expect_error([&] { batch_norm(random_tensor({1, 3}, 3), zeros({3}), ones({3}), Tensor(), Tensor(), true); },
               {"batch_norm", "more than 1 value", "[1, 3]"});
  expect_error([&] { batch_norm(zeros({4, 2}, Device::cpu(), DType::i32), zeros({2}), ones({2})); },
               {"batch_norm"});
}

// ---------------------------------------------------------------- CUDA parity

namespace {

// Parity of output and (x, gamma, beta) gradients, then of the running statistics after one
// training call on each device.
void bn_parity(const std::string& what, const Shape& shape, bool training, bool affine,
               uint64_t seed, float tol = 1e-4f) {
  const int64_t C = shape[1];
  Tensor rm = random_tensor({C}, seed + 1, 0.5f), rv = random_uniform({C}, seed + 2, 0.5f, 2.0f);
  std::vector<Tensor> inputs = {with_grad(random_tensor(shape, seed, 2.0f, 0.5f))};
  if (affine) {
    inputs.push_back(with_grad(random_tensor({C}, seed + 3, 1.0f, 1.0f)));
    inputs.push_back(with_grad(random_tensor({C}, seed + 4)));
  }
  // The running stats are carried as (non-differentiable) inputs so each device updates its
  // own copy; the update itself is compared below.
  inputs.push_back(rm.clone());
  inputs.push_back(rv.clone());
  check_cuda_parity(
      what,
      [training, affine](const std::vector<Tensor>& in) {
        const size_t r = affine ? 3 : 1;
        return batch_norm(in[0], in[r], in[r + 1], affine ? in[1] : Tensor(),
                          affine ? in[2] : Tensor(), training);
      },
      inputs, tol, tol);

  Tensor x = inputs[0].detach();
  Tensor rm_c = rm.clone(), rv_c = rv.clone();
  Tensor rm_g = rm.cuda(), rv_g = rv.cuda();
  Tensor y_c = batch_norm(x, rm_c, rv_c, Tensor(), Tensor(), training, 0.1f);
  Tensor y_g = batch_norm(x.cuda(), rm_g, rv_g, Tensor(), Tensor(), training, 0.1f);
  expect_close(y_g.cpu(), y_c, tol, tol, what + ": output (no affine)");
  expect_close(rm_g.cpu(), rm_c, 1e-5f, 1e-5f, what + ": running_mean after the call");
  expect_close(rv_g.cpu(), rv_c, 1e-5f, 1e-5f, what + ": running_var after the call");
  if (!training) expect_close(rm_c, rm, 0, 0, what + ": eval keeps running_mean");
}

}  // namespace

NF_CUDA_TEST_CASE(cuda_parity_train) {
  bn_parity("bn train 4-D odd", {3, 5, 7, 9}, true, true, 100);
  bn_parity("bn train 4-D N8 C64 16x16", {8, 64, 16, 16}, true, true, 200, 2e-4f);
  bn_parity("bn train 2-D", {33, 17}, true, true, 300);
  bn_parity("bn train 2-D large batch", {1000, 3}, true, true, 400, 2e-4f);
  bn_parity("bn train 4-D no affine", {4, 6, 5, 3}, true, false, 500);
}

NF_CUDA_TEST_CASE(cuda_parity_eval) {
  bn_parity("bn eval 4-D odd", {3, 5, 7, 9}, false, true, 600);
  bn_parity("bn eval 4-D N8 C64 16x16", {8, 64, 16, 16}, false, true, 700);
  bn_parity("bn eval 2-D", {33, 17}, false, true, 800);
}

NF_CUDA_TEST_CASE(cuda_deterministic) {
  // Same input twice: bitwise-identical output and gradients (no atomics in the reductions).
  Tensor x = random_tensor({8, 64, 16, 16}, 900).cuda();
  Tensor gamma = random_tensor({64}, 901).cuda();
  Tensor dy = random_tensor({8, 64, 16, 16}, 902).cuda();
  std::vector<float> outs[2], grads[2];
  for (int run = 0; run < 2; ++run) {
    Tensor xr = with_grad(x.detach().clone());
    Tensor gr = with_grad(gamma.detach().clone());
    Tensor y = batch_norm(xr, Tensor(), Tensor(), gr, Tensor(), true);
    y.backward(dy);
    outs[run] = y.cpu().to_vector();
    grads[run] = gr.grad().cpu().to_vector();
  }
  BOOST_CHECK(outs[0] == outs[1]);
  BOOST_CHECK(grads[0] == grads[1]);
}

BOOST_AUTO_TEST_SUITE_END()
