// cli_args.h — the command line of the nanofed program: the command dispatch (run_program)
// and the flag parser every command uses: `--name value` or `--name=value`, declared with
// defaults and help, typed getters that name the flag on a bad value. Every mistake on the
// command line is one line on stderr and exit status 2; an unknown command or flag comes with
// the suggestion the config keys get (engine/text.h).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/common.h"
#include "engine/device.h"

namespace nanofed::cli {

// A mistake on the command line (unknown command or flag, missing or malformed value):
// run_program prints it and exits with 2 rather than 1.
struct UsageError : Error {
  using Error::Error;
};

// The value of --threads (every command's flag, fl's too): an integer in [1, kMaxThreads], else
// a UsageError "<command>: --threads expects an integer in [1, 256], got '<value>'".
int thread_count(const std::string& command, const std::string& value);

// One command of a program: its name, one line for the usage text, and what runs it.
struct Command {
  std::string name, summary;
  std::function<int(const std::vector<std::string>&)> run;
};

// The program's main after argv[0]: `CMD args...` runs CMD and returns its status. No command,
// `help`, `--help` or `-h` print the usage on stdout (0); `help CMD` is `CMD --help`. An unknown
// command prints "PROGRAM: unknown command 'x' (did you mean 'y'?)" and a usage hint on stderr
// (2). An exception from a command is printed as one line on stderr: 2 for a UsageError, else 1.
int run_program(const std::string& program, const std::vector<Command>& commands, const std::vector<std::string>& args);

// An argument without its leading dashes: "--lr=0.1" -> "lr=0.1", "-h" -> "h".
std::string flag_name(const std::string& arg);

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);
  // A flag taking a value, with its default (may be empty: "not set").
  ArgParser& option(const std::string& name, const std::string& default_value, const std::string& help);
  // A flag taking a value that must be given.
  ArgParser& required(const std::string& name, const std::string& help);
  // A switch: present = true.
  ArgParser& flag(const std::string& name, const std::string& help);
  // Throws a UsageError naming the flag: "nanofed train: unknown flag '--epoch' (did you mean
  // '--epochs'?); see nanofed train --help", "--lr needs a value", "--dataset is required".
  // A flag whose default is a number must be given a number (checked here, before the command
  // does any work). Returns false if --help or -h was given (the caller prints help()).
  // A given --threads N (every parser has it) is checked and applied here (set_num_threads).
  bool parse(const std::vector<std::string>& args);
  // parse(), printing help() on stdout when it returns false: what every command starts with
  // (`if (!a.parse_or_print_help(args)) return 0;`).
  bool parse_or_print_help(const std::vector<std::string>& args);

  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool boolean(const std::string& name) const;  // "true" | "false"
  // A comma list of numbers ("0.01,0.03"); at least one.
  std::vector<double> numbers(const std::string& name) const;
  // "cpu" | "cuda" | "cuda:N", and usable by this build on this machine.
  Device device(const std::string& name) const;
  bool on(const std::string& name) const;
  bool given(const std::string& name) const;  // set on the command line (not a default)
  int threads() const;                         // --threads, checked: in [1, kMaxThreads]
  std::string help() const;
  const std::string& command() const { return command_; }

 private:
  struct Spec {
    std::string default_value, help;
    bool is_switch = false;
    bool required = false;
  };
  const Spec& spec(const std::string& name) const;
  std::string unknown_flag(const std::string& arg) const;
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
};

}  // namespace nanofed::cli
