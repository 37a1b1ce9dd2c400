// image_write.cpp — PNG grids (see image_write.h), encoded by stb_image_write in memory and
// written with nanofed::write_file_atomic.
#include "datasets/image_write.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/file_io.h"
#include "datasets/tiny_font.h"

// The one stb_image_write implementation; static so it cannot clash with another copy.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace nanofed::datasets {

namespace {

// save_image's mul(255).add_(0.5).clamp_(0, 255).to(uint8).
uint8_t to_byte(float x) {
  if (std::isnan(x)) return 0;
  return (uint8_t)std::min(255.0f, std::max(0.0f, x * 255.0f + 0.5f));
}

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), (size_t)size);
}

// Bytes of an image being composed, interleaved channels (what stb_image_write takes).
struct Canvas {
  int64_t h, w, c;
  std::vector<uint8_t> bytes;
  Canvas(int64_t h_, int64_t w_, int64_t c_) : h(h_), w(w_), c(c_), bytes((size_t)(h_ * w_ * c_), 0) {}  // 0: black
  uint8_t& at(int64_t y, int64_t x, int64_t ch) { return bytes[(size_t)((y * w + x) * c + ch)]; }
};

// The checks every grid shares; returns the shape [N, C, H, W] of `images`.
Shape check_images(const std::string& path, const Tensor& images) {
  NF_CHECK(images.defined() && images.dtype() == DType::f32 && (images.dim() == 3 || images.dim() == 4),
           "save_image_grid: " << path << ": expects f32 images [N, C, H, W] or [C, H, W], got "
                               << (images.defined() ? images.str() : std::string("an undefined tensor")));
  const Shape s = images.dim() == 4 ? images.shape() : Shape{1, images.size(0), images.size(1), images.size(2)};
  NF_CHECK(s[1] == 1 || s[1] == 3, "save_image_grid: " << path << ": expects 1 (gray) or 3 (RGB) channels, got " << s[1]);
  NF_CHECK(s[0] >= 1 && s[2] >= 1 && s[3] >= 1, "save_image_grid: " << path << ": no pixels to write (" << shape_str(s) << ")");
  return s;
}

void check_size(const std::string& path, int64_t h, int64_t w) {
  NF_CHECK(h <= (1 << 24) && w <= (1 << 24), "save_image_grid: " << path << ": the grid " << h << "x" << w
                                                                 << " is too large for a PNG");
}

// Image i of `values` (host copy of f32 [N, C, H, W]) with its top-left corner at (top, left).
void paste(Canvas& canvas, const std::vector<float>& values, const Shape& s, int64_t i, int64_t top, int64_t left) {
  const int64_t c = s[1], h = s[2], w = s[3];
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        canvas.at(top + y, left + x, ch) = to_byte(values[(size_t)(((i * c + ch) * h + y) * w + x)]);
}

// `text` in white, its top-left corner at (top, left); a character the font lacks is an error.
void draw_text(Canvas& canvas, const std::string& text, int64_t top, int64_t left, const std::string& path) {
  for (size_t k = 0; k < text.size(); ++k) {
    const uint8_t* rows = font::glyph(text[k]);
    NF_CHECK(rows, "save_image_grid: " << path << ": caption '" << text << "' has '" << text[k]
                                       << "', which the caption font lacks (digits, space, '-', T, P)");
    const int64_t x0 = left + (int64_t)k * (font::kGlyphWidth + font::kGlyphSpacing);
    for (int y = 0; y < font::kGlyphHeight; ++y)
      for (int x = 0; x < font::kGlyphWidth; ++x)
        if (rows[y] >> (font::kGlyphWidth - 1 - x) & 1)
          for (int64_t ch = 0; ch < canvas.c; ++ch) canvas.at(top + y, x0 + x, ch) = 255;
  }
}

void write_png(const std::string& path, const Canvas& canvas) {
  std::string png;
  NF_CHECK(stbi_write_png_to_func(append_bytes, &png, (int)canvas.w, (int)canvas.h, (int)canvas.c, canvas.bytes.data(),
                                  (int)(canvas.w * canvas.c)),
           "save_image_grid: " << path << ": PNG encoding failed");
  write_file_atomic(path, png, "save_image_grid");
}

}  // namespace

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow, int64_t padding) {
  const Shape s = check_images(path, images);
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  NF_CHECK(nrow >= 1 && padding >= 0, "save_image_grid: " << path << ": nrow must be >= 1 and padding >= 0, got "
                                                          << nrow << " and " << padding);
  if (n == 1) padding = 0;  // make_grid returns a single image as it is
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const int64_t grid_h = rows * (h + padding) + padding, grid_w = cols * (w + padding) + padding;
  check_size(path, grid_h, grid_w);

  const std::vector<float> values = images.to_vector();
  Canvas grid(grid_h, grid_w, c);  // pad value 0: black
  for (int64_t i = 0; i < n; ++i)
    paste(grid, values, s, i, (i / cols) * (h + padding) + padding, (i % cols) * (w + padding) + padding);
  write_png(path, grid);
}

void save_captioned_panels(const std::string& path, const std::vector<CaptionedImages>& panels, int64_t nrow,
                           int64_t padding) {
  NF_CHECK(!panels.empty(), "save_image_grid: " << path << ": no panels to write");
  NF_CHECK(nrow >= 1 && padding >= 1, "save_image_grid: " << path << ": nrow and padding must be >= 1, got " << nrow
                                                          << " and " << padding);
  const Shape s = check_images(path, panels[0].images);
  size_t longest = 0;
  for (const CaptionedImages& p : panels) {
    NF_CHECK(check_images(path, p.images) == s, "save_image_grid: " << path << ": every panel must have the images' shape "
                                                                   << shape_str(s) << ", got " << p.images.str());
    NF_CHECK((int64_t)p.captions.size() == s[0], "save_image_grid: " << path << ": " << s[0] << " images but "
                                                                    << p.captions.size() << " captions");
    for (const std::string& t : p.captions) longest = std::max(longest, t.size());
  }
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  // Room for one blank glyph after the longest caption, so neighbouring captions do not run together.
  const int64_t cell_w = std::max<int64_t>(w, font::text_width((int)longest + 1)), cell_h = h + kCaptionStrip;
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const int64_t panel_w = cols * (cell_w + padding) + padding, grid_h = rows * (cell_h + padding) + padding;
  const int64_t grid_w = (int64_t)panels.size() * (panel_w + padding) - padding;  // gray bars of `padding` between
  check_size(path, grid_h, grid_w);

  Canvas grid(grid_h, grid_w, c);
  for (size_t p = 0; p < panels.size(); ++p) {
    const int64_t panel_left = (int64_t)p * (panel_w + padding);
    if (p > 0)  // the bar that tells the panels apart from the padding inside them
      for (int64_t y = 0; y < grid_h; ++y)
        for (int64_t x = panel_left - padding; x < panel_left; ++x)
          for (int64_t ch = 0; ch < c; ++ch) grid.at(y, x, ch) = 128;
    const std::vector<float> values = panels[p].images.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t top = (i / cols) * (cell_h + padding) + padding;
      const int64_t left = panel_left + (i % cols) * (cell_w + padding) + padding;
      paste(grid, values, s, i, top, left);
      draw_text(grid, panels[p].captions[(size_t)i], top + h + 1, left, path);
    }
  }
  write_png(path, grid);
}

}  // namespace nanofed::datasets
