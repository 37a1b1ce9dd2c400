// matmul_cpu.cpp — CPU GEMMs through OpenBLAS, bias add and per-channel sums as plain loops.
#include <cblas.h>

#include <climits>

#include "engine/common.h"
#include "engine/ops/matmul.h"

namespace nanofed::cpu {
namespace {

// C = beta * C for the M x N matrix (the K == 0 case: the product is empty). beta == 0
// writes zeros without reading C, as BLAS does.
void scale_matrix(float* C, int64_t ldc, int64_t M, int64_t N, float beta) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void check_blas_int(int64_t v, const char* what) {
  NF_CHECK(v >= 0 && v <= INT_MAX, "gemm: " << what << " = " << v << " does not fit a BLAS int");
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_matrix(C, ldc, M, N, beta);
  check_blas_int(M, "M"), check_blas_int(N, "N"), check_blas_int(K, "K");
  check_blas_int(lda, "lda"), check_blas_int(ldb, "ldb"), check_blas_int(ldc, "ldc");
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
              (int)ldb, beta, C, (int)ldc);
}

void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float* A, int64_t lda, int64_t stride_a,
                          const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
  for (int64_t i = 0; i < batch; ++i)
    gemm(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
         C + i * stride_c, ldc);
}

void add_channel_bias(float* y, const float* bias, int64_t outer, int64_t channels,
                      int64_t inner) {
#pragma omp parallel for
  for (int64_t row = 0; row < outer * channels; ++row) {
    const float b = bias[row % channels];
    float* y_row = y + row * inner;
    for (int64_t i = 0; i < inner; ++i) y_row[i] += b;
  }
}

void sum_channels(const float* x, float* out, int64_t outer, int64_t channels, int64_t inner) {
#pragma omp parallel for
  for (int64_t c = 0; c < channels; ++c) {
    double acc = 0.0;  // a reference sum: double keeps long reductions (N*H*W) exact enough
    for (int64_t o = 0; o < outer; ++o) {
      const float* x_row = x + (o * channels + c) * inner;
      for (int64_t i = 0; i < inner; ++i) acc += x_row[i];
    }
    out[c] = (float)acc;
  }
}

}  // namespace nanofed::cpu
