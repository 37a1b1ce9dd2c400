// basic_cpu.cpp — CPU reference of the core kernels (see basic.h).
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/random.h"

namespace nanofed::cpu {

void fill_f32(float* y, float value, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = value; }
void fill_i32(int32_t* y, int32_t value, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = value; }
void fill_u8(uint8_t* y, uint8_t value, int64_t n) { for (int64_t i = 0; i < n; ++i) y[i] = value; }

void arange_f32(float* y, float start, float step, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = start + step * (float)i;
}
void arange_i32(int32_t* y, int32_t start, int32_t step, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = start + step * (int32_t)i;
}

void axpy_f32(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// Element i uses lane i%4 of Philox block offset/4 + i/4 (offset is block aligned).
void uniform_f32(float* y, int64_t n, uint64_t seed, uint64_t offset) {
  uint32_t block[4];
  for (int64_t i = 0; i < n; ++i) {
    if (i % 4 == 0) philox4x32(seed, offset / 4 + (uint64_t)i / 4, block);
    y[i] = uint_to_uniform(block[i % 4]);
  }
}

// Box-Muller on lane pairs (0,1) and (2,3) of each block: 4 normals per block.
void normal_f32(float* y, int64_t n, uint64_t seed, uint64_t offset) {
  uint32_t block[4];
  float z[4];
  for (int64_t i = 0; i < n; ++i) {
    if (i % 4 == 0) {
      philox4x32(seed, offset / 4 + (uint64_t)i / 4, block);
      for (int p = 0; p < 2; ++p) {
        const double u1 = ((block[2 * p] >> 8) + 1.0) / 16777216.0;  // (0, 1]: log is finite
        const double u2 = (block[2 * p + 1] >> 8) / 16777216.0;
        const double r = std::sqrt(-2.0 * std::log(u1)), t = 2.0 * M_PI * u2;
        z[2 * p] = (float)(r * std::cos(t));
        z[2 * p + 1] = (float)(r * std::sin(t));
      }
    }
    y[i] = z[i % 4];
  }
}

void affine_inplace_f32(float* y, float scale, float shift, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] * scale + shift;
}

void threshold_below_f32(float* y, float p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = y[i] < p ? 1.0f : 0.0f;
}

}  // namespace nanofed::cpu
