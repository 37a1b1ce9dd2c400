// dropout_cpu.cpp — CPU reference for dropout (the test oracle).
#include "engine/ops/dropout.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void dropout_forward(const float* x, const float* u, float* y, uint8_t* mask, float p,
                     float scale, int64_t n) {
  parallel_for(n, 1, [&](int64_t i) {
    bool keep = u[i] >= p;
    mask[i] = keep ? 1 : 0;
    y[i] = keep ? x[i] * scale : 0.0f;
  });
}

void dropout_backward(const float* dy, const uint8_t* mask, float* dx, float scale, int64_t n) {
  parallel_for(n, 1, [&](int64_t i) { dx[i] = mask[i] ? dy[i] * scale : 0.0f; });
}

}  // namespace nanofed::cpu
