// fl/spurious_gaussian: the Gaussian simulation of Spurious App. E.2 — gradients and the PGD
// step by hand, the data's correlations, and determinism.
#include <boost/test/unit_test.hpp>
#include <cmath>

#include "fl/spurious_gaussian.h"

using namespace nanofed;
using namespace nanofed::fl;

namespace {
// a = (1, 2; y 1), b = (-1, 0.5; y 0)
SpuriousClient two() { return {{1.0, 2.0, 1}, {-1.0, 0.5, 0}}; }
}  // namespace

BOOST_AUTO_TEST_SUITE(spurious_gaussian)

BOOST_AUTO_TEST_CASE(gradients_by_hand) {
  const LinearWeights w{1, -1}, wg{2, 0};
  // w.a = -1: sigmoid 0.268941, e = -0.731059; w.b = -1.5: sigmoid 0.182426, e = 0.182426.
  // CE: r = (-0.731059 * 1 + 0.182426 * -1) / 2, s = (-0.731059 * 2 + 0.182426 * 0.5) / 2.
  const LinearWeights ce = cross_entropy_gradient(w, two(), {0, 1});
  BOOST_TEST(ce.r == -0.4567425, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(ce.s == -0.6854523, boost::test_tools::tolerance(1e-6));
  // Consistency with p_g = sigmoid(2 x_r): a: 0.268941 - 0.880797 = -0.611856;
  // b: 0.182426 - 0.119203 = 0.063223.
  const LinearWeights c = consistency_gradient(w, wg, two(), {0, 1});
  BOOST_TEST(c.r == (-0.611856 - 0.063223) / 2, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(c.s == (-0.611856 * 2 + 0.063223 * 0.5) / 2, boost::test_tools::tolerance(1e-5));
  const LinearWeights same = consistency_gradient(wg, wg, two(), {0, 1});
  BOOST_TEST(same.r == 0.0);
  BOOST_TEST(same.s == 0.0);
  // Un-squared distance: (w - w_g) / ||w - w_g|| = (-1, -1) / sqrt 2; 0 at w = w_g.
  const LinearWeights d = distance_subgradient(w, wg);
  BOOST_TEST(d.r == -std::sqrt(0.5), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(d.s == -std::sqrt(0.5), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(distance_subgradient(wg, wg).r == 0.0);
  // Only the listed samples count.
  BOOST_TEST(cross_entropy_gradient(w, two(), {1}).r == 0.182426 * -1, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(pgd_moves_only_what_the_global_model_uses) {
  // y = 1 with w_g = (2, 0): d CE / d x_r < 0, so x_r goes down by alpha a step until eps;
  // x_s has zero gradient, and sign(0) = 0 leaves it.
  const SpuriousClient adv = spurious_pgd({2, 0}, {{0.5, 1.0, 1}, {0.5, 1.0, 0}}, 0.3, 5, 0.1);
  BOOST_TEST(adv[0].xr == 0.2, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(adv[0].xs == 1.0);
  BOOST_TEST(adv[1].xr == 0.8, boost::test_tools::tolerance(1e-12));  // y = 0: up
  BOOST_TEST(adv[0].y == 1);
}

BOOST_AUTO_TEST_CASE(the_spurious_feature_follows_each_clients_shift) {
  const Generator g(3);
  for (SpuriousShift shift : {SpuriousShift::flip, SpuriousShift::vanish}) {
    const std::vector<SpuriousClient> clients = spurious_gaussian_clients(2, 4000, shift, g);
    double real[2] = {0, 0}, spurious[2] = {0, 0}, ones = 0;
    for (int i = 0; i < 2; ++i)
      for (const SpuriousSample& x : clients[i]) {
        real[i] += x.xr * (2 * x.y - 1) / 4000.0;      // E[x_r (2y - 1)] = 1
        spurious[i] += x.xs * (2 * x.y - 1) / 4000.0;  // E[x_s (2y - 1)] = c_i
        ones += x.y / 8000.0;
      }
    BOOST_TEST(std::abs(real[0] - 1) < 0.06);
    BOOST_TEST(std::abs(real[1] - 1) < 0.06);
    BOOST_TEST(std::abs(spurious[0] - 1) < 0.06);
    BOOST_TEST(std::abs(spurious[1] - (shift == SpuriousShift::flip ? -1 : 0)) < 0.06);
    BOOST_TEST(std::abs(ones - 0.5) < 0.03);
  }
  const auto a = spurious_gaussian_clients(3, 5, SpuriousShift::flip, g), b = spurious_gaussian_clients(3, 5, SpuriousShift::flip, g);
  BOOST_TEST(a[2][4].xs == b[2][4].xs);
}

BOOST_AUTO_TEST_CASE(fedavg_and_personalization_paths) {
  const Generator g(1);
  const std::vector<SpuriousClient> clients = spurious_gaussian_clients(10, 64, SpuriousShift::flip, g.derive({1}));
  SpuriousFedAvgOptions fo;
  fo.rounds = 3;
  const std::vector<LinearWeights> path = spurious_fedavg(clients, fo, g.derive({2}));
  BOOST_TEST(path.size() == 4u);
  BOOST_TEST(path[0].r == 0.0);
  BOOST_TEST(path[3].r > 0.0);  // the real feature is learned from the first rounds
  BOOST_TEST(spurious_fedavg(clients, fo, g.derive({2})).back().s == path.back().s);  // deterministic
  // lr 0: nothing moves; with a pull only, personalization starts at w_g.
  SpuriousPersonalizeOptions po;
  po.steps = 4;
  po.lr = 0;
  for (const LinearWeights& w : spurious_personalize(clients[0], {2, 0}, po, g)) BOOST_TEST(w.r == 2.0);
  po.lr = 0.1;
  const std::vector<LinearWeights> ft = spurious_personalize(clients[0], {2, 0}, po, g);
  BOOST_TEST(ft.size() == 5u);
  BOOST_TEST(ft[0].s == 0.0);
  BOOST_TEST(ft[4].s != 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
