// Federated runs over MPI (fl/comm.h): the client blocks and the byte packing by hand, then
// `mpirun -np 2|3 build/nanofed fl` against the single-process run, file for file. The mpirun
// cases need Open MPI (openmpi-bin, libopenmpi-dev: make deps) and a build with MPI=1; they are
// reported skipped, naming what is missing, elsewhere.
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>

#include "engine/file_io.h"
#include "fl/comm.h"
#include "fl/config.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;
namespace fs = std::filesystem;

namespace {

// build/nanofed beside this test binary (make test builds both).
std::string nanofed_binary() {
  const auto& suite = boost::unit_test::framework::master_test_suite();
  return (fs::path(suite.argv[0]).parent_path() / "nanofed").string();
}

struct MpiReady {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    const bool launcher = std::system("command -v mpirun >/dev/null 2>&1") == 0;
    boost::test_tools::assertion_result r(launcher && mpi_compiled() && fs::exists(nanofed_binary()));
    if (!launcher) r.message() << "mpirun is not installed (openmpi-bin; make deps installs it)";
    else if (!mpi_compiled()) r.message() << "this build has no MPI (libopenmpi-dev, then make MPI=1)";
    else if (!r) r.message() << nanofed_binary() << " is missing (make build/nanofed)";
    return r;
  }
};

// mpirun on this machine: loopback, more ranks than cores allowed, as root too (CI runs as root).
std::string mpirun(int ranks) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader timeout 300 "
         "mpirun --oversubscribe --bind-to none -np " + std::to_string(ranks) + " ";
}

// 6 clients, 5 a round, on 1x6x6 synthetic images; every evaluated round and the checkpoint kept.
json tiny(const std::string& out, const json& overrides) {
  json j{{"name", "t"},          {"out", out},           {"dataset", "synthetic"}, {"synthetic_size", 6},
         {"synthetic_train", 240}, {"synthetic_test", 60}, {"num_clients", 6},      {"clients_per_round", 5},
         {"model", "mlp"},       {"hidden", {8}},         {"rounds", 3},            {"local_steps", 2},
         {"batch_size", 8},      {"lr", 0.1},             {"eval_every", 1},        {"keep_checkpoint", true},
         {"progress", false}};
  j.update(overrides);
  return j;
}

// Runs `command`; returns what it printed (stdout and stderr, kept in `log`), and its exit status in rc.
std::string shell(const std::string& command, const std::string& log, int& rc) {
  const int status = std::system((command + " >'" + log + "' 2>&1").c_str());
  rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return read_text(log);
}

// summary.json without what differs between two equal runs: the folder and the timing.
json summary_of(const std::string& dir) {
  json s = read_json_file<json>(dir + "/summary.json", "test");
  for (const char* key : {"run", "seconds_this_session", "rounds_per_s", "mpi"}) s.erase(key);
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mpi)

// ---------------------------------------------------------------- no MPI needed

BOOST_AUTO_TEST_CASE(client_blocks_are_contiguous_by_id) {
  // 7 clients over 3 ranks: begin = floor(r 7 / 3) = 0, 2, 4, so blocks {0,1} {2,3} {4,5,6}.
  const ClientBlocks b(7, 3);
  const int expected[] = {0, 0, 1, 1, 2, 2, 2};
  for (int64_t k = 0; k < 7; ++k) BOOST_TEST(b.owner(k) == expected[k], "client " << k);
  BOOST_TEST(b.begin(1) == 2);
  BOOST_TEST(b.begin(3) == 7);
  const ClientBlocks even(6, 2), one(5, 1);
  for (int64_t k = 0; k < 6; ++k) BOOST_TEST(even.owner(k) == (k < 3 ? 0 : 1));
  for (int64_t k = 0; k < 5; ++k) BOOST_TEST(one.owner(k) == 0);
  // One client per rank: each its own.
  const ClientBlocks tight(4, 4);
  for (int64_t k = 0; k < 4; ++k) BOOST_TEST(tight.owner(k) == k);
}

BOOST_AUTO_TEST_CASE(tensors_survive_packing) {
  const nn::NamedTensors in = {{"client.3.personal.params", from_vector(std::vector<float>{1.5f, -2.f, 3.25f}, {3})},
                               {"flag", from_vector(std::vector<int32_t>{7, -1}, {2, 1})},
                               {"empty", empty({0})}};
  const std::vector<char> bytes = pack_tensors(in);
  const nn::NamedTensors out = unpack_tensors(bytes.data(), bytes.size());
  BOOST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[0].first == "client.3.personal.params");
  BOOST_TEST(out[0].second.to_vector<float>() == std::vector<float>({1.5f, -2.f, 3.25f}), boost::test_tools::per_element());
  BOOST_TEST((out[1].second.dtype() == DType::i32));
  BOOST_TEST(out[1].second.shape() == Shape({2, 1}), boost::test_tools::per_element());
  BOOST_TEST(out[1].second.to_vector<int32_t>() == std::vector<int32_t>({7, -1}), boost::test_tools::per_element());
  BOOST_TEST(out[2].second.numel() == 0);
  BOOST_TEST(unpack_tensors(nullptr, 0).empty());
  // A truncated message is refused, not read past its end.
  std::vector<char> extra = bytes;
  extra.push_back(0);
  expect_error([&] { unpack_tensors(extra.data(), extra.size()); }, {"unpack_tensors", "1 bytes left over"});
}

BOOST_AUTO_TEST_CASE(one_process_collectives_return_its_own_data) {
  Comm one;
  BOOST_TEST(one.rank() == 0);
  BOOST_TEST(one.size() == 1);
  const char text[] = "abc";
  std::vector<size_t> sizes;
  BOOST_TEST(std::string(one.allgather(text, 3, &sizes).data(), 3) == "abc");
  BOOST_TEST(sizes == std::vector<size_t>({3}), boost::test_tools::per_element());
  BOOST_TEST(one.alltoall({{'x', 'y'}}).size() == 2u);
  BOOST_TEST(concat_ranks(one, std::vector<double>{1, 2}) == std::vector<double>({1, 2}), boost::test_tools::per_element());
  BOOST_TEST(concat_ranks(one, std::string("row\n")) == "row\n");
  expect_error([&] { one.alltoall({{'x'}, {'y'}}); }, {"alltoall", "2 destinations for 1 rank"});
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// The run of `overrides` on each of `ranks` against the single-process run: the CSVs (with the
// robustness ones when asked), the checkpoint, the personal models, and summary.json (timing
// aside), byte for byte.
void expect_same_as_one_process(const TempDir& tmp, const std::string& name, const json& overrides,
                                const std::vector<int>& ranks) {
  const std::string config = tmp / (name + ".json");
  write_text(config, tiny(tmp / (name + "_single"), overrides).dump());
  int rc = 0;
  const std::string printed = shell(nanofed_binary() + " fl " + config, tmp / "single.log", rc);
  BOOST_REQUIRE_MESSAGE(rc == 0, printed);
  const std::string single = tmp / (name + "_single/t/seed_0");
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(single)) {
    const std::string rel = fs::relative(entry.path(), single).string();
    // Cohen's TSVs carry each certification's wall time; certify.csv holds their numbers.
    if (entry.is_regular_file() && rel != "config.json" && rel != "summary.json" && rel.rfind("certify/", 0) != 0)
      files.push_back(rel);
  }
  BOOST_TEST(files.size() >= 3u);
  for (int r : ranks) {
    const std::string out = tmp / (name + "_np" + std::to_string(r));
    const std::string mpi_printed = shell(mpirun(r) + nanofed_binary() + " fl " + config + " out=" + out, out + ".log", rc);
    BOOST_REQUIRE_MESSAGE(rc == 0, overrides.dump() << " on " << r << " ranks failed:\n" << mpi_printed);
    for (const std::string& file : files)
      BOOST_TEST(read_text(single + "/" + file) == read_text(out + "/t/seed_0/" + file),
                 overrides.dump() << ", " << r << " ranks: " << file << " differs from the single-process run's");
    BOOST_TEST(summary_of(single) == summary_of(out + "/t/seed_0"), overrides.dump() << ", " << r << " ranks: summary.json");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mpi_runs)

// The four of the scale-out issue: a coordinate-wise rule (sharded by coordinate), a
// personalized strategy with a coordinate-wise robust rule, ipgd's per-client aggregation with
// Krum under attack, and a distance-based rule under an attack that needs every honest update;
// on 2 and 3 ranks (3 splits 6 clients 2/2/2 and the 5 selected unevenly).
BOOST_AUTO_TEST_CASE(an_mpi_run_writes_the_bytes_of_the_single_process_run, *boost::unit_test::precondition(MpiReady())) {
  TempDir tmp;
  expect_same_as_one_process(tmp, "fedavg_mean", {{"strategy", "fedavg"}, {"aggregator", "mean"}}, {2, 3});
  expect_same_as_one_process(tmp, "ditto_median",
                             {{"strategy", "ditto"}, {"aggregator", "median"}, {"personal_lambdas", {0.1}}}, {2, 3});
  expect_same_as_one_process(tmp, "ipgd_krum",
                             {{"strategy", "ipgd"}, {"aggregator", "krum"}, {"lambda", 0.5}, {"num_byzantine", 1},
                              {"attack", "alie"}, {"clients_per_round", 6}},
                             {2, 3});
  expect_same_as_one_process(
      tmp, "fedavg_cc", {{"strategy", "fedavg"}, {"aggregator", "centered_clipping"}, {"num_byzantine", 1}, {"attack", "ipm"}},
      {2, 3});
}

// The other strategies, rules, pre-aggregators and attacks, BN statistics kept per client,
// optimizer state, rejected rows, and the robustness evaluation, on 2 ranks.
BOOST_AUTO_TEST_CASE(every_strategy_and_rule_matches_on_two_ranks, *boost::unit_test::precondition(MpiReady())) {
  TempDir tmp;
  const json small_cnn = {{"model", "cnn"}, {"synthetic_size", 28}, {"channels", {2, 4}}, {"fc_hidden", 8}};
  std::vector<std::pair<std::string, json>> cases = {
      {"term", {{"strategy", "term"}, {"tilt", 1.0}}},
      {"mixture", {{"strategy", "mixture"}, {"lambda", 0.5}, {"aggregator", "trimmed_mean"}, {"f", 1}}},
      {"local", {{"strategy", "local"}, {"sampling", "uniform"}}},
      {"finetune", {{"strategy", "finetune"}, {"finetune_epochs", 1}, {"save_personal", true}, {"eval_attack", "l2"},
                    {"eval_samples", 4}, {"eval_certify", "pixel"}, {"certify_n0", 10}, {"certify_n", 40},
                    {"certify_samples", 2}}},
      {"fedprox_multikrum", {{"strategy", "fedprox"}, {"mu", 0.1}, {"aggregator", "multi_krum"}, {"krum_m", 2},
                             {"pre_aggregators", {"bucketing"}}, {"num_byzantine", 1}, {"attack", "mimic"}}},
      {"gm_nnm", {{"strategy", "fedavg"}, {"aggregator", "geometric_median"}, {"pre_aggregators", {"nnm"}},
                  {"num_byzantine", 1}, {"attack", "sign_flip"}}},
      {"knorm_clip", {{"strategy", "fedavg"}, {"aggregator", "k_norm"}, {"f", 1}, {"pre_aggregators", {"clip"}},
                      {"num_byzantine", 1}, {"attack", "gaussian"}}},
      {"rejected", {{"strategy", "fedavg"}, {"aggregator", "median"}, {"num_byzantine", 1}, {"attack", "non_finite"}}},
      {"weighted_bn", {{"strategy", "ditto"}, {"aggregator", "weighted_mean"}, {"average_bn_buffers", false},
                       {"persist_optimizer_state", true}, {"momentum", 0.9}}},
  };
  cases.back().second.update(small_cnn);
  for (const auto& [name, overrides] : cases) expect_same_as_one_process(tmp, name, overrides, {2});
}

// A run that must stop (a NaN update that the mean cannot reject) stops every rank, non-zero,
// with the reason said once.
BOOST_AUTO_TEST_CASE(a_failing_rank_ends_the_job_with_one_line, *boost::unit_test::precondition(MpiReady())) {
  TempDir tmp;
  const std::string config = tmp / "nan.json";
  write_text(config, tiny(tmp / "out", {{"aggregator", "mean"}, {"num_byzantine", 1}, {"attack", "non_finite"}}).dump());
  int rc = 0;
  const std::string text = shell(mpirun(2) + nanofed_binary() + " fl " + config, tmp / "nan.log", rc);
  BOOST_TEST(rc != 0);
  const std::string reason = "sent a non-finite update (NaN/Inf); aggregator 'mean' cannot reject it";
  const size_t first = text.find(reason);
  BOOST_TEST(first != std::string::npos, text);
  BOOST_TEST(text.find(reason, first + 1) == std::string::npos, "said more than once:\n" << text);
  BOOST_TEST(text.find("(MPI rank ") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()
