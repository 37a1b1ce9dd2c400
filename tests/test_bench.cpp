// bench/: the pure logic of nanofed_bench (no timing is asserted anywhere): medians, rounds,
// the printed columns, the line protocol with torch_ref.py, and that torch_ref.py offers the
// same workloads as nanofed's registry. Runs from the repository root, as `make test` does.
#include <cmath>
#include <regex>
#include <set>

#include "bench/protocol.h"
#include "bench/report.h"
#include "bench/workloads.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::bench;
using nanofed::test::expect_error;

BOOST_AUTO_TEST_SUITE(bench_logic)

BOOST_AUTO_TEST_CASE(median_of_odd_even_and_unsorted_counts) {
  BOOST_TEST(median({3.0}) == 3.0);
  BOOST_TEST(median({5.0, 1.0, 3.0}) == 3.0);
  BOOST_TEST(median({4.0, 1.0, 3.0, 2.0}) == 2.5);  // the mean of the two middle values
  BOOST_TEST(median({9.0, 1.0, 1.0, 9.0, 2.0, 8.0}) == 5.0);
  expect_error([] { median({}); }, {"median", "no values"});
}

BOOST_AUTO_TEST_CASE(iterations_per_round_fill_the_target) {
  BOOST_TEST(iterations_per_round(0.001, 0.5) == 500);
  BOOST_TEST(iterations_per_round(0.3, 0.5) == 2);   // rounded up: a round is at least the target
  BOOST_TEST(iterations_per_round(2.0, 0.5) == 1);   // never 0
  BOOST_TEST(iterations_per_round(0.0, 0.5, 1000) == 1000);  // below the clock's resolution
  BOOST_TEST(iterations_per_round(1e-9, 0.5, 1000) == 1000);
}

BOOST_AUTO_TEST_CASE(timed_rounds_fit_the_budget) {
  BOOST_TEST(timed_rounds(0.01, 0.01, 0.5, 20, 5) == 5);  // fast: rounds last the target, 1 s a pair
  BOOST_TEST(timed_rounds(3.0, 2.0, 0.5, 20, 5) == 4);    // 5 s a pair of rounds
  BOOST_TEST(timed_rounds(20.0, 8.0, 0.5, 20, 5) == 1);   // never 0
  BOOST_TEST(timed_rounds(6.0, 0.0, 0.5, 20, 5) == 3);    // nanofed alone
  BOOST_TEST(timed_rounds(0.01, 0.01, 0.2, 0, 5) == 1);   // --quick: no budget
}

BOOST_AUTO_TEST_CASE(ratio_and_columns_format) {
  BOOST_TEST(format_ratio(321.0, 100.0) == "3.21x");
  BOOST_TEST(format_ratio(1.0, 4.0) == "0.25x");
  BOOST_TEST(format_ratio(1.0, 0.0) == "-");  // torch did not run
  BOOST_TEST(format_ratio(NAN, 1.0) == "-");
  BOOST_TEST(format_rate(1234.5678, "img/s") == "1235 img/s");
  BOOST_TEST(format_rate(0.21434, "rounds/s") == "0.2143 rounds/s");
  BOOST_TEST(format_rate(0.0, "img/s") == "-");
  BOOST_TEST(format_mib(12.34 * 1048576) == "12.3 MiB");
  BOOST_TEST(format_mib(-1) == "-");
}

BOOST_AUTO_TEST_CASE(replies_parse_into_fields_or_an_error) {
  const Reply hello = parse_reply("ok torch=1.13.0a0 threads=2 python=3.11.2\n");
  BOOST_TEST(hello.ok);
  BOOST_TEST(reply_field(hello, "torch") == "1.13.0a0");
  BOOST_TEST(reply_number(hello, "threads") == 2.0);
  const Reply run = parse_reply("ok seconds=0.5125\r\n");
  BOOST_TEST(reply_number(run, "seconds") == 0.5125);
  BOOST_TEST(parse_reply("ok").fields.empty());
  const Reply err = parse_reply("err KeyError: unknown workload 'x y'");
  BOOST_TEST(!err.ok);
  BOOST_TEST(err.error == "KeyError: unknown workload 'x y'");
  expect_error([] { parse_reply("Traceback (most recent call last):"); }, {"torch_ref.py", "unexpected reply"});
  expect_error([] { parse_reply("ok seconds"); }, {"unexpected reply 'ok seconds'"});
  expect_error([] { parse_reply("ok =1"); }, {"unexpected reply"});
  expect_error([] { parse_reply("okay"); }, {"unexpected reply"});
  expect_error([] { reply_number(parse_reply("ok seconds=fast"), "seconds"); }, {"seconds='fast'", "not a number"});
  expect_error([] { reply_number(parse_reply("ok seconds=1.5s"), "seconds"); }, {"not a number"});
  expect_error([] { reply_field(parse_reply("ok a=1"), "items"); }, {"no 'items='"});
}

// torch_ref.py's WORKLOADS table lists the same names, default lists and TF32 flags as
// workload_specs(): a workload on one side only would print "-" without anyone noticing.
BOOST_AUTO_TEST_CASE(torch_ref_offers_the_same_workloads) {
  const std::string py = test::read_text("bench/torch_ref.py");
  const std::regex entry(R"re(\n    "(\w+)": \(.*, (True|False), (True|False), (True|False)\),)re");
  std::set<std::string> theirs, ours;
  for (auto it = std::sregex_iterator(py.begin(), py.end(), entry); it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    theirs.insert(m[1].str() + (m[2] == "True" ? " cpu" : "") + (m[3] == "True" ? " cuda" : "") +
                  (m[4] == "True" ? " tf32" : ""));
  }
  for (const WorkloadSpec& s : workload_specs())
    ours.insert(s.name + (s.cpu_default ? " cpu" : "") + (s.cuda_default ? " cuda" : "") + (s.tf32 ? " tf32" : ""));
  BOOST_TEST(ours.size() == workload_specs().size());  // no name twice
  for (const std::string& w : ours) BOOST_TEST(theirs.count(w) == 1u, "torch_ref.py has no '" << w << "'");
  for (const std::string& w : theirs) BOOST_TEST(ours.count(w) == 1u, "workload_specs() has no '" << w << "'");
}

BOOST_AUTO_TEST_SUITE_END()
