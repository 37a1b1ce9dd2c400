// The personalizers of the spurious-features reproduction (fl/personalize.h): the loss terms and
// the Adam loop on hand-computed values, the data each method builds, and the registry.
//
// The toy model: the logits are b for every sample whatever the input, so the
// cross-entropy gradient is softmax(b) - onehot(y) and Adam's first step moves every coordinate
// by exactly -lr * sign(gradient) (m_hat / sqrt(v_hat) = g / |g|).
#include <cmath>

#include "datasets/transforms.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "fl/personalize.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl::personalize;
using namespace nanofed::test;

namespace {

class Bias : public nn::Module {
 public:
  explicit Bias(std::vector<float> b0) { b = register_parameter("b", from_vector(b0, {(int64_t)b0.size()})); }
  Tensor forward(const Tensor& x) override { return add(zeros({x.size(0), b.size(0)}), b); }
  std::string repr() const override { return "Bias"; }
  Tensor b;
};

datasets::Dataset dataset(const Tensor& images, const std::vector<int32_t>& y, int64_t classes) {
  datasets::Dataset d;
  d.images = images, d.labels = labels(y), d.num_classes = classes, d.name = "toy";
  return d;
}

datasets::Dataset zeros_set(int64_t n, int64_t classes = 2) {
  return dataset(zeros({n, classes}), std::vector<int32_t>(n, 0), classes);
}

// A 2x2 gray image per label 0..3 (distinct values), colored in `env`.
datasets::Dataset colored_set(int64_t env) {
  const datasets::Dataset gray = dataset(distinct_values({4, 1, 2, 2}, 0.05f, 0.1f), {0, 1, 2, 3}, 10);
  return datasets::colorize(gray, env);
}

CheckpointScore no_score() {
  return [](nn::Module&, int64_t) { return 0.0; };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spurious_personalize)

BOOST_AUTO_TEST_CASE(consistency_loss_is_the_soft_cross_entropy_with_the_minus_sign) {
  // Row 0: logits (0, 0), target (1, 0): -log 1/2 = log 2.
  // Row 1: logits (log 3, 0) -> q = (3/4, 1/4), target (1/2, 1/2): -(log 3/4 + log 1/4) / 2.
  Tensor logits = fv({0, 0, std::log(3.0f), 0}, {2, 2});
  logits.requires_grad_(true);
  const Tensor p = fv({1, 0, 0.5f, 0.5f}, {2, 2});
  const Tensor loss = consistency_loss(logits, p);
  const double expected = (std::log(2.0) - 0.5 * (std::log(0.75) + std::log(0.25))) / 2;
  BOOST_TEST(loss.item() == expected, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(loss.item() > 0);  // the printed formula without the minus sign would be negative
  loss.backward();
  // d/dlogits = (q - p) / N: row 0 (1/2 - 1, 1/2) / 2, row 1 (3/4 - 1/2, 1/4 - 1/2) / 2.
  expect_values(logits.grad(), {-0.25f, 0.25f, 0.125f, -0.125f}, "consistency gradient");
}

BOOST_AUTO_TEST_CASE(l2_pull_adds_the_unit_direction_and_nothing_at_the_anchor) {
  Tensor g = fv({1, 1}, {2});
  // w - w_g = (3, 4), ||.|| = 5: + 2 * (3, 4) / 5.
  BOOST_TEST(add_l2_pull(g, fv({3, 4}, {2}), fv({0, 0}, {2}), 2.0) == 5.0);
  expect_values(g, {2.2f, 2.6f}, "pulled gradient");
  // At w = w_g the subgradient is 0: no NaN, nothing added.
  Tensor h = fv({1, -1}, {2});
  BOOST_TEST(add_l2_pull(h, fv({7, 8}, {2}), fv({7, 8}, {2}), 2.0) == 0.0);
  expect_values(h, {1, -1}, "gradient at the anchor");
}

BOOST_AUTO_TEST_CASE(first_adam_step_follows_the_sign_of_ce_plus_weighted_consistency) {
  // b = (0, 0), label 0: CE gradient (1/2 - 1, 1/2) = (-1/2, 1/2) -> b = (lr, -lr).
  Options o;
  o.lr = 0.1, o.epochs = 1, o.batch_size = 4;
  Generator gen(0);
  Recipe ft;
  ft.train = zeros_set(4);
  Bias a({0, 0});
  train(a, ft, o, gen, no_score());
  expect_values(a.b, {0.1f, -0.1f}, "fine-tuning step");
  // + 10 x consistency toward (0, 1): + 10 (1/2 - 0, 1/2 - 1) = (5, -5) -> total (4.5, -4.5):
  // the step reverses.
  Recipe ours = ft;
  ours.consistency_x = zeros({4, 2});
  ours.consistency_p = fv({0, 1, 0, 1, 0, 1, 0, 1}, {4, 2});
  ours.lambda_adv = 10;
  Bias b({0, 0});
  train(b, ours, o, gen, no_score());
  expect_values(b.b, {-0.1f, 0.1f}, "step with the consistency term");
  // The L2 term alone does nothing on the first step (subgradient 0 at w_g).
  Recipe l2 = ft;
  l2.lambda_l2 = 100;
  Bias c({0, 0});
  train(c, l2, o, gen, no_score());
  expect_values(c.b, {0.1f, -0.1f}, "first step with the L2 term");
}

BOOST_AUTO_TEST_CASE(l2_term_pulls_back_on_the_second_step) {
  // Step 1 as fine-tuning: b = (0.1, -0.1). Step 2: CE gradient softmax(b) - e0 = (q0 - 1, 1 - q0)
  // with q0 = sigmoid(0.2); the pull 100 (1, -1) / sqrt 2 dominates, so its sign reverses and
  // Adam moves b back toward 0 (a step smaller than lr: m_hat mixes both gradients).
  Options o;
  o.lr = 0.1, o.epochs = 2, o.batch_size = 4;
  Generator gen(0);
  Recipe r;
  r.train = zeros_set(4);
  r.lambda_l2 = 100;
  Bias m({0, 0});
  train(m, r, o, gen, no_score());
  // Hand Adam (beta 0.9, 0.999) on coordinate 0: g1 = -0.5, g2 = (q0 - 1) + 100 / sqrt 2.
  const double q0 = 1 / (1 + std::exp(-0.2)), g1 = -0.5, g2 = (q0 - 1) + 100 / std::sqrt(2.0);
  const double m2 = 0.9 * 0.1 * g1 + 0.1 * g2, v2 = 0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2;
  const double b0 = 0.1 - 0.1 * (m2 / (1 - 0.81)) / (std::sqrt(v2 / (1 - 0.999 * 0.999)) + 1e-8);
  BOOST_TEST(m.b.to_vector<float>()[0] == b0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(b0 < 0.1);
}

BOOST_AUTO_TEST_CASE(checkpoints_every_eval_every_and_the_latest_best_one_is_kept) {
  // 10 rows, batch 4: 3 batches an epoch, 2 epochs = 6; eval_every 4 -> batches 0, 4, 6.
  Options o;
  o.lr = 0.1, o.epochs = 2, o.batch_size = 4, o.eval_every = 4;
  Generator gen(1);
  Recipe r;
  r.train = zeros_set(10);
  Bias m({0, 0});
  std::vector<int64_t> seen;
  std::vector<float> at6;
  const Trained t = train(m, r, o, gen, [&](nn::Module& model, int64_t b) {
    seen.push_back(b);
    if (b == 6) at6 = model.flat_parameters().to_vector<float>();
    return b == 0 ? 1.0 : b == 4 ? 2.0 : b == 6 ? 2.0 : 0.0;  // 4 and 6 tie: the later one is kept
  });
  BOOST_TEST(seen == (std::vector<int64_t>{0, 4, 6}), boost::test_tools::per_element());
  BOOST_TEST(t.best_batches == 6);
  BOOST_TEST(t.total_batches == 6);
  expect_close(t.params.to_vector<float>(), at6, 0, 0, "the selected checkpoint's parameters");
}

BOOST_AUTO_TEST_CASE(naive_adds_the_fooling_examples_with_the_wrong_prediction) {
  ClientInputs in;
  in.train = dataset(fv({0, 0, 1, 1, 2, 2}, {3, 2}), {0, 1, 2}, 3);
  in.train_adv = fv({10, 10, 11, 11, 12, 12}, {3, 2});
  in.adv_prediction = labels({0, 2, 1});  // rows 1 and 2 fool f_g
  const datasets::Dataset d = with_flipped_labels(in);
  expect_values(d.labels, {0, 1, 2, 2, 1}, "labels");
  expect_values(d.images, {0, 0, 1, 1, 2, 2, 11, 11, 12, 12}, "images");
}

BOOST_AUTO_TEST_CASE(recolor_renders_the_same_digits_in_the_other_environment) {
  expect_close(recolor(colored_set(0), 1).images, colored_set(1).images, 1e-6f, 0, "env 0 -> 1");
  expect_close(recolor(colored_set(1), 1).images, colored_set(1).images, 1e-6f, 0, "env 1 -> 1");
}

BOOST_AUTO_TEST_CASE(upsample_appends_copies_of_the_rows) {
  const datasets::Dataset base = dataset(fv({0, 1}, {2, 1}), {0, 1}, 2);
  const datasets::Dataset d = upsample(base, base, {1}, 3);
  expect_values(d.images, {0, 1, 1, 1, 1}, "images");
  expect_values(d.labels, {0, 1, 1, 1, 1}, "labels");
  BOOST_TEST(upsample(base, base, {}, 50).size() == 2);
}

BOOST_AUTO_TEST_CASE(misclassified_lists_the_wrong_rows) {
  Bias m({0, 1});  // predicts class 1 everywhere
  const datasets::Dataset d = dataset(zeros({3, 2}), {1, 0, 0}, 2);
  BOOST_TEST(misclassified(m, d) == (std::vector<int64_t>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(recipes_of_the_methods) {
  ClientInputs in;
  in.train = colored_set(0);
  in.env = 0;
  in.train_adv = add(in.train.images, 0.01f);
  in.adv_probs = full({4, 10}, 0.1f);
  in.clean_probs = full({4, 10}, 0.2f);
  in.adv_prediction = labels({0, 1, 2, 3});
  Options o;
  o.lambda_adv = 3, o.lambda_l2 = 0.5, o.ditto_lambda = 1, o.ditto_lambda_high = 4, o.uw_fraction = 0.5, o.upweight = 5;
  Generator gen(2);
  Bias model(std::vector<float>(10, 0.0f));
  int fine_tunes = 0;
  const Context c{in, o, gen, [&](const datasets::Dataset&) { ++fine_tunes; }, model};
  const Recipe ours = find_personalizer("ours").make(c);
  BOOST_TEST(ours.lambda_adv == 3);
  BOOST_TEST(ours.lambda_l2 == 0.5);
  BOOST_TEST(ours.select_by_adv_trans);
  BOOST_TEST(ours.consistency_x.data<float>() == in.train_adv.data<float>());
  const Recipe benign = find_personalizer("benign").make(c);
  BOOST_TEST(benign.consistency_x.data<float>() == in.train.images.data<float>());
  BOOST_TEST(benign.consistency_p.data<float>() == in.clean_probs.data<float>());
  BOOST_TEST(!benign.select_by_adv_trans);
  const Recipe cons = find_personalizer("consistency_only").make(c);
  BOOST_TEST((cons.lambda_adv == 3 && cons.lambda_l2 == 0 && !cons.select_by_adv_trans));
  const Recipe l2 = find_personalizer("l2_only").make(c);
  BOOST_TEST((l2.lambda_adv == 0 && l2.lambda_l2 == 0.5 && !l2.consistency_x.defined()));
  BOOST_TEST(find_personalizer("ditto").make(c).lambda_l2 == 1);
  BOOST_TEST(find_personalizer("ditto_high").make(c).lambda_l2 == 4);
  // UW: 2 of the 4 rows recoloured in env 1, each 5 times.
  const Recipe uw = find_personalizer("uw").make(c);
  BOOST_TEST(uw.train.size() == 4 + 2 * 5);
  const datasets::Dataset added = uw.train.slice(4, 5);
  const datasets::Dataset other = colored_set(1);
  bool matches_other_env = false;
  for (int64_t i = 0; i < 4; ++i)
    if (other.labels.to_vector<int32_t>()[i] == added.labels.to_vector<int32_t>()[0])
      matches_other_env = other.slice(i, i + 1).images.to_vector<float>() == added.images.to_vector<float>();
  BOOST_TEST(matches_other_env);
  // JTT fine-tunes once (the identification model), then up-samples what `model` gets wrong:
  // Bias 0 predicts class 0 everywhere, so rows 1-3 are its errors, 4 more copies each.
  const Recipe jtt = find_personalizer("jtt").make(c);
  BOOST_TEST(fine_tunes == 1);
  BOOST_TEST(jtt.train.size() == 4 + 3 * 4);
  BOOST_TEST(find_personalizer("naive").make(c).train.size() == 4);  // adv_prediction = y: none fool
}

BOOST_AUTO_TEST_CASE(registry_names_every_method_once) {
  std::vector<std::string> names;
  for (const PersonalizerInfo& p : personalizers()) names.push_back(p.name);
  const std::vector<std::string> expected = {"ft", "ditto", "ditto_high", "naive", "uw", "jtt", "ours",
                                             "consistency_only", "l2_only", "benign"};
  BOOST_TEST(names == expected, boost::test_tools::per_element());
  expect_error([] { find_personalizer("fedavg"); }, {"personalizer 'fedavg' is unknown", "ft, ditto"});
}

BOOST_AUTO_TEST_SUITE_END()
