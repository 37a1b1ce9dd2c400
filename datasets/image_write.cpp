// image_write.cpp — PNG grids (see image_write.h), encoded by stb_image_write in memory and
// written with datasets::write_file_atomic.
#include "datasets/image_write.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "datasets/file_io.h"

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

}  // namespace

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow, int64_t padding) {
  NF_CHECK(images.defined() && images.dtype() == DType::f32 && (images.dim() == 3 || images.dim() == 4),
           "save_image_grid: " << path << ": expects f32 images [N, C, H, W] or [C, H, W], got "
                               << (images.defined() ? images.str() : std::string("an undefined tensor")));
  const Shape s = images.dim() == 4 ? images.shape() : Shape{1, images.size(0), images.size(1), images.size(2)};
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3];
  NF_CHECK(c == 1 || c == 3, "save_image_grid: " << path << ": expects 1 (gray) or 3 (RGB) channels, got " << c);
  NF_CHECK(n >= 1 && h >= 1 && w >= 1, "save_image_grid: " << path << ": no pixels to write (" << shape_str(s) << ")");
  NF_CHECK(nrow >= 1 && padding >= 0, "save_image_grid: " << path << ": nrow must be >= 1 and padding >= 0, got "
                                                          << nrow << " and " << padding);
  if (n == 1) padding = 0;  // make_grid returns a single image as it is
  const int64_t cols = std::min(nrow, n), rows = (n + cols - 1) / cols;
  const int64_t grid_h = rows * (h + padding) + padding, grid_w = cols * (w + padding) + padding;
  NF_CHECK(grid_h <= (1 << 24) && grid_w <= (1 << 24), "save_image_grid: " << path << ": the grid " << grid_h << "x"
                                                                          << grid_w << " is too large for a PNG");

  const std::vector<float> values = images.to_vector();
  std::vector<uint8_t> grid((size_t)(grid_h * grid_w * c), 0);  // pad value 0: black
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = (i / cols) * (h + padding) + padding, left = (i % cols) * (w + padding) + padding;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          grid[(size_t)(((top + y) * grid_w + left + x) * c + ch)] = to_byte(values[(size_t)(((i * c + ch) * h + y) * w + x)]);
  }
  std::string png;
  NF_CHECK(stbi_write_png_to_func(append_bytes, &png, (int)grid_w, (int)grid_h, (int)c, grid.data(), (int)(grid_w * c)),
           "save_image_grid: " << path << ": PNG encoding failed");
  write_file_atomic(path, png, "save_image_grid");
}

}  // namespace nanofed::datasets
