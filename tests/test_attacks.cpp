// attacks/: PGD/FGSM budgets and box, analytic optima on linear models, what the attack leaves
// untouched (input, parameters, gradients, modes), evaluation and eps sweeps, transferability
// against hand-counted values, and argument errors.
//
// Linear models make the optimum known: with logits W x + b, two classes and label y, the CE
// gradient w.r.t. x is p_other * (w_other - w_y), whose direction does not depend on x, so the
// CE-maximizing point of the L-inf ball is x - eps * sign(w_y - w_other) (clipped per coordinate
// to [0, 1]: the problem is separable), and of the L2 ball x - eps * (w_y - w_other) / ||.||.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "attacks/evaluate.h"
#include "attacks/pgd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::attacks;
using namespace nanofed::test;

namespace {

// Uniform in [0, 1] with about 30% of the values exactly 0 and 30% exactly 1, where clipping binds.
Tensor edge_inputs(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  std::vector<float> v((size_t)shape_numel(shape));
  for (float& e : v) {
    const float u = gen.next_uniform();
    e = u < 0.3f ? 0.0f : (u > 0.7f ? 1.0f : (u - 0.3f) / 0.4f);
  }
  return fv(v, shape);
}

std::vector<int32_t> random_label_values(int64_t n, int64_t k, uint64_t seed) {
  Generator gen(seed);
  std::vector<int32_t> y((size_t)n);
  for (int32_t& v : y) v = (int32_t)gen.next_below((uint64_t)k);
  return y;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  return va.size() == vb.size() && std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

// MLP and CNN on 1x6x6 inputs, 3 classes. The CNN has BatchNorm and Dropout, so an attack run in
// train mode would show (running statistics would move, dropout masks would change the result).
std::shared_ptr<nn::Module> small_mlp(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(),
                                          std::make_shared<nn::Linear>(36, 16, true, &gen),
                                          std::make_shared<nn::ReLU>(),
                                          std::make_shared<nn::Linear>(16, 3, true, &gen));
}
std::shared_ptr<nn::Module> small_cnn(uint64_t seed) {
  Generator gen(seed);
  return std::make_shared<nn::Sequential>(
      std::make_shared<nn::Conv2d>(1, 4, 3, 1, 1, true, &gen), std::make_shared<nn::BatchNorm2d>(4),
      std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(2), std::make_shared<nn::Flatten>(),
      std::make_shared<nn::Dropout>(0.5f, &gen), std::make_shared<nn::Linear>(36, 3, true, &gen));
}

// Linear(d, k) with the given weights [k, d] and bias [k].
std::shared_ptr<nn::Linear> linear_model(const std::vector<float>& w, const std::vector<float>& b) {
  const int64_t k = (int64_t)b.size(), d = (int64_t)w.size() / k;
  auto m = std::make_shared<nn::Linear>(d, k);
  m->weight.copy_(fv(w, {k, d}));
  m->bias.copy_(fv(b, {k}));
  return m;
}

datasets::Dataset make_data(const Tensor& images, const std::vector<int32_t>& y, int64_t num_classes) {
  datasets::Dataset ds;
  ds.images = images;
  ds.labels = labels(y);
  ds.num_classes = num_classes;
  ds.name = "test";
  return ds;
}

// Counts its forward passes with grad mode on (PGD's) and off (evaluation's).
class ForwardCounter : public nn::Module {
 public:
  explicit ForwardCounter(std::shared_ptr<nn::Module> inner) : inner(register_module("inner", std::move(inner))) {}
  Tensor forward(const Tensor& x) override {
    ++(grad_enabled() ? with_grad : without_grad);
    return (*inner)(x);
  }
  std::string repr() const override { return "ForwardCounter"; }
  std::shared_ptr<nn::Module> inner;
  int64_t with_grad = 0, without_grad = 0;
};

std::vector<int32_t> predictions(nn::Module& model, const Tensor& x) {
  NoGrad no_grad;
  return argmax(model(x), 1).to_vector<int32_t>();
}

// Per-sample distance ||a_i - b_i|| in the norm, in double.
std::vector<double> distances(const Tensor& a, const Tensor& b, Norm n) {
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>();
  const int64_t rows = a.size(0), cols = a.numel() / rows;
  std::vector<double> out((size_t)rows, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double d = std::fabs((double)va[i * cols + j] - (double)vb[i * cols + j]);
      out[i] = n == Norm::linf ? std::max(out[i], d) : out[i] + d * d;
    }
    if (n == Norm::l2) out[i] = std::sqrt(out[i]);
  }
  return out;
}

double mean_ce(nn::Module& model, const Tensor& x, const Tensor& y) {
  NoGrad no_grad;
  return cross_entropy(model(x), y).item();
}

// The two-class linear model the analytic tests use: d = 5, every w_0 - w_1 component far from 0.
std::shared_ptr<nn::Linear> two_class_model() {
  return linear_model({0.9f, -0.4f, 0.3f, -1.2f, 0.5f,  //
                       -0.2f, 0.6f, -0.5f, 0.3f, 1.5f},
                      {0.1f, -0.2f});
}

// Nine points for transferability_hand_counted, with what happens to each (see there).
std::vector<float> hand_counted_points() {
  //      x_a    x_b      y  source               target A
  return {0.70f, 0.60f,   // 1  right (margin 0.3)   right
          0.55f, 0.50f,   // 1  fooled (0.05)        right
          0.45f, 0.60f,   // 1  fooled (0.05)        wrong
          0.30f, 0.40f,   // 0  right (0.3)          right
          0.50f, 0.45f,   // 0  fooled (0.05)        wrong
          0.40f, 0.50f,   // 0  fooled (0.1)         right
          0.70f, 0.50f,   // 0  wrong clean          wrong
          0.25f, 0.30f,   // 1  wrong clean          wrong
          0.60f, 0.75f};  // 1  right (0.35)         wrong
}
std::vector<int32_t> hand_counted_labels() { return {1, 1, 1, 0, 0, 0, 0, 1, 1}; }
AttackOptions hand_counted_attack() {
  AttackOptions o;
  o.eps = 0.1f;
  o.alpha = 0.025f;
  o.steps = 10;
  o.random_start = false;
  return o;
}

// o with budget eps, steps of eps / 4 (4 reach a corner of the box from its centre, 8 from
// anywhere in it) and 20 of them: enough to settle at the optimum.
AttackOptions settling(AttackOptions o, float eps, bool random_start) {
  o.eps = eps;
  o.alpha = eps / 4;
  o.steps = 20;
  o.random_start = random_start;
  return o;
}

// Two interior points of [0, 1]^5 (clipping does not bind at eps 0.05), labels {0, 1}.
Tensor two_class_points() {
  return fv({0.3f, 0.5f, 0.7f, 0.4f, 0.6f,  //
             0.6f, 0.2f, 0.5f, 0.8f, 0.35f},
            {2, 5});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(attacks)

BOOST_AUTO_TEST_CASE(budget_and_box_hold_for_every_configuration) {
  const Tensor x = edge_inputs({12, 1, 6, 6}, 1);
  const Tensor x_copy = x.clone();
  const Tensor y = labels(random_label_values(12, 3, 2));
  for (const char* name : {"mlp", "cnn"}) {
    auto model = std::string(name) == "mlp" ? small_mlp(3) : small_cnn(3);
    for (Norm norm : {Norm::linf, Norm::l2})
      for (bool random_start : {false, true})
        for (bool targeted : {false, true}) {
          AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
          o.eps = norm == Norm::linf ? 0.1f : 0.5f;
          o.alpha = o.eps / 3;
          o.steps = 5;
          o.random_start = random_start;
          o.targeted = targeted;
          Generator gen(7);
          const Tensor adv = pgd(*model, x, y, o, gen);
          const std::string what = std::string(name) + " " + norm_name(norm) + (random_start ? " random" : "") +
                                   (targeted ? " targeted" : "");
          BOOST_TEST_CONTEXT(what) {
            BOOST_TEST(adv.shape() == x.shape());
            BOOST_TEST(!adv.requires_grad());
            double moved = 0;
            for (double d : distances(adv, x, norm)) {
              BOOST_TEST(d <= o.eps + 1e-6);
              moved = std::max(moved, d);
            }
            BOOST_TEST(moved > 0.5 * o.eps);  // the attack did something (else the bound is vacuous)
            const std::vector<float> v = adv.to_vector<float>();
            BOOST_TEST(*std::min_element(v.begin(), v.end()) >= 0.0f);
            BOOST_TEST(*std::max_element(v.begin(), v.end()) <= 1.0f);
            BOOST_TEST(bitwise_equal(x, x_copy));
          }
        }
  }
}

BOOST_AUTO_TEST_CASE(eps_zero_returns_x_and_the_clean_accuracy) {
  auto model = std::make_shared<ForwardCounter>(small_cnn(4));
  const Tensor x = edge_inputs({10, 1, 6, 6}, 5);
  const std::vector<int32_t> y = random_label_values(10, 3, 6);
  for (Norm norm : {Norm::linf, Norm::l2})
    for (bool targeted : {false, true}) {
      AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
      o.eps = 0.0f;  // pgd() itself still runs the random start and the steps
      o.targeted = targeted;
      Generator gen(8);
      BOOST_TEST(bitwise_equal(pgd(*model, x, labels(y), o, gen), x), norm_name(norm));
      model->with_grad = model->without_grad = 0;
      EvaluateOptions eo;
      eo.batch_size = 4;
      Tensor adversarial;
      eo.adversarial = &adversarial;
      const AttackResult r = evaluate(*model, make_data(x, y, 3), o, gen, eo);
      BOOST_TEST_CONTEXT(norm_name(norm) << (targeted ? " targeted" : "")) {
        BOOST_TEST(model->with_grad == 0);     // evaluate() ran no PGD step ...
        BOOST_TEST(model->without_grad == 3);  // ... and one forward per batch (4 + 4 + 2)
        BOOST_TEST(r.clean_correct < r.samples);  // misclassified points exist, and are no success
        BOOST_TEST(r.robust_correct == r.clean_correct);
        BOOST_TEST(r.succeeded == 0);
        BOOST_TEST(r.success == std::vector<uint8_t>(10, 0), boost::test_tools::per_element());
        BOOST_TEST(r.adv_loss_sum == r.clean_loss_sum);
        BOOST_TEST(bitwise_equal(adversarial, x));
      }
    }
  BOOST_TEST(bitwise_equal(fgsm(*model, x, labels(y), 0.0f), x));
}

BOOST_AUTO_TEST_CASE(attack_lowers_accuracy_and_robust_never_exceeds_clean) {
  const Tensor x = edge_inputs({40, 1, 6, 6}, 9);
  for (const char* name : {"mlp", "cnn"}) {
    auto model = std::string(name) == "mlp" ? small_mlp(10) : small_cnn(10);
    model->eval();
    std::vector<int32_t> y = predictions(*model, x);  // clean accuracy 100% ...
    for (size_t i = 0; i < y.size(); i += 5) y[i] = (y[i] + 1) % 3;  // ... then 80%
    const datasets::Dataset data = make_data(x, y, 3);
    for (Norm norm : {Norm::linf, Norm::l2}) {
      AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
      o.eps = norm == Norm::linf ? 0.3f : 3.0f;
      o.alpha = o.eps / 4;
      Generator gen(11);
      EvaluateOptions eo;
      eo.batch_size = 16;  // 16 + 16 + 8
      const AttackResult r = evaluate(*model, data, o, gen, eo);
      BOOST_TEST_CONTEXT(name << " " << norm_name(norm)) {
        BOOST_TEST(r.samples == 40);
        BOOST_TEST(r.clean_correct == 32);
        BOOST_TEST(r.robust_correct <= r.clean_correct);
        BOOST_TEST(r.robust_accuracy() < r.clean_accuracy());
        BOOST_TEST(r.success_rate() > 0.0);  // flipped correct predictions only
        BOOST_TEST(r.adv_loss_sum > r.clean_loss_sum);
        int64_t flagged = 0;
        for (uint8_t s : r.success) flagged += s;
        BOOST_TEST(flagged == r.succeeded);
        // Untargeted: a clean-correct sample is either robust or a success.
        BOOST_TEST(r.robust_correct == r.clean_correct - r.succeeded);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(robust_requires_clean_correct) {
  // A misclassified point the attack pushes onto its true class: logits at x = 0.5 are
  // (y: 1, a: 1.2, b: 0), so the clean prediction a is wrong; ascending CE at y moves x up
  // (grad = p_a * -1 + p_b * 4 = 0.096 > 0), and at x' = 0.72 the logits are (1, 0.98, 0.88):
  // the adversarial prediction is y. Not a success, and still not robust.
  auto model = linear_model({0, -1, 4}, {1, 1.7f, -2});
  AttackOptions o;
  o.eps = 0.22f;
  o.alpha = 0.22f;
  o.steps = 1;
  o.random_start = false;
  Generator gen(40);
  Tensor adversarial;
  EvaluateOptions eo;
  eo.adversarial = &adversarial;
  const AttackResult r = evaluate(*model, make_data(fv({0.5f}, {1, 1}), {0}, 3), o, gen, eo);
  expect_values(adversarial, {0.72f}, "x'");
  BOOST_TEST(predictions(*model, adversarial)[0] == 0);
  BOOST_TEST(r.clean_correct == 0);
  BOOST_TEST(r.succeeded == 0);
  BOOST_TEST(r.success[0] == 0);
  BOOST_TEST(r.robust_correct == 0);  // torchattacks' "accuracy on x'" would say 1
}

BOOST_AUTO_TEST_CASE(random_start_distributions) {
  // steps = 0 returns the (projected) random start. L-inf: every coordinate uniform in
  // [-eps, eps] (mean |delta| eps / 2). L2: radius U(0, 1) * eps (mean eps / 2; uniform in the
  // 36-dimensional ball would give 36/37 eps). Interior x, so clipping does not bind.
  const Tensor x = full({400, 1, 6, 6}, 0.5f);
  const Tensor y = zeros({400}, Device::cpu(), DType::i32);
  auto model = small_mlp(41);
  for (Norm norm : {Norm::linf, Norm::l2}) {
    AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
    o.eps = 0.1f;
    o.steps = 0;
    Generator gen(42);
    const Tensor adv = pgd(*model, x, y, o, gen);
    BOOST_TEST_CONTEXT(norm_name(norm)) {
      double mean_abs = 0;
      if (norm == Norm::linf) {
        const std::vector<float> a = adv.to_vector<float>();
        double mean = 0;
        for (float v : a) {
          mean_abs += std::fabs(v - 0.5) / a.size();
          mean += (v - 0.5) / a.size();
        }
        BOOST_TEST(std::fabs(mean) < 0.01 * o.eps);  // symmetric around x
        BOOST_TEST(*std::min_element(a.begin(), a.end()) < 0.5f - 0.99f * o.eps);
        BOOST_TEST(*std::max_element(a.begin(), a.end()) > 0.5f + 0.99f * o.eps);
      } else {
        const std::vector<double> d = distances(adv, x, Norm::l2);
        for (double v : d) mean_abs += v / d.size();
        BOOST_TEST(*std::min_element(d.begin(), d.end()) < 0.01 * o.eps);
        BOOST_TEST(*std::max_element(d.begin(), d.end()) > 0.99 * o.eps);
      }
      BOOST_TEST(mean_abs == 0.5 * o.eps, boost::test_tools::tolerance(0.1));
    }
  }
  AttackOptions o;
  o.steps = 0;
  o.random_start = false;
  Generator gen(43);
  const Tensor same = pgd(*model, x, y, o, gen);
  BOOST_TEST(bitwise_equal(same, x));
  BOOST_TEST(!same.same_storage(x));  // a new tensor: writing to it cannot change x
}

BOOST_AUTO_TEST_CASE(evaluate_matches_pgd_batch_by_batch) {
  // Batch k draws from gen.derive({k}); counts, flags, losses and x' agree with pgd() run by hand.
  auto model = small_mlp(12);
  const Tensor x = edge_inputs({10, 1, 6, 6}, 13);
  const std::vector<int32_t> y = random_label_values(10, 3, 14);
  for (bool targeted : {false, true}) {
    AttackOptions o;
    o.targeted = targeted;
    o.eps = 0.2f;
    Generator gen(15);
    Tensor adversarial;
    EvaluateOptions eo;
    eo.batch_size = 4;
    eo.target_shift = 2;
    eo.adversarial = &adversarial;
    const AttackResult r = evaluate(*model, make_data(x, y, 3), o, gen, eo);
    BOOST_TEST_CONTEXT((targeted ? "targeted" : "untargeted")) {
      int64_t clean = 0, robust = 0, succeeded = 0;
      double clean_loss = 0, adv_loss = 0;
      for (int64_t b = 0, k = 0; b < 10; b += 4, ++k) {
        const int64_t e = std::min<int64_t>(10, b + 4);
        const Tensor xb = x.slice(b, e), yb = labels(std::vector<int32_t>(y.begin() + b, y.begin() + e));
        std::vector<int32_t> tb(y.begin() + b, y.begin() + e);
        if (targeted)
          for (int32_t& t : tb) t = (t + 2) % 3;
        Generator batch_gen = gen.derive({(uint64_t)k});
        const Tensor adv = pgd(*model, xb, labels(tb), o, batch_gen);
        BOOST_TEST(bitwise_equal(adv, adversarial.slice(b, e)));
        const std::vector<int32_t> pc = predictions(*model, xb), pa = predictions(*model, adv);
        for (int64_t i = 0; i < e - b; ++i) {
          const bool ok = pc[i] == yb.to_vector<int32_t>()[i], adv_ok = pa[i] == y[b + i];
          const bool success = ok && (targeted ? pa[i] == tb[i] : !adv_ok);
          clean += ok;
          robust += ok && adv_ok;
          succeeded += success;
          BOOST_TEST(r.success[b + i] == (uint8_t)success);
          BOOST_TEST(r.clean_prediction[b + i] == pc[i]);
          BOOST_TEST(r.adversarial_prediction[b + i] == pa[i]);
        }
        CrossEntropyOptions summed;
        summed.reduction = Reduction::sum;
        NoGrad no_grad;
        clean_loss += cross_entropy((*model)(xb), yb, summed).item();
        adv_loss += cross_entropy((*model)(adv), yb, summed).item();
      }
      BOOST_TEST(r.clean_correct == clean);
      BOOST_TEST(r.robust_correct == robust);
      BOOST_TEST(r.succeeded == succeeded);
      BOOST_TEST(r.clean_loss_sum == clean_loss, boost::test_tools::tolerance(1e-5));
      BOOST_TEST(r.adv_loss_sum == adv_loss, boost::test_tools::tolerance(1e-5));
    }
  }
}

BOOST_AUTO_TEST_CASE(leaves_input_parameters_gradients_buffers_and_modes_alone) {
  auto model = small_cnn(16);
  auto& seq = static_cast<nn::Sequential&>(*model);
  seq[5]->eval();  // Dropout off inside a training model: mixed modes must come back as they were
  std::vector<Tensor> params = model->parameters();
  params[0].requires_grad_(false);  // a frozen layer stays frozen
  Tensor grads = model->flat_gradients();
  grads.fill_(7.0f);  // sentinel: the attack must never write weight gradients
  const Tensor grads_before = grads.clone(), params_before = model->flat_parameters().clone();
  const Tensor buffers_before = model->flat_buffers().clone();
  const Tensor x = edge_inputs({6, 1, 6, 6}, 17), x_copy = x.clone();
  const std::vector<int32_t> y = random_label_values(6, 3, 18);
  auto check = [&](const std::string& what) {
    BOOST_TEST_CONTEXT(what) {
      BOOST_TEST(bitwise_equal(x, x_copy));
      BOOST_TEST(bitwise_equal(model->flat_gradients(), grads_before));
      BOOST_TEST(bitwise_equal(model->flat_parameters(), params_before));
      BOOST_TEST(bitwise_equal(model->flat_buffers(), buffers_before));
      BOOST_TEST(!params[0].requires_grad());
      for (size_t i = 1; i < params.size(); ++i) BOOST_TEST(params[i].requires_grad());
      BOOST_TEST(model->is_training());
      BOOST_TEST(seq[1]->is_training());  // the BatchNorm (its running statistics were checked above)
      BOOST_TEST(!seq[5]->is_training());  // the Dropout
    }
  };
  Generator gen(19);
  pgd(*model, x, labels(y), AttackOptions(), gen);
  check("pgd");
  pgd(*model, x, labels(y), l2_defaults(), gen);
  check("pgd l2");
  fgsm(*model, x, labels(y), 0.1f, true);
  check("fgsm");
  evaluate(*model, make_data(x, y, 3), AttackOptions(), gen);
  check("evaluate");
  auto other = small_cnn(20);
  transferability(*model, *other, make_data(x, y, 3), AttackOptions(), gen);
  transferability(*other, *model, make_data(x, y, 3), AttackOptions(), gen);
  check("transferability");
  // An exception inside the step loop (label 3 of 3 classes) restores everything too.
  expect_error([&] { pgd(*model, x, labels({0, 1, 2, 3, 0, 1}), AttackOptions(), gen); }, {"3"});
  check("after an error");
}

BOOST_AUTO_TEST_CASE(gradient_is_with_respect_to_the_input_only) {
  // A model whose parameters have gradient arenas: pgd leaves them bit-identical and keeps the
  // same buffers (no re-allocation), and a training step afterwards still fills them.
  auto model = small_mlp(21);
  Tensor grads = model->flat_gradients();
  model->zero_grad();
  const std::vector<Tensor> params = model->parameters();
  std::vector<Tensor> grad_handles;
  for (const Tensor& p : params) grad_handles.push_back(p.grad());
  const Tensor x = edge_inputs({8, 1, 6, 6}, 22);
  const Tensor y = labels(random_label_values(8, 3, 23));
  Generator gen(24);
  const Tensor adv = pgd(*model, x, y, AttackOptions(), gen);
  BOOST_TEST(bitwise_equal(model->flat_gradients(), zeros({grads.numel()})));
  for (size_t i = 0; i < params.size(); ++i) BOOST_TEST(params[i].grad().same_storage(grad_handles[i]));
  cross_entropy((*model)(adv), y).backward();  // adversarial training step: weight gradients flow
  const std::vector<float> g = model->flat_gradients().to_vector<float>();
  BOOST_TEST(std::any_of(g.begin(), g.end(), [](float v) { return v != 0.0f; }));
}

BOOST_AUTO_TEST_CASE(linear_model_linf_optimum) {
  auto model = two_class_model();
  const Tensor x = two_class_points();
  const std::vector<int32_t> y = {0, 1};
  const float eps = 0.05f;
  // w_0 - w_1 = (1.1, -1.0, 0.8, -1.5, -1.0): row 0 (y = 0) moves by -eps * sign, row 1 by +eps * sign.
  const std::vector<float> s = {1, -1, 1, -1, -1};
  std::vector<float> expected;
  const std::vector<float> xv = x.to_vector<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j) expected.push_back(xv[i * 5 + j] + (y[i] == 0 ? -eps : eps) * s[j]);
  for (bool random_start : {false, true}) {
    const AttackOptions o = settling(AttackOptions(), eps, random_start);
    Generator gen(25);
    expect_close(pgd(*model, x, labels(y), o, gen), fv(expected, {2, 5}), 1e-6f, 0,
                 random_start ? "pgd linf, random start" : "pgd linf");
  }
  expect_close(fgsm(*model, x, labels(y), eps), fv(expected, {2, 5}), 1e-6f, 0, "fgsm");
  // Targeted at the other class reaches the same corner (descending CE at 1 = ascending at 0).
  expect_close(fgsm(*model, x, labels({1, 0}), eps, true), fv(expected, {2, 5}), 1e-6f, 0, "fgsm targeted");
  // Near the box's faces the optimum is the per-coordinate clip: the problem is separable.
  const Tensor edge = fv({0.0f, 1.0f, 0.97f, 0.02f, 1.0f}, {1, 5});
  const float big = 0.1f;
  std::vector<float> clipped;
  for (int j = 0; j < 5; ++j) clipped.push_back(std::min(1.0f, std::max(0.0f, edge.to_vector<float>()[j] - big * s[j])));
  const AttackOptions o = settling(AttackOptions(), big, true);
  Generator gen(26);
  expect_close(pgd(*model, edge, labels({0}), o, gen), fv(clipped, {1, 5}), 1e-6f, 0, "pgd linf clipped");
  expect_close(fgsm(*model, edge, labels({0}), big), fv(clipped, {1, 5}), 1e-6f, 0, "fgsm clipped");
}

BOOST_AUTO_TEST_CASE(linear_model_l2_optimum) {
  auto model = two_class_model();
  const Tensor x = two_class_points();
  const std::vector<int32_t> y = {0, 1};
  const std::vector<double> diff = {1.1, -1.0, 0.8, -1.5, -1.0};  // w_0 - w_1
  double n = 0;
  for (double d : diff) n += d * d;
  n = std::sqrt(n);
  const float eps = 0.1f;  // moves each coordinate by at most 0.1 * 1.5 / 2.42: no clipping
  std::vector<float> expected;
  const std::vector<float> xv = x.to_vector<float>();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 5; ++j) expected.push_back((float)(xv[i * 5 + j] + (y[i] == 0 ? -1 : 1) * eps * diff[j] / n));
  AttackOptions o = settling(l2_defaults(), eps, false);
  Generator gen(27);
  expect_close(pgd(*model, x, labels(y), o, gen), fv(expected, {2, 5}), 1e-5f, 0, "pgd l2");
  // From a random start the radial projection only shrinks the off-direction part geometrically:
  // with alpha = eps it halves every step.
  o.random_start = true;
  o.alpha = eps;
  o.steps = 40;
  expect_close(pgd(*model, x, labels(y), o, gen), fv(expected, {2, 5}), 1e-5f, 0, "pgd l2, random start");
  // Targeted at the other class: the same point.
  o.random_start = false;
  o.targeted = true;
  expect_close(pgd(*model, x, labels({1, 0}), o, gen), fv(expected, {2, 5}), 1e-5f, 0, "pgd l2 targeted");
}

BOOST_AUTO_TEST_CASE(targeted_moves_towards_the_target) {
  // Three classes: descending CE at target t moves x along sign(w_t - sum_c p_c(x) w_c) (FGSM),
  // computed here by hand from the softmax at x.
  const std::vector<float> w = {0.8f, -0.5f, 0.3f, 0.9f,  //
                                -0.6f, 0.7f, 0.2f, -0.4f,  //
                                0.1f, 0.4f, -0.9f, 0.5f};
  const std::vector<float> b = {0.2f, -0.1f, 0.0f};
  auto model = linear_model(w, b);
  const std::vector<float> xv = {0.4f, 0.5f, 0.6f, 0.3f};
  const Tensor x = fv(xv, {1, 4});
  const float eps = 0.05f;
  for (int32_t target : {0, 1, 2}) {
    double z[3], zmax = -1e30, total = 0;
    for (int c = 0; c < 3; ++c) {
      z[c] = b[c];
      for (int j = 0; j < 4; ++j) z[c] += (double)w[c * 4 + j] * xv[j];
      zmax = std::max(zmax, z[c]);
    }
    double p[3];
    for (int c = 0; c < 3; ++c) total += (p[c] = std::exp(z[c] - zmax));
    std::vector<float> expected;
    for (int j = 0; j < 4; ++j) {
      double d = w[target * 4 + j];
      for (int c = 0; c < 3; ++c) d -= p[c] / total * w[c * 4 + j];
      BOOST_REQUIRE(std::fabs(d) > 1e-3);  // the sign is unambiguous
      expected.push_back(xv[j] + (d > 0 ? eps : -eps));
    }
    const Tensor t = labels({target});
    const Tensor adv = fgsm(*model, x, t, eps, true);
    expect_close(adv, fv(expected, {1, 4}), 1e-6f, 0, "fgsm targeted at " + std::to_string(target));
    // PGD targeted lowers the target's loss; untargeted raises the true label's.
    AttackOptions o;
    o.eps = eps;
    o.targeted = true;
    Generator gen(28);
    BOOST_TEST(mean_ce(*model, pgd(*model, x, t, o, gen), t) < mean_ce(*model, x, t));
    o.targeted = false;
    BOOST_TEST(mean_ce(*model, pgd(*model, x, t, o, gen), t) > mean_ce(*model, x, t));
  }
}

BOOST_AUTO_TEST_CASE(eps_sweep_is_monotone_and_starts_at_clean_accuracy) {
  auto model = linear_model({0.9f, -0.4f, 0.3f, -1.2f, 0.5f, 0.2f,  //
                             -0.2f, 0.6f, -0.5f, 0.3f, 1.5f, -0.7f},
                            {0.1f, -0.2f});
  const Tensor x = edge_inputs({50, 6}, 29);
  std::vector<int32_t> y = predictions(*model, x);
  for (size_t i = 0; i < y.size(); i += 7) y[i] = 1 - y[i];
  const datasets::Dataset data = make_data(x, y, 2);
  const std::vector<float> eps_list = {0.0f, 0.02f, 0.05f, 0.1f, 0.2f, 0.5f};
  for (Norm norm : {Norm::linf, Norm::l2}) {
    AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
    Generator gen(30);
    EvaluateOptions eo;
    eo.batch_size = 16;
    const std::vector<AttackResult> sweep = eps_sweep(*model, data, o, eps_list, gen, eo);
    BOOST_TEST_CONTEXT(norm_name(norm)) {
      BOOST_REQUIRE(sweep.size() == eps_list.size());
      BOOST_TEST(sweep[0].robust_correct == sweep[0].clean_correct);
      BOOST_TEST(sweep[0].succeeded == 0);
      for (size_t k = 1; k < sweep.size(); ++k) {
        BOOST_TEST(sweep[k].clean_correct == sweep[0].clean_correct);
        BOOST_TEST(sweep[k].robust_correct <= sweep[k - 1].robust_correct);
      }
      BOOST_TEST(sweep.back().robust_correct < sweep[0].robust_correct);
      // alpha_k = o.alpha * eps_k / o.eps: the same numbers as evaluate() with that alpha.
      AttackOptions at = o;
      at.eps = eps_list[3];
      at.alpha = o.alpha * eps_list[3] / o.eps;
      const AttackResult direct = evaluate(*model, data, at, gen, eo);
      BOOST_TEST(direct.success == sweep[3].success, boost::test_tools::per_element());
      BOOST_TEST(direct.adv_loss_sum == sweep[3].adv_loss_sum);
    }
  }
}

BOOST_AUTO_TEST_CASE(transferability_of_a_model_to_itself) {
  auto model = small_mlp(31);
  auto copy = small_mlp(31);  // same weights, a different object
  BOOST_REQUIRE(bitwise_equal(model->flat_parameters(), copy->flat_parameters()));
  const Tensor x = edge_inputs({20, 1, 6, 6}, 32);
  const datasets::Dataset data = make_data(x, random_label_values(20, 3, 33), 3);
  AttackOptions o;
  o.eps = 0.2f;
  for (nn::Module* target : {model.get(), copy.get()}) {
    Generator gen(34);
    const Transferability t = transferability(*model, *target, data, o, gen, 8);
    BOOST_TEST(t.samples == 20);
    BOOST_TEST(t.fooled_source > 0);
    BOOST_TEST(t.fooled_both == t.fooled_source);
    BOOST_TEST(t.adv_trans() == 1.0);
    BOOST_TEST(t.loss_measure == 0.0);
    BOOST_TEST(t.source_clean_accuracy == t.target_clean_accuracy);
  }
}

BOOST_AUTO_TEST_CASE(transferability_hand_counted) {
  // Source: class 1 iff x_a + x_b > 1 (logit z_1 = 4 (x_a + x_b - 1), z_0 = 0). L-inf PGD with
  // eps 0.1 and no random start moves every sample by -+0.1 * (1, 1), so S = the samples the
  // source gets wrong plus the right ones within 0.2 of the line.
  auto source = linear_model({0, 0, 4, 4}, {0, -4});
  // Target A: class 1 iff x_a - x_b > 0, blind to the (1, 1) direction the attack moves along, so
  // it is fooled on x' exactly where it is wrong on x, and its loss does not change.
  auto orthogonal = linear_model({0, 0, 3, -3}, {0, 0});
  // Target B: always class 1, fooled on x' exactly where y = 0.
  auto constant = linear_model({0, 0, 0, 0}, {0, 1});
  const std::vector<float> xs = hand_counted_points();
  const std::vector<int32_t> y = hand_counted_labels();
  const datasets::Dataset data = make_data(fv(xs, {9, 2}), y, 2);
  const AttackOptions o = hand_counted_attack();
  // l_{g->l} when the target's loss does not move: -mean_i (CE_g(x'_i) - CE_g(x_i)).
  double source_loss_increase = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double s = 4 * ((double)xs[2 * i] + xs[2 * i + 1] - 1), step = y[i] == 1 ? -0.8 : 0.8;
    auto ce = [&](double m) { return y[i] == 1 ? std::log1p(std::exp(-m)) : std::log1p(std::exp(m)); };
    source_loss_increase += ce(s + step) - ce(s);
  }
  source_loss_increase /= (double)y.size();

  Generator gen(35);
  const Transferability a = transferability(*source, *orthogonal, data, o, gen, 4);
  BOOST_TEST(a.samples == 9);
  BOOST_TEST(a.fooled_source == 6);
  BOOST_TEST(a.fooled_both == 4);
  BOOST_TEST(a.adv_trans() == 4.0 / 6.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.source_clean_accuracy == 7.0 / 9.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.target_clean_accuracy == 4.0 / 9.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(a.loss_measure == -source_loss_increase, boost::test_tools::tolerance(1e-4));
  BOOST_TEST(a.loss_measure < 0);

  const Transferability b = transferability(*source, *constant, data, o, gen, 4);
  BOOST_TEST(b.fooled_source == 6);
  BOOST_TEST(b.fooled_both == 3);
  BOOST_TEST(b.target_clean_accuracy == 5.0 / 9.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(b.loss_measure == -source_loss_increase, boost::test_tools::tolerance(1e-4));
}

BOOST_AUTO_TEST_CASE(bad_arguments_give_one_clear_error) {
  auto bad = [](auto change) {
    AttackOptions o;
    change(o);
    return o;
  };
  expect_error([&] { validate(bad([](AttackOptions& o) { o.eps = -0.1f; })); }, {"attack: eps must be >= 0", "-0.1"});
  expect_error([&] { validate(bad([](AttackOptions& o) { o.eps = NAN; })); }, {"eps"});
  expect_error([&] { validate(bad([](AttackOptions& o) { o.alpha = -1; }), "config"); }, {"config: alpha", "-1"});
  expect_error([&] { validate(bad([](AttackOptions& o) { o.steps = -2; })); }, {"steps", "-2"});
  expect_error([&] { validate(bad([](AttackOptions& o) { o.clip_min = 1; })); }, {"clip_min", "clip_max"});
  validate(AttackOptions());
  validate(l2_defaults());
  expect_error([] { parse_norm("l1"); }, {"norm", "linf or l2", "'l1'"});
  expect_error([] { parse_norm("Linf", "attack.norm"); }, {"attack.norm", "'Linf'"});
  BOOST_TEST((parse_norm("linf") == Norm::linf && parse_norm("l2") == Norm::l2));
  BOOST_TEST(std::string(norm_name(Norm::l2)) == "l2");

  auto model = small_mlp(36);
  const Tensor x = edge_inputs({4, 1, 6, 6}, 37);
  const Tensor y = labels({0, 1, 2, 0});
  Generator gen(38);
  expect_error([&] { pgd(*model, x, y, bad([](AttackOptions& o) { o.eps = -1; }), gen); }, {"pgd: eps"});
  expect_error([&] { fgsm(*model, x, y, -0.5f); }, {"fgsm: eps", "-0.5"});
  expect_error([&] { pgd(*model, x, labels({0, 1}), AttackOptions(), gen); }, {"pgd", "y must be i32 [4]"});
  expect_error([&] { pgd(*model, x, cast(y, DType::f32), AttackOptions(), gen); }, {"pgd", "y must be i32"});
  expect_error(
      [&] {
        NoGrad no_grad;
        pgd(*model, x, y, AttackOptions(), gen);
      },
      {"pgd", "grad mode"});
  const datasets::Dataset data = make_data(x, {0, 1, 2, 0}, 3);
  EvaluateOptions eo;
  eo.batch_size = 0;
  expect_error([&] { evaluate(*model, data, AttackOptions(), gen, eo); }, {"evaluate: batch_size", "0"});
  eo.batch_size = 2;
  eo.target_shift = 3;
  expect_error([&] { evaluate(*model, data, bad([](AttackOptions& o) { o.targeted = true; }), gen, eo); },
               {"evaluate: target_shift", "3"});
  expect_error([&] { evaluate(*model, data, bad([](AttackOptions& o) { o.steps = -1; }), gen); }, {"evaluate: steps"});
  expect_error([&] { eps_sweep(*model, data, AttackOptions(), {0.1f, -0.1f}, gen); }, {"eps must be >= 0"});
  expect_error([&] { transferability(*model, *model, data, bad([](AttackOptions& o) { o.targeted = true; }), gen); },
               {"transferability", "untargeted"});
}

BOOST_AUTO_TEST_CASE(defaults_follow_torchattacks) {
  const AttackOptions linf;
  BOOST_TEST((linf.norm == Norm::linf && linf.eps == 8.0f / 255 && linf.alpha == 2.0f / 255 && linf.steps == 10));
  BOOST_TEST((linf.random_start && !linf.targeted && linf.clip_min == 0.0f && linf.clip_max == 1.0f));
  const AttackOptions l2 = l2_defaults();
  BOOST_TEST((l2.norm == Norm::l2 && l2.eps == 1.0f && l2.alpha == 0.2f && l2.steps == 10 && l2.random_start));
}

NF_CUDA_TEST_CASE(cuda_matches_cpu) {
  // Deterministic cases (no random start, linear models) give the CPU's numbers on the GPU.
  auto cpu = two_class_model(), gpu = two_class_model();
  gpu->to(Device::cuda());
  const Tensor x = edge_inputs({8, 5}, 50);
  const Tensor y = labels(random_label_values(8, 2, 51));
  for (Norm norm : {Norm::linf, Norm::l2}) {
    AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
    o.eps = norm == Norm::linf ? 0.1f : 0.3f;
    o.random_start = false;
    Generator g1(52), g2(52);
    const Tensor on_gpu = pgd(*gpu, x.cuda(), y.cuda(), o, g2);
    BOOST_TEST(on_gpu.device().str() == Device::cuda().str());
    expect_close(on_gpu.cpu(), pgd(*cpu, x, y, o, g1), 1e-5f, 0, std::string("pgd on cuda ") + norm_name(norm));
  }
  auto source = linear_model({0, 0, 4, 4}, {0, -4}), target = linear_model({0, 0, 3, -3}, {0, 0});
  source->to(Device::cuda());
  target->to(Device::cuda());
  const datasets::Dataset data = make_data(fv(hand_counted_points(), {9, 2}), hand_counted_labels(), 2);
  Generator gen(53);
  const Transferability t = transferability(*source, *target, data, hand_counted_attack(), gen, 4);
  BOOST_TEST(t.fooled_source == 6);
  BOOST_TEST(t.fooled_both == 4);
  BOOST_TEST(t.target_clean_accuracy == 4.0 / 9.0, boost::test_tools::tolerance(1e-12));

  // Random start on the GPU: budget, box, and nothing of the model touched.
  auto cnn = small_cnn(54);
  cnn->to(Device::cuda());
  Tensor grads = cnn->flat_gradients();
  grads.fill_(3.0f);
  const Tensor grads_before = grads.cpu(), buffers_before = cnn->flat_buffers().cpu();
  const Tensor images = edge_inputs({16, 1, 6, 6}, 55);
  const std::vector<int32_t> image_labels = random_label_values(16, 3, 56);
  const Tensor xg = images.cuda(), xg_copy = xg.cpu();
  for (Norm norm : {Norm::linf, Norm::l2}) {
    AttackOptions o = norm == Norm::linf ? AttackOptions() : l2_defaults();
    const Tensor adv = pgd(*cnn, xg, labels(image_labels).cuda(), o, gen).cpu();
    for (double d : distances(adv, images, norm)) BOOST_TEST(d <= o.eps + 1e-6);
    const std::vector<float> v = adv.to_vector<float>();
    BOOST_TEST(*std::min_element(v.begin(), v.end()) >= 0.0f);
    BOOST_TEST(*std::max_element(v.begin(), v.end()) <= 1.0f);
    o.eps = 0;
    const AttackResult r = evaluate(*cnn, make_data(images, image_labels, 3), o, gen);
    BOOST_TEST(r.robust_correct == r.clean_correct);
  }
  BOOST_TEST(bitwise_equal(xg.cpu(), xg_copy));
  BOOST_TEST(bitwise_equal(cnn->flat_gradients().cpu(), grads_before));
  BOOST_TEST(bitwise_equal(cnn->flat_buffers().cpu(), buffers_before));
  BOOST_TEST(cnn->is_training());
}

BOOST_AUTO_TEST_SUITE_END()
