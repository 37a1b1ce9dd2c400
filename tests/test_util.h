// test_util.h — the three tools every op test uses:
//   gradcheck(...)          finite differences vs autograd on the CPU reference
//   check_cuda_parity(...)  CPU reference vs CUDA kernels, forward and backward
//   expect_close(...)       elementwise |a-b| <= atol + rtol*|b| with a readable report
// and NF_CUDA_TEST_CASE, a test case labelled "cuda" that is reported as skipped when no GPU
// answers (so `make test` on a GPU-less machine says "N skipped" instead of failing).
#pragma once
#include <boost/test/unit_test.hpp>
#include <functional>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::test {

// Precondition for CUDA cases.
struct GpuPresent {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const;
};

#define NF_CUDA_TEST_CASE(name)                                                   \
  BOOST_AUTO_TEST_CASE(name, *boost::unit_test::label("cuda") *                   \
                                 boost::unit_test::precondition(::nanofed::test::GpuPresent()))

// Brace-list tensors: fv({1, 2, 3, 4}, {2, 2}) f32, labels({0, 2}) i32 [n] (from_vector is
// overloaded on the element type, so a bare list is ambiguous).
Tensor fv(const std::vector<float>& values, const Shape& shape, Device device = Device::cpu());
Tensor labels(const std::vector<int32_t>& values);
// n labels in [0, classes), uniform, from Generator(seed).
Tensor random_labels(int64_t n, int64_t classes, uint64_t seed);
// The names of a named_parameters() / state_dict() list, in order.
std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& named);

// Random f32 tensor on the CPU: N(0,1)*scale + shift, seeded. Never all zeros.
Tensor random_tensor(const Shape& shape, uint64_t seed, float scale = 1.0f, float shift = 0.0f);
// Uniform in [low, high), seeded.
Tensor random_uniform(const Shape& shape, uint64_t seed, float low, float high);

// Values `step` apart in a scrambled order (pairwise distinct: no ties for max or pooling),
// then shifted by `shift`. A permutation of 0..n-1 because 7919 is prime (n < 7919 or coprime).
Tensor distinct_values(const Shape& shape, float step, float shift);

// expect_close of any-dtype `t` (cast to f32) against literal expected values.
void expect_values(const Tensor& t, const std::vector<float>& expected, const std::string& what,
                   float atol = 1e-5f);

// Passes (BOOST_CHECK) iff every |actual - expected| <= atol + rtol * |expected|; on failure
// prints `what`, the max error, and the first few mismatching indices with both values.
void expect_close(const Tensor& actual, const Tensor& expected, float atol, float rtol,
                  const std::string& what);
void expect_close(const std::vector<float>& actual, const std::vector<float>& expected,
                  float atol, float rtol, const std::string& what);

using TensorFn = std::function<Tensor(const std::vector<Tensor>& inputs)>;

struct GradcheckOptions {
  float step = 1e-2f;   // central-difference step (float reference: keep it large-ish)
  float atol = 1e-2f;
  float rtol = 1e-2f;
  // Elements whose value is within kink_range of a kink point (e.g. relu at 0) are skipped.
  std::vector<float> kinks;
  float kink_range = 2e-2f;
  int64_t max_elements = 400;  // per input: at most this many (evenly strided) are probed
  bool report = true;          // false: only return the count (to test the checker itself)
};

// For every input with requires_grad(): compares autograd's d<R, f(x)>/dx (R a fixed random
// weighting of the output) with the central difference. Fails through BOOST_CHECK; returns
// the number of mismatching elements.
int64_t gradcheck(const std::string& what, const TensorFn& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& options = GradcheckOptions());

// Runs f on the CPU inputs and on CUDA copies of them (requires_grad kept), compares the
// outputs, then backpropagates the same random R on both devices and compares the input
// gradients. Call only inside NF_CUDA_TEST_CASE.
void check_cuda_parity(const std::string& what, const TensorFn& f,
                       const std::vector<Tensor>& cpu_inputs, float atol = 1e-4f,
                       float rtol = 1e-4f);

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  std::string path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

// Whole-file text I/O for output checks (read_text fails the test when the file is unreadable).
std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);  // creates parent dirs
std::vector<std::string> split_lines(const std::string& text);  // without the '\n's

// Expects `fn` to throw nanofed::Error whose message is one line containing every fragment.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments);

// Bit-for-bit equality (memcmp, so -0 != +0 and NaN payloads count): the same arithmetic twice.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b);
bool same_bits(const Tensor& a, const Tensor& b);

}  // namespace nanofed::test
