// augment_cpu.cpp — CPU reference for crop_flip (the test oracle).
#include "engine/ops/augment.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void crop_flip_forward(const float* x, const int32_t* params, float* y, int64_t N, int64_t C,
                       int64_t H, int64_t W, int64_t Ho, int64_t Wo) {
  parallel_for(N * C, Ho * Wo, [&](int64_t nc) {
    const int32_t* p = params + (nc / C) * 3;
    const int64_t dy = p[0], dx = p[1];
    const bool flip = p[2] != 0;
    const float* src = x + nc * H * W;
    float* dst = y + nc * Ho * Wo;
    for (int64_t i = 0; i < Ho; ++i) {
      const int64_t row = i + dy;
      for (int64_t j = 0; j < Wo; ++j) {
        const int64_t col = (flip ? Wo - 1 - j : j) + dx;
        const bool inside = row >= 0 && row < H && col >= 0 && col < W;
        dst[i * Wo + j] = inside ? src[row * W + col] : 0.0f;
      }
    }
  });
}

}  // namespace nanofed::cpu
