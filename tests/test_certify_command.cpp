// `nanofed certify` in-process on a small synthetic checkpoint: Cohen's TSV and its idx under
// --skip/--max, --resume after an interrupted run (same rows as an uninterrupted one), an
// existing result refused without --resume, bad flags.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/command_util.h"
#include "tests/test_util.h"
#include "tools/certify_command.h"

using namespace nanofed;
using nanofed::test::expect_error;
using nanofed::test::TempDir;
namespace fs = std::filesystem;

namespace {
std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The rows without their time column (the 6th, the only one that differs between runs).
std::vector<std::string> rows_without_time(const std::string& path) {
  std::vector<std::string> rows;
  for (const std::string& line : lines_of(path)) {
    size_t time = 0;
    for (int tab = 0; tab < 5; ++tab) time = line.find('\t', time) + 1;
    const size_t after = line.find('\t', time);
    rows.push_back(line.substr(0, time) + (after == std::string::npos ? "" : line.substr(after)));
  }
  return rows;
}

// The printed summary: the certified-accuracy table and the ACR.
std::string summary_of(const std::string& printed) {
  const size_t at = printed.find("radius  certified accuracy");
  BOOST_REQUIRE(at != std::string::npos);
  return printed.substr(at);
}

std::vector<int64_t> idx_column(const std::string& path) {
  std::vector<int64_t> idx;
  const std::vector<std::string> lines = lines_of(path);
  for (size_t i = 1; i < lines.size(); ++i) idx.push_back(std::stoll(lines[i].substr(0, lines[i].find('\t'))));
  return idx;
}

// Few noise samples: the test is about the command, not the statistics.
std::vector<std::string> certify_args(const std::string& ckpt, const std::string& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args = test::synthetic_data_flags();
  args.insert(args.end(), {"--model", ckpt, "--out", out, "--N0", "8", "--N", "64", "--batch", "32", "--skip", "3"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string certify(const std::vector<std::string>& args) {
  return test::capture_stdout([&] { BOOST_TEST(cli::certify_command(args) == 0); });
}
}  // namespace

BOOST_AUTO_TEST_SUITE(certify_command)

BOOST_AUTO_TEST_CASE(writes_cohens_tsv_for_the_skip_max_indices) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  const std::string printed = certify(certify_args(ckpt, tmp / "full.tsv", {"--max", "13"}));
  const std::vector<std::string> lines = lines_of(tmp / "full.tsv");
  BOOST_REQUIRE(!lines.empty());
  BOOST_TEST(lines[0] == "idx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_full");  // Cohen's + ours
  // Cohen's loop: i % 3 == 0 and i < 13.
  BOOST_TEST(idx_column(tmp / "full.tsv") == std::vector<int64_t>({0, 3, 6, 9, 12}), boost::test_tools::per_element());
  BOOST_TEST(printed.find("ACR") != std::string::npos);
  BOOST_TEST(printed.find("certified accuracy") != std::string::npos);
  // --max -1: the whole test split (60 images), every third.
  certify(certify_args(ckpt, tmp / "all.tsv", {}));
  BOOST_TEST(idx_column(tmp / "all.tsv").size() == 20u);
}

BOOST_AUTO_TEST_CASE(resume_gives_the_rows_of_an_uninterrupted_run) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  const std::string summary = summary_of(certify(certify_args(ckpt, tmp / "full.tsv", {"--max", "16"})));
  const std::vector<std::string> expected = rows_without_time(tmp / "full.tsv");

  // A run stopped early, then continued with a larger bound: the same rows, and the same
  // summary (computed from full-precision radii, not from the TSV's 3 digits).
  certify(certify_args(ckpt, tmp / "grown.tsv", {"--max", "10"}));
  BOOST_TEST(idx_column(tmp / "grown.tsv").size() == 4u);
  // Not trivially equal: a kept row is certified with a radius its 3 digits do not give back.
  bool rounded = false;
  for (const std::string& line : lines_of(tmp / "grown.tsv")) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
    rounded = rounded || (f.size() == 7 && f[4] == "1" && f.at(3) != "0.0" && std::stod(f[3]) != std::stod(f[6]));
  }
  BOOST_TEST(rounded);
  const std::string resumed = certify(certify_args(ckpt, tmp / "grown.tsv", {"--max", "16", "--resume"}));
  BOOST_TEST(rows_without_time(tmp / "grown.tsv") == expected, boost::test_tools::per_element());
  BOOST_TEST(summary_of(resumed) == summary);

  // A run killed while writing: the last line torn off.
  fs::copy_file(tmp / "full.tsv", tmp / "torn.tsv");
  std::string text;
  {
    std::ifstream in(tmp / "torn.tsv");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  text.resize(text.size() - 5);  // inside the last row's time
  std::ofstream(tmp / "torn.tsv", std::ios::trunc) << text;
  certify(certify_args(ckpt, tmp / "torn.tsv", {"--max", "16", "--resume"}));
  BOOST_TEST(rows_without_time(tmp / "torn.tsv") == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(an_existing_result_is_refused_without_resume) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  certify(certify_args(ckpt, tmp / "r.tsv", {"--max", "4"}));
  const std::vector<std::string> before = lines_of(tmp / "r.tsv");
  expect_error([&] { cli::certify_command(certify_args(ckpt, tmp / "r.tsv", {"--max", "4"})); }, {"--out", "r.tsv", "--resume"});
  BOOST_TEST(lines_of(tmp / "r.tsv") == before, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(bad_flags_get_one_clear_line) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  const std::string out = tmp / "x.tsv";
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--sigma", "0"})); }, {"nanofed certify", "sigma"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--sigma", "-1"})); }, {"nanofed certify", "sigma"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--N0", "100", "--N", "50"})); }, {"nanofed certify", "n0"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--alpha", "1"})); }, {"nanofed certify", "alpha"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--alpha", "0"})); }, {"nanofed certify", "alpha"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--skip", "0"})); }, {"--skip"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--max", "-2"})); }, {"--max"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--transform", "shear"})); }, {"--transform", "shear"});
  expect_error([&] { cli::certify_command(certify_args(ckpt, out, {"--grid", "corners"})); }, {"--grid", "corners"});
  expect_error([&] { cli::certify_command({"--model", ckpt}); }, {"--out is required"});
  BOOST_TEST(!fs::exists(out));  // nothing is created before the flags are checked
}

BOOST_AUTO_TEST_SUITE_END()
