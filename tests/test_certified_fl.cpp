// The certified-FL reproduction's measures and claim rules (tools/certified_fl.h) against
// hand-computed values, and the reproduction drivers' shared config reading
// (tools/reproduction.h experiment_config).
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>

#include "fl/run.h"
#include "tests/test_util.h"
#include "tools/certified_fl.h"
#include "tools/reproduction.h"

using namespace nanofed;
using namespace nanofed::report::certfl;
using certify::CertifyRow;

namespace {

CertifyRow row(int64_t label, int64_t predict, double radius) {
  CertifyRow r;
  r.label = label, r.predict = predict, r.radius = radius, r.correct = label == predict;
  return r;
}

// Client A: correct at 0.5 and 0.3, one abstention; client B: correct at 1.0, wrong at 0.9.
std::vector<std::vector<CertifyRow>> two_clients() {
  return {{row(1, 1, 0.5), row(2, 2, 0.3), row(3, -1, 0.0)}, {row(4, 4, 1.0), row(1, 2, 0.9)}};
}

Measure with(double acr_mean, double acr_min, double acr_max, double ca0_mean, double ca0_min = 0, double ca0_max = 1) {
  Measure m;
  m.acr = {acr_mean, acr_min, acr_max};
  m.ca0 = {ca0_mean, ca0_min, ca0_max};
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(certified_fl)

BOOST_AUTO_TEST_CASE(spread_and_mean_sd_by_hand) {
  const Spread s = spread_of({0.2, 0.5, 0.8});
  BOOST_CHECK_CLOSE(s.mean, 0.5, 1e-9);
  BOOST_CHECK_EQUAL(s.min, 0.2);
  BOOST_CHECK_EQUAL(s.max, 0.8);
  BOOST_CHECK_CLOSE(s.range(), 0.6, 1e-9);
  const MeanSd m = mean_sd({1.0, 3.0});  // sample sd: sqrt(((1-2)^2 + (3-2)^2) / 1)
  BOOST_CHECK_CLOSE(m.mean, 2.0, 1e-9);
  BOOST_CHECK_CLOSE(m.sd, std::sqrt(2.0), 1e-9);
  BOOST_CHECK_EQUAL(mean_sd({5.0}).sd, 0.0);
  BOOST_CHECK_EQUAL(mean_sd_text({1.0, 3.0}), "2.000 ± 1.414");
  BOOST_CHECK_EQUAL(mean_sd_text({0.5}), "0.500");
  test::expect_error([] { spread_of({}); }, {"certified_fl", "no client values"});
  test::expect_error([] { mean_sd({}); }, {"certified_fl", "no seed values"});
}

BOOST_AUTO_TEST_CASE(measure_divides_by_all_rows_and_counts_abstentions_wrong) {
  const Measure m = measure(two_clients());
  // A: ACR (0.5 + 0.3) / 3, CA(0) 2/3; B: ACR 1.0 / 2 (the wrong row's radius does not count), CA(0) 1/2.
  BOOST_CHECK_CLOSE(m.acr.min, 0.8 / 3, 1e-9);
  BOOST_CHECK_CLOSE(m.acr.max, 0.5, 1e-9);
  BOOST_CHECK_CLOSE(m.acr.mean, (0.8 / 3 + 0.5) / 2, 1e-9);
  BOOST_CHECK_CLOSE(m.ca0.mean, (2.0 / 3 + 0.5) / 2, 1e-9);
  BOOST_CHECK_CLOSE(m.ca0.range(), 2.0 / 3 - 0.5, 1e-9);
}

BOOST_AUTO_TEST_CASE(relative_gap_monotonicity_and_every) {
  BOOST_CHECK_CLOSE(relative_gap(0.45, 0.40), 0.125, 1e-9);
  BOOST_CHECK_CLOSE(relative_gap(0.30, 0.40), -0.25, 1e-9);
  BOOST_CHECK_EQUAL(relative_gap(1.0, 0.0), std::numeric_limits<double>::infinity());
  BOOST_CHECK_EQUAL(relative_gap(0.0, 0.0), 0.0);
  BOOST_CHECK(non_increasing_within({0.5, 0.52, 0.4}, 0.03));
  BOOST_CHECK(!non_increasing_within({0.5, 0.52, 0.4}, 0.01));
  BOOST_CHECK(non_increasing_within({}, 0.0));
  BOOST_CHECK(!every({}));
  BOOST_CHECK(every({true, true}));
  BOOST_CHECK(!every({true, false}));
}

BOOST_AUTO_TEST_CASE(r1_rules_by_hand) {
  const Measure local = with(0.40, 0.30, 0.50, 0.70, 0.55, 0.85);
  BOOST_CHECK(fed_beats_local(with(0.45, 0.4, 0.5, 0.80, 0.75, 0.85), local, 0.10));   // +12.5%
  BOOST_CHECK(!fed_beats_local(with(0.43, 0.4, 0.5, 0.80, 0.75, 0.85), local, 0.10));  // +7.5% < 10%
  BOOST_CHECK(!fed_beats_local(with(0.45, 0.4, 0.5, 0.69, 0.65, 0.75), local, 0.10));  // CA(0) lower
  BOOST_CHECK(local_spread_larger(local, with(0.45, 0.4, 0.5, 0.8, 0.75, 0.85)));     // 0.30 > 0.10
  BOOST_CHECK(!local_spread_larger(local, with(0.45, 0.4, 0.5, 0.8, 0.5, 0.9)));      // 0.30 < 0.40
  BOOST_CHECK(close_in_acr(with(0.41, 0, 1, 0.8), with(0.40, 0, 1, 0.8), 0.05));      // +2.5%
  BOOST_CHECK(close_in_acr(with(0.39, 0, 1, 0.8), with(0.40, 0, 1, 0.8), 0.05));      // -2.5%
  BOOST_CHECK(!close_in_acr(with(0.43, 0, 1, 0.8), with(0.40, 0, 1, 0.8), 0.05));     // +7.5%
}

BOOST_AUTO_TEST_CASE(r5_mixture_verdict_by_hand) {
  // ACR by lambda 0.30, 0.28, 0.30, 0.20: the rise 0.28 -> 0.30 (0.02) exceeds 5% of 0.30 (0.015).
  const std::vector<Measure> by_lambda = {with(0.30, 0.25, 0.35, 0.8), with(0.28, 0.2, 0.3, 0.8),
                                          with(0.30, 0.2, 0.4, 0.8), with(0.20, 0.1, 0.4, 0.7)};
  const MixtureVerdict v = judge_mixture(by_lambda, with(0.29, 0.2, 0.4, 0.8), with(0.31, 0.2, 0.4, 0.8));
  BOOST_CHECK(v.beats_fedavg);       // 0.30 >= 0.29
  BOOST_CHECK(v.beats_local_end);    // 0.30 > 0.20
  BOOST_CHECK(!v.non_increasing);
  BOOST_CHECK(v.narrower_than_ft);   // range 0.10 <= 0.20
  const MixtureVerdict w = judge_mixture({with(0.30, 0.1, 0.5, 0.8), with(0.31, 0.2, 0.3, 0.8), with(0.35, 0.2, 0.3, 0.8)},
                                         with(0.32, 0.2, 0.4, 0.8), with(0.31, 0.25, 0.35, 0.8));
  BOOST_CHECK(!w.beats_fedavg);      // 0.30 < 0.32
  BOOST_CHECK(!w.beats_local_end);   // 0.30 < 0.35
  BOOST_CHECK(!w.non_increasing);    // 0.31 -> 0.35 rises 0.04 > 0.015
  BOOST_CHECK(!w.narrower_than_ft);  // 0.40 > 0.10
  test::expect_error([] { judge_mixture({with(0.3, 0, 1, 0.8)}, with(0.3, 0, 1, 0.8), with(0.3, 0, 1, 0.8)); },
                     {"certified_fl", "at least two lambdas"});
}

BOOST_AUTO_TEST_CASE(client_band_is_mean_min_max_of_ca_curves) {
  // Radii 0 and 0.4: A has CA 2/3 and 1/3 (only the 0.5 row reaches 0.4), B 1/2 and 1/2.
  const report::Series s = client_band("x", {0.0, 0.4}, two_clients());
  BOOST_REQUIRE_EQUAL(s.y.size(), 2u);
  BOOST_CHECK_CLOSE(s.y[0], (2.0 / 3 + 0.5) / 2, 1e-9);
  BOOST_CHECK_CLOSE(s.y[1], (1.0 / 3 + 0.5) / 2, 1e-9);
  BOOST_CHECK_CLOSE(s.lo[0], 0.5, 1e-9);
  BOOST_CHECK_CLOSE(s.hi[0], 2.0 / 3, 1e-9);
  BOOST_CHECK_CLOSE(s.lo[1], 1.0 / 3, 1e-9);
  BOOST_CHECK_CLOSE(s.hi[1], 0.5, 1e-9);
  BOOST_CHECK(client_band("one", {0.0}, {two_clients()[0]}).lo.empty());  // one client: no band
}

BOOST_AUTO_TEST_CASE(experiment_config_layers_full_overrides_and_takes_seeds_out) {
  test::TempDir d;
  test::write_text(d / "config.json", R"({"name": "x", "rounds": 6, "lr": 0.05, "seeds": [0, 1]})");
  test::write_text(d / "full.json", R"({"rounds": 45})");
  std::vector<uint64_t> seeds;
  fl::json j = report::experiment_config(d.path, false, {"lr=0.1"}, seeds, "demo");
  BOOST_CHECK(seeds == (std::vector<uint64_t>{0, 1}));
  BOOST_CHECK(!j.contains("seeds"));
  BOOST_CHECK_EQUAL(j["rounds"].get<int64_t>(), 6);
  BOOST_CHECK_EQUAL(j["lr"].get<double>(), 0.1);
  BOOST_CHECK_EQUAL(j["progress"].get<bool>(), false);
  j = report::experiment_config(d.path, true, {"seed=7"}, seeds, "demo");  // seed replaces seeds
  BOOST_CHECK_EQUAL(j["rounds"].get<int64_t>(), 45);
  BOOST_CHECK(seeds == (std::vector<uint64_t>{7}));
  test::expect_error([&] { report::experiment_config(d.path, false, {"seeds=[-1]"}, seeds, "demo"); },
                     {"demo: seeds = [-1]", "non-negative integers"});
  test::expect_error([&] { report::experiment_config(d.path, false, {"seeds=[]"}, seeds, "demo"); },
                     {"demo: seeds = []", "non-empty list"});
}

BOOST_AUTO_TEST_CASE(run_all_times_a_run_once_and_reads_it_back_after) {
  test::TempDir d;
  const fl::json j{{"name", "t"},          {"out", d.path},      {"dataset", "synthetic"}, {"synthetic_size", 6},
                   {"synthetic_train", 120}, {"synthetic_test", 30}, {"num_clients", 3},       {"model", "mlp"},
                   {"hidden", {8}},        {"rounds", 2},        {"local_steps", 2},       {"batch_size", 8},
                   {"progress", false},    {"resume", true},         {"clients_per_round", 3}};
  const std::vector<report::PlannedRun> runs = {{"g", "r", fl::parse_config(j), d / "g/r/seed_0"}};
  report::run_all(runs, d.path);
  report::run_all(runs, d.path);  // finished: read back, not trained, not timed again
  const std::vector<std::string> lines = test::split_lines(test::read_text(d / "timing.csv"));
  BOOST_REQUIRE_EQUAL(lines.size(), 2u);
  BOOST_CHECK_EQUAL(lines[0], "group,run,seed,seconds,rounds_trained");
  BOOST_CHECK(lines[1].rfind("g,r,0,", 0) == 0);
  BOOST_CHECK(lines[1].substr(lines[1].size() - 2) == ",2");
}

// The drivers' command line (ditto, certified_fl): --full, their own switches, key=value.
BOOST_AUTO_TEST_CASE(driver_args_take_full_switches_and_overrides) {
  const char* argv[] = {"prog", "lr=0.1", "--full", "--theory-only", "seeds=[0]"};
  const report::DriverArgs a = report::parse_driver_args(5, const_cast<char**>(argv), "ditto", "usage", {"--theory-only"});
  BOOST_TEST(a.full);
  BOOST_TEST(a.has("--theory-only"));
  BOOST_TEST(!a.has("--other"));
  BOOST_TEST(a.overrides == std::vector<std::string>({"lr=0.1", "seeds=[0]"}), boost::test_tools::per_element());
  const char* bare[] = {"prog"};
  BOOST_TEST(!report::parse_driver_args(1, const_cast<char**>(bare), "x", "usage").full);
  const char* unknown[] = {"prog", "--theory-only"};
  test::expect_error([&] { report::parse_driver_args(2, const_cast<char**>(unknown), "certified_fl", "usage"); },
               {"certified_fl: unknown argument '--theory-only'", "expected --full or key=value"});
  const char* dashed[] = {"prog", "--lr=0.1"};
  test::expect_error([&] { report::parse_driver_args(2, const_cast<char**>(dashed), "ditto", "usage", {"--theory-only"}); },
               {"'--lr=0.1'", "expected --full, --theory-only or key=value"});
}

BOOST_AUTO_TEST_SUITE_END()
