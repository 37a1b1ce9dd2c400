#include "engine/threads.h"
#include "tests/test_util.h"
#include "tools/cli_args.h"

using nanofed::cli::ArgParser;
using nanofed::test::expect_error;

namespace {
ArgParser make() {
  ArgParser p("nanofed train", "trains one model");
  p.option("epochs", "2", "passes over the data").option("lr", "0.1", "learning rate");
  p.required("dataset", "which data").option("save", "", "optional, empty default").flag("verbose", "say more");
  return p;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cli_args)

BOOST_AUTO_TEST_CASE(parses_both_forms_and_defaults) {
  ArgParser p = make();
  BOOST_TEST(p.parse({"--dataset", "fmnist", "--lr=0.05", "--verbose"}));
  BOOST_TEST(p.str("dataset") == "fmnist");
  BOOST_TEST(p.number("lr") == 0.05);
  BOOST_TEST(p.integer("epochs") == 2);
  BOOST_TEST(!p.given("epochs"));
  BOOST_TEST(p.on("verbose"));
  BOOST_TEST(p.str("save").empty());
  BOOST_TEST(!make().parse({"--help"}));
  BOOST_TEST(p.help().find("--epochs VALUE") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_flags_name_the_flag) {
  expect_error([] { make().parse({"--dataset", "x", "--epoch", "3"}); }, {"nanofed train", "unknown flag '--epoch'"});
  expect_error([] { make().parse({"--dataset"}); }, {"--dataset needs a value"});
  expect_error([] { make().parse({"--epochs", "3"}); }, {"--dataset is required"});
  expect_error([] { make().parse({"fmnist"}); }, {"unexpected argument 'fmnist'"});
  expect_error([] { make().parse({"--dataset", "x", "--verbose=1"}); }, {"--verbose takes no value"});
  ArgParser p = make();
  p.parse({"--dataset", "x", "--epochs", "two", "--lr", "1e-3x"});
  expect_error([&] { p.integer("epochs"); }, {"--epochs expects an integer, got 'two'"});
  expect_error([&] { p.number("lr"); }, {"--lr expects a number, got '1e-3x'"});
  expect_error([&] { p.numbers("lr"); }, {"--lr expects a comma list of numbers, got '1e-3x'"});
  expect_error([&] { p.device("dataset"); }, {"--dataset expects cpu, cuda or cuda:N, got 'x'"});
}

BOOST_AUTO_TEST_CASE(every_parser_takes_threads) {
  const int before = nanofed::num_threads();
  BOOST_TEST(make().help().find("--threads VALUE") != std::string::npos);
  for (const char* bad : {"0", "-1", "two", "257", ""})
    expect_error([&] { make().parse({"--dataset", "x", "--threads", bad}); },
                 {"nanofed train: --threads expects an integer in [1, 256], got '" + std::string(bad) + "'"});
  BOOST_TEST(nanofed::num_threads() == before);  // a bad value changes nothing
  const int other = before == 3 ? 2 : 3;
  BOOST_TEST(make().parse({"--dataset", "x", "--threads=" + std::to_string(other)}));
  BOOST_TEST(nanofed::num_threads() == other);
  nanofed::set_num_threads(before);
}

BOOST_AUTO_TEST_CASE(comma_lists_and_devices) {
  ArgParser p = make();
  p.parse({"--dataset", "cpu", "--lr", "0.5,0.25,1e-3"});
  BOOST_TEST(p.numbers("lr") == std::vector<double>({0.5, 0.25, 1e-3}), boost::test_tools::per_element());
  BOOST_TEST(p.numbers("epochs") == std::vector<double>({2}), boost::test_tools::per_element());
  BOOST_TEST(p.device("dataset").is_cpu());
  p = make();
  p.parse({"--dataset", "true", "--save", "yes"});
  BOOST_TEST(p.boolean("dataset"));
  expect_error([&] { p.boolean("save"); }, {"--save expects true or false, got 'yes'"});
  for (const char* bad : {"0.5,,1", "0.5,", ",0.5", ""}) {
    ArgParser q = make();
    q.parse({"--dataset", "x", "--lr", bad});
    expect_error([&] { q.numbers("lr"); }, {"--lr expects a comma list of numbers"});
  }
  BOOST_TEST(nanofed::format_number_list({0.5, 0.1f, 3}) == "0.5,0.100000001,3");
  BOOST_TEST(nanofed::parse_number_list("", "x").empty());
}

BOOST_AUTO_TEST_SUITE_END()
