#include "tools/cli_args.h"

#include <cstdlib>

#include "engine/common.h"
#include "engine/threads.h"

namespace nanofed::cli {

// Every command takes --threads; parse() applies it before the command does any work.
ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {
  option("threads", "", "CPU threads (default: one per core, at most " + std::to_string(kMaxDefaultThreads) +
                            "; results do not depend on it)");
}

ArgParser& ArgParser::option(const std::string& name, const std::string& default_value, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {default_value, help, false};
  return *this;
}

ArgParser& ArgParser::required(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {"", help, false, true};
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {"", help, true};
  return *this;
}

const ArgParser::Spec& ArgParser::spec(const std::string& name) const {
  auto it = specs_.find(name);
  NF_CHECK(it != specs_.end(), command_ << ": unknown flag '--" << name << "' (see " << command_ << " --help)");
  return it->second;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") return false;
    NF_CHECK(a.rfind("--", 0) == 0 && a.size() > 2,
             command_ << ": unexpected argument '" << a << "' (flags look like --name value; see " << command_ << " --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Spec& s = spec(name);
    if (s.is_switch) {
      NF_CHECK(!inline_value, command_ << ": --" << name << " takes no value");
      value = "1";
    } else if (!inline_value) {
      NF_CHECK(i + 1 < args.size(), command_ << ": --" << name << " needs a value (" << s.help << ")");
      value = args[++i];
    }
    values_[name] = value;
  }
  for (const std::string& name : order_) {
    const Spec& s = specs_.at(name);
    NF_CHECK(!s.required || given(name), command_ << ": --" << name << " is required (" << s.help << ")");
  }
  if (given("threads")) set_num_threads(threads());
  return true;
}

int ArgParser::threads() const {
  const std::string v = str("threads");
  char* end = nullptr;
  const long long n = std::strtoll(v.c_str(), &end, 10);
  NF_CHECK(!v.empty() && *end == '\0' && n >= 1 && n <= kMaxThreads,
           command_ << ": --threads expects an integer in [1, " << kMaxThreads << "], got '" << v << "'");
  return (int)n;
}

bool ArgParser::given(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

std::string ArgParser::str(const std::string& name) const {
  const Spec& s = spec(name);
  auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

int64_t ArgParser::integer(const std::string& name) const {
  const std::string v = str(name);
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  NF_CHECK(!v.empty() && end && *end == '\0', command_ << ": --" << name << " expects an integer, got '" << v << "'");
  return x;
}

double ArgParser::number(const std::string& name) const {
  const std::string v = str(name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  NF_CHECK(!v.empty() && end && *end == '\0', command_ << ": --" << name << " expects a number, got '" << v << "'");
  return x;
}

bool ArgParser::boolean(const std::string& name) const {
  const std::string v = str(name);
  NF_CHECK(v == "true" || v == "false", command_ << ": --" << name << " expects true or false, got '" << v << "'");
  return v == "true";
}

std::vector<double> ArgParser::numbers(const std::string& name) const {
  const std::string v = str(name);
  std::vector<double> out = parse_number_list(v, command_ + ": --" + name);
  NF_CHECK(!out.empty(), command_ << ": --" << name << " expects a comma list of numbers, got ''");
  return out;
}

Device ArgParser::device(const std::string& name) const {
  Device d;
  try {
    d = Device::parse(str(name));
  } catch (const Error&) {
    NF_CHECK(false, command_ << ": --" << name << " expects cpu, cuda or cuda:N, got '" << str(name) << "'");
  }
  NF_CHECK(d.is_cpu() || cuda_available(), command_ << ": --" << name << " cuda, but "
                                                    << (cuda_compiled() ? "no GPU is available" : "this build has no CUDA backend"));
  return d;
}

bool ArgParser::on(const std::string& name) const {
  const Spec& s = spec(name);
  NF_CHECK(s.is_switch, command_ << ": --" << name << " is not a switch");
  return values_.count(name) > 0;
}

std::string ArgParser::help() const {
  std::string h = "usage: " + command_ + " [flags]\n" + summary_ + "\n\nflags:\n";
  for (const std::string& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  --" + name + (s.is_switch ? "" : " VALUE");
    if (left.size() < 26) left.resize(26, ' ');
    h += left + " " + s.help;
    if (!s.is_switch && !s.default_value.empty()) h += " (default: " + s.default_value + ")";
    h += "\n";
  }
  return h;
}

}  // namespace nanofed::cli
