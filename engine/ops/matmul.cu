// matmul.cu — GEMMs through cuBLAS (row-major on top of column-major). Everything runs on nanofed::cuda::stream().
#include <climits>

#include "engine/common.h"
#include "engine/cuda/runtime.h"
#include "engine/ops/matmul.h"

namespace nanofed::cuda {
namespace {

// Strict fp32 unless TF32 was opted into (set_tf32): the compute type is explicit so the
// choice does not depend on the handle's math mode.
cublasComputeType_t compute_type() {
  return tf32_enabled() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

int blas_int(int64_t v, const char* what) {
  NF_CHECK(v >= 0 && v <= INT_MAX, "gemm: " << what << " = " << v << " does not fit a cuBLAS int");
  return (int)v;
}

// C = beta * C (the K == 0 case). Bytes: 8*M*N.
__global__ void scale_matrix_kernel(float* C, int64_t ldc, int64_t M, int64_t N, float beta) {
  NF_KERNEL_LOOP(idx, M * N) {
    const int64_t i = idx / N, j = idx - i * N;
    float& c = C[i * ldc + j];
    c = beta == 0.0f ? 0.0f : beta * c;
  }
}

void scale_matrix(float* C, int64_t ldc, int64_t M, int64_t N, float beta) {
  scale_matrix_kernel<<<blocks_for(M * N), kThreads, 0, stream()>>>(C, ldc, M, N, beta);
  NF_KERNEL_CHECK();
}

}  // namespace

// Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major matrix with
// row stride ld is the column-major transpose with leading dimension ld. So: swap the operands
// and M/N, keep each operand's own transpose flag. FLOPs: 2*M*N*K.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_matrix(C, ldc, M, N, beta);
  CUBLAS_CHECK(cublasGemmEx(cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                            trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, blas_int(N, "N"),
                            blas_int(M, "M"), blas_int(K, "K"), &alpha, B, CUDA_R_32F,
                            blas_int(ldb, "ldb"), A, CUDA_R_32F, blas_int(lda, "lda"), &beta, C,
                            CUDA_R_32F, blas_int(ldc, "ldc"), compute_type(),
                            CUBLAS_GEMM_DEFAULT));
}

// Same swap, `batch` GEMMs in one call. FLOPs: 2*M*N*K*batch.
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const float* A, int64_t lda, int64_t stride_a,
                          const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                          int64_t ldc, int64_t stride_c, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < batch; ++i) scale_matrix(C + i * stride_c, ldc, M, N, beta);
    return;
  }
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      cublas(), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
      blas_int(N, "N"), blas_int(M, "M"), blas_int(K, "K"), &alpha, B, CUDA_R_32F,
      blas_int(ldb, "ldb"), (long long)stride_b, A, CUDA_R_32F, blas_int(lda, "lda"),
      (long long)stride_a, &beta, C, CUDA_R_32F, blas_int(ldc, "ldc"), (long long)stride_c,
      blas_int(batch, "batch"), compute_type(), CUBLAS_GEMM_DEFAULT));
}

}  // namespace nanofed::cuda
