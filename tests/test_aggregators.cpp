// Aggregators and pre-aggregators: every expected value below is computed by hand (the comments
// show the arithmetic) on 3-5 rows of 3 coordinates.
#include <memory>

#include "fl/aggregators.h"
#include "fl/pre_aggregators.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

Updates make(const std::vector<std::vector<float>>& rows, std::vector<double> weights = {}) {
  std::vector<float> flat;
  for (const auto& r : rows) flat.insert(flat.end(), r.begin(), r.end());
  Updates u;
  u.rows = from_vector(flat, {(int64_t)rows.size(), (int64_t)rows[0].size()});
  u.weights = std::move(weights);
  return u;
}

// Points on a line (first coordinate), the other coordinates tagging the row.
Updates line(const std::vector<float>& xs) {
  std::vector<std::vector<float>> rows;
  for (float x : xs) rows.push_back({x, 0, 0});
  return make(rows);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(aggregators)

BOOST_AUTO_TEST_CASE(mean_and_weighted_mean) {
  const Updates u = make({{1, 2, 3}, {3, 0, -3}, {2, 4, 6}});
  expect_values(Mean().aggregate(u), {2, 2, 2}, "mean");
  BOOST_TEST(Mean().aggregate(u).shape() == Shape({3}), boost::test_tools::per_element());
  // weights 1, 0, 3: ([1,2,3] + 3 [2,4,6]) / 4 = [7, 14, 21] / 4
  expect_values(WeightedMean().aggregate(make({{1, 2, 3}, {3, 0, -3}, {2, 4, 6}}, {1, 0, 3})),
                {1.75f, 3.5f, 5.25f}, "weighted mean");
  // Mean ignores the weights; equal or empty weights give the plain mean.
  expect_values(Mean().aggregate(make({{1, 2, 3}, {3, 0, -3}, {2, 4, 6}}, {1, 0, 3})), {2, 2, 2},
                "mean ignores weights");
  expect_values(WeightedMean().aggregate(make({{1, 2, 3}, {3, 0, -3}, {2, 4, 6}}, {2, 2, 2})),
                {2, 2, 2}, "equal weights");
  expect_values(WeightedMean().aggregate(u), {2, 2, 2}, "empty weights");
  expect_error([&] { WeightedMean().aggregate(make({{1, 2, 3}, {3, 0, -3}}, {0, 0})); },
               {"weighted_mean", "weights are zero"});
  expect_error([&] { Mean().aggregate(make({{1, 2, 3}, {3, 0, -3}}, {1})); },
               {"mean", "1 weights for 2 updates"});
  expect_error([&] { Mean().aggregate(Updates()); }, {"mean", "f32 [K, P]"});
}

BOOST_AUTO_TEST_CASE(coordinate_median_odd_even_and_duplicates) {
  // columns: {1,1,4} -> 1; {5,3,3} -> 3; {2,2,0} -> 2
  expect_values(CoordinateMedian().aggregate(make({{1, 5, 2}, {1, 3, 2}, {4, 3, 0}})), {1, 3, 2},
                "median odd K with duplicates");
  // even K averages the two middle values (numpy): {1,2,3,8} -> 2.5; {-4,0,2,10} -> 1; {1,7,7,7} -> 7
  expect_values(
      CoordinateMedian().aggregate(make({{1, 0, 7}, {3, 10, 7}, {2, -4, 1}, {8, 2, 7}})),
      {2.5f, 1, 7}, "median even K");
  BOOST_TEST(CoordinateMedian().describe() == "median");
}

BOOST_AUTO_TEST_CASE(trimmed_mean_count_fraction_and_limits) {
  const Updates u =
      make({{1, 10, 0}, {2, 20, 0}, {3, -30, 5}, {100, 40, 5}, {-50, 50, 5}});
  // f = 1: col0 {-50,[1,2,3],100} -> 2; col1 {-30,[10,20,40],50} -> 70/3; col2 {0,[0,5,5],5} -> 10/3
  expect_values(TrimmedMean(1).aggregate(u), {2, 70.0f / 3, 10.0f / 3}, "trimmed f=1");
  // f = 2 (largest valid for K = 5): the median 2, 20, 5
  expect_values(TrimmedMean(2).aggregate(u), {2, 20, 5}, "trimmed f=2");
  // f = 0: the mean (56/5, 90/5, 15/5)
  expect_values(TrimmedMean(0).aggregate(u), {11.2f, 18, 3}, "trimmed f=0");
  expect_error([&] { TrimmedMean(3).aggregate(u); }, {"trimmed_mean", "K > 2f", "f = 3", "K = 5"});
  // beta: f = floor(0.2 * 5) = 1, floor(0.4 * 5) = 2, floor(0.39 * 5) = 1
  expect_values(TrimmedMean::by_fraction(0.2).aggregate(u), {2, 70.0f / 3, 10.0f / 3}, "beta 0.2");
  expect_values(TrimmedMean::by_fraction(0.4).aggregate(u), {2, 20, 5}, "beta 0.4");
  expect_values(TrimmedMean::by_fraction(0.39).aggregate(u), {2, 70.0f / 3, 10.0f / 3}, "beta 0.39");
  BOOST_TEST(TrimmedMean::by_fraction(0.4).f_for(4) == 1);
  expect_error([] { TrimmedMean::by_fraction(0.5); }, {"trimmed_mean", "beta", "0.5"});
  expect_error([] { TrimmedMean(-1); }, {"trimmed_mean", "f = -1"});
  BOOST_TEST(TrimmedMean(1).describe() == "trimmed_mean(f=1)");
  BOOST_TEST(TrimmedMean::by_fraction(0.2).describe() == "trimmed_mean(beta=0.2)");
}

BOOST_AUTO_TEST_CASE(k_norm_drops_largest_norms_with_ties) {
  // norms: r0 5, r1 10, r2 1, r3 5 (ties r0), r4 2 -> ascending r2, r4, r0, r3, r1
  const Updates u = make({{3, 4, 0}, {6, 8, 0}, {0, 0, 1}, {0, 5, 0}, {2, 0, 0}});
  // f = 0: the mean, [11, 17, 1] / 5
  expect_values(KNorm(0).aggregate(u), {2.2f, 3.4f, 0.2f}, "k_norm f=0");
  // f = 1 drops r1 (norm 10, not the last row): [3+0+0+2, 4+0+5+0, 1] / 4
  expect_values(KNorm(1).aggregate(u), {1.25f, 2.25f, 0.25f}, "k_norm f=1");
  // f = 2 drops r1 and, of the tied r0 and r3, the higher index r3: keep r0, r2, r4 ->
  // [5, 4, 1] / 3 (dropping r0 instead would give [2, 5, 1] / 3)
  expect_values(KNorm(2).aggregate(u), {5.0f / 3, 4.0f / 3, 1.0f / 3}, "k_norm tie");
  // f = 3 drops r0 too: keep r2, r4 -> [2, 0, 1] / 2; f = 4 (largest for K = 5) keeps r2
  expect_values(KNorm(3).aggregate(u), {1, 0, 0.5f}, "k_norm f=3");
  expect_values(KNorm(4).aggregate(u), {0, 0, 1}, "k_norm f=K-1");
  // Weights are ignored: the same rows weighted towards r1 give the f = 1 result.
  expect_values(KNorm(1).aggregate(make({{3, 4, 0}, {6, 8, 0}, {0, 0, 1}, {0, 5, 0}, {2, 0, 0}},
                                        {1, 100, 1, 0, 1})),
                {1.25f, 2.25f, 0.25f}, "k_norm ignores weights");
  expect_error([&] { KNorm(5).aggregate(u); }, {"k_norm", "f < K", "f = 5", "K = 5"});
  expect_error([] { KNorm(-1); }, {"k_norm", "f = -1"});
  BOOST_TEST(KNorm(2).describe() == "k_norm(f=2)");
}

BOOST_AUTO_TEST_CASE(krum_ties_limits_and_describe) {
  // Points 0..4 on a line, scaled by row tags [i, 10i, -i] (distances scale by 102 uniformly).
  // f = 1, paper: the K - f - 2 = 2 nearest others. Squared distances / 102:
  //   p0: 1+4 = 5; p1: 1+1 = 2; p2: 1+1 = 2; p3: 1+1 = 2; p4: 5  -> tie p1,p2,p3 -> p1.
  const Updates u = make({{0, 0, 0}, {1, 10, -1}, {2, 20, -2}, {3, 30, -3}, {4, 40, -4}});
  Krum krum(1);
  const std::vector<double> s = krum.scores(u);
  const std::vector<double> expected = {5 * 102, 2 * 102, 2 * 102, 2 * 102, 5 * 102};
  for (size_t i = 0; i < 5; ++i) BOOST_TEST(s[i] == expected[i], boost::test_tools::tolerance(1e-9));
  expect_values(krum.aggregate(u), {1, 10, -1}, "krum tie -> lowest index");
  // Multi-Krum m = 3 averages p1, p2, p3
  expect_values(Krum(1, 3).aggregate(u), {2, 20, -2}, "multi-krum m=3");
  // Limits: paper needs K > 2f + 2, so f = 1 is the largest for K = 5.
  expect_error([&] { Krum(2).aggregate(u); }, {"krum", "K > 2f + 2", "f = 2", "K = 5"});
  // ByzFL convention (K - f nearest counting itself) needs K > 2f: f = 2 works (2 others, the
  // same scores as above), f = 3 does not.
  expect_values(Krum(2, 1, KrumNeighbours::n_minus_f).aggregate(u), {1, 10, -1}, "n-f f=2");
  expect_error([&] { Krum(3, 1, KrumNeighbours::n_minus_f).aggregate(u); },
               {"krum", "K > 2f", "f = 3", "K = 5"});
  expect_error([&] { Krum(1, 6).aggregate(u); }, {"krum", "m = 6", "K = 5"});
  BOOST_TEST(Krum(1).describe() == "krum(f=1, neighbours=n-f-2)");
  BOOST_TEST(Krum(1, 2, KrumNeighbours::n_minus_f).describe() ==
             "multi_krum(f=1, m=2, neighbours=n-f)");
}

BOOST_AUTO_TEST_CASE(krum_past_its_resilience_bound_as_dittos_code) {
  // 1-d rows 0, 1, 3, 7, 100; f = 2 > (K - 2) / 2: strict Krum refuses, Ditto's code sums the
  // K - f - 2 = 1 nearest other. Squared distances to the nearest: 1, 1, 4, 16, 8649.
  const Updates u = make({{0}, {1}, {3}, {7}, {100}});
  expect_error([&] { Krum(2, 3).aggregate(u); }, {"krum", "K > 2f + 2"});
  const Krum loose(2, 3, KrumNeighbours::n_minus_f_minus_2, false);
  const std::vector<double> s = loose.scores(u);
  const std::vector<double> expected = {1, 1, 4, 16, 8649};
  for (size_t i = 0; i < 5; ++i) BOOST_TEST(s[i] == expected[i], boost::test_tools::tolerance(1e-12));
  expect_values(loose.aggregate(u), {4.0f / 3.0f}, "multi-krum m = n - f = 3 of rows 0, 1, 3");
  // f = 3: no neighbours (Ditto at 80%): every score 0, the lowest indices are averaged.
  const Krum degenerate(3, 2, KrumNeighbours::n_minus_f_minus_2, false);
  for (double v : degenerate.scores(u)) BOOST_TEST(v == 0.0);
  expect_values(degenerate.aggregate(u), {0.5f}, "rows 0 and 1");
}

BOOST_AUTO_TEST_CASE(krum_conventions_select_differently) {
  // A tight pair {0, 1} and a spread group {30, 40, 50}; f = 1, K = 5. Squared distances:
  //   p0=0 : 1, 900, 1600, 2500     p1=1 : 1, 841, 1521, 2401
  //   p2=30: 100, 400, 841, 900     p3=40: 100, 100, 1521, 1600    p4=50: 100, 400, 2401, 2500
  // paper (2 nearest others):  901, 842, 500, 200, 500   -> p3 (40)
  // ByzFL (3 nearest others): 2501, 2363, 1341, 1721, 2901 -> p2 (30)
  // With two neighbours the centre of the spread group wins; with a third neighbour each score
  // must reach the tight pair, which is nearer to 30 than to 40.
  const Updates u = line({0, 1, 30, 40, 50});
  expect_values(Krum(1).aggregate(u), {40, 0, 0}, "paper convention");
  expect_values(Krum(1, 1, KrumNeighbours::n_minus_f).aggregate(u), {30, 0, 0}, "n-f convention");
  // Multi-Krum m = 2, paper: p3 (200), then p2 and p4 tie at 500 -> p2: (40 + 30) / 2
  expect_values(Krum(1, 2).aggregate(u), {35, 0, 0}, "multi-krum tie");
  const std::vector<int64_t> sel = Krum(1, 3).selection(u);
  BOOST_TEST(sel == std::vector<int64_t>({3, 2, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(geometric_median_known_configurations) {
  // Collinear 0, 1, 10: the median of a line is its middle point, 1.
  expect_values(GeometricMedian().aggregate(line({0, 1, 10})), {1, 0, 0}, "collinear", 1e-3f);
  // Isosceles triangle (-1,0), (1,0), (0,3): all angles < 120 deg, so the median is the Fermat
  // point where the base is seen under 120 deg: (0, 1/tan 60) = (0, 0.57735). The mean is (0, 1).
  expect_values(GeometricMedian().aggregate(make({{-1, 0, 0}, {1, 0, 0}, {0, 3, 0}})),
                {0, 0.5773503f, 0}, "Fermat point", 1e-4f);
  // Weighted: 0 with weight 3 and 10 with weight 1 -> the heavier point, 0.
  expect_values(GeometricMedian().aggregate(make({{0, 0, 0}, {10, 0, 0}}, {3, 1})), {0, 0, 0},
                "weighted", 1e-3f);
  // Symmetric square around (2, 3): the centre.
  expect_values(
      GeometricMedian().aggregate(make({{1, 2, 0}, {3, 2, 0}, {1, 4, 0}, {3, 4, 0}})), {2, 3, 0},
      "square");
  expect_error([] { GeometricMedian(0); }, {"geometric_median", "eps"});
  BOOST_TEST(GeometricMedian().describe() == "geometric_median(eps=1e-06, max_iter=100, tol=1e-07)");
}

BOOST_AUTO_TEST_CASE(centered_clipping) {
  const Updates u = make({{3, 4, 0}, {0.5f, 0, 0}, {0, 0, -2}});
  // centre 0, tau 1: [3,4,0] (norm 5) -> [0.6,0.8,0]; [0.5,0,0] kept; [0,0,-2] -> [0,0,-1];
  // mean: [1.1, 0.8, -1] / 3
  expect_values(CenteredClipping(1, 1, {0, 0, 0}).aggregate(u),
                {1.1f / 3, 0.8f / 3, -1.0f / 3}, "clipped around 0");
  // tau larger than every distance from the mean: the mean, [3.5, 4, -2] / 3
  expect_values(CenteredClipping(100).aggregate(u), {3.5f / 3, 4.0f / 3, -2.0f / 3}, "no clipping");
  // symmetric about the centre: a fixed point for any number of iterations
  expect_values(CenteredClipping(1, 5, {0, 0, 0}).aggregate(make({{2, 0, 0}, {-2, 0, 0}})),
                {0, 0, 0}, "fixed point");
  expect_error([&] { CenteredClipping(1, 1, {0, 0}).aggregate(u); },
               {"centered_clipping", "center has 2 values", "P = 3"});
  expect_error([] { CenteredClipping(0); }, {"centered_clipping", "tau"});
  BOOST_TEST(CenteredClipping(1, 3).describe() == "centered_clipping(tau=1, iterations=3)");
}

BOOST_AUTO_TEST_CASE(static_and_median_norm_clip) {
  Generator gen(1);
  const Updates u = make({{3, 4, 0}, {0.5f, 0, 0}, {0, 0, -2}}, {1, 2, 3});
  const Updates c = StaticClip(1).apply(u, gen);
  expect_values(c.rows, {0.6f, 0.8f, 0, 0.5f, 0, 0, 0, 0, -1}, "static clip");
  BOOST_TEST(c.weights == std::vector<double>({1, 2, 3}), boost::test_tools::per_element());
  // norms 5, 0.5, 2 -> median 2: [3,4,0] -> [1.2,1.6,0]; the others are within 2
  expect_values(MedianNormClip().apply(u, gen).rows, {1.2f, 1.6f, 0, 0.5f, 0, 0, 0, 0, -2},
                "median norm clip");
  BOOST_TEST(StaticClip(10).describe() == "clip(norm=10)");
  expect_error([] { StaticClip(0); }, {"clip", "max_norm"});
}

BOOST_AUTO_TEST_CASE(nnm_mixing_and_ties) {
  Generator gen(1);
  // f = 1, K = 4 on a line 0, 1, 3, 10: each row becomes the mean of its 3 nearest (itself in)
  //   0 -> {0,1,3} = 4/3; 1 -> {1,0,3} = 4/3; 3 -> {3,1,0} = 4/3; 10 -> {10,3,1} = 14/3
  const Updates out = NNM(1).apply(line({0, 1, 3, 10}), gen);
  expect_values(out.rows, {4.0f / 3, 0, 0, 4.0f / 3, 0, 0, 4.0f / 3, 0, 0, 14.0f / 3, 0, 0}, "nnm");
  // tie: 2 is equidistant from 0 and 4; keep 2 rows -> itself and the lower index (0): mean 1
  expect_values(NNM(1).apply(line({0, 2, 4}), gen).rows, {1, 0, 0, 1, 0, 0, 3, 0, 0}, "nnm tie");
  // f = 0: every row becomes the mean
  expect_values(NNM(0).apply(line({0, 3}), gen).rows, {1.5f, 0, 0, 1.5f, 0, 0}, "nnm f=0");
  expect_values(NNM(3).apply(line({0, 1, 3, 10}), gen).rows, {0, 0, 0, 1, 0, 0, 3, 0, 0, 10, 0, 0},
                "nnm largest f: identity");
  expect_error([&] { NNM(4).apply(line({0, 1, 3, 10}), gen); }, {"nnm", "f = 4", "K = 4"});
  BOOST_TEST(NNM(2).describe() == "nnm(f=2)");
}

BOOST_AUTO_TEST_CASE(server_clip_cut_off_and_told_n) {
  Generator gen(1);
  // K = n = 7, f = 1 < floor(7/3) = 2: c = 7 - int(1 * (1 + 1/5)) = 6; norms sorted 1 2 3 4 5 6 20:
  // the 7th (-20) is scaled to the 6th smallest norm (6), keeping its sign.
  const Updates u = line({1, -2, 3, -4, -20, 5, 6});
  expect_values(ServerClip(1).apply(u, gen).rows,
                {1, 0, 0, -2, 0, 0, 3, 0, 0, -4, 0, 0, -6, 0, 0, 5, 0, 0, 6, 0, 0}, "server_clip f=1");
  // f = 2 is not < 2: c = n - f = 5, so 6 and -20 go to norm 5.
  expect_values(ServerClip(2).apply(u, gen).rows,
                {1, 0, 0, -2, 0, 0, 3, 0, 0, -4, 0, 0, -5, 0, 0, 5, 0, 0, 5, 0, 0}, "server_clip f=2");
  // Told n = 6 while 7 rows come: c = 6 - int(1 * (1 + 1/4)) = 5, as with f = 2 above.
  expect_values(ServerClip(1, 6).apply(u, gen).rows,
                {1, 0, 0, -2, 0, 0, 3, 0, 0, -4, 0, 0, -5, 0, 0, 5, 0, 0, 5, 0, 0}, "server_clip told n");
  BOOST_TEST(ServerClip(1).cut_off(7) == 6);
  BOOST_TEST(ServerClip(100, 600).cut_off(600) == 475);  // FT-Byzantine's defaults: 125 clipped
  BOOST_TEST(ServerClip(1, 6).describe() == "server_clip(f=1, n=6)");
  expect_error([&] { ServerClip(7).apply(u, gen); }, {"server_clip", "c = 0", "K = 7"});
  expect_error([&] { ServerClip(0, 10).apply(u, gen); }, {"server_clip", "c = 10", "K = 7"});
  expect_error([] { ServerClip(-1); }, {"server_clip", "f = -1"});
}

BOOST_AUTO_TEST_CASE(bucketing_reproducible_and_weight_preserving) {
  // rows k = [k, 10k, 100k], weights 1..5; s = 2 -> buckets of 2, 2, 1
  const Updates u =
      make({{0, 0, 0}, {1, 10, 100}, {2, 20, 200}, {3, 30, 300}, {4, 40, 400}}, {1, 2, 3, 4, 5});
  Generator g1(7), g2(7), gp(7);
  const Updates a = Bucketing(2).apply(u, g1);
  const Updates b = Bucketing(2).apply(u, g2);
  BOOST_TEST(a.count() == 3);
  BOOST_TEST(a.rows.to_vector() == b.rows.to_vector(), boost::test_tools::per_element());
  BOOST_TEST(a.weights == b.weights, boost::test_tools::per_element());
  BOOST_TEST(a.weights[0] + a.weights[1] + a.weights[2] == 15.0);
  // the same permutation from the same seed: bucket means of rows perm[0..1], perm[2..3], perm[4]
  const std::vector<int64_t> p = randperm(5, gp);
  const float m0 = (p[0] + p[1]) / 2.0f, m1 = (p[2] + p[3]) / 2.0f, m2 = (float)p[4];
  expect_values(a.rows, {m0, 10 * m0, 100 * m0, m1, 10 * m1, 100 * m1, m2, 10 * m2, 100 * m2},
                "bucket means");
  BOOST_TEST(a.weights == std::vector<double>({(double)p[0] + p[1] + 2, (double)p[2] + p[3] + 2,
                                               (double)p[4] + 1}),
             boost::test_tools::per_element());
  // empty weights count 1 per row; s >= K makes one bucket holding the mean
  Generator g3(3);
  const Updates one = Bucketing(8).apply(line({0, 1, 3, 10}), g3);
  expect_values(one.rows, {3.5f, 0, 0}, "one bucket");
  BOOST_TEST(one.weights == std::vector<double>({4}), boost::test_tools::per_element());
  expect_error([] { Bucketing(0); }, {"bucketing", "s = 0"});
}

BOOST_AUTO_TEST_CASE(chain_describe_and_apply) {
  AggregatorChain chain;
  chain.pre = {std::make_shared<StaticClip>(10), std::make_shared<NNM>(1)};
  chain.aggregator = std::make_shared<CoordinateMedian>();
  BOOST_TEST(chain.describe() == "clip(norm=10) -> nnm(f=1) -> median");
  AggregatorChain clip_mean;
  clip_mean.pre = {std::make_shared<StaticClip>(1)};
  clip_mean.aggregator = std::make_shared<Mean>();
  Generator gen(0);
  // the clipped rows of static_and_median_norm_clip, averaged
  expect_values(clip_mean(make({{3, 4, 0}, {0.5f, 0, 0}, {0, 0, -2}}), gen),
                {1.1f / 3, 0.8f / 3, -1.0f / 3}, "clip -> mean");
  BOOST_TEST(clip_mean.describe() == "clip(norm=1) -> mean");
}

NF_CUDA_TEST_CASE(aggregators_return_on_the_rows_device) {
  Updates u = make({{1, 5, 2}, {1, 3, 2}, {4, 3, 0}});
  u.rows = u.rows.cuda();
  Tensor m = CoordinateMedian().aggregate(u);
  BOOST_TEST((m.device() == Device::cuda()));
  expect_values(m.cpu(), {1, 3, 2}, "median on cuda rows");
  Generator gen(0);
  Updates c = StaticClip(1).apply(u, gen);
  BOOST_TEST((c.rows.device() == Device::cuda()));
}

BOOST_AUTO_TEST_SUITE_END()
