// gemm_cpu.cpp — a packed, cache-blocked sgemm with register-blocked micro-kernels
// (Goto & van de Geijn, "Anatomy of High-Performance Matrix Multiplication", 2008; the BLIS
// loop order).
//
// Loops, outermost first:  jc over N by NC | pc over K by KC: pack B[pc.., jc..] into NR-column
// panels | ic over M by MC: pack alpha * A[ic.., pc..] into MR-row panels | jr over the B panels
// | ir over the A panels: micro-kernel, an MR x NR tile of C held in registers over kc steps.
// The B micro-panel (KC x NR) stays in L1 across the ir loop, the A block (MC x KC) in L2.
//
// Napkin math (one core of a Sapphire Rapids class Xeon, ~2.1 GHz, 48 KiB L1d, 2 MiB L2):
// - Peak: 2 FMA units x 16 lanes x 2 FLOP = 64 FLOP/cycle, ~134 GFLOP/s. (OpenBLAS 0.3.21 does
//   not know this CPU and runs SSE3 kernels: ~28 GFLOP/s.)
// - AVX-512 kernel 12 x 32: 24 zmm accumulators + 2 for B; per k step 24 FMAs (12 cycles)
//   against 2 vector loads of B and 12 broadcasts of A (memory operands): FMA-bound.
// - KC <= 256 (K cut into equal blocks): the B micro-panel is 256 x 32 x 4 B = 32 KiB (L1);
//   the A block 144 x 256 x 4 B = 144 KiB (L2). A C tile (12 x 32 x 4 B = 1.5 KiB) is loaded
//   and stored once per K block: 3 KiB of traffic per 2 x 12 x 32 x 256 = 196 KFLOP.
// - Packed A and B elements are read from L2 / L1 once per tile; the packing itself reads
//   each element of A once per (N block, K block) and each of B once per (K block).
// - Packing: each packed element of B is reused M times, each of A N times. For a conv
//   forward [64 x 576] x [576 x 8192] (604 MFLOP) that is 4.7 M elements of B copied once.
#include "engine/ops/gemm_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine/common.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nanofed::cpu {
namespace {

constexpr int64_t kKC = 256;   // K block: a B micro-panel of kKC x NR fills about 2/3 of L1
constexpr int64_t kMC = 144;   // M block: a multiple of every MR (12, 6, 4)
constexpr int64_t kNC = 1536;  // N block: a multiple of every NR (32, 16, 8)
constexpr int kMaxMR = 12, kMaxNR = 32;

// One micro-kernel: C[rows x NR] (row stride ldc) = init + sum over kc steps, from a packed A
// panel (kc x MR, MR values per k) and a packed B panel (kc x NR). init: 0 when beta == 0 (C
// not read), C when beta == 1, beta * C otherwise. rows in [1, mr].
using TileFn = void (*)(int rows, int64_t kc, const float* a, const float* b, float* c,
                        int64_t ldc, float beta);
using PackAFn = void (*)(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc,
                         int64_t p0, int64_t kc, float alpha, float* dst);
using PackBFn = void (*)(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                         int64_t j0, int64_t nc, float* dst);
struct MicroKernel {
  int mr, nr;
  TileFn tile;
  PackAFn pack_a;
  PackBFn pack_b;
};

// ---- scalar (any architecture): the reference chain with std::fma ----
constexpr int kScalarMR = 4, kScalarNR = 8;

template <int ROWS>
void scalar_tile(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, float beta) {
  float acc[ROWS][kScalarNR];
  for (int r = 0; r < ROWS; ++r)
    for (int j = 0; j < kScalarNR; ++j)
      acc[r][j] = beta == 0.0f ? 0.0f : beta == 1.0f ? c[r * ldc + j] : beta * c[r * ldc + j];
  for (int64_t k = 0; k < kc; ++k, a += kScalarMR, b += kScalarNR)
    for (int r = 0; r < ROWS; ++r)
      for (int j = 0; j < kScalarNR; ++j) acc[r][j] = std::fma(a[r], b[j], acc[r][j]);
  for (int r = 0; r < ROWS; ++r)
    for (int j = 0; j < kScalarNR; ++j) c[r * ldc + j] = acc[r][j];
}

void scalar_kernel(int rows, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                   float beta) {
  switch (rows) {
    case 1: return scalar_tile<1>(kc, a, b, c, ldc, beta);
    case 2: return scalar_tile<2>(kc, a, b, c, ldc, beta);
    case 3: return scalar_tile<3>(kc, a, b, c, ldc, beta);
    default: return scalar_tile<4>(kc, a, b, c, ldc, beta);
  }
}

#if defined(__x86_64__)
// ---- AVX-512F: 12 x 32 (two zmm per row) ----
constexpr int kAvx512MR = 12, kAvx512NR = 32;

template <int ROWS>
__attribute__((target("avx512f,fma"))) void avx512_tile(int64_t kc, const float* a,
                                                        const float* b, float* c, int64_t ldc,
                                                        float beta) {
  __m512 acc[ROWS][2];
  const __m512 vbeta = _mm512_set1_ps(beta);
#pragma GCC unroll 12
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      if (beta == 0.0f) acc[r][h] = _mm512_setzero_ps();
      else if (beta == 1.0f) acc[r][h] = _mm512_loadu_ps(c + r * ldc + 16 * h);
      else acc[r][h] = _mm512_mul_ps(vbeta, _mm512_loadu_ps(c + r * ldc + 16 * h));
    }
  for (int64_t k = 0; k < kc; ++k, a += kAvx512MR, b += kAvx512NR) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int r = 0; r < ROWS; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < ROWS; ++r) {
    _mm512_storeu_ps(c + r * ldc, acc[r][0]);
    _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);
  }
}

void avx512_kernel(int rows, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                   float beta) {
  switch (rows) {
    case 1: return avx512_tile<1>(kc, a, b, c, ldc, beta);
    case 2: return avx512_tile<2>(kc, a, b, c, ldc, beta);
    case 3: return avx512_tile<3>(kc, a, b, c, ldc, beta);
    case 4: return avx512_tile<4>(kc, a, b, c, ldc, beta);
    case 5: return avx512_tile<5>(kc, a, b, c, ldc, beta);
    case 6: return avx512_tile<6>(kc, a, b, c, ldc, beta);
    case 7: return avx512_tile<7>(kc, a, b, c, ldc, beta);
    case 8: return avx512_tile<8>(kc, a, b, c, ldc, beta);
    case 9: return avx512_tile<9>(kc, a, b, c, ldc, beta);
    case 10: return avx512_tile<10>(kc, a, b, c, ldc, beta);
    case 11: return avx512_tile<11>(kc, a, b, c, ldc, beta);
    default: return avx512_tile<12>(kc, a, b, c, ldc, beta);
  }
}

// ---- AVX2 + FMA: 6 x 16 (two ymm per row; 12 accumulators of 16 registers) ----
constexpr int kAvx2MR = 6, kAvx2NR = 16;

template <int ROWS>
__attribute__((target("avx2,fma"))) void avx2_tile(int64_t kc, const float* a, const float* b,
                                                   float* c, int64_t ldc, float beta) {
  __m256 acc[ROWS][2];
  const __m256 vbeta = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      if (beta == 0.0f) acc[r][h] = _mm256_setzero_ps();
      else if (beta == 1.0f) acc[r][h] = _mm256_loadu_ps(c + r * ldc + 8 * h);
      else acc[r][h] = _mm256_mul_ps(vbeta, _mm256_loadu_ps(c + r * ldc + 8 * h));
    }
  for (int64_t k = 0; k < kc; ++k, a += kAvx2MR, b += kAvx2NR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < ROWS; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < ROWS; ++r) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + 8, acc[r][1]);
  }
}

void avx2_kernel(int rows, int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                 float beta) {
  switch (rows) {
    case 1: return avx2_tile<1>(kc, a, b, c, ldc, beta);
    case 2: return avx2_tile<2>(kc, a, b, c, ldc, beta);
    case 3: return avx2_tile<3>(kc, a, b, c, ldc, beta);
    case 4: return avx2_tile<4>(kc, a, b, c, ldc, beta);
    case 5: return avx2_tile<5>(kc, a, b, c, ldc, beta);
    default: return avx2_tile<6>(kc, a, b, c, ldc, beta);
  }
}
#endif  // __x86_64__

GemmKernel best_kernel() {
#if defined(__x86_64__)
  if (gemm_kernel_supported(GemmKernel::avx512)) return GemmKernel::avx512;
  if (gemm_kernel_supported(GemmKernel::avx2)) return GemmKernel::avx2;
#endif
  return GemmKernel::scalar;
}

std::atomic<GemmKernel> active_kernel{best_kernel()};

// Per-thread packing buffers, allocated once at their largest size (no allocation in the
// steady state), 64-byte aligned so the kernels' aligned loads of B hold.
struct PackBuffers {
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> a, b;
  PackBuffers()
      : a(alloc(kMC * kKC)), b(alloc(kKC * kNC)) {}
  static float* alloc(int64_t floats) {
    void* p = std::aligned_alloc(64, (size_t)floats * sizeof(float));  // a multiple of 64 bytes
    NF_CHECK(p != nullptr, "gemm: cannot allocate " << floats * 4 << " bytes of packing buffer");
    return static_cast<float*>(p);
  }
};

PackBuffers& pack_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// Packing: op(A) into MR-row panels (kc x MR each: the MR values of one k together), op(B)
// into NR-column panels (kc x NR each), zero rows / columns past the matrix edge. Both are one
// of two moves into a panel of width W (MR or NR, a template argument so copies have a fixed
// length): `count` lines of the stored matrix that run along the panel's width (copy_lines)
// or along k (transpose_lines).

// dst[k*W + r] = src[k*ld + r] for r < count, 0 for count <= r < W.
template <int W>
void copy_lines(const float* src, int64_t ld, int count, int64_t kc, float* dst) {
  for (int64_t k = 0; k < kc; ++k, src += ld, dst += W) {
    if (count == W) {
      std::memcpy(dst, src, W * sizeof(float));  // fixed size: inlined as vector moves
    } else {
      std::memcpy(dst, src, count * sizeof(float));
      std::memset(dst + count, 0, (W - count) * sizeof(float));
    }
  }
}

// dst[k*W + r] = src[r*ld + k] for r < count, 0 for count <= r < W: 4 x 4 blocks transposed
// in SSE registers (every x86-64 has SSE), the rest (W = 6: rows 4-5) element by element.
template <int W>
void transpose_lines(const float* src, int64_t ld, int count, int64_t kc, float* dst) {
  for (int r0 = 0; r0 < W; r0 += 4) {
    const float* s = src + r0 * ld;
    int64_t k = 0;
#if defined(__x86_64__)
    if (r0 + 4 <= count)
      for (; k + 4 <= kc; k += 4) {
        __m128 x0 = _mm_loadu_ps(s + k), x1 = _mm_loadu_ps(s + ld + k);
        __m128 x2 = _mm_loadu_ps(s + 2 * ld + k), x3 = _mm_loadu_ps(s + 3 * ld + k);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(dst + k * W + r0, x0), _mm_storeu_ps(dst + (k + 1) * W + r0, x1);
        _mm_storeu_ps(dst + (k + 2) * W + r0, x2), _mm_storeu_ps(dst + (k + 3) * W + r0, x3);
      }
#endif
    for (; k < kc; ++k)
      for (int r = r0; r < std::min(r0 + 4, W); ++r)
        dst[k * W + r] = r < count ? s[(r - r0) * ld + k] : 0.0f;
  }
}

// Rows [i0, i0+mc) and columns [p0, p0+kc) of op(A), times alpha (1 copies exactly).
template <int MR>
void pack_a(bool trans, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float alpha, float* dst) {
  for (int64_t ip = 0; ip < mc; ip += MR, dst += kc * MR) {
    const int rows = (int)std::min<int64_t>(MR, mc - ip);
    if (trans)  // op(A)(i, k) = A[k, i]
      copy_lines<MR>(A + p0 * lda + i0 + ip, lda, rows, kc, dst);
    else  // op(A)(i, k) = A[i, k]
      transpose_lines<MR>(A + (i0 + ip) * lda + p0, lda, rows, kc, dst);
    if (alpha != 1.0f)
      for (int64_t i = 0; i < kc * MR; ++i) dst[i] *= alpha;
  }
}

// Rows [p0, p0+kc) and columns [j0, j0+nc) of op(B). Untransposed, B is read row by row
// across all the panels (long contiguous reads the prefetcher follows: a row of B is usually
// in another page than the next), else panel by panel (rows of B run along k).
template <int NR>
void pack_b(bool trans, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* dst) {
  if (trans) {  // op(B)(k, j) = B[j, k]
    for (int64_t jp = 0; jp < nc; jp += NR, dst += kc * NR)
      transpose_lines<NR>(B + (j0 + jp) * ldb + p0, ldb, (int)std::min<int64_t>(NR, nc - jp), kc,
                          dst);
    return;
  }
  for (int64_t k = 0; k < kc; ++k)  // op(B)(k, j) = B[k, j]: one row of every panel
    for (int64_t jp = 0; jp < nc; jp += NR)
      copy_lines<NR>(B + (p0 + k) * ldb + j0 + jp, ldb, (int)std::min<int64_t>(NR, nc - jp), 1,
                     dst + jp * kc + k * NR);
}

MicroKernel micro_kernel(GemmKernel k) {
  switch (k) {
#if defined(__x86_64__)
    case GemmKernel::avx512:
      return {kAvx512MR, kAvx512NR, avx512_kernel, pack_a<kAvx512MR>, pack_b<kAvx512NR>};
    case GemmKernel::avx2: return {kAvx2MR, kAvx2NR, avx2_kernel, pack_a<kAvx2MR>, pack_b<kAvx2NR>};
#endif
    default: return {kScalarMR, kScalarNR, scalar_kernel, pack_a<kScalarMR>, pack_b<kScalarNR>};
  }
}

// A C tile narrower than NR (the last columns): the kernel writes a full-width scratch tile,
// of which only `cols` columns go back to C.
void edge_tile(const MicroKernel& mk, int rows, int cols, int64_t kc, const float* a,
               const float* b, float* c, int64_t ldc, float beta) {
  alignas(64) float tmp[kMaxMR * kMaxNR] = {};
  if (beta != 0.0f)
    for (int r = 0; r < rows; ++r) std::memcpy(tmp + r * mk.nr, c + r * ldc, cols * sizeof(float));
  mk.tile(rows, kc, a, b, tmp, mk.nr, beta);
  for (int r = 0; r < rows; ++r) std::memcpy(c + r * ldc, tmp + r * mk.nr, cols * sizeof(float));
}

// C[mc x nc] from packed A (mc rows) and packed B (nc columns), kc steps.
void macro_kernel(const MicroKernel& mk, int64_t mc, int64_t nc, int64_t kc, const float* pa,
                  const float* pb, float* C, int64_t ldc, float beta) {
  for (int64_t jr = 0; jr < nc; jr += mk.nr) {
    const int cols = (int)std::min<int64_t>(mk.nr, nc - jr);
    const float* b = pb + jr * kc;
    for (int64_t ir = 0; ir < mc; ir += mk.mr) {
      const int rows = (int)std::min<int64_t>(mk.mr, mc - ir);
      const float* a = pa + ir * kc;
      float* c = C + ir * ldc + jr;
      if (cols == mk.nr) mk.tile(rows, kc, a, b, c, ldc, beta);
      else edge_tile(mk, rows, cols, kc, a, b, c, ldc, beta);
    }
  }
}

}  // namespace

bool gemm_kernel_supported(GemmKernel k) {
#if defined(__x86_64__)
  __builtin_cpu_init();  // needed when called during static initialisation (active_kernel)
#endif
  switch (k) {
#if defined(__x86_64__)
    case GemmKernel::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    case GemmKernel::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    case GemmKernel::scalar: return true;
    default: return false;
  }
}

const char* gemm_kernel_name(GemmKernel k) {
  switch (k) {
    case GemmKernel::avx512: return "avx512";
    case GemmKernel::avx2: return "avx2";
    default: return "scalar";
  }
}

GemmKernel gemm_kernel() { return active_kernel.load(); }

GemmKernel set_gemm_kernel(GemmKernel k) {
  NF_CHECK(gemm_kernel_supported(k),
           "set_gemm_kernel: this CPU cannot run the " << gemm_kernel_name(k) << " kernel");
  return active_kernel.exchange(k);
}

namespace {

// K blocks of equal length (at most kKC): K = 800 runs as 4 x 200, not 3 x 256 + 32 (a short
// last block loads and stores C for little work). The bits do not depend on it (gemm_cpu.h).
int64_t k_block(int64_t K) {
  const int64_t blocks = NF_CEIL_DIV(K, kKC);
  return NF_CEIL_DIV(K, blocks);
}

// Where the loops get packed A blocks: packed now from a matrix, or read from a PackedA.
struct ASource {
  bool trans;
  const float* A;
  int64_t lda;
  float alpha;
  const float* packed;  // pack_a_once's layout, or nullptr
  int64_t m_padded;     // M rounded up to MR (the packed layout's rows)
  const float* block(const MicroKernel& mk, int64_t ic, int64_t mc, int64_t pc, int64_t kc,
                     float* buf) const {
    if (packed) return packed + pc * m_padded + ic * kc;
    mk.pack_a(trans, A, lda, ic, mc, pc, kc, alpha, buf);
    return buf;
  }
};

// The five loops (see the top of this file) around one micro-kernel.
void packed_loops(const MicroKernel& mk, const ASource& a, int64_t M, int64_t N, int64_t K,
                  const PackB& pack_b, float beta, float* C, int64_t ldc) {
  PackBuffers& buf = pack_buffers();
  const int64_t kcb = k_block(K);
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kcb) {
      const int64_t kc = std::min(kcb, K - pc);
      const float beta_block = pc == 0 ? beta : 1.0f;  // later K blocks continue the chain in C
      pack_b(pc, kc, jc, nc, mk.nr, buf.b.get());
      for (int64_t ic = 0; ic < M; ic += kMC) {
        const int64_t mc = std::min(kMC, M - ic);
        macro_kernel(mk, mc, nc, kc, a.block(mk, ic, mc, pc, kc, buf.a.get()), buf.b.get(),
                     C + ic * ldc + jc, ldc, beta_block);
      }
    }
  }
}

}  // namespace

int64_t packed_a_floats(int64_t M, int64_t K) {
  const int mr = micro_kernel(active_kernel.load()).mr;
  return NF_CEIL_DIV(M, mr) * mr * K;
}

PackedA pack_a_once(bool trans_a, int64_t M, int64_t K, float alpha, const float* A,
                    int64_t lda, float* dst) {
  const GemmKernel kernel = active_kernel.load();
  const MicroKernel mk = micro_kernel(kernel);
  const int64_t m_padded = NF_CEIL_DIV(M, mk.mr) * mk.mr, kcb = k_block(K);
  for (int64_t pc = 0; pc < K; pc += kcb) {  // the layout ASource::block reads
    const int64_t kc = std::min(kcb, K - pc);
    for (int64_t ic = 0; ic < M; ic += kMC)
      mk.pack_a(trans_a, A, lda, ic, std::min(kMC, M - ic), pc, kc, alpha,
                dst + pc * m_padded + ic * kc);
  }
  return {kernel, M, K, dst};
}

PackB pack_matrix_b(bool trans_b, const float* B, int64_t ldb) {
  const PackBFn pack = micro_kernel(active_kernel.load()).pack_b;
  return [=](int64_t p0, int64_t kc, int64_t j0, int64_t nc, int, float* dst) {
    pack(trans_b, B, ldb, p0, kc, j0, nc, dst);
  };
}

void sgemm_prepacked(const PackedA& a, int64_t N, const PackB& pack_b, float beta, float* C,
                     int64_t ldc) {
  const MicroKernel mk = micro_kernel(a.kernel);
  const ASource source{false, nullptr, 0, 1.0f, a.data, NF_CEIL_DIV(a.M, mk.mr) * mk.mr};
  packed_loops(mk, source, a.M, N, a.K, pack_b, beta, C, ldc);
}

void sgemm_packed(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                  const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                  int64_t ldc) {
  const MicroKernel mk = micro_kernel(active_kernel.load());
  const auto pack = [&](int64_t p0, int64_t kc, int64_t j0, int64_t nc, int, float* dst) {
    mk.pack_b(trans_b, B, ldb, p0, kc, j0, nc, dst);
  };
  packed_loops(mk, ASource{trans_a, A, lda, alpha, nullptr, 0}, M, N, K, pack, beta, C, ldc);
}

}  // namespace nanofed::cpu
