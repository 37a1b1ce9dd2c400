// test_byzantine.cpp — every update attack against hand-computed values on a tiny Updates,
// ALIE's z_max from Baruch et al.'s formula, Gaussian statistics, label poisoning, and the
// fixed corrupted set per seed.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "fl/byzantine.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

// Rows 0..2 benign, rows 3 and 4 to be corrupted. Benign mean = [2, 3, 1]; unbiased benign
// std = [1, sqrt(3), 2] (squared deviations 2, 6, 8 over n - 1 = 2).
Updates tiny() {
  Updates u;
  u.rows = from_vector(std::vector<float>{1, 2, 3,  //
                        3, 2, 1,  //
                        2, 5, -1,  //
                        10, -4, 0.5f,  //
                        0, 7, 0},
                       {5, 3});
  return u;
}
const std::vector<float> kBenign = {1, 2, 3, 3, 2, 1, 2, 5, -1};

std::vector<float> with_rows34(const std::vector<float>& r3, const std::vector<float>& r4) {
  std::vector<float> v = kBenign;
  v.insert(v.end(), r3.begin(), r3.end());
  v.insert(v.end(), r4.begin(), r4.end());
  return v;
}

AttackConfig make(AttackKind kind) {
  AttackConfig c;
  c.kind = kind;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(byzantine)

BOOST_AUTO_TEST_CASE(sign_flip_and_boosting) {
  Generator gen(1);
  Updates u = tiny();
  apply_update_attack(make(AttackKind::sign_flip), u, {3, 4}, gen);
  expect_values(u.rows, with_rows34({-10, 4, -0.5f}, {0, -7, 0}), "sign flip");

  AttackConfig c = make(AttackKind::sign_flip);
  c.sign_flip_scale = 2;
  u = tiny();
  apply_update_attack(c, u, {3}, gen);
  expect_values(u.rows, with_rows34({-20, 8, -1}, {0, 7, 0}), "sign flip scale 2");

  u = tiny();
  apply_update_attack(make(AttackKind::boosting), u, {3, 4}, gen);  // Ditto A3: x10
  expect_values(u.rows, with_rows34({100, -40, 5}, {0, 70, 0}), "boosting x10");
}

BOOST_AUTO_TEST_CASE(attack_does_not_touch_caller_storage) {
  Generator gen(1);
  Updates u = tiny();
  Tensor original = u.rows;
  apply_update_attack(make(AttackKind::boosting), u, {3}, gen);
  expect_values(original, with_rows34({10, -4, 0.5f}, {0, 7, 0}), "caller's tensor");
}

BOOST_AUTO_TEST_CASE(alie_fixed_z) {
  Generator gen(1);
  AttackConfig c = make(AttackKind::alie);
  c.alie_fixed_z = true;
  c.alie_z = 1.5;
  Updates u = tiny();
  apply_update_attack(c, u, {3, 4}, gen);
  // mean - 1.5 * std = [2 - 1.5, 3 - 1.5 * 1.7320508, 1 - 3]
  const std::vector<float> row = {0.5f, 0.4019238f, -2.0f};
  expect_values(u.rows, with_rows34(row, row), "alie z=1.5");
}

BOOST_AUTO_TEST_CASE(alie_baruch_z) {
  // z_max = Phi^-1((n - s) / n), s = floor(n/2 + 1) - f.
  // n=5, f=1: s = 2, Phi^-1(0.6) = 0.2533471. n=10, f=2: s = 4, Phi^-1(0.6). n=5, f=2: s = 1,
  // Phi^-1(0.8) = 0.8416212. n=20, f=4: s = 7, Phi^-1(0.65) = 0.3853205.
  BOOST_CHECK_CLOSE(alie_z_max(5, 1), 0.2533471, 1e-4);
  BOOST_CHECK_CLOSE(alie_z_max(10, 2), 0.2533471, 1e-4);
  BOOST_CHECK_CLOSE(alie_z_max(5, 2), 0.8416212, 1e-4);
  BOOST_CHECK_CLOSE(alie_z_max(20, 4), 0.3853205, 1e-4);
  expect_error([] { alie_z_max(5, 3); }, {"alie z_max", "n = 5", "f = 3"});  // s = 0 -> p = 1

  Generator gen(1);
  Updates u = tiny();
  apply_update_attack(make(AttackKind::alie), u, {3, 4}, gen);  // n = 5, f = 2 -> z = 0.8416212
  // [2 - 0.8416212, 3 - 0.8416212 * 1.7320508, 1 - 0.8416212 * 2]
  const std::vector<float> row = {1.1583788f, 1.5422693f, -0.6832424f};
  expect_values(u.rows, with_rows34(row, row), "alie baruch z");
}

BOOST_AUTO_TEST_CASE(ipm) {
  Generator gen(1);
  Updates u = tiny();
  apply_update_attack(make(AttackKind::ipm), u, {3, 4}, gen);  // -2 * [2, 3, 1]
  expect_values(u.rows, with_rows34({-4, -6, -2}, {-4, -6, -2}), "ipm tau=2");
  AttackConfig c = make(AttackKind::ipm);
  c.ipm_tau = 0.5;
  u = tiny();
  apply_update_attack(c, u, {4}, gen);
  // benign rows now 0..3: mean = [(1+3+2+10)/4, (2+2+5-4)/4, (3+1-1+0.5)/4] = [4, 1.25, 0.875]
  expect_values(u.rows, with_rows34({10, -4, 0.5f}, {-2, -0.625f, -0.4375f}), "ipm tau=0.5");
}

BOOST_AUTO_TEST_CASE(mimic) {
  Generator gen(1);
  AttackConfig c = make(AttackKind::mimic);
  c.mimic_victim = 1;
  Updates u = tiny();
  apply_update_attack(c, u, {3, 4}, gen);
  expect_values(u.rows, with_rows34({3, 2, 1}, {3, 2, 1}), "mimic victim 1");

  c.mimic_victim = 3;  // a corrupted row cannot be the victim
  u = tiny();
  expect_error([&] { apply_update_attack(c, u, {3, 4}, gen); }, {"mimic", "victim 3"});

  c.mimic_victim = -1;  // drawn among benign rows 0..2
  std::set<int> victims;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    Generator g(seed);
    u = tiny();
    apply_update_attack(c, u, {3, 4}, g);
    const std::vector<float> v = u.rows.to_vector<float>();
    const std::vector<float> r3(v.begin() + 9, v.begin() + 12), r4(v.begin() + 12, v.end());
    BOOST_CHECK(r3 == r4);
    int found = -1;
    for (int k = 0; k < 3; ++k)
      if (std::vector<float>(kBenign.begin() + 3 * k, kBenign.begin() + 3 * k + 3) == r3) found = k;
    BOOST_CHECK(found >= 0);
    victims.insert(found);
  }
  BOOST_CHECK_EQUAL(victims.size(), 3u);  // every benign row is chosen sometimes
}

BOOST_AUTO_TEST_CASE(non_finite) {
  Generator gen(1);
  Updates u = tiny();
  apply_update_attack(make(AttackKind::non_finite), u, {4}, gen);
  std::vector<float> v = u.rows.to_vector<float>();
  for (int j = 0; j < 12; ++j) BOOST_CHECK(std::isfinite(v[j]));
  for (int j = 12; j < 15; ++j) BOOST_CHECK(std::isinf(v[j]) && v[j] > 0);
  AttackConfig c = make(AttackKind::non_finite);
  c.non_finite_value = std::nan("");
  u = tiny();
  apply_update_attack(c, u, {0}, gen);
  v = u.rows.to_vector<float>();
  for (int j = 0; j < 3; ++j) BOOST_CHECK(std::isnan(v[j]));
  for (int j = 3; j < 15; ++j) BOOST_CHECK(std::isfinite(v[j]));
  c.non_finite_value = 1.0;
  expect_error([&] { apply_update_attack(c, u, {0}, gen); }, {"non_finite", "NaN or +-inf"});
}

BOOST_AUTO_TEST_CASE(gaussian_matches_row_std) {
  // Row 1 alternates +-3 (population std exactly 3, Ditto A2: s = std of the row's entries).
  const int64_t P = 20000;
  std::vector<float> data(2 * P);
  for (int64_t j = 0; j < P; ++j) {
    data[j] = 1.0f;
    data[P + j] = (j % 2 == 0) ? 3.0f : -3.0f;
  }
  auto stats = [&](const std::vector<float>& v, double* mean, double* sd) {
    double m = 0, s = 0;
    for (int64_t j = 0; j < P; ++j) m += v[P + j];
    m /= P;
    for (int64_t j = 0; j < P; ++j) s += (v[P + j] - m) * (v[P + j] - m);
    *mean = m;
    *sd = std::sqrt(s / P);
  };
  Updates u;
  u.rows = from_vector(data, {2, P});
  Generator gen(7);
  apply_update_attack(make(AttackKind::gaussian), u, {1}, gen);
  std::vector<float> v = u.rows.to_vector<float>();
  double m, sd;
  stats(v, &m, &sd);
  BOOST_CHECK_SMALL(m, 0.1);      // 4.5 sigma of the sample mean (3 / sqrt(20000) = 0.021)
  BOOST_CHECK_CLOSE(sd, 3.0, 3);  // within 3 %
  BOOST_CHECK(v[P] != 3.0f && v[P + 1] != -3.0f);
  for (int64_t j = 0; j < P; ++j) BOOST_REQUIRE_EQUAL(v[j], 1.0f);  // benign row untouched

  AttackConfig c = make(AttackKind::gaussian);
  c.gaussian_sigma = 0.5;
  u.rows = from_vector(data, {2, P});
  apply_update_attack(c, u, {1}, gen);
  stats(u.rows.to_vector<float>(), &m, &sd);
  BOOST_CHECK_CLOSE(sd, 0.5, 3);

  // Same seed, same noise.
  Updates a, b;
  a.rows = b.rows = from_vector(data, {2, P});
  Generator g1(3), g2(3);
  apply_update_attack(make(AttackKind::gaussian), a, {1}, g1);
  apply_update_attack(make(AttackKind::gaussian), b, {1}, g2);
  BOOST_CHECK(a.rows.to_vector<float>() == b.rows.to_vector<float>());
}

BOOST_AUTO_TEST_CASE(bad_inputs) {
  Generator gen(1);
  Updates u = tiny();
  expect_error([&] { apply_update_attack(make(AttackKind::ipm), u, {5}, gen); },
               {"corrupted row 5", "[0, 5)"});
  expect_error([&] { apply_update_attack(make(AttackKind::ipm), u, {1, 1}, gen); },
               {"corrupted row 1", "twice"});
  expect_error([&] { apply_update_attack(make(AttackKind::ipm), u, {0, 1, 2, 3, 4}, gen); },
               {"ipm", "benign"});
  expect_error([&] { apply_update_attack(make(AttackKind::alie), u, {0, 1, 2, 3}, gen); },
               {"alie", ">= 2 benign"});
  // none and an empty corrupted list change nothing.
  apply_update_attack(make(AttackKind::sign_flip), u, {}, gen);
  apply_update_attack(make(AttackKind::none), u, {0, 1}, gen);
  expect_values(u.rows, with_rows34({10, -4, 0.5f}, {0, 7, 0}), "unchanged");
}

BOOST_AUTO_TEST_CASE(describe_and_names) {
  AttackConfig c = make(AttackKind::alie);
  BOOST_CHECK_EQUAL(describe(c), "alie(z=baruch z_max(n, f))");
  c.alie_fixed_z = true;
  BOOST_CHECK_EQUAL(describe(c), "alie(z=1.5)");
  BOOST_CHECK_EQUAL(describe(make(AttackKind::boosting)), "boosting(factor=10)");
  BOOST_CHECK_EQUAL(describe(make(AttackKind::ipm)), "ipm(tau=2)");
  BOOST_CHECK_EQUAL(describe(make(AttackKind::non_finite)), "non_finite(value=inf)");
  BOOST_CHECK(attack_kind_from_string("sign_flip") == AttackKind::sign_flip);
  BOOST_CHECK(attack_kind_from_string("mimic") == AttackKind::mimic);
  expect_error([] { attack_kind_from_string("lie"); }, {"unknown kind 'lie'", "alie"});
}

BOOST_AUTO_TEST_CASE(choose_corrupted_fixed_per_seed) {
  const std::vector<int64_t> a = choose_corrupted(100, 20, 5);
  BOOST_CHECK(a == choose_corrupted(100, 20, 5));
  BOOST_CHECK(a != choose_corrupted(100, 20, 6));
  BOOST_CHECK_EQUAL(a.size(), 20u);
  BOOST_CHECK(std::is_sorted(a.begin(), a.end()));
  BOOST_CHECK_EQUAL(std::set<int64_t>(a.begin(), a.end()).size(), 20u);
  for (int64_t i : a) BOOST_CHECK(i >= 0 && i < 100);
  // The prefix of randperm(n, Generator(seed)), sorted.
  Generator g(5);
  std::vector<int64_t> p = randperm(100, g);
  p.resize(20);
  std::sort(p.begin(), p.end());
  BOOST_CHECK(a == p);
  BOOST_CHECK(choose_corrupted(7, 0, 1).empty());
  BOOST_CHECK_EQUAL(choose_corrupted(7, 7, 1).size(), 7u);
  expect_error([] { choose_corrupted(5, 6, 1); }, {"choose_corrupted", "num_corrupted", "[0, 5]"});
}

BOOST_AUTO_TEST_CASE(label_poisoning_uniform) {
  const int64_t N = 10000;
  std::vector<int32_t> y(N);
  for (int64_t i = 0; i < N; ++i) y[i] = (int32_t)(i % 10);
  datasets::Dataset d;
  d.images = zeros({N, 1});
  d.labels = from_vector(y, {N});
  d.num_classes = 10;
  d.name = "toy";
  Generator gen(11);
  const datasets::Dataset p = poison_labels(d, gen);
  BOOST_CHECK(p.images.same_storage(d.images));
  BOOST_CHECK(d.labels.to_vector<int32_t>() == y);  // original untouched
  const std::vector<int32_t> py = p.labels.to_vector<int32_t>();
  std::vector<int64_t> counts(10, 0);
  int64_t same = 0;
  for (int64_t i = 0; i < N; ++i) {
    BOOST_REQUIRE(py[i] >= 0 && py[i] < 10);
    ++counts[py[i]];
    same += py[i] == y[i];
  }
  // A uniform label equals the true one with probability 1/10: 1000 +- 30 (sd), allow 5 sd.
  BOOST_CHECK(same > 850 && same < 1150);
  for (int64_t c : counts) BOOST_CHECK(c > 850 && c < 1150);
  Generator gen2(11);
  BOOST_CHECK(poison_labels(d, gen2).labels.to_vector<int32_t>() == py);
}

BOOST_AUTO_TEST_CASE(label_poisoning_binary_flip) {
  datasets::Dataset d;
  d.images = zeros({4, 2});
  d.labels = from_vector(std::vector<int32_t>{0, 1, 1, 0}, {4});
  d.num_classes = 2;
  Generator gen(1);
  expect_values(poison_labels(d, gen, true).labels, {1, 0, 0, 1}, "binary flip");
  d.num_classes = 3;
  expect_error([&] { poison_labels(d, gen, true); }, {"binary flip", "num_classes = 2"});
}

BOOST_AUTO_TEST_SUITE_END()
