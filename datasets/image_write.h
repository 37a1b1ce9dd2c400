// image_write.h — a batch of images as one PNG grid, like torchvision.utils.save_image
// (make_grid with pad_value 0, then the byte conversion of save_image), for looking at
// adversarial examples and perturbed inputs.
//
//   save_image_grid("runs/attack/adv.png", x_adv.slice(0, 64));   // 8 per row, 2 px apart
//
// Semantics (torchvision 0.x make_grid + save_image):
//   * images f32 [N, C, H, W] (or one image [C, H, W]) with C = 1 (gray PNG) or 3 (RGB PNG);
//     any device (copied to the host);
//   * min(nrow, N) images per row, ceil(N / nrow) rows; `padding` pixels of 0 before, between
//     and after the images in both directions: the grid is
//     (rows * (H + padding) + padding) x (cols * (W + padding) + padding);
//   * one image (N = 1) is written as it is, without padding (make_grid returns it unpadded);
//   * byte = min(255, max(0, x * 255 + 0.5)) truncated, i.e. x clamped to [0, 1] and rounded
//     to nearest; NaN becomes 0.
// Written atomically (PATH.tmp, then renamed). Errors name the path.
//
// save_captioned_panels: grids of the same number of images side by side (e.g. clean | adversarial),
// a caption under each image in a 3x5 white bitmap font (datasets/tiny_font.h: digits, space,
// '-', T, P). Every cell is max(W, width of the longest caption and one more glyph) wide and
// H + kCaptionStrip high (the glyphs 1 px below the image); each panel is a make_grid of those cells (`padding` >= 1 around and
// between them, black), and a mid-gray bar `padding` wide separates the panels:
//   width  = P * (cols * (cell_w + padding) + padding) + (P - 1) * padding
//   height = rows * (cell_h + padding) + padding,   cols = min(nrow, N), rows = ceil(N / cols).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace nanofed::datasets {

void save_image_grid(const std::string& path, const Tensor& images, int64_t nrow = 8, int64_t padding = 2);

constexpr int64_t kCaptionStrip = 7;  // 1 px gap, 5 px glyphs, 1 px gap

struct CaptionedImages {
  Tensor images;                      // f32 [N, C, H, W], the same shape in every panel
  std::vector<std::string> captions;  // one per image
};
void save_captioned_panels(const std::string& path, const std::vector<CaptionedImages>& panels, int64_t nrow = 8,
                           int64_t padding = 2);

}  // namespace nanofed::datasets
