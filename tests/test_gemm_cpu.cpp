// test_gemm_cpu.cpp — nanofed's packed CPU sgemm (engine/ops/gemm_cpu.h): tails of every
// blocking (M, N, K around MR, NR, KC), the four transposes, strides, alpha/beta against a
// double-accumulated reference and against OpenBLAS; the documented fma chain bit for bit;
// the same bits for any thread count and from every micro-kernel this CPU has.
#include <boost/test/unit_test.hpp>
#include <cblas.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/ops/gemm_cpu.h"
#include "engine/ops/matmul.h"
#include "engine/threads.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::same_bits;
using nanofed::test::random_tensor;

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// One product: op(A) [M,K], op(B) [K,N], C [M,N], each stored with a row stride `pad` larger
// than its row; the padding holds NaN, which must never reach C (or be overwritten in C).
struct Case {
  bool ta, tb;
  int64_t M, N, K, pad;
  float alpha, beta;
  int64_t lda() const { return (ta ? M : K) + pad; }
  int64_t ldb() const { return (tb ? K : N) + pad; }
  int64_t ldc() const { return N + pad; }
  float a(const std::vector<float>& A, int64_t i, int64_t k) const {
    return ta ? A[k * lda() + i] : A[i * lda() + k];
  }
  float b(const std::vector<float>& B, int64_t k, int64_t j) const {
    return tb ? B[j * ldb() + k] : B[k * ldb() + j];
  }
  std::string name() const {
    return "M" + std::to_string(M) + " N" + std::to_string(N) + " K" + std::to_string(K) +
           " ta" + std::to_string(ta) + " tb" + std::to_string(tb) + " pad" +
           std::to_string(pad) + " alpha" + std::to_string(alpha) + " beta" +
           std::to_string(beta);
  }
};

struct Operands {
  std::vector<float> A, B, C;
};

// rows x cols stored with stride ld: random values, NaN in the padding.
std::vector<float> padded(int64_t rows, int64_t cols, int64_t ld, uint64_t seed) {
  std::vector<float> out(rows * ld, kNaN);
  if (rows * cols == 0) return out;
  const std::vector<float> v = random_tensor({rows, cols}, seed).to_vector<float>();
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(out.data() + r * ld, v.data() + r * cols, cols * sizeof(float));
  return out;
}

Operands make_operands(const Case& c, uint64_t seed) {
  Operands o;
  o.A = c.ta ? padded(c.K, c.M, c.lda(), seed) : padded(c.M, c.K, c.lda(), seed);
  o.B = c.tb ? padded(c.N, c.K, c.ldb(), seed + 1) : padded(c.K, c.N, c.ldb(), seed + 1);
  o.C = padded(c.M, c.N, c.ldc(), seed + 2);
  if (c.beta == 0.0f)  // beta == 0: C is not read, so NaN there must not come out
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) o.C[i * c.ldc() + j] = kNaN;
  return o;
}

std::vector<float> run_gemm(const Case& c, const Operands& o) {
  std::vector<float> C = o.C;
  cpu::gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, o.A.data(), c.lda(), o.B.data(), c.ldb(), c.beta,
            C.data(), c.ldc());
  return C;
}

// The padding of C is untouched and every element is within a bound on fp32 rounding:
// 2 K eps (|alpha| sum |a||b| + |beta c|) around the double-accumulated value.
void check_against_reference(const Case& c, const Operands& o, const std::vector<float>& C) {
  const double eps = std::ldexp(1.0, -24);
  int bad = 0;
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = c.N; j < c.ldc(); ++j) bad += !std::isnan(C[i * c.ldc() + j]);
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0.0, mag = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        acc += (double)c.a(o.A, i, k) * c.b(o.B, k, j);
        mag += std::fabs((double)c.a(o.A, i, k) * c.b(o.B, k, j));
      }
      const double c0 = c.beta == 0.0f ? 0.0 : (double)o.C[i * c.ldc() + j];
      const double expected = c.alpha * acc + c.beta * c0;
      const double tol =
          2.0 * (c.K + 2) * eps * (std::fabs(c.alpha) * mag + std::fabs(c.beta * c0));
      const float got = C[i * c.ldc() + j];
      if (!(std::fabs(got - expected) <= tol)) {
        if (bad < 5)
          BOOST_ERROR(c.name() << ": C[" << i << "," << j << "] = " << got << ", expected "
                               << expected << " +- " << tol);
        ++bad;
      }
    }
  }
  BOOST_CHECK_MESSAGE(bad == 0, c.name() << ": " << bad << " bad elements");
}

// The chain gemm_cpu.h documents, element by element: acc = beta * c (0 for beta == 0),
// then acc = fma(alpha * a_ik, b_kj, acc) for k ascending.
std::vector<float> fma_chain(const Case& c, const Operands& o) {
  std::vector<float> C = o.C;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      float& cij = C[i * c.ldc() + j];
      float acc = c.beta == 0.0f ? 0.0f : c.beta * cij;
      for (int64_t k = 0; k < c.K; ++k) {
        const float a = c.alpha == 1.0f ? c.a(o.A, i, k) : c.alpha * c.a(o.A, i, k);
        acc = std::fma(a, c.b(o.B, k, j), acc);
      }
      cij = acc;
    }
  return C;
}

// Sizes around every blocking of every kernel: MR (12, 6, 4), NR (32, 16, 8), KC (256), 0, 1.
const std::vector<std::array<int64_t, 3>> kTailShapes = {
    {1, 1, 1},   {11, 31, 5},  {13, 33, 7},  {12, 32, 256}, {5, 17, 257},
    {25, 9, 3},  {7, 65, 513}, {3, 2, 1},    {37, 47, 300}, {0, 5, 3},
    {4, 0, 3},   {6, 16, 0},   {145, 40, 9}, {2, 1537, 2},
};

struct Threads {
  int before = num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(before); }
};

struct Kernel {
  cpu::GemmKernel before;
  explicit Kernel(cpu::GemmKernel k) : before(cpu::set_gemm_kernel(k)) {}
  ~Kernel() { cpu::set_gemm_kernel(before); }
};

// The scalar kernel is the reference: `kind` must give its bits on every tail shape, for
// beta 0 and not, with and without transposes.
void check_kernel_matches_scalar(cpu::GemmKernel kind) {
  uint64_t seed = 800;
  for (auto [M, N, K] : kTailShapes)
    for (auto [ta, tb] : {std::pair{false, false}, {true, true}}) {
      const Case c{ta, tb, M, N, K, 1, 1.0f, K % 2 ? 0.0f : 0.5f};
      const Operands o = make_operands(c, seed += 3);
      std::vector<float> scalar, vector;
      {
        Kernel k(cpu::GemmKernel::scalar);
        scalar = run_gemm(c, o);
      }
      {
        Kernel k(kind);
        vector = run_gemm(c, o);
      }
      BOOST_CHECK_MESSAGE(same_bits(vector, scalar),
                          c.name() << " kernel " << cpu::gemm_kernel_name(kind));
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm_cpu)

BOOST_AUTO_TEST_CASE(tails_transposes_strides_alpha_beta_match_reference) {
  uint64_t seed = 1;
  for (auto [M, N, K] : kTailShapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (auto [pad, alpha, beta] : {std::tuple<int64_t, float, float>{0, 1.0f, 0.0f},
                                        {3, 1.0f, 1.0f},
                                        {5, -0.5f, 0.75f}}) {
          const Case c{ta, tb, M, N, K, pad, alpha, beta};
          const Operands o = make_operands(c, seed += 3);
          check_against_reference(c, o, run_gemm(c, o));
        }
}

BOOST_AUTO_TEST_CASE(each_element_is_one_fma_chain_in_k_order) {
  // Bit for bit, including K > KC (the chain continues through C) and alpha, beta != 1.
  uint64_t seed = 500;
  for (auto [M, N, K] : kTailShapes)
    for (auto [ta, tb] : {std::pair{false, false}, {true, false}, {false, true}, {true, true}}) {
      const Case c{ta, tb, M, N, K, 2, K % 2 ? 1.0f : 1.5f, M % 2 ? 0.0f : -0.25f};
      const Operands o = make_operands(c, seed += 3);
      BOOST_CHECK_MESSAGE(same_bits(run_gemm(c, o), fma_chain(c, o)), c.name());
    }
}

BOOST_AUTO_TEST_CASE(conv_shapes_match_openblas) {
  // The conv GEMMs (forward, dW, dX of a 3x3 conv with 16 channels on 8x8 images, 4 images)
  // against cblas_sgemm, the previous CPU GEMM, within the rounding bound.
  const int64_t K = 16, CRS = 16 * 9, NP = 4 * 64;
  for (const Case& c : {Case{false, false, K, NP, CRS, 0, 1.0f, 0.0f},
                        Case{false, true, K, CRS, NP, 0, 1.0f, 1.0f},
                        Case{true, false, CRS, NP, K, 0, 1.0f, 0.0f}}) {
    const Operands o = make_operands(c, 900);
    std::vector<float> blas = o.C;
    cblas_sgemm(CblasRowMajor, c.ta ? CblasTrans : CblasNoTrans, c.tb ? CblasTrans : CblasNoTrans,
                (int)c.M, (int)c.N, (int)c.K, c.alpha, o.A.data(), (int)c.lda(), o.B.data(),
                (int)c.ldb(), c.beta, blas.data(), (int)c.ldc());
    const std::vector<float> ours = run_gemm(c, o);
    check_against_reference(c, o, ours);
    // Both within 2 K eps sum |a||b| of the exact value: so within twice that of each other.
    double worst = 0.0;
    for (size_t i = 0; i < ours.size(); ++i)
      worst = std::max(worst, (double)std::fabs(ours[i] - blas[i]));
    BOOST_CHECK_MESSAGE(worst < 1e-3, c.name() << ": " << worst << " from OpenBLAS");
  }
}

BOOST_AUTO_TEST_CASE(same_bits_for_1_2_3_threads) {
  // Large enough to be split into blocks on the pool, by rows and by columns.
  uint64_t seed = 700;
  for (const Case& c : {Case{false, false, 400, 300, 300, 1, 1.0f, 0.0f},
                        Case{true, true, 64, 1000, 600, 0, 1.0f, 1.0f}}) {
    const Operands o = make_operands(c, seed += 3);
    std::vector<float> one;
    {
      Threads t(1);
      one = run_gemm(c, o);
    }
    for (int n : {2, 3}) {
      Threads t(n);
      BOOST_CHECK_MESSAGE(same_bits(run_gemm(c, o), one), c.name() << " threads " << n);
    }
  }
}

BOOST_AUTO_TEST_CASE(prepacked_a_gives_the_same_bits) {
  // A packed once (pack_a_once) and B through pack_matrix_b, as a conv uses them, against
  // cpu::gemm on the same operands: K around and above the K block (800 runs as 4 x 200).
  std::vector<std::array<int64_t, 3>> shapes = kTailShapes;
  shapes.push_back({64, 196, 800});
  uint64_t seed = 1000;
  for (auto [M, N, K] : shapes)
    for (auto [ta, tb] : {std::pair{false, false}, {true, true}}) {
      if (M == 0 || N == 0 || K == 0) continue;  // gemm's own early exits, not the kernel's
      const Case c{ta, tb, M, N, K, 1, K % 2 ? 1.0f : 0.5f, M % 2 ? 0.0f : 1.0f};
      const Operands o = make_operands(c, seed += 3);
      std::vector<float> packed(cpu::packed_a_floats(M, K)), C = o.C;
      const cpu::PackedA a =
          cpu::pack_a_once(ta, M, K, c.alpha, o.A.data(), c.lda(), packed.data());
      cpu::sgemm_prepacked(a, N, cpu::pack_matrix_b(tb, o.B.data(), c.ldb()), c.beta, C.data(),
                           c.ldc());
      BOOST_CHECK_MESSAGE(same_bits(C, run_gemm(c, o)), c.name());
    }
}

// A precondition: the test runs only where this CPU (and build) has the kernel.
template <cpu::GemmKernel kind>
bool cpu_has(boost::unit_test::test_unit_id) {
  return cpu::gemm_kernel_supported(kind);
}

BOOST_AUTO_TEST_CASE(avx512_kernel_gives_the_scalar_bits,
                     *boost::unit_test::precondition(cpu_has<cpu::GemmKernel::avx512>)) {
  check_kernel_matches_scalar(cpu::GemmKernel::avx512);
  // The widest kernel is the default where the CPU has it (the speed the benchmarks need).
  BOOST_CHECK_EQUAL(cpu::gemm_kernel_name(cpu::gemm_kernel()), "avx512");
}

BOOST_AUTO_TEST_CASE(avx2_kernel_gives_the_scalar_bits,
                     *boost::unit_test::precondition(cpu_has<cpu::GemmKernel::avx2>)) {
  check_kernel_matches_scalar(cpu::GemmKernel::avx2);
}

BOOST_AUTO_TEST_SUITE_END()
