// channel_bias_cpu.cpp — the reference loops of the per-channel bias and its gradient.
#include "engine/ops/channel_bias.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels,
                      int64_t inner) {
  parallel_for(outer * channels, inner, [&](int64_t row) {
    const float b = bias[row % channels];
    float* y_row = y + row * inner;
    for (int64_t i = 0; i < inner; ++i) y_row[i] += b;
  });
}

void sum_channels(const float* x, float* out, int64_t outer, int64_t channels, int64_t inner) {
  parallel_for(channels, outer * inner, [&](int64_t c) {
    double acc = 0.0;  // a reference sum: double keeps long reductions (N*H*W) exact enough
    for (int64_t o = 0; o < outer; ++o) {
      const float* x_row = x + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) acc += x_row[i];
    }
    out[c] = (float)acc;
  });
}

}  // namespace nanofed::cpu
