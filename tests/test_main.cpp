// test_main.cpp — the one Boost.Test module (header-only, so the binary runs where Boost is
// not installed). After the run it prints "N passed, N failed, N skipped" as the last line,
// counting test cases: skipped = CUDA cases whose precondition found no GPU.
#define BOOST_TEST_MODULE nanofed
#define BOOST_TEST_NO_MAIN
#include <boost/test/included/unit_test.hpp>

#include <cstdio>

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
  void test_unit_skipped(const boost::unit_test::test_unit& tu, boost::unit_test::const_string) override {
    if (tu.p_type == boost::unit_test::TUT_CASE) skipped++;
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

int main(int argc, char* argv[]) {
  const int rc = boost::unit_test::unit_test_main(&init_unit_test_suite, argc, argv);
  std::fflush(stderr);
  std::printf("%d passed, %d failed, %d skipped\n", g_counter.passed, g_counter.failed, g_counter.skipped);
  return rc;
}
