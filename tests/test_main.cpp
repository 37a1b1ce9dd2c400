// test_main.cpp — the one Boost.Test module (header-only, so the binary runs where Boost is
// not installed). After the run it prints "N passed, N failed, N skipped" as the last line,
// counting test cases: skipped = CUDA cases whose precondition found no GPU.
//
// `nanofed_tests --gpu-info` prints the GPUs, driver and runtime versions and runs one kernel,
// or says "no usable GPU: <the CUDA error>" and exits 1 (the GPU pack's first step).
// NANOFED_REQUIRE_GPU=1 turns a missing GPU into failed CUDA cases instead of skipped ones.
#define BOOST_TEST_MODULE nanofed
#define BOOST_TEST_NO_MAIN
#include <boost/test/included/unit_test.hpp>

#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "engine/device.h"
#include "engine/tensor.h"

namespace {
struct CaseCounter : boost::unit_test::test_observer {
  int passed = 0, failed = 0, skipped = 0;
  bool current_failed = false;
  void test_unit_start(const boost::unit_test::test_unit& tu) override {
    if (tu.p_type == boost::unit_test::TUT_CASE) current_failed = false;
  }
  void test_unit_finish(const boost::unit_test::test_unit& tu, unsigned long) override {
    if (tu.p_type != boost::unit_test::TUT_CASE) return;
    (current_failed ? failed : passed)++;
  }
  // Skipped = a precondition said no (a CUDA case without a GPU). Units left out by
  // --run_test or disabled are reported here too, as "disabled": they are not counted, so a
  // filtered run (the GPU pack's --run_test=@cuda) says "0 skipped" when every case ran.
  void test_unit_skipped(const boost::unit_test::test_unit& tu, boost::unit_test::const_string) override {
    if (tu.p_type == boost::unit_test::TUT_CASE && tu.is_enabled()) skipped++;
  }
  void test_unit_aborted(const boost::unit_test::test_unit&) override { current_failed = true; }
  void test_unit_timed_out(const boost::unit_test::test_unit&) override { current_failed = true; }
  void assertion_result(boost::unit_test::assertion_result ar) override {
    if (ar != boost::unit_test::AR_PASSED) current_failed = true;
  }
  void exception_caught(const boost::execution_exception&) override { current_failed = true; }
};
CaseCounter g_counter;

struct RegisterCounter {
  RegisterCounter() { boost::unit_test::framework::register_observer(g_counter); }
  ~RegisterCounter() { boost::unit_test::framework::deregister_observer(g_counter); }
};
}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(RegisterCounter);

namespace {
// The device report, then one kernel launch and copy back: a binary built without SASS/PTX
// for this GPU, or a broken driver, fails here rather than in the first test.
int gpu_info() {
  if (!nanofed::cuda_available()) {
    std::fprintf(stderr, "no usable GPU: %s\n", nanofed::cuda_unavailable_reason().c_str());
    return 1;
  }
  try {
    std::printf("%s\n", nanofed::cuda_device_report().c_str());
    const std::vector<float> back =
        nanofed::full({3}, 2.5f, nanofed::Device::cuda()).to_vector<float>();
    if (back != std::vector<float>(3, 2.5f)) {
      std::fprintf(stderr, "no usable GPU: a fill kernel returned wrong values\n");
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "no usable GPU: %s\n", e.what());
    return 1;
  }
  std::printf("kernel launch: ok\n");
  return 0;
}
}  // namespace

int main(int argc, char* argv[]) {
  if (argc == 2 && std::strcmp(argv[1], "--gpu-info") == 0) return gpu_info();
  const int rc = boost::unit_test::unit_test_main(&init_unit_test_suite, argc, argv);
  std::fflush(stderr);
  std::printf("%d passed, %d failed, %d skipped\n", g_counter.passed, g_counter.failed, g_counter.skipped);
  return rc;
}
