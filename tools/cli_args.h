// cli_args.h — the flag parser of the nanofed program: `--name value` or `--name=value`,
// declared with defaults and help, typed getters that name the flag on a bad value.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/device.h"

namespace nanofed::cli {

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);
  // A flag taking a value, with its default (may be empty: "not set").
  ArgParser& option(const std::string& name, const std::string& default_value, const std::string& help);
  // A flag taking a value that must be given.
  ArgParser& required(const std::string& name, const std::string& help);
  // A switch: present = true.
  ArgParser& flag(const std::string& name, const std::string& help);
  // Throws nanofed::Error "nanofed train: unknown flag '--x' (see nanofed train --help)".
  // Returns false if --help was given (the caller prints help()). A given --threads N (every
  // parser has it) is checked and applied here (set_num_threads).
  bool parse(const std::vector<std::string>& args);

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
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::string> values_;
};

}  // namespace nanofed::cli
