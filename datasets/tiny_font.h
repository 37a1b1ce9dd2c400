// tiny_font.h — a 3x5 bitmap font for captions under images (labels such as "T7 P3"): digits,
// space, '-' and the letters T and P. No font dependency; add a glyph here to caption more.
#pragma once
#include <cstdint>

namespace nanofed::datasets::font {

constexpr int kGlyphWidth = 3, kGlyphHeight = 5, kGlyphSpacing = 1;

// The rows of c, top to bottom, bit 2 = the left column; nullptr if the font lacks c.
inline const uint8_t* glyph(char c) {
  static const uint8_t kDigits[10][kGlyphHeight] = {
      {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
      {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
  static const uint8_t kSpace[kGlyphHeight] = {0, 0, 0, 0, 0}, kMinus[kGlyphHeight] = {0, 0, 7, 0, 0},
                       kT[kGlyphHeight] = {7, 2, 2, 2, 2}, kP[kGlyphHeight] = {6, 5, 6, 4, 4};
  if (c >= '0' && c <= '9') return kDigits[c - '0'];
  switch (c) {
    case ' ': return kSpace;
    case '-': return kMinus;
    case 'T': return kT;
    case 'P': return kP;
    default: return nullptr;
  }
}

// Width in pixels of `n` glyphs with their spacing (0 for none).
constexpr int text_width(int n) { return n > 0 ? n * (kGlyphWidth + kGlyphSpacing) - kGlyphSpacing : 0; }

}  // namespace nanofed::datasets::font
