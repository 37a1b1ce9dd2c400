// matmul.h — matrix products: the raw GEMM on both devices, matmul (2-D and batched 3-D) and
// linear (x W^T + b, like torch.nn.functional.linear).
//
// Precision: strict fp32 by default on both devices. On the GPU, TF32 tensor-op GEMMs are an
// opt-in through nanofed::cuda::set_tf32(true) (engine/cuda/runtime.h): every GEMM here (and
// so every convolution, which runs through these GEMMs) then uses CUBLAS_COMPUTE_32F_FAST_TF32
// (10-bit mantissa inputs, fp32 accumulation; expect ~1e-3 relative error). The CPU side is
// always fp32 (our packed sgemm, engine/ops/gemm_cpu.h: one fma chain per element, the same
// bits for any thread count).
//
// Gradient convention: every op is differentiable in all its tensor inputs; the backward
// skips the GEMM of each input that does not require grad (a PGD step that only wants
// d(loss)/d(x) never computes weight gradients).
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

// C = op(A) op(B) for 2-D a [M,K] (or [K,M] when trans_a) and b [K,N] (or [N,K] when
// trans_b) -> [M,N]; batched for 3-D a [B,M,K] and b [B,K,N] -> [B,M,N] (same B, no
// broadcasting). Like torch.matmul(a.mT if trans_a else a, b.mT if trans_b else b).
// Backward: dA = dC op(B)^T, dB = op(A)^T dC (transposed back when the input was).
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// y = x W^T + b, like torch.nn.functional.linear: x [..., in] (rank >= 1), weight [out, in],
// bias [out] or undefined -> y [..., out]. One GEMM, then the bias is added in one pass.
// Backward: dx = dy W, dW = dy^T x, db = sum of dy over all leading dims.
// Grouped (a nanofed extension): weight [G, out, in], bias [G, out] and x [G*n, in]: rows
// [g*n, (g+1)*n) use weight[g] (one strided-batched GEMM per product), each group with the
// bits an ungrouped linear on its rows alone gives on the CPU; the gradients keep the group
// dim (dW [G, out, in], db [G, out]).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace nanofed

// Raw kernels. Row-major semantics: C = alpha * op(A) op(B) + beta * C with op(A) [M,K],
// op(B) [K,N], C [M,N]; lda/ldb/ldc are row strides (in elements) of the stored matrices.
// With beta == 0, C is not read (may hold garbage / NaN).
// gemm_strided_batched: `batch` independent GEMMs, matrix i at A + i*stride_a etc.
// (stride 0 broadcasts one matrix to every batch entry).
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_MATMUL_KERNELS                                                                       \
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,             \
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,       \
          int64_t ldc);                                                                         \
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,          \
                          float alpha, const float* A, int64_t lda, int64_t stride_a,           \
                          const float* B, int64_t ldb, int64_t stride_b, float beta, float* C,  \
                          int64_t ldc, int64_t stride_c, int64_t batch);                        \

NF_DECLARE_KERNELS(NF_MATMUL_KERNELS)
