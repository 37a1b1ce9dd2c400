// matmul_cpu.cpp — CPU GEMMs: our packed sgemm (gemm_cpu.cpp) split into blocks on the
// engine's pool.
#include <algorithm>

#include "engine/common.h"
#include "engine/ops/gemm_cpu.h"
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

// Rows (or columns) of C per block of a split GEMM: a multiple of every micro-kernel's MR
// (12, 6, 4) and NR (32, 16, 8), large enough that re-packing the other operand per block is
// noise.
constexpr int64_t kGemmBlock = 192;

}  // namespace

// A large GEMM is cut into blocks of kGemmBlock rows of C (columns when C is wider than
// tall), each one single-threaded sgemm_packed, run on the pool. Each element of C is one
// fixed chain of fused multiply-adds (gemm_cpu.h) whatever block or thread computes it, so
// the bits do not depend on the thread count.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) return scale_matrix(C, ldc, M, N, beta);  // A, B not read
  const bool by_rows = M >= N;
  const int64_t along = by_rows ? M : N, across = by_rows ? N : M;
  const int64_t block_work = kGemmBlock * across * K / kMacsPerWork;
  if (!worth_parallel(M * N * K / kMacsPerWork) || along <= kGemmBlock)
    return sgemm_packed(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  parallel_for(NF_CEIL_DIV(along, kGemmBlock), block_work, [&](int64_t blk) {
    const int64_t at = blk * kGemmBlock, len = std::min(kGemmBlock, along - at);
    if (by_rows)  // rows [at, at + len) of C: the same rows of op(A)
      sgemm_packed(trans_a, trans_b, len, N, K, alpha, trans_a ? A + at : A + at * lda, lda, B,
                   ldb, beta, C + at * ldc, ldc);
    else  // columns [at, at + len) of C: the same columns of op(B)
      sgemm_packed(trans_a, trans_b, M, len, K, alpha, A, lda, trans_b ? B + at * ldb : B + at,
                   ldb, beta, C + at, ldc);
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
