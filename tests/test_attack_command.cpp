// `nanofed attack` in-process on a small synthetic checkpoint trained by `nanofed train`: the
// printed and CSV results, eps 0 = clean (no PGD, success 0), the PNG of clean | adversarial
// images with their labels at the chosen eps, transferability to itself, bad flags.
#include <algorithm>
#include <cstdlib>
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
  BOOST_TEST(cell(rows[0], "success_rate") == 0.0);  // misclassified clean points are no attack success
  BOOST_TEST(cell(rows[0], "clean_accuracy") > 0.5);  // the checkpoint learned something
  BOOST_TEST(cell(rows[0], "clean_accuracy") < 1.0);  // ... and misclassifies some: success 0 is not trivial
  BOOST_TEST(cell(rows[1], "clean_accuracy") == cell(rows[0], "clean_accuracy"));
  BOOST_TEST(cell(rows[1], "robust_accuracy") <= cell(rows[1], "clean_accuracy"));
  BOOST_TEST(cell(rows[1], "alpha") == 0.025, boost::test_tools::tolerance(1e-6));  // torchattacks' eps/4
  BOOST_TEST(cell(rows[1], "success_rate") == cell(rows[1], "clean_accuracy") - cell(rows[1], "robust_accuracy"),
             boost::test_tools::tolerance(1e-9));
  BOOST_TEST(printed.find("wrote the first 10 images at eps 0.1 to") != std::string::npos);
}

// Geometry of the --save-png of 10 images of 1x8x8: captions "T<y> P<p>" are 5 glyphs of 3 px
// with 1 px between, plus room for a blank glyph (23 px), so a cell is 23 x (8 + 7); 8 cells
// per row (2 rows), padding 2; two panels (clean | adversarial) with a 2 px bar between.
constexpr int64_t kCellW = 23, kCellH = 8 + 7, kPanelW = 8 * (kCellW + 2) + 2;
constexpr int64_t kPngW = 2 * kPanelW + 2, kPngH = 2 * (kCellH + 2) + 2;

// Pixels of cell i of `panel` (0 clean, 1 adversarial): rows [y0, y1) and columns [0, w) of the cell.
std::vector<uint8_t> cell_pixels(const std::vector<uint8_t>& png, int panel, int64_t i, int64_t y0, int64_t y1,
                                 int64_t w) {
  const int64_t top = (i / 8) * (kCellH + 2) + 2, left = panel * (kPanelW + 2) + (i % 8) * (kCellW + 2) + 2;
  std::vector<uint8_t> out;
  for (int64_t y = top + y0; y < top + y1; ++y)
    for (int64_t x = left; x < left + w; ++x) out.push_back(png.at((size_t)(y * kPngW + x)));
  return out;
}
std::vector<uint8_t> image_of(const std::vector<uint8_t>& png, int panel, int64_t i) {
  return cell_pixels(png, panel, i, 0, 8, 8);
}
std::vector<uint8_t> caption_of(const std::vector<uint8_t>& png, int panel, int64_t i) {
  return cell_pixels(png, panel, i, 8, kCellH, kCellW);
}

BOOST_AUTO_TEST_CASE(png_shows_clean_and_adversarial_at_the_chosen_eps_with_labels) {
  TempDir tmp;
  const std::string ckpt = test::train_synthetic_checkpoint(tmp / "run");
  test::capture_stdout([&] {
    for (const char* png_eps : {"", "0"}) {  // default: the largest eps (0.1)
      std::vector<std::string> extra = {"--eps", "0,0.1", "--steps", "3", "--max", "40", "--png-count", "10",
                                        "--save-png", tmp / (*png_eps ? "zero.png" : "largest.png")};
      if (*png_eps) extra.insert(extra.end(), {"--png-eps", png_eps});
      BOOST_TEST(cli::attack_command(attack_args(ckpt, extra)) == 0);
    }
  });
  for (const char* name : {"zero.png", "largest.png"}) {
    const test::PngHeader hdr = test::read_png_header(tmp / name);
    BOOST_TEST(hdr.width == kPngW);
    BOOST_TEST(hdr.height == kPngH);
    BOOST_TEST(hdr.color_type == 0);
  }
  const std::vector<uint8_t> zero = test::read_png_gray(tmp / "zero.png"), largest = test::read_png_gray(tmp / "largest.png");
  BOOST_REQUIRE(zero.size() == (size_t)(kPngW * kPngH));
  int64_t moved = 0;
  for (int64_t i = 0; i < 10; ++i) {
    BOOST_TEST_CONTEXT("image " << i) {
      // The clean panels and their captions are the same whatever the eps.
      BOOST_TEST(image_of(zero, 0, i) == image_of(largest, 0, i), boost::test_tools::per_element());
      BOOST_TEST(caption_of(zero, 0, i) == caption_of(largest, 0, i), boost::test_tools::per_element());
      // eps 0: x' = x, the same prediction, so the same caption.
      BOOST_TEST(image_of(zero, 1, i) == image_of(zero, 0, i), boost::test_tools::per_element());
      BOOST_TEST(caption_of(zero, 1, i) == caption_of(zero, 0, i), boost::test_tools::per_element());
      // eps 0.1: x' within the L-inf ball (25.5 levels, +1 for the rounding of each side).
      const std::vector<uint8_t> clean = image_of(largest, 0, i), adv = image_of(largest, 1, i);
      for (size_t p = 0; p < clean.size(); ++p) BOOST_TEST(std::abs(clean[p] - adv[p]) <= 27);
      moved += clean != adv;
      // The labels are drawn: white glyph pixels under every image.
      for (int panel : {0, 1}) {
        const std::vector<uint8_t> caption = caption_of(largest, panel, i);
        BOOST_TEST(std::count(caption.begin(), caption.end(), 255) >= 10);
      }
    }
  }
  BOOST_TEST(moved >= 5);  // the right panel of largest.png is the eps 0.1 attack
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
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--eps", "0,0.1", "--png-eps", "0.05", "--save-png",
                                                            tmp / "x.png", "--out", tmp / "x.csv"})); },
               {"--png-eps 0.05", "one of --eps (0,0.1)"});
  expect_error([&] { cli::attack_command(attack_args(ckpt, {"--png-eps", "0"})); }, {"--png-eps needs --save-png"});
  BOOST_TEST(!fs::exists(tmp / "x.csv"));  // nothing written before the flags are checked
  BOOST_TEST(!fs::exists(tmp / "x.png"));
}

BOOST_AUTO_TEST_SUITE_END()
