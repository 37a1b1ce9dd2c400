// batchnorm_cpu.cpp — CPU reference for batch_norm (also the test oracle). Per-channel sums
// are accumulated in double, two-pass (mean, then centred squares), one channel per parallel
// iteration: each reduction runs serially in a fixed order, so results do not depend on the
// thread count.
#include <cmath>

#include "engine/ops/batchnorm.h"
#include "engine/threads.h"

namespace nanofed::cpu {

void batch_norm_stats(const float* x, int64_t N, int64_t C, int64_t HW, float eps,
                      float momentum, float* mean, float* invstd, float* running_mean,
                      float* running_var) {
  const int64_t M = N * HW;
  parallel_for(C, 3 * N * HW, [&](int64_t c) {
    double sum = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) sum += x[(n * C + c) * HW + i];
    const double mu = sum / (double)M;
    double sq = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const double d = x[(n * C + c) * HW + i] - mu;
        sq += d * d;
      }
    const double var = sq / (double)M;  // biased: used to normalise
    mean[c] = (float)mu;
    invstd[c] = (float)(1.0 / std::sqrt(var + (double)eps));
    if (running_mean) {
      const double unbiased = sq / (double)(M - 1);  // PyTorch's running_var uses this
      running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu);
      running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
  });
}

void batch_norm_invstd(const float* var, float* invstd, int64_t C, float eps) {
  for (int64_t c = 0; c < C; ++c) invstd[c] = 1.0f / std::sqrt(var[c] + eps);
}

void batch_norm_apply(const float* x, const float* mean, const float* invstd, const float* gamma,
                      const float* beta, float* y, int64_t N, int64_t C, int64_t HW) {
  parallel_for(N * C, HW, [&](int64_t nc) {
    const int64_t c = nc % C;
    const float scale = invstd[c] * (gamma ? gamma[c] : 1.0f);
    const float shift = beta ? beta[c] : 0.0f;
    for (int64_t i = 0; i < HW; ++i) y[nc * HW + i] = (x[nc * HW + i] - mean[c]) * scale + shift;
  });
}

void batch_norm_backward_reduce(const float* dy, const float* x, const float* mean,
                                const float* invstd, float* sum_dy, float* sum_dy_xhat,
                                int64_t N, int64_t C, int64_t HW) {
  parallel_for(C, 2 * N * HW, [&](int64_t c) {
    double s = 0.0, sx = 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t k = (n * C + c) * HW + i;
        s += dy[k];
        sx += (double)dy[k] * ((double)x[k] - mean[c]);
      }
    sum_dy[c] = (float)s;
    sum_dy_xhat[c] = (float)(sx * invstd[c]);
  });
}

void batch_norm_backward_dx(const float* dy, const float* x, const float* mean,
                            const float* invstd, const float* gamma, const float* sum_dy,
                            const float* sum_dy_xhat, float* dx, int64_t N, int64_t C,
                            int64_t HW, bool training) {
  const float M = (float)(N * HW);
  parallel_for(N * C, 2 * HW, [&](int64_t nc) {
    const int64_t c = nc % C;
    const float scale = (gamma ? gamma[c] : 1.0f) * invstd[c];
    for (int64_t i = 0; i < HW; ++i) {
      const int64_t k = nc * HW + i;
      if (training) {
        const float xhat = (x[k] - mean[c]) * invstd[c];
        dx[k] = scale / M * (M * dy[k] - sum_dy[c] - xhat * sum_dy_xhat[c]);
      } else {
        dx[k] = scale * dy[k];
      }
    }
  });
}

}  // namespace nanofed::cpu
