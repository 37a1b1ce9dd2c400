// datasets::save_image_grid: the grid geometry and byte values of torchvision's save_image,
// read back with the image-folder reader (stb_image) and checked pixel by pixel; and
// save_captioned_panels: panels side by side with a bitmap-font caption under each image.
#include <cmath>
#include <filesystem>
#include <limits>

#include "engine/file_io.h"
#include "datasets/image_folder.h"
#include "datasets/image_write.h"
#include "tests/command_util.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;
using nanofed::test::TempDir;
namespace fs = std::filesystem;

namespace {
// Image i, channel ch, pixel (y, x) of a [n, c, h, w] f32 vector.
float at(const std::vector<float>& v, int64_t c, int64_t h, int64_t w, int64_t i, int64_t ch, int64_t y, int64_t x) {
  return v[(size_t)(((i * c + ch) * h + y) * w + x)];
}
}  // namespace

BOOST_AUTO_TEST_SUITE(image_write)

BOOST_AUTO_TEST_CASE(rgb_grid_has_torchvision_geometry_and_bytes) {
  TempDir tmp;
  const int64_t n = 3, c = 3, h = 2, w = 3;
  std::vector<float> v((size_t)(n * c * h * w));
  for (size_t k = 0; k < v.size(); ++k) v[k] = (float)k / 53.0f;
  v[0] = -0.5f;                                      // clamped to 0
  v[1] = 1.5f;                                       // clamped to 255
  v[2] = 0.5f;                                       // 128 (0.5 * 255 + 0.5 = 128)
  v[3] = std::numeric_limits<float>::quiet_NaN();    // 0
  fs::create_directories(tmp / "root/a");
  datasets::save_image_grid(tmp / "root/a/grid.png", from_vector(v, {n, c, h, w}), /*nrow=*/2, /*padding=*/1);
  BOOST_TEST(!fs::exists(tmp / "root/a/grid.png.tmp"));

  // 2 per row -> 2 rows; height 2 * (2 + 1) + 1 = 7, width 2 * (3 + 1) + 1 = 9.
  const test::PngHeader hdr = test::read_png_header(tmp / "root/a/grid.png");
  BOOST_TEST(hdr.width == 9);
  BOOST_TEST(hdr.height == 7);
  BOOST_TEST(hdr.color_type == 2);
  const std::vector<float> grid = datasets::read_image_folder(tmp / "root", 7, 9, 3).data.images.to_vector();
  auto byte = [&](int64_t ch, int64_t y, int64_t x) { return std::lround(at(grid, 3, 7, 9, 0, ch, y, x) * 255.0f); };
  BOOST_TEST(byte(0, 1, 1) == 0);    // -0.5
  BOOST_TEST(byte(0, 1, 2) == 255);  // 1.5
  BOOST_TEST(byte(0, 1, 3) == 128);  // 0.5
  BOOST_TEST(byte(0, 2, 1) == 0);    // NaN
  long image_sum = 0, grid_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = (i / 2) * 3 + 1, left = (i % 2) * 4 + 1;  // image i's corner in the grid
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          const float value = at(v, c, h, w, i, ch, y, x);
          const long expected = std::isnan(value) ? 0 : (long)std::min(255.0f, std::max(0.0f, value * 255.0f + 0.5f));
          BOOST_TEST(byte(ch, top + y, left + x) == expected);
          image_sum += expected;
        }
  }
  for (int64_t ch = 0; ch < 3; ++ch)
    for (int64_t y = 0; y < 7; ++y)
      for (int64_t x = 0; x < 9; ++x) grid_sum += byte(ch, y, x);
  BOOST_TEST(grid_sum == image_sum);  // padding and the empty fourth slot are 0
}

BOOST_AUTO_TEST_CASE(gray_stays_gray_and_one_image_has_no_padding) {
  TempDir tmp;
  fs::create_directories(tmp / "root/a");
  Tensor images = test::random_uniform({5, 1, 4, 4}, 3, 0.0f, 1.0f);
  datasets::save_image_grid(tmp / "root/a/gray.png", images);  // nrow 8, padding 2: one row of 5
  test::PngHeader hdr = test::read_png_header(tmp / "root/a/gray.png");
  BOOST_TEST(hdr.color_type == 0);
  BOOST_TEST(hdr.width == 5 * 6 + 2);
  BOOST_TEST(hdr.height == 6 + 2);
  const std::vector<float> grid = datasets::read_image_folder(tmp / "root", 8, 32, 1).data.images.to_vector();
  const float first = images.to_vector()[0];
  BOOST_TEST(std::lround(grid[2 * 32 + 2] * 255.0f) == (long)(first * 255.0f + 0.5f));

  datasets::save_image_grid(tmp / "one.png", images.slice(0, 1).reshape({1, 4, 4}));
  hdr = test::read_png_header(tmp / "one.png");
  BOOST_TEST(hdr.width == 4);
  BOOST_TEST(hdr.height == 4);
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_path) {
  TempDir tmp;
  expect_error([&] { datasets::save_image_grid(tmp / "x.png", zeros({2, 2, 4, 4})); }, {"x.png", "1 (gray) or 3 (RGB)"});
  expect_error([&] { datasets::save_image_grid(tmp / "x.png", zeros({4, 4})); }, {"x.png", "[N, C, H, W]"});
  expect_error([&] { datasets::save_image_grid(tmp / "no/dir/x.png", zeros({1, 1, 2, 2})); }, {"no/dir/x.png.tmp"});
}

BOOST_AUTO_TEST_CASE(captioned_panels_geometry_images_and_glyphs) {
  TempDir tmp;
  // Two panels of 3 gray 4x6 images (values 0.5 and 0.25), 2 per row, padding 1; captions up to
  // "T10 P3" (6 glyphs and room for a 7th: 27 px) make the cells 27 x (4 + 7).
  const Tensor left = full({3, 1, 4, 6}, 0.5f), right = full({3, 1, 4, 6}, 0.25f);
  datasets::save_captioned_panels(tmp / "p.png", {{left, {"T1 P1", "T10 P3", "0"}}, {right, {"T1 P2", "-", ""}}},
                                  /*nrow=*/2, /*padding=*/1);
  const int64_t cell_w = 27, cell_h = 4 + datasets::kCaptionStrip, panel_w = 2 * (cell_w + 1) + 1;
  const int64_t width = 2 * panel_w + 1, height = 2 * (cell_h + 1) + 1;
  const test::PngHeader hdr = test::read_png_header(tmp / "p.png");
  BOOST_TEST(hdr.width == width);
  BOOST_TEST(hdr.height == height);
  BOOST_TEST(hdr.color_type == 0);
  const std::vector<uint8_t> px = test::read_png_gray(tmp / "p.png");
  BOOST_REQUIRE(px.size() == (size_t)(width * height));
  auto at = [&](int64_t y, int64_t x) { return (int)px[(size_t)(y * width + x)]; };
  // Image 2 (second row, first column) of each panel, and the gray bar between the panels.
  const int64_t top = cell_h + 2, left_x = 1, right_x = panel_w + 1 + 1;
  BOOST_TEST(at(top, left_x) == 128);
  BOOST_TEST(at(top + 3, left_x + 5) == 128);
  BOOST_TEST(at(top, right_x) == 64);
  BOOST_TEST(at(top, left_x + 6) == 0);  // the cell is wider than the image: black beside it
  for (int64_t y = 0; y < height; ++y) BOOST_TEST(at(y, panel_w) == 128);
  // Glyphs 1 px under the image: "0" of image 2 is 3x5 with a hollow middle; "-" of the right
  // panel's image 1 is its middle row only; image 2 of the right panel has no caption.
  const int64_t text = top + 4 + 1;
  BOOST_TEST(at(text - 1, left_x) == 0);
  BOOST_TEST(at(text, left_x) == 255);
  BOOST_TEST(at(text + 4, left_x + 2) == 255);
  BOOST_TEST(at(text + 1, left_x + 1) == 0);
  const int64_t minus_x = right_x + cell_w + 1, minus_y = 1 + 4 + 1;
  BOOST_TEST(at(minus_y + 2, minus_x) == 255);
  BOOST_TEST(at(minus_y + 1, minus_x) == 0);
  for (int64_t y = text; y < text + 5; ++y)
    for (int64_t x = right_x; x < right_x + cell_w; ++x) BOOST_TEST(at(y, x) == 0);
  // "T1 P1": every glyph of the first caption lights some pixel, the space none.
  for (int g = 0; g < 5; ++g) {
    int lit = 0;
    for (int64_t y = 1 + 4 + 1; y < 1 + 4 + 6; ++y)
      for (int64_t x = 1 + 4 * g; x < 1 + 4 * g + 3; ++x) lit += at(y, x) == 255;
    BOOST_TEST((g == 2 ? lit == 0 : lit > 0), "glyph " << g);
  }
}

BOOST_AUTO_TEST_CASE(captioned_panels_bad_input_names_the_path) {
  TempDir tmp;
  const Tensor images = zeros({2, 1, 4, 4});
  expect_error([&] { datasets::save_captioned_panels(tmp / "x.png", {{images, {"T1", "T2 Q3"}}}); },
               {"x.png", "'T2 Q3'", "'Q'", "font lacks"});
  expect_error([&] { datasets::save_captioned_panels(tmp / "x.png", {{images, {"1"}}}); }, {"x.png", "2 images but 1 captions"});
  expect_error([&] { datasets::save_captioned_panels(tmp / "x.png", {{images, {"1", "2"}}, {zeros({2, 1, 4, 5}), {"1", "2"}}}); },
               {"x.png", "the images' shape"});
  expect_error([&] { datasets::save_captioned_panels(tmp / "x.png", {}); }, {"x.png", "no panels"});
  BOOST_TEST(!fs::exists(tmp / "x.png"));
}

NF_CUDA_TEST_CASE(cuda_images_are_written_like_cpu_ones) {
  TempDir tmp;
  Tensor images = test::random_uniform({3, 3, 5, 5}, 4, 0.0f, 1.0f);
  datasets::save_image_grid(tmp / "cpu.png", images);
  datasets::save_image_grid(tmp / "cuda.png", images.cuda());
  BOOST_TEST(nanofed::read_file_bytes(tmp / "cpu.png", "test") == nanofed::read_file_bytes(tmp / "cuda.png", "test"));
}

BOOST_AUTO_TEST_SUITE_END()
