// `nanofed attack` in-process on a small synthetic checkpoint trained by `nanofed train`: the
// printed and CSV results, eps 0 = clean, the PNG grid, transferability to itself, bad flags.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "tests/command_util.h"
#include "tests/test_util.h"
#include "tools/attack_command.h"

using namespace nanofed;
using nanofed::test::expect_error;
using nanofed::test::TempDir;
namespace fs = std::filesystem;

namespace {
// CSV rows as maps from the header's column names to the cells.
std::vector<std::map<std::string, std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> columns;
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    if (columns.empty()) {
      columns = cells;
      continue;
    }
    BOOST_REQUIRE(cells.size() == columns.size());
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < cells.size(); ++i) row[columns[i]] = cells[i];
    rows.push_back(row);
  }
  return rows;
}

std::vector<std::string> attack_args(const std::string& ckpt, const std::vector<std::string>& extra) {
  std::vector<std::string> args = test::synthetic_data_flags();
  args.insert(args.end(), {"--model", ckpt});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

double cell(const std::map<std::string, std::string>& row, const std::string& column) {
  BOOST_REQUIRE(row.count(column));
  return std::stod(row.at(column));
}
}  // namespace

BOOST_AUTO_TEST_SUITE(attack_command)

BOOST_AUTO_TEST_CASE(eps_sweep_prints_writes_csv_and_png) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  const std::string printed = test::capture_stdout([&] {
    BOOST_TEST(cli::attack_command(attack_args(ckpt, {"--eps", "0,0.1", "--steps", "3", "--max", "40", "--out",
                                                      tmp / "attack.csv", "--save-png", tmp / "adv.png",
                                                      "--png-count", "10"})) == 0);
  });
  BOOST_TEST(printed.find("clean accuracy") != std::string::npos);
  BOOST_TEST(printed.find("robust accuracy") != std::string::npos);
  BOOST_TEST(printed.find("random_start true") != std::string::npos);
  const auto rows = read_csv(tmp / "attack.csv");
  BOOST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(cell(rows[0], "samples") == 40);
  BOOST_TEST(cell(rows[0], "eps") == 0.0);
  BOOST_TEST(cell(rows[0], "robust_accuracy") == cell(rows[0], "clean_accuracy"));  // eps 0 moves nothing
  BOOST_TEST(cell(rows[0], "success_rate") == 1.0 - cell(rows[0], "clean_accuracy"), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(cell(rows[0], "clean_accuracy") > 0.5);  // the checkpoint learned something
  BOOST_TEST(cell(rows[1], "clean_accuracy") == cell(rows[0], "clean_accuracy"));
  BOOST_TEST(cell(rows[1], "robust_accuracy") <= cell(rows[1], "clean_accuracy"));
  BOOST_TEST(cell(rows[1], "alpha") == 0.025, boost::test_tools::tolerance(1e-6));  // torchattacks' eps/4
  // 10 images of 1x8x8, 8 per row, 2 px padding: 2 rows.
  const test::PngHeader png = test::read_png_header(tmp / "adv.png");
  BOOST_TEST(png.width == 8 * 10 + 2);
  BOOST_TEST(png.height == 2 * 10 + 2);
  BOOST_TEST(png.color_type == 0);
}

BOOST_AUTO_TEST_CASE(l2_targeted_and_transfer_to_itself) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  test::capture_stdout([&] {
    cli::attack_command(attack_args(ckpt, {"--norm", "l2", "--targeted", "--steps", "2", "--max", "30", "--out",
                                           tmp / "l2.csv"}));
    cli::attack_command(attack_args(ckpt, {"--eps", "0.2", "--steps", "2", "--max", "30", "--transfer-to", ckpt,
                                           "--out", tmp / "transfer.csv"}));
  });
  const auto l2 = read_csv(tmp / "l2.csv");
  BOOST_REQUIRE(l2.size() == 1u);
  BOOST_TEST(l2[0].at("norm") == "l2");
  BOOST_TEST(l2[0].at("targeted") == "true");
  BOOST_TEST(cell(l2[0], "eps") == 1.0);  // torchattacks' PGDL2 defaults
  BOOST_TEST(cell(l2[0], "alpha") == 0.2, boost::test_tools::tolerance(1e-6));
  // A model transfers to itself perfectly: every example that fools it fools "the target".
  const auto t = read_csv(tmp / "transfer.csv");
  BOOST_REQUIRE(t.size() == 1u);
  BOOST_TEST(cell(t[0], "adv_trans") == (cell(t[0], "source_fooled") > 0 ? 1.0 : 0.0));
  BOOST_TEST(cell(t[0], "adv_trans_loss") == 0.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(cell(t[0], "target_clean_accuracy") == cell(t[0], "clean_accuracy"));
}

BOOST_AUTO_TEST_CASE(bad_flags_get_one_clear_line) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  expect_error([&] { cli::attack_command(test::synthetic_data_flags()); }, {"--model is required"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--eps", "-0.1"})); }, {"nanofed attack", "eps"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--eps", "0.1,x"})); }, {"--eps", "comma list"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--norm", "l3"})); }, {"--norm", "l3"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--random-start", "yes"})); }, {"--random-start", "true or false"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--targeted", "--transfer-to", ckpt})); }, {"--targeted"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--shape", "3x8x8"})); }, {"nanofed attack", "--shape"});
  expect_error([&] { cli::attack_command(attack_args(tmp / "none.safetensors", {})); }, {"none.safetensors"});
}

BOOST_AUTO_TEST_SUITE_END()
