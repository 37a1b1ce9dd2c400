// matmul_cpu.cpp — CPU GEMMs through (single-threaded) OpenBLAS, split into blocks on the
// engine's pool.
#include <cblas.h>

#include <algorithm>
#include <climits>

#include "engine/common.h"
#include "engine/ops/matmul.h"
#include "engine/threads.h"

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

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
              (int)ldb, beta, C, (int)ldc);
}

// Rows (or columns) of C per block of a split GEMM: a multiple of every sgemm kernel's
// unroll, large enough that re-packing the other operand per block is noise.
constexpr int64_t kGemmBlock = 128;

}  // namespace

// A large GEMM is cut into blocks of kGemmBlock rows of C (columns when C is wider than
// tall), each one single-threaded sgemm, run on the pool. The cut depends only on M, N, K, and
// K is never cut, so every element of C has the same sum order for any thread count
// (OpenBLAS's own threading changes its K blocking with the thread count).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_matrix(C, ldc, M, N, beta);
  check_blas_int(M, "M"), check_blas_int(N, "N"), check_blas_int(K, "K");
  check_blas_int(lda, "lda"), check_blas_int(ldb, "ldb"), check_blas_int(ldc, "ldc");
  const bool by_rows = M >= N;
  const int64_t along = by_rows ? M : N, across = by_rows ? N : M;
  const int64_t block_work = kGemmBlock * across * K / kMacsPerWork;
  if (!worth_parallel(M * N * K / kMacsPerWork) || along <= kGemmBlock)
    return sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  parallel_for(NF_CEIL_DIV(along, kGemmBlock), block_work, [&](int64_t blk) {
    const int64_t at = blk * kGemmBlock, len = std::min(kGemmBlock, along - at);
    if (by_rows)  // rows [at, at + len) of C: the same rows of op(A)
      sgemm(trans_a, trans_b, len, N, K, alpha, trans_a ? A + at : A + at * lda, lda, B, ldb, beta,
            C + at * ldc, ldc);
    else  // columns [at, at + len) of C: the same columns of op(B)
      sgemm(trans_a, trans_b, M, len, K, alpha, A, lda, trans_b ? B + at * ldb : B + at, ldb, beta,
            C + at, ldc);
  });
}

void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float* A, int64_t lda, int64_t stride_a,
                          const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
  // Independent products (matmul.h): one per task; inside a task gemm runs its blocks on the
  // caller, the same blocks as alone, so the numbers do not change.
  parallel_for(batch, M * N * K / kMacsPerWork, [&](int64_t i) {
    gemm(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda, B + i * stride_b, ldb, beta,
         C + i * stride_c, ldc);
  });
}

}  // namespace nanofed::cpu
