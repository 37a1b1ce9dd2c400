// test_cli_args.cpp — the command line: the flag parser, the suggestions for unknown names
// (shared with the config keys), the command dispatch with its help and exit statuses, and the
// usage errors of every command.
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/text.h"
#include "engine/threads.h"
#include "tests/command_util.h"
#include "tests/test_util.h"
#include "tools/attack_command.h"
#include "tools/certify_command.h"
#include "tools/cli_args.h"
#include "tools/demo_command.h"
#include "tools/fl_command.h"
#include "tools/train_command.h"

using nanofed::cli::ArgParser;
using nanofed::cli::UsageError;
using nanofed::test::expect_error;

namespace {
ArgParser make() {
  ArgParser p("nanofed train", "trains one model");
  p.option("epochs", "2", "passes over the data").option("lr", "0.1", "learning rate");
  p.required("dataset", "which data").option("save", "", "optional, empty default").flag("verbose", "say more");
  p.option("eps", "", "a comma list, no default");
  return p;
}

// A usage error: a UsageError (exit status 2) whose one line holds every fragment.
void expect_usage_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  expect_error(fn, fragments);
  BOOST_CHECK_THROW(fn(), UsageError);
}

struct Outcome {
  int status;
  std::string out, err;
};

// run_program("nanofed", commands, args) with what it prints on stdout and stderr.
Outcome run(const std::vector<nanofed::cli::Command>& commands, const std::vector<std::string>& args) {
  Outcome o{-1, "", ""};
  o.err = nanofed::test::capture_stderr(
      [&] { o.out = nanofed::test::capture_stdout([&] { o.status = nanofed::cli::run_program("nanofed", commands, args); }); });
  return o;
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

// What every command starts with: help on stdout and false for --help, silence and true else.
BOOST_AUTO_TEST_CASE(parse_or_print_help_prints_only_the_help) {
  bool ok = true;
  std::string out = nanofed::test::capture_stdout([&] { ok = make().parse_or_print_help({"-h"}); });
  BOOST_TEST(!ok);
  BOOST_TEST(out == make().help());
  out = nanofed::test::capture_stdout([&] { ok = make().parse_or_print_help({"--dataset", "x"}); });
  BOOST_TEST(ok);
  BOOST_TEST(out.empty());
}

BOOST_AUTO_TEST_CASE(bad_flags_name_the_flag) {
  expect_error([] { make().parse({"--dataset", "x", "--epoch", "3"}); }, {"nanofed train", "unknown flag '--epoch'"});
  expect_error([] { make().parse({"--dataset"}); }, {"--dataset needs a value"});
  expect_error([] { make().parse({"--epochs", "3"}); }, {"--dataset is required"});
  expect_error([] { make().parse({"fmnist"}); }, {"unexpected argument 'fmnist'"});
  expect_error([] { make().parse({"--dataset", "x", "--verbose=1"}); }, {"--verbose takes no value"});
  ArgParser p = make();
  p.parse({"--dataset", "x", "--epochs", "2.5", "--eps", "1e-3x"});
  expect_error([&] { p.integer("epochs"); }, {"--epochs expects an integer, got '2.5'"});
  expect_error([&] { p.number("eps"); }, {"--eps expects a number, got '1e-3x'"});
  expect_error([&] { p.numbers("eps"); }, {"--eps expects a comma list of numbers, got '1e-3x'"});
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
  p.parse({"--dataset", "cpu", "--eps", "0.5,0.25,1e-3"});
  BOOST_TEST(p.numbers("eps") == std::vector<double>({0.5, 0.25, 1e-3}), boost::test_tools::per_element());
  BOOST_TEST(p.numbers("epochs") == std::vector<double>({2}), boost::test_tools::per_element());
  BOOST_TEST(p.device("dataset").is_cpu());
  p = make();
  p.parse({"--dataset", "true", "--save", "yes"});
  BOOST_TEST(p.boolean("dataset"));
  expect_error([&] { p.boolean("save"); }, {"--save expects true or false, got 'yes'"});
  for (const char* bad : {"0.5,,1", "0.5,", ",0.5", ""}) {
    ArgParser q = make();
    q.parse({"--dataset", "x", "--eps", bad});
    expect_error([&] { q.numbers("eps"); }, {"--eps expects a comma list of numbers"});
  }
  BOOST_TEST(nanofed::format_number_list({0.5, 0.1f, 3}) == "0.5,0.100000001,3");
  BOOST_TEST(nanofed::parse_number_list("", "x").empty());
}

BOOST_AUTO_TEST_CASE(suggestions_by_edit_distance_or_word_prefix) {
  using nanofed::close_names;
  using nanofed::did_you_mean;
  const std::vector<std::string> keys = {"num_clients", "clients_per_round", "lambda", "lr", "batch-size", "f"};
  BOOST_TEST(did_you_mean("lamda", keys) == "did you mean 'lambda'?");
  BOOST_TEST(did_you_mean("rl", keys) == "did you mean 'lr'?");  // a transposition is one edit
  BOOST_TEST(did_you_mean("clients", keys) == "did you mean 'num_clients' or 'clients_per_round'?");
  BOOST_TEST(did_you_mean("batch", keys, "--") == "did you mean '--batch-size'?");
  BOOST_TEST(did_you_mean("size", keys) == "did you mean 'batch-size'?");
  BOOST_TEST(did_you_mean("atch", keys).empty());  // inside a word, not at its start
  BOOST_TEST(did_you_mean("x", keys).empty());     // 1 edit from 'f', but no shorter than a name
  BOOST_TEST(did_you_mean("completely_wrong", keys).empty());
  BOOST_TEST(close_names("client", {"a_client_b", "client_cc", "aclientb_x", "client_dd", "client_ee"}) ==
                 std::vector<std::string>({"a_client_b", "client_cc", "client_dd"}),
             boost::test_tools::per_element());  // at most 3
  BOOST_TEST(nanofed::edit_distance("kitten", "sitting") == 3u);
  BOOST_TEST(nanofed::json_error_text("[json.exception.type_error.302] type must be number, but is string") ==
             "type must be number, but is string");
  BOOST_TEST(nanofed::json_error_text("lr: must be > 0") == "lr: must be > 0");
}

// The formatting helpers every file used to copy: fmt's default is what `stream << v` writes.
BOOST_AUTO_TEST_CASE(text_formatting_helpers) {
  for (double v : {0.5, 1e-5, 123456789.0, 0.1, -2.0}) {
    std::ostringstream s;
    s << v;
    BOOST_TEST(nanofed::fmt(v) == s.str());
  }
  BOOST_TEST(nanofed::fmt(0.5, "%.6f") == "0.500000");
  BOOST_TEST(nanofed::fmt(8, " (%.0f/255)") == " (8/255)");
  BOOST_TEST(nanofed::join({"a", "b", "c"}) == "a, b, c");
  BOOST_TEST(nanofed::join({"0.1", "0.2"}, ",") == "0.1,0.2");
  BOOST_TEST(nanofed::join({}).empty());
  BOOST_TEST(nanofed::split("a,,b,", ',') == std::vector<std::string>({"a", "", "b", ""}), boost::test_tools::per_element());
  BOOST_TEST(nanofed::split("", ',') == std::vector<std::string>({""}), boost::test_tools::per_element());
  BOOST_TEST(nanofed::join(nanofed::split("x\ty", '\t'), "\t") == "x\ty");
  BOOST_TEST(nanofed::pair_str(3, 1) == "(3, 1)");
  BOOST_TEST(nanofed::starts_with("optimizer.state", "optimizer."));
  BOOST_TEST(!nanofed::starts_with("opt", "optimizer."));
  BOOST_TEST(nanofed::ends_with("bn1.num_batches_tracked", ".num_batches_tracked"));
  BOOST_TEST(!nanofed::ends_with("gz", ".gz"));
}

BOOST_AUTO_TEST_CASE(unknown_flags_suggest_and_are_usage_errors) {
  expect_usage_error([] { make().parse({"--dataset", "x", "--epoch", "3"}); },
                     {"nanofed train: unknown flag '--epoch' (did you mean '--epochs'?); see nanofed train --help"});
  expect_usage_error([] { make().parse({"--dataset", "x", "--epoch=3"}); }, {"'--epoch=3' (did you mean '--epochs'?)"});
  expect_usage_error([] { make().parse({"--data", "x"}); }, {"unknown flag '--data' (did you mean '--dataset'?)"});
  expect_usage_error([] { make().parse({"-epochs", "3"}); }, {"unknown flag '-epochs' (did you mean '--epochs'?)"});
  expect_usage_error([] { make().parse({"--hlep"}); }, {"did you mean '--help'?"});
  expect_usage_error([] { make().parse({"--zzz", "1"}); }, {"unknown flag '--zzz'; see nanofed train --help"});
  expect_usage_error([] { make().parse({"fmnist"}); }, {"unexpected argument 'fmnist'"});
  BOOST_TEST(!make().parse({"-h"}));
}

BOOST_AUTO_TEST_CASE(missing_and_malformed_values_name_the_flag) {
  // The next flag is not a value: the flag before it lacks one.
  expect_usage_error([] { make().parse({"--dataset", "--epochs", "3"}); }, {"nanofed train: --dataset needs a value"});
  expect_usage_error([] { make().parse({"--epochs", "3", "--dataset"}); }, {"--dataset needs a value"});
  expect_usage_error([] { make().parse({"--epochs", "3"}); }, {"--dataset is required"});
  // A flag with a numeric default is checked by parse, before the command reads it.
  expect_usage_error([] { make().parse({"--dataset", "x", "--lr", "abc"}); }, {"--lr expects a number, got 'abc'"});
  expect_usage_error([] { make().parse({"--dataset", "x", "--epochs=nan"}); }, {"--epochs expects a number, got 'nan'"});
  BOOST_TEST(make().parse({"--dataset", "x", "--save", "abc"}));  // no numeric default, no check
  ArgParser p = make();
  p.parse({"--dataset", "inf", "--epochs", "99999999999999999999", "--eps", "1,nan"});
  expect_usage_error([&] { p.integer("epochs"); }, {"--epochs expects an integer, got '99999999999999999999'"});
  expect_usage_error([&] { p.number("dataset"); }, {"--dataset expects a number, got 'inf'"});
  expect_usage_error([&] { p.numbers("eps"); }, {"--eps expects a comma list of numbers, got '1,nan'"});
  expect_usage_error([&] { p.device("dataset"); }, {"--dataset expects cpu, cuda or cuda:N"});
  BOOST_TEST(p.number("epochs") == 1e20);
}

BOOST_AUTO_TEST_CASE(dispatch_help_unknown_commands_and_exit_statuses) {
  std::vector<std::string> seen;
  const std::vector<nanofed::cli::Command> commands = {
      {"train", "trains", [&](const std::vector<std::string>& a) { seen = a; return 0; }},
      {"usage", "a usage error", [](const std::vector<std::string>&) -> int { throw UsageError("nanofed usage: --x bad"); }},
      {"fails", "a failure", [](const std::vector<std::string>&) -> int { throw nanofed::Error("fails: x.bin: truncated"); }},
      {"json", "nlohmann", [](const std::vector<std::string>&) { return nlohmann::json("s").get<int>(); }},
  };
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{}, {"help"}, {"--help"}, {"-h"}}) {
    const Outcome o = run(commands, args);
    BOOST_TEST(o.status == 0);
    BOOST_TEST(o.out.find("usage: nanofed COMMAND [flags]\n  train trains\n  usage a usage error\n") == 0u);
    BOOST_TEST(o.err.empty());
  }
  Outcome o = run(commands, {"foo"});
  BOOST_TEST(o.status == 2);
  BOOST_TEST(o.out.empty());
  BOOST_TEST(o.err == "nanofed: unknown command 'foo'\nrun 'nanofed --help' for the list of commands\n");
  o = run(commands, {"trian", "--x"});
  BOOST_TEST(o.status == 2);
  BOOST_TEST(o.err.find("nanofed: unknown command 'trian' (did you mean 'train'?)\n") == 0u);
  o = run(commands, {"train", "--epochs", "3"});
  BOOST_TEST(o.status == 0);
  BOOST_TEST(seen == std::vector<std::string>({"--epochs", "3"}), boost::test_tools::per_element());
  run(commands, {"help", "train"});  // = train --help
  BOOST_TEST(seen == std::vector<std::string>({"--help"}), boost::test_tools::per_element());
  o = run(commands, {"usage"});
  BOOST_TEST(o.status == 2);
  BOOST_TEST(o.err == "nanofed usage: --x bad\n");
  o = run(commands, {"fails"});
  BOOST_TEST(o.status == 1);
  BOOST_TEST(o.err == "fails: x.bin: truncated\n");
  o = run(commands, {"json"});
  BOOST_TEST(o.status == 1);
  BOOST_TEST(o.err == "type must be number, but is string\n");
}

BOOST_AUTO_TEST_CASE(every_command_prints_help_on_stdout) {
  using namespace nanofed::cli;
  for (const auto& [name, fn] : std::vector<std::pair<std::string, std::function<int(const std::vector<std::string>&)>>>{
           {"demo", demo_command}, {"train", train_command}, {"fl", fl_command}, {"attack", attack_command},
           {"certify", certify_command}}) {
    for (const char* help : {"--help", "-h"}) {
      int status = -1;
      const std::string out = nanofed::test::capture_stdout([&] { status = fn({help}); });
      BOOST_TEST(status == 0);
      BOOST_TEST(out.find("usage: nanofed " + name) == 0u, name << " " << help << ": " << out);
    }
  }
}

BOOST_AUTO_TEST_CASE(command_usage_errors) {
  using namespace nanofed::cli;
  expect_usage_error([] { train_command({"--epoch", "3"}); }, {"nanofed train: unknown flag '--epoch' (did you mean '--epochs'?)"});
  expect_usage_error([] { attack_command({"--model"}); }, {"nanofed attack: --model needs a value"});
  expect_usage_error([] { certify_command({"--sigma", "--N", "10"}); }, {"nanofed certify: --sigma needs a value"});
  expect_usage_error([] { fl_command({}); }, {"nanofed fl: missing CONFIG.json (it comes first); see nanofed fl --help"});
  expect_usage_error([] { fl_command({"cfg.json", "--lr=0.1"}); },
                     {"nanofed fl: unknown flag '--lr=0.1' (it takes no flags but --threads; overrides are key=value: lr=0.1)"});
  expect_usage_error([] { fl_command({"--resume"}); }, {"unknown flag '--resume'", "resume=VALUE"});
  // fl's --threads is checked like every command's (0 would silently mean "the default").
  for (const char* bad : {"0", "x", "300"})
    expect_usage_error([&] { fl_command({"cfg.json", "--threads", bad}); },
                       {"nanofed fl: --threads expects an integer in [1, 256], got '" + std::string(bad) + "'"});
  expect_usage_error([] { fl_command({"cfg.json", "--threads"}); }, {"nanofed fl: --threads needs a value"});
  expect_usage_error([] { fl_command({"--threads", "2", "cfg.json"}); }, {"nanofed fl: missing CONFIG.json (it comes first)"});
}

BOOST_AUTO_TEST_CASE(fl_value_errors_name_the_config_file) {
  nanofed::test::TempDir dir;
  nanofed::test::write_text(dir / "cfg.json", R"({"strategy": "ditto", "lambda": -1})");
  expect_error([&] { nanofed::test::capture_stdout([&] { nanofed::cli::fl_command({dir / "cfg.json"}); }); },
               {dir / "cfg.json" + ": lambda = -1 must be >= 0 for strategy 'ditto'"});
  expect_error([&] { nanofed::test::capture_stdout([&] { nanofed::cli::fl_command({dir / "cfg.json", "lambda=[1,-1]"}); }); },
               {dir / "cfg.json [lambda=-1]: lambda = -1 must be >= 0"});
  expect_error([&] { nanofed::cli::fl_command({dir.path}); }, {"config: '" + dir.path + "': is a directory, expected a file"});
}

BOOST_AUTO_TEST_SUITE_END()
