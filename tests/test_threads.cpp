// engine/threads.h: the pool's contract (every index once, small loops on the caller, nested
// calls, exceptions), the thread-count knob, and GEMMs that do not depend on the thread count.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "engine/ops/matmul.h"
#include "engine/random.h"
#include "engine/threads.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;

namespace {

// Sets the thread count for one scope and restores the previous one.
struct Threads {
  int before = num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(before); }
};

struct Product {
  Tensor a, b;
  bool trans_a, trans_b;
};

std::vector<float> product_bytes(const Product& p, int threads) {
  Threads t(threads);
  return matmul(p.a, p.b, p.trans_a, p.trans_b).to_vector<float>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(threads)

BOOST_AUTO_TEST_CASE(every_index_runs_once_for_any_thread_count) {
  const int64_t n = 3 * kParallelMinWork + 17;  // worth parallel, uneven last range
  for (int threads : {1, 2, 3}) {
    Threads t(threads);
    std::vector<int> hits(n, 0);
    parallel_for(n, 1, [&](int64_t i) { hits[i] += 1; });
    BOOST_TEST(std::count(hits.begin(), hits.end(), 1) == n, threads << " threads");
  }
}

BOOST_AUTO_TEST_CASE(small_loops_run_on_the_caller_and_large_ones_are_shared) {
  Threads t(2);
  int calls = 0;
  std::thread::id who;
  parallel_ranges(1000, 1, [&](int64_t begin, int64_t end) {
    ++calls;
    who = std::this_thread::get_id();
    BOOST_TEST((begin == 0 && end == 1000));
  });
  BOOST_TEST(calls == 1);
  BOOST_TEST((who == std::this_thread::get_id()));
  // 40 ranges of 2 ms each: the sleeping worker wakes and takes some.
  std::mutex m;
  std::set<std::thread::id> ids;
  parallel_ranges(40, kParallelMinWork, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lk(m);
    ids.insert(std::this_thread::get_id());
  });
  BOOST_TEST(ids.size() == 2u);
}

BOOST_AUTO_TEST_CASE(nested_calls_and_exceptions) {
  Threads t(3);
  std::vector<int64_t> sums(8, 0);
  parallel_for(8, kParallelMinWork, [&](int64_t i) {  // each task runs an inner loop itself
    parallel_for(kParallelMinWork, 1, [&](int64_t k) { sums[i] += k % 3; });
  });
  for (int64_t s : sums) BOOST_TEST(s == sums[0]);
  BOOST_CHECK_THROW(parallel_for(64, kParallelMinWork,
                                 [](int64_t i) {
                                   if (i == 37) throw std::runtime_error("boom");
                                 }),
                    std::runtime_error);
  int64_t after = 0;  // the pool still works after a throwing job
  parallel_ranges(64, kParallelMinWork, [&](int64_t begin, int64_t end) {
    static std::mutex m;
    std::lock_guard<std::mutex> lk(m);
    after += end - begin;
  });
  BOOST_TEST(after == 64);
}

BOOST_AUTO_TEST_CASE(thread_count_is_checked) {
  BOOST_TEST(num_threads() >= 1);
  BOOST_TEST(default_num_threads() >= 1);
  expect_error([] { set_num_threads(0); }, {"set_num_threads: the thread count must be in [1, 256], got 0"});
  expect_error([] { set_num_threads(kMaxThreads + 1); }, {"got 257"});
}

// GEMMs large enough to be split (by rows and by columns, transposed or not) give the same
// bytes with 1, 2 and 3 threads. OpenBLAS's own threading did not: it changes how K is
// blocked with the thread count.
BOOST_AUTO_TEST_CASE(gemm_bytes_do_not_depend_on_the_thread_count) {
  Generator gen(7);
  const Tensor tall = randn({1000, 700}, gen), wide = randn({700, 1000}, gen);
  const Tensor few = randn({24, 700}, gen), rhs = randn({700, 300}, gen);
  // rows split (plain, A transposed), columns split (plain, B transposed)
  for (const Product& p : {Product{tall, rhs, false, false}, Product{wide, rhs, true, false},
                           Product{few, wide, false, false}, Product{few, tall, false, true}}) {
    const std::vector<float> one = product_bytes(p, 1);
    for (int threads : {2, 3}) {
      const std::vector<float> many = product_bytes(p, threads);
      BOOST_TEST(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0, threads << " threads");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
