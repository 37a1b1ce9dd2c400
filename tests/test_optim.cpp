// nn::SGD / Adam / AdamW against hand-computed torch.optim updates, the arena fast path, the
// state_dict round trip, LR schedules against their closed forms, CUDA parity of the kernels.
#include <cmath>
#include <functional>
#include <memory>

#include "engine/ops/optim.h"
#include "engine/ops/softmax.h"
#include "nn/lr_scheduler.h"
#include "nn/models.h"
#include "nn/optim.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_close;
using nanofed::test::expect_error;

namespace {

// The tiny problem every expected value below is derived from: p0 = [1, -2] and the fixed
// gradients g1 = [0.5, -1], g2 = [0.25, 0.5], g3 = [-1, 2] (set directly as .grad()).
const std::vector<std::vector<float>> kGrads = {{0.5f, -1.0f}, {0.25f, 0.5f}, {-1.0f, 2.0f}};

Tensor tiny_param() {
  Tensor p = from_vector(std::vector<float>{1.0f, -2.0f}, {2});
  p.requires_grad_(true);
  return p;
}

// Runs 3 steps of the optimizer `make` builds over tiny_param(); returns p after each step.
using MakeOpt = std::function<std::unique_ptr<nn::Optimizer>(std::vector<Tensor>)>;
std::vector<std::vector<float>> three_steps(const MakeOpt& make) {
  Tensor p = tiny_param();
  auto opt = make({p});
  std::vector<std::vector<float>> out;
  for (auto& g : kGrads) {
    p.set_grad(from_vector(g, {2}));
    opt->step();
    out.push_back(p.to_vector());
  }
  return out;
}

void expect_steps(const MakeOpt& make, const std::vector<std::vector<float>>& expected,
                  const std::string& what) {
  auto got = three_steps(make);
  for (size_t s = 0; s < expected.size(); ++s)
    expect_close(got[s], expected[s], 1e-6f, 1e-6f, what + " after step " + std::to_string(s + 1));
}

template <typename Opt, typename Options>
MakeOpt maker(Options o) {
  return [o](std::vector<Tensor> ps) { return std::make_unique<Opt>(std::move(ps), o); };
}

std::vector<float> concat(const std::vector<Tensor>& ts) {
  std::vector<float> v;
  for (const Tensor& t : ts)
    for (float x : t.to_vector()) v.push_back(x);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim)

// Expected values by hand from torch.optim.SGD's algorithm (lr 0.1 throughout):
//   plain:     p -= 0.1 g: [0.95, -1.9], [0.925, -1.95], [1.025, -2.15]
//   momentum:  buf1 = g1 = [0.5, -1]; buf2 = 0.9 buf1 + g2 = [0.7, -0.4];
//              buf3 = 0.9 buf2 + g3 = [-0.37, 1.64]; p -= 0.1 buf
//   dampening 0.5: buf1 = g1 (no dampening on the first step); buf2 = 0.9 buf1 + 0.5 g2 =
//              [0.575, -0.65]; buf3 = 0.9 buf2 + 0.5 g3 = [0.0175, 0.415]
//   nesterov:  same bufs as momentum, step with d = g + 0.9 buf: d1 = [0.95, -1.9],
//              d2 = [0.88, 0.14], d3 = [-1.333, 3.476]
//   weight_decay 0.1 + momentum 0.9: d = g + 0.1 p: d1 = [0.6, -1.2] -> p1 = [0.94, -1.88];
//              d2 = [0.344, 0.312], buf2 = [0.884, -0.768] -> p2 = [0.8516, -1.8032];
//              d3 = [-0.91484, 1.81968], buf3 = [-0.11924, 1.12848] -> p3 = [0.863524, -1.916048]
BOOST_AUTO_TEST_CASE(sgd_matches_pytorch_updates) {
  expect_steps(maker<nn::SGD>(nn::SGDOptions(0.1)), {{0.95f, -1.9f}, {0.925f, -1.95f}, {1.025f, -2.15f}}, "plain");
  expect_steps(maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9)),
               {{0.95f, -1.9f}, {0.88f, -1.86f}, {0.917f, -2.024f}}, "momentum");
  expect_steps(maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).dampening(0.5)),
               {{0.95f, -1.9f}, {0.8925f, -1.835f}, {0.89075f, -1.8765f}}, "dampening");
  expect_steps(maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).nesterov(true)),
               {{0.905f, -1.81f}, {0.817f, -1.824f}, {0.9503f, -2.1716f}}, "nesterov");
  expect_steps(maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).weight_decay(0.1)),
               {{0.94f, -1.88f}, {0.8516f, -1.8032f}, {0.863524f, -1.916048f}}, "weight_decay");
}

// Adam (lr 0.1, betas (0.9, 0.999), eps 1e-8). Step 1 is lr * g / (|g| + eps) whatever the
// betas (m_hat = g, v_hat = g^2): p1 = [0.9, -1.9]. Step 2, element 0: m = 0.9*0.05 + 0.1*0.25
// = 0.07, v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225, p2 = 0.9 - (0.1/0.19) * 0.07 /
// (sqrt(0.00031225)/sqrt(0.001999) + 1e-8) = 0.80678204. The rest the same way (checked against
// an independent double-precision transcription of the documented algorithm).
BOOST_AUTO_TEST_CASE(adam_matches_pytorch_updates) {
  expect_steps(maker<nn::Adam>(nn::AdamOptions(0.1)),
               {{0.900000002f, -1.9f}, {0.80678204f, -1.8733663f}, {0.827417743f, -1.91909948f}}, "adam");
  // L2: g + 0.1 p enters m and v.
  expect_steps(maker<nn::Adam>(nn::AdamOptions(0.1).weight_decay(0.1)),
               {{0.900000002f, -1.9f}, {0.805009766f, -1.85374726f}, {0.812098261f, -1.88636312f}}, "adam L2");
  // amsgrad with beta2 0.5, so that v falls and the max matters: element 0 at step 2 has
  // v = 0.5*0.125 + 0.5*0.0625 = 0.09375 < vmax = 0.125, p2 = 0.9 - (0.1/0.19) * 0.07 /
  // (sqrt(0.125)/sqrt(0.75)) = 0.809755645 (plain Adam would give 0.795794795).
  expect_steps(maker<nn::Adam>(nn::AdamOptions(0.1).betas({0.9, 0.5}).amsgrad(true)),
               {{0.900000002f, -1.9f}, {0.809755645f, -1.8742159f}, {0.827025649f, -1.91248996f}}, "amsgrad");
  expect_steps(maker<nn::Adam>(nn::AdamOptions(0.1).betas({0.9, 0.5})),
               {{0.900000002f, -1.9f}, {0.795794795f, -1.87022708f}, {0.813064798f, -1.90850115f}},
               "adam beta2 0.5 (the amsgrad control)");
}

// AdamW (lr 0.1, wd 0.1): p *= 0.99 first, then the Adam step on the raw gradient:
// p1 = 0.99 * [1, -2] - 0.1 * sign(g1) = [0.89, -1.88].
BOOST_AUTO_TEST_CASE(adamw_decouples_weight_decay) {
  expect_steps(maker<nn::AdamW>(nn::AdamWOptions(0.1).weight_decay(0.1)),
               {{0.890000002f, -1.88f}, {0.78788204f, -1.8345663f}, {0.800638922f, -1.86195381f}}, "adamw");
  Tensor p = tiny_param();
  nn::AdamW w({p});
  BOOST_TEST(w.options().weight_decay() == 1e-2);  // torch.optim.AdamW's default
  BOOST_TEST(std::string(w.name()) == "AdamW");
}

BOOST_AUTO_TEST_CASE(defaults_and_lr_accessors) {
  Tensor p = tiny_param();
  nn::Adam a({p});
  BOOST_TEST(a.lr() == 1e-3);
  BOOST_TEST(a.options().betas().first == 0.9);
  BOOST_TEST(a.options().betas().second == 0.999);
  BOOST_TEST(a.options().eps() == 1e-8);
  BOOST_TEST(a.options().weight_decay() == 0.0);
  BOOST_TEST(!a.options().amsgrad());
  nn::SGD s({p}, nn::SGDOptions(0.5));
  BOOST_TEST(s.options().momentum() == 0.0);
  s.set_lr(0.25);
  BOOST_TEST(s.lr() == 0.25);
  p.set_grad(from_vector(std::vector<float>{1.0f, 1.0f}, {2}));
  s.step();
  BOOST_TEST(p.to_vector() == std::vector<float>({0.75f, -2.25f}), boost::test_tools::per_element());
  s.zero_grad();
  BOOST_TEST(p.grad().to_vector() == std::vector<float>({0.0f, 0.0f}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(invalid_hyper_parameters_are_errors) {
  Tensor p = tiny_param();
  expect_error([&] { nn::SGD({p}, nn::SGDOptions(0.1).nesterov(true)); }, {"SGD", "nesterov", "momentum"});
  expect_error([&] { nn::SGD({p}, nn::SGDOptions(0.1).momentum(0.9).dampening(0.1).nesterov(true)); },
               {"nesterov", "dampening"});
  expect_error([&] { nn::SGD({p}, nn::SGDOptions(-1.0)); }, {"learning rate", "-1"});
  expect_error([&] { nn::Adam({p}, nn::AdamOptions().betas({0.9, 1.0})); }, {"beta", "index 1"});
  expect_error([&] { nn::AdamW({p}, nn::AdamWOptions().eps(-1e-8)); }, {"AdamW", "eps"});
  expect_error([&] { nn::SGD({from_vector(std::vector<int32_t>{1}, {1})}, nn::SGDOptions(0.1)); },
               {"parameter 0", "f32"});
}

// Like PyTorch: a parameter without a gradient is not touched and gets no state.
BOOST_AUTO_TEST_CASE(parameters_without_grad_are_skipped) {
  Tensor a = tiny_param(), b = tiny_param();
  nn::Adam opt({a, b}, nn::AdamOptions(0.1));
  b.set_grad(from_vector(kGrads[0], {2}));
  opt.step();
  BOOST_TEST(a.to_vector() == std::vector<float>({1.0f, -2.0f}), boost::test_tools::per_element());
  expect_close(b.to_vector(), {0.9f, -1.9f}, 1e-6f, 1e-6f, "b stepped");
  BOOST_TEST(opt.step_count(0) == 0);
  BOOST_TEST(opt.step_count(1) == 1);
  for (auto& [key, t] : opt.state_dict()) BOOST_TEST(key.rfind("state.0.", 0) != 0, key);
  // a's first step is a first step (bias correction 1), while b continues at step 2.
  a.set_grad(from_vector(kGrads[0], {2}));
  b.set_grad(from_vector(kGrads[1], {2}));
  opt.step();
  expect_close(a.to_vector(), {0.9f, -1.9f}, 1e-6f, 1e-6f, "a's first step");
  expect_close(b.to_vector(), {0.80678204f, -1.8733663f}, 1e-6f, 1e-6f, "b's second step");
}

// The same updates whether the parameters are separate tensors (one launch each) or views
// into one arena with an arena of gradients (one launch over [P]). The loose optimizer also
// holds a parameter that never gets a gradient: that keeps it on the per-parameter path (the
// optimizer would otherwise arrange the arenas itself).
BOOST_AUTO_TEST_CASE(arena_fast_path_equals_per_tensor_path) {
  auto make_params = [] {
    return std::vector<Tensor>{test::random_tensor({3, 4}, 1).requires_grad_(true),
                               test::random_tensor({5}, 2).requires_grad_(true),
                               test::random_tensor({2, 2, 2}, 3).requires_grad_(true)};
  };
  const std::vector<MakeOpt> makers = {
      maker<nn::SGD>(nn::SGDOptions(0.05).momentum(0.9).weight_decay(1e-2).nesterov(true)),
      maker<nn::SGD>(nn::SGDOptions(0.05).momentum(0.5).dampening(0.3)),
      maker<nn::Adam>(nn::AdamOptions(0.01).weight_decay(0.1).amsgrad(true)),
      maker<nn::AdamW>(nn::AdamWOptions(0.01))};
  for (size_t m = 0; m < makers.size(); ++m) {
    std::vector<Tensor> loose = make_params(), flat = make_params();
    Tensor arena = nn::flatten_into_arena(flat, Device::cpu());
    std::vector<Tensor> grads;
    for (const Tensor& p : flat) grads.push_back(zeros(p.shape()));
    Tensor grad_arena = nn::flatten_into_arena(grads, Device::cpu());
    for (size_t i = 0; i < flat.size(); ++i) flat[i].set_grad(grads[i]);
    BOOST_TEST(flat[2].same_storage(arena));
    std::vector<Tensor> loose_and_idle = loose;
    loose_and_idle.push_back(tiny_param());
    auto opt_loose = makers[m](loose_and_idle), opt_flat = makers[m](flat);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < loose.size(); ++i) {
        Tensor g = test::random_tensor(loose[i].shape(), 100 + 10 * step + i);
        loose[i].set_grad(g);
        flat[i].grad().copy_(g);
      }
      opt_loose->step();
      opt_flat->step();
      BOOST_TEST(opt_flat->last_step_fused());
      BOOST_TEST(!opt_loose->last_step_fused());
    }
    BOOST_TEST(flat[0].grad().same_storage(grad_arena));  // the step kept the arena
    expect_close(concat(flat), concat(loose), 0.0f, 0.0f, "arena vs per-tensor, optimizer " + std::to_string(m));
    expect_close(arena.to_vector(), concat(loose), 0.0f, 0.0f, "the arena itself");
  }
}

// A model's parameters start as separate tensors and backward() gives each its own gradient:
// the optimizer arranges both arenas itself on its first step, so a fresh model takes the
// one-launch path without flat_parameters()/flat_gradients(), with the same numbers.
BOOST_AUTO_TEST_CASE(a_fresh_model_takes_the_fused_path_by_itself) {
  Generator g1(7), g2(7);
  nn::MLP fresh({4, 3, 2}, &g1), arranged({4, 3, 2}, &g2);
  arranged.flat_gradients();  // what trainers had to call before
  nn::SGD opt_fresh(fresh.parameters(), nn::SGDOptions(0.1).momentum(0.9)),
      opt_arranged(arranged.parameters(), nn::SGDOptions(0.1).momentum(0.9));
  const Tensor x = test::random_tensor({5, 4}, 11), y = test::labels({0, 1, 1, 0, 1});
  for (int step = 0; step < 3; ++step) {
    for (nn::Module* m : {(nn::Module*)&fresh, (nn::Module*)&arranged}) {
      m->zero_grad();
      cross_entropy((*m)(x), y).backward();
    }
    opt_fresh.step();
    opt_arranged.step();
    BOOST_TEST(opt_fresh.last_step_fused(), "step " << step);
    BOOST_TEST(opt_arranged.last_step_fused());
  }
  BOOST_TEST(nn::contiguous_span(fresh.parameters(), Device::cpu()).defined());  // the optimizer's arena
  expect_close(fresh.flat_parameters(), arranged.flat_parameters(), 0.0f, 0.0f, "fresh vs pre-arranged model");
}

BOOST_AUTO_TEST_CASE(state_dict_keys_follow_pytorch) {
  Tensor p = tiny_param();
  nn::Adam opt({p}, nn::AdamOptions(0.1).amsgrad(true));
  std::vector<std::string> keys;
  for (auto& [k, t] : opt.state_dict()) keys.push_back(k);
  // No state before the first step.
  BOOST_TEST(keys == std::vector<std::string>({"param_groups.0.lr", "param_groups.0.betas", "param_groups.0.eps",
                                               "param_groups.0.weight_decay", "param_groups.0.amsgrad"}),
             boost::test_tools::per_element());
  p.set_grad(from_vector(kGrads[0], {2}));
  opt.step();
  opt.step();
  auto sd = opt.state_dict();
  BOOST_TEST(sd[0].first == "state.0.step");
  BOOST_TEST(sd[0].second.item() == 2.0f);
  BOOST_TEST(sd[1].first == "state.0.exp_avg");
  BOOST_TEST(sd[2].first == "state.0.exp_avg_sq");
  BOOST_TEST(sd[3].first == "state.0.max_exp_avg_sq");
  BOOST_TEST(sd[5].first == "param_groups.0.betas");
  BOOST_TEST(sd[5].second.to_vector() == std::vector<float>({0.9f, 0.999f}), boost::test_tools::per_element());
  Tensor q = tiny_param();
  nn::SGD sgd({q}, nn::SGDOptions(0.1).momentum(0.9));
  q.set_grad(from_vector(kGrads[0], {2}));
  sgd.step();
  auto ssd = sgd.state_dict();
  BOOST_TEST(ssd[0].first == "state.0.momentum_buffer");
  BOOST_TEST(ssd[0].second.to_vector() == kGrads[0], boost::test_tools::per_element());  // buf1 = g1
  BOOST_TEST(ssd[1].first == "param_groups.0.lr");
}

// Saving after 2 steps and loading into a fresh optimizer continues bit-identically.
BOOST_AUTO_TEST_CASE(state_dict_round_trip_continues_identically) {
  const std::vector<MakeOpt> makers = {maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).dampening(0.2)),
                                       maker<nn::Adam>(nn::AdamOptions(0.1).amsgrad(true).weight_decay(0.01)),
                                       maker<nn::AdamW>(nn::AdamWOptions(0.1))};
  for (size_t m = 0; m < makers.size(); ++m) {
    Tensor p = tiny_param();
    auto opt = makers[m]({p});
    for (int s = 0; s < 2; ++s) {
      p.set_grad(from_vector(kGrads[s], {2}));
      opt->step();
    }
    nn::NamedTensors saved;
    for (auto& [k, t] : opt->state_dict()) saved.push_back({k, t.clone()});
    Tensor q = p.detach().clone();
    q.requires_grad_(true);
    auto restored = makers[m]({q});
    restored->load_state_dict(saved);
    // Adam saves its step; SGD (like PyTorch) only whether a momentum buffer exists.
    BOOST_TEST(restored->step_count(0) == (m == 0 ? 1 : opt->step_count(0)));
    p.set_grad(from_vector(kGrads[2], {2}));
    q.set_grad(from_vector(kGrads[2], {2}));
    opt->step();
    restored->step();
    expect_close(q.to_vector(), p.to_vector(), 0.0f, 0.0f, "continued after load, optimizer " + std::to_string(m));
  }
}

BOOST_AUTO_TEST_CASE(load_state_dict_restores_lr_and_rejects_bad_state) {
  Tensor p = tiny_param();
  nn::Adam opt({p}, nn::AdamOptions(0.1));
  p.set_grad(from_vector(kGrads[0], {2}));
  opt.step();
  auto sd = opt.state_dict();
  nn::Adam other({tiny_param()}, nn::AdamOptions(0.5));
  other.load_state_dict(sd);
  BOOST_TEST(other.lr() == (double)0.1f);  // replaced by the saved (f32) value, like PyTorch
  BOOST_TEST(other.step_count(0) == 1);

  auto with = [&](const std::string& key, Tensor value) {
    nn::NamedTensors s = sd;
    bool found = false;
    for (auto& [k, t] : s)
      if (k == key) t = value, found = true;
    if (!found) s.push_back({key, value});
    return s;
  };
  auto without = [&](const std::string& key) {
    nn::NamedTensors s;
    for (auto& [k, t] : sd)
      if (k != key) s.push_back({k, t});
    return s;
  };
  nn::Adam fresh({tiny_param()});
  expect_error([&] { fresh.load_state_dict(with("state.0.exp_avg", zeros({3}))); },
               {"Adam.load_state_dict", "state.0.exp_avg", "[3]", "[2]"});
  expect_error([&] { fresh.load_state_dict(with("state.1.exp_avg", zeros({2}))); }, {"state.1.exp_avg", "1 parameters"});
  expect_error([&] { fresh.load_state_dict(with("state.0.momentum_buffer", zeros({2}))); },
               {"unexpected key", "state.0.momentum_buffer"});
  expect_error([&] { fresh.load_state_dict(with("param_groups.0.foo", scalar_tensor(1))); },
               {"unexpected key", "param_groups.0.foo"});
  expect_error([&] { fresh.load_state_dict(without("state.0.exp_avg_sq")); }, {"missing key", "state.0.exp_avg_sq"});
  expect_error([&] { fresh.load_state_dict(without("param_groups.0.eps")); }, {"missing key", "param_groups.0.eps"});
  expect_error([&] { fresh.load_state_dict(with("state.0.step", scalar_tensor(0.5f))); }, {"state.0.step", "whole number"});
  expect_error([&] { fresh.load_state_dict(with("param_groups.0.amsgrad", scalar_tensor(1))); },
               {"param_groups.0.amsgrad", "flags"});
  expect_error([&] { fresh.load_state_dict(with("param_groups.0.betas", from_vector(std::vector<float>{0.9f, 1.5f}, {2}))); },
               {"invalid", "beta"});
  BOOST_TEST(fresh.options().betas().second == 0.999);  // rolled back
  BOOST_TEST(fresh.step_count(0) == 0);                  // nothing loaded by the failed calls
}

// ---------------------------------------------------------------- schedules

// Closed forms (PyTorch's _get_closed_form_lr), evaluated by hand at each epoch.
BOOST_AUTO_TEST_CASE(step_lr_and_multistep_lr) {
  Tensor p = tiny_param();
  nn::SGD opt({p}, nn::SGDOptions(0.1));
  nn::StepLR sched(opt, /*step_size=*/3, /*gamma=*/0.1);
  const std::vector<double> expected = {0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001};
  for (size_t e = 0; e < expected.size(); ++e) {
    BOOST_TEST(sched.last_epoch() == (int64_t)e);
    BOOST_TEST(sched.get_last_lr() == expected[e], boost::test_tools::tolerance(1e-12));
    BOOST_TEST(opt.lr() == expected[e], boost::test_tools::tolerance(1e-12));
    sched.step();
  }
  nn::SGD opt2({p}, nn::SGDOptions(1.0));
  nn::MultiStepLR multi(opt2, {5, 2}, 0.5);  // milestones in any order
  const std::vector<double> expected2 = {1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25};
  for (size_t e = 0; e < expected2.size(); ++e) {
    BOOST_TEST(opt2.lr() == expected2[e], boost::test_tools::tolerance(1e-12));
    multi.step();
  }
}

BOOST_AUTO_TEST_CASE(cosine_annealing_lr) {
  Tensor p = tiny_param();
  nn::SGD opt({p}, nn::SGDOptions(1.0));
  nn::CosineAnnealingLR sched(opt, /*T_max=*/4, /*eta_min=*/0.1);
  // 0.1 + 0.9 * (1 + cos(pi e / 4)) / 2: cos = 1, 1/sqrt2, 0, -1/sqrt2, -1, then back up.
  const double r = 0.5 * (1.0 + 1.0 / std::sqrt(2.0)), s = 0.5 * (1.0 - 1.0 / std::sqrt(2.0));
  const std::vector<double> expected = {1.0, 0.1 + 0.9 * r, 0.55, 0.1 + 0.9 * s, 0.1, 0.1 + 0.9 * s, 0.55};
  for (size_t e = 0; e < expected.size(); ++e) {
    BOOST_TEST(opt.lr() == expected[e], boost::test_tools::tolerance(1e-12));
    sched.step();
  }
  // Resuming: a new scheduler loaded from the state continues the same curve.
  auto state = sched.state_dict();  // last_epoch 7
  nn::SGD opt3({p}, nn::SGDOptions(123.0));
  nn::CosineAnnealingLR resumed(opt3, 4, 0.1);
  resumed.load_state_dict(state);
  BOOST_TEST(resumed.last_epoch() == 7);
  BOOST_TEST(opt3.lr() == 0.1 + 0.9 * r, boost::test_tools::tolerance(1e-6));  // base_lr 1 (f32)
  expect_error([&] { nn::CosineAnnealingLR(opt3, 0); }, {"CosineAnnealingLR", "T_max"});
  expect_error([&] { nn::StepLR(opt3, 0); }, {"StepLR", "step_size"});
  expect_error([&] { resumed.load_state_dict({{"epoch", scalar_tensor(1)}}); }, {"unexpected key", "epoch"});
}

// ---------------------------------------------------------------- CUDA

NF_CUDA_TEST_CASE(fused_kernels_cuda_parity) {
  const Shape shape = {1000};
  for (int kind = 0; kind < 4; ++kind) {
    Tensor p = test::random_tensor(shape, 7), m = zeros(shape), v = zeros(shape), vmax = zeros(shape);
    Tensor pc = p.cuda(), mc = m.cuda(), vc = v.cuda(), vmaxc = vmax.cuda();
    for (int64_t step = 1; step <= 3; ++step) {
      Tensor g = test::random_tensor(shape, 50 + step), gc = g.cuda();
      if (kind == 0) {
        sgd_step_(p, g, m, 0.1, 0.9, 0.1, 0.01, false, step == 1);
        sgd_step_(pc, gc, mc, 0.1, 0.9, 0.1, 0.01, false, step == 1);
      } else if (kind == 1) {
        sgd_step_(p, g, m, 0.1, 0.9, 0.0, 0.01, true, step == 1);
        sgd_step_(pc, gc, mc, 0.1, 0.9, 0.0, 0.01, true, step == 1);
      } else {
        const bool amsgrad = kind == 2, decoupled = kind == 3;
        adam_step_(p, g, m, v, amsgrad ? vmax : Tensor(), step, 0.01, 0.9, 0.99, 1e-8, 0.1, decoupled);
        adam_step_(pc, gc, mc, vc, amsgrad ? vmaxc : Tensor(), step, 0.01, 0.9, 0.99, 1e-8, 0.1, decoupled);
      }
    }
    const std::string what = "kind " + std::to_string(kind);
    expect_close(pc.cpu(), p, 1e-5f, 1e-5f, what + " param");
    expect_close(mc.cpu(), m, 1e-5f, 1e-5f, what + " first buffer");
    expect_close(vc.cpu(), v, 1e-5f, 1e-5f, what + " second buffer");
  }
}

// The optimizer classes on CUDA: arena fast path, state on the GPU, same result as the CPU.
NF_CUDA_TEST_CASE(optimizers_on_cuda_match_cpu) {
  for (int which = 0; which < 2; ++which) {
    std::vector<Tensor> cpu_params = {test::random_tensor({4, 3}, 1).requires_grad_(true),
                                      test::random_tensor({3}, 2).requires_grad_(true)};
    std::vector<Tensor> gpu_params;
    for (const Tensor& p : cpu_params) gpu_params.push_back(p.detach().cuda().requires_grad_(true));
    nn::flatten_into_arena(gpu_params, Device::cuda());
    std::vector<Tensor> gpu_grads;
    for (const Tensor& p : gpu_params) gpu_grads.push_back(zeros(p.shape(), Device::cuda()));
    nn::flatten_into_arena(gpu_grads, Device::cuda());
    for (size_t i = 0; i < gpu_params.size(); ++i) gpu_params[i].set_grad(gpu_grads[i]);
    auto make = which == 0 ? maker<nn::SGD>(nn::SGDOptions(0.1).momentum(0.9).nesterov(true))
                           : maker<nn::Adam>(nn::AdamOptions(0.05).amsgrad(true));
    auto oc = make(cpu_params), og = make(gpu_params);
    for (int step = 0; step < 3; ++step) {
      for (size_t i = 0; i < cpu_params.size(); ++i) {
        Tensor g = test::random_tensor(cpu_params[i].shape(), 30 + step * 5 + i);
        cpu_params[i].set_grad(g);
        gpu_params[i].grad().copy_(g);  // into the gradient arena
      }
      oc->step();
      og->step();
      BOOST_TEST(og->last_step_fused());
    }
    for (size_t i = 0; i < cpu_params.size(); ++i)
      expect_close(gpu_params[i].cpu(), cpu_params[i], 1e-5f, 1e-5f, "optimizer " + std::to_string(which));
    for (auto& [k, t] : og->state_dict())
      if (k.rfind("state.", 0) == 0 && t.numel() > 1) BOOST_TEST(t.device().is_cuda(), k);
  }
}

// Parameters moved to the GPU after a CPU step: the state follows them and training continues
// as on the CPU.
NF_CUDA_TEST_CASE(state_follows_parameters_to_cuda) {
  Tensor a = tiny_param(), b = tiny_param();
  nn::Adam oa({a}, nn::AdamOptions(0.1)), ob({b}, nn::AdamOptions(0.1));
  for (size_t s = 0; s < kGrads.size(); ++s) {
    if (s == 1) nn::flatten_into_arena({b}, Device::cuda());  // re-binds b in place
    a.set_grad(from_vector(kGrads[s], {2}));
    b.set_grad(from_vector(kGrads[s], {2}, b.device()));
    oa.step();
    ob.step();
  }
  BOOST_TEST(b.device().is_cuda());
  BOOST_TEST(ob.state_dict()[1].second.device().is_cuda());  // state.0.exp_avg
  expect_close(b.cpu(), a, 1e-6f, 1e-6f, "moved mid-training");
}

BOOST_AUTO_TEST_SUITE_END()
