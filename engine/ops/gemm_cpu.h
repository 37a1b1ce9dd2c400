// gemm_cpu.h — nanofed's own single-threaded packed sgemm (GotoBLAS / BLIS structure) and the
// choice of its register-blocked micro-kernel. matmul_cpu.cpp splits large products into
// blocks of C and runs them on the engine's pool; this file knows nothing of threads.
//
// Every element of C is one chain of operations, whatever the blocking, the thread split or
// the micro-kernel: acc = beta * C (0 when beta == 0: C is not read, 1: C as is), then
// acc = fma(alpha * a_ik, b_kj, acc) for k = 0, 1, ..., K-1 in that order (alpha == 1 leaves
// a_ik as is). Cutting K into KC blocks stores acc in C and loads it back, which is exact.
// So the AVX-512, AVX2 and scalar kernels give the same bits, for any thread count.
#pragma once
#include <cstdint>
#include <functional>

namespace nanofed::cpu {

enum class GemmKernel { avx512, avx2, scalar };

// The kernel sgemm_packed uses: the widest this CPU supports, chosen once at start.
GemmKernel gemm_kernel();
// True when this CPU (and this build: x86-64 only for the vector kernels) can run `k`.
bool gemm_kernel_supported(GemmKernel k);
// Forces one kernel (tests compare them bit for bit); throws when it is not supported.
// Returns the previous one. Call it between ops.
GemmKernel set_gemm_kernel(GemmKernel k);
const char* gemm_kernel_name(GemmKernel k);

// C = alpha * op(A) op(B) + beta * C, row-major, the matmul.h semantics (beta == 0: C is not
// read), on the calling thread. M, N, K >= 1.
void sgemm_packed(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc);

// The pieces for products that share an operand or build one on the fly (a conv: the weights
// against every image, B packed straight from the image):
//
// PackB: pack(p0, kc, j0, nc, nr, dst) writes rows [p0, p0+kc) and columns [j0, j0+nc) of
// op(B) as NR-column panels: panel q (columns j0 + q*nr ...) at dst + q*kc*nr, row k of it at
// + (k-p0)*nr, zeros past column j0+nc. pack_matrix_b is the one for a stored matrix.
using PackB = std::function<void(int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr,
                                 float* dst)>;
PackB pack_matrix_b(bool trans_b, const float* B, int64_t ldb);

// alpha * op(A) [M, K] packed once (packed_a_floats(M, K) floats at dst, for the kernel in use
// now), then used by any number of sgemm_prepacked calls, from any thread.
struct PackedA {
  GemmKernel kernel;
  int64_t M, K;
  const float* data;
};
int64_t packed_a_floats(int64_t M, int64_t K);
PackedA pack_a_once(bool trans_a, int64_t M, int64_t K, float alpha, const float* A,
                    int64_t lda, float* dst);

// C [M, N] = a op(B) + beta * C on the calling thread, op(B) from pack_b: the same bits as
// sgemm_packed on the same operands.
void sgemm_prepacked(const PackedA& a, int64_t N, const PackB& pack_b, float beta, float* C,
                     int64_t ldc);

}  // namespace nanofed::cpu
