// softmax_cpu.cpp — CPU reference for softmax / log_softmax / cross-entropy / nll_loss.
// Plain loops, written for obviousness (this is the test oracle). Sums over a row run in
// double; parallel loops only over independent rows or columns.
#include <cmath>
#include <limits>

#include "engine/ops/softmax.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Max-subtracted log-sum-exp of D values spaced `stride` apart.
double log_sum_exp(const float* x, int64_t D, int64_t stride) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t d = 0; d < D; ++d) m = std::max(m, x[d * stride]);
  if (std::isinf(m)) return m;  // all -inf (or +inf present): avoid inf - inf
  double s = 0;
  for (int64_t d = 0; d < D; ++d) s += std::exp((double)x[d * stride] - m);
  return m + std::log(s);
}

// a_nc: the (smoothed, class-weighted) target weight of class c in row n.
float target_weight(const int32_t* labels, const float* soft, const float* class_weight,
                    float eps, int64_t n, int64_t c, int64_t C) {
  float t = labels ? (labels[n] == c ? 1.0f : 0.0f) : soft[n * C + c];
  t = (1.0f - eps) * t + eps / (float)C;
  return class_weight ? class_weight[c] * t : t;
}

bool label_ok(const int32_t* labels, int64_t n, int64_t C) {
  return !labels || (labels[n] >= 0 && labels[n] < C);
}
}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t D, int64_t inner,
                     bool log) {
  parallel_for(outer * inner, 3 * D, [&](int64_t col) {
    const int64_t base = (col / inner) * D * inner + col % inner;
    const double lse = log_sum_exp(x + base, D, inner);
    for (int64_t d = 0; d < D; ++d) {
      const double logp = (double)x[base + d * inner] - lse;
      y[base + d * inner] = (float)(log ? logp : std::exp(logp));
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t outer, int64_t D,
                      int64_t inner, bool log) {
  parallel_for(outer * inner, 2 * D, [&](int64_t col) {
    const int64_t base = (col / inner) * D * inner + col % inner;
    double dot = 0;  // softmax: sum dy*y; log_softmax: sum dy
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      dot += log ? (double)dy[i] : (double)dy[i] * y[i];
    }
    for (int64_t d = 0; d < D; ++d) {
      const int64_t i = base + d * inner;
      dx[i] = log ? (float)(dy[i] - std::exp((double)y[i]) * dot)
                  : (float)(y[i] * (dy[i] - dot));
    }
  });
}

void cross_entropy_forward(const float* logits, const int32_t* labels, const float* soft,
                           const float* class_weight, const float* sample_weight,
                           float label_smoothing, int64_t N, int64_t C, float* row_loss,
                           float* stats) {
  float* row_lse = stats;
  float* row_mass = stats + N;
  float* row_den = stats + 2 * N;
  parallel_for(N, 4 * C, [&](int64_t n) {
    const float* x = logits + n * C;
    const double lse = log_sum_exp(x, C, 1);
    row_lse[n] = (float)lse;
    if (!label_ok(labels, n, C)) {  // the Tensor-level op has already thrown; keep it safe
      row_loss[n] = row_mass[n] = row_den[n] = kNaN;
      return;
    }
    double loss = 0, mass = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double a = target_weight(labels, soft, class_weight, label_smoothing, n, c, C);
      if (a == 0) continue;  // 0 * log 0 = 0: a masked (-inf) logit with no target weight
      loss -= a * ((double)x[c] - lse);  // -a_nc * log p_nc
      mass += a;
    }
    const float s = sample_weight ? sample_weight[n] : 1.0f;
    row_loss[n] = (float)(s * loss);
    row_mass[n] = (float)mass;
    row_den[n] = labels && class_weight ? class_weight[labels[n]] : 1.0f;
  });
}

void cross_entropy_backward(const float* logits, const int32_t* labels, const float* soft,
                            const float* class_weight, const float* sample_weight,
                            float label_smoothing, const float* stats, const float* grad_out,
                            int64_t grad_stride, const float* den, int64_t N, int64_t C,
                            float* grad_logits) {
  const float* row_lse = stats;
  const float* row_mass = stats + N;
  parallel_for(N, 2 * C, [&](int64_t n) {
    float g = grad_out[n * grad_stride];
    if (den) g /= den[0];
    if (sample_weight) g *= sample_weight[n];
    const bool ok = label_ok(labels, n, C);
    for (int64_t c = 0; c < C; ++c) {
      const int64_t i = n * C + c;
      if (!ok) {
        grad_logits[i] = kNaN;
        continue;
      }
      const float p = std::exp(logits[i] - row_lse[n]);
      const float a = target_weight(labels, soft, class_weight, label_smoothing, n, c, C);
      grad_logits[i] = g * (row_mass[n] * p - a);
    }
  });
}

void nll_loss_forward(const float* log_probs, const int32_t* labels, const float* class_weight,
                      int64_t N, int64_t C, float* row_loss, float* row_den) {
  for (int64_t n = 0; n < N; ++n) {
    if (!label_ok(labels, n, C)) {
      row_loss[n] = row_den[n] = kNaN;
      continue;
    }
    const float w = class_weight ? class_weight[labels[n]] : 1.0f;
    row_loss[n] = -w * log_probs[n * C + labels[n]];
    row_den[n] = w;
  }
}

void nll_loss_backward(const int32_t* labels, const float* class_weight, const float* grad_out,
                       int64_t grad_stride, const float* den, int64_t N, int64_t C,
                       float* grad_log_probs) {
  for (int64_t n = 0; n < N; ++n) {
    const bool ok = label_ok(labels, n, C);
    float g = grad_out[n * grad_stride];
    if (den) g /= den[0];
    for (int64_t c = 0; c < C; ++c) {
      if (!ok) grad_log_probs[n * C + c] = kNaN;
      else if (c != labels[n]) grad_log_probs[n * C + c] = 0.0f;
      else grad_log_probs[n * C + c] = -g * (class_weight ? class_weight[c] : 1.0f);
    }
  }
}

void loss_reduce(const float* row_loss, const float* row_den, int64_t N, bool mean, float* out,
                 float* den) {
  double total = 0, divisor = 0;
  for (int64_t n = 0; n < N; ++n) {
    total += row_loss[n];
    divisor += row_den[n];
  }
  if (!mean) divisor = 1;
  den[0] = (float)divisor;
  out[0] = (float)(total / divisor);
}

}  // namespace nanofed::cpu
