#include "tools/cli_args.h"

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "engine/common.h"
#include "engine/text.h"
#include "engine/threads.h"
#include "fl/comm.h"

// NF_CHECK for the command line: throws a UsageError.
#define CLI_CHECK(cond, msg)            \
  do {                                  \
    if (!(cond)) {                      \
      std::ostringstream cli_os_;       \
      cli_os_ << msg;                   \
      throw UsageError(cli_os_.str());  \
    }                                   \
  } while (0)

namespace nanofed::cli {

namespace {

bool is_help(const std::string& a) { return a == "--help" || a == "-h"; }

// The whole of `s` is a finite number (strtod's syntax).
bool parse_number(const std::string& s, double& x) {
  char* end = nullptr;
  x = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0' && std::isfinite(x);
}

bool is_number(const std::string& s) {
  double x;
  return parse_number(s, x);
}

std::string usage(const std::string& program, const std::vector<Command>& commands) {
  size_t width = 0;
  for (const Command& c : commands) width = std::max(width, c.name.size());
  std::string u = "usage: " + program + " COMMAND [flags]\n";
  for (const Command& c : commands) u += "  " + c.name + std::string(width + 1 - c.name.size(), ' ') + c.summary + "\n";
  return u + "'" + program + " COMMAND --help' lists the flags of COMMAND\n";
}

// "nanofed: unknown command 'trian' (did you mean 'train'?)", then where the commands are listed.
void unknown_command(const std::string& program, const std::vector<Command>& commands, const std::string& name) {
  std::vector<std::string> names;
  for (const Command& c : commands) names.push_back(c.name);
  const std::string suggestion = did_you_mean(name, names);
  const std::string line = program + ": unknown command '" + name + "'" + (suggestion.empty() ? "" : " (" + suggestion + ")");
  std::fprintf(stderr, "%s\nrun '%s --help' for the list of commands\n", line.c_str(), program.c_str());
}

}  // namespace

int run_program(const std::string& program, const std::vector<Command>& commands, const std::vector<std::string>& args) {
  std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
  std::string name = args.empty() ? "help" : args[0];
  if (is_help(name)) name = "help";
  if (name == "help" && !rest.empty() && !is_help(rest[0])) name = rest[0], rest = {"--help"};  // help CMD
  if (name == "help") {
    std::printf("%s", usage(program, commands).c_str());
    return 0;
  }
  for (const Command& c : commands) {
    if (c.name != name) continue;
    try {
      return c.run(rest);
    } catch (const std::exception& e) {
      std::fflush(stdout);  // what the command printed comes before the error
      const int code = dynamic_cast<const UsageError*>(&e) ? 2 : 1;
      const std::string text = json_error_text(e.what());  // messages name the command, file or flag
      if (fl::mpi_started()) {  // the other ranks may wait in a collective: say which rank, end the job
        // An error every rank meets (a NaN update the aggregator cannot reject) is said once: rank
        // 0 says it and its abort ends the others while they wait; a rank that fails alone
        // speaks after the wait.
        if (fl::world().rank() != 0) std::this_thread::sleep_for(std::chrono::seconds(2));
        std::fprintf(stderr, "%s (MPI rank %d of %d)\n", text.c_str(), fl::world().rank(), fl::world().size());
        fl::world().abort(code);
      }
      // Before MPI starts every rank checks the same arguments and files: rank 0 speaks for all.
      if (fl::launcher_rank() == 0) std::fprintf(stderr, "%s\n", text.c_str());
      return code;
    }
  }
  unknown_command(program, commands, name);
  return 2;
}

std::string flag_name(const std::string& arg) {
  const size_t start = arg.find_first_not_of('-');
  return start == std::string::npos ? "" : arg.substr(start);
}

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

// "nanofed train: unknown flag '--epoch' (did you mean '--epochs'?); see nanofed train --help"
std::string ArgParser::unknown_flag(const std::string& arg) const {
  std::string name = flag_name(arg);
  name = name.substr(0, name.find('='));
  std::vector<std::string> known = order_;
  known.push_back("help");
  const std::string suggestion = did_you_mean(name, known, "--");
  return command_ + ": unknown flag '" + arg + "'" + (suggestion.empty() ? "" : " (" + suggestion + ")") + "; see " +
         command_ + " --help";
}

const ArgParser::Spec& ArgParser::spec(const std::string& name) const {
  auto it = specs_.find(name);
  CLI_CHECK(it != specs_.end(), unknown_flag("--" + name));
  return it->second;
}

bool ArgParser::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (is_help(a)) return false;
    CLI_CHECK(a.size() > 1 && a[0] == '-' && a != "--",
              command_ << ": unexpected argument '" << a << "' (flags look like --name value; see " << command_ << " --help)");
    CLI_CHECK(a.rfind("--", 0) == 0, unknown_flag(a));  // -epochs
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    CLI_CHECK(specs_.count(name), unknown_flag(a));
    const Spec& s = specs_.at(name);
    if (s.is_switch) {
      CLI_CHECK(!inline_value, command_ << ": --" << name << " takes no value");
      value = "1";
    } else if (!inline_value) {
      // A value never starts with "--": `--model --epochs 3` forgot the model, not a value "--epochs".
      CLI_CHECK(i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0,
                command_ << ": --" << name << " needs a value (" << s.help << ")");
      value = args[++i];
    }
    values_[name] = value;
  }
  for (const std::string& name : order_) {
    const Spec& s = specs_.at(name);
    CLI_CHECK(!s.required || given(name), command_ << ": --" << name << " is required (" << s.help << ")");
    // A flag whose default is a number takes one: `--lr abc` fails here, before any data is
    // loaded, not when the command first reads --lr. (Integers are checked when read.)
    if (given(name) && is_number(s.default_value)) number(name);
  }
  if (given("threads")) set_num_threads(threads());
  return true;
}

bool ArgParser::parse_or_print_help(const std::vector<std::string>& args) {
  if (parse(args)) return true;
  std::printf("%s", help().c_str());
  return false;
}

int thread_count(const std::string& command, const std::string& value) {
  char* end = nullptr;
  const long long n = std::strtoll(value.c_str(), &end, 10);
  CLI_CHECK(!value.empty() && *end == '\0' && n >= 1 && n <= kMaxThreads,
            command << ": --threads expects an integer in [1, " << kMaxThreads << "], got '" << value << "'");
  return (int)n;
}

int ArgParser::threads() const { return thread_count(command_, str("threads")); }

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
  errno = 0;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  CLI_CHECK(!v.empty() && end && *end == '\0' && errno != ERANGE,
            command_ << ": --" << name << " expects an integer, got '" << v << "'");
  return x;
}

double ArgParser::number(const std::string& name) const {
  const std::string v = str(name);
  double x;
  CLI_CHECK(parse_number(v, x), command_ << ": --" << name << " expects a number, got '" << v << "'");
  return x;
}

bool ArgParser::boolean(const std::string& name) const {
  const std::string v = str(name);
  CLI_CHECK(v == "true" || v == "false", command_ << ": --" << name << " expects true or false, got '" << v << "'");
  return v == "true";
}

std::vector<double> ArgParser::numbers(const std::string& name) const {
  const std::string v = str(name);
  std::vector<double> out;
  try {
    out = parse_number_list(v, command_ + ": --" + name);
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  CLI_CHECK(!out.empty() && std::all_of(out.begin(), out.end(), [](double x) { return std::isfinite(x); }),
            command_ << ": --" << name << " expects a comma list of numbers, got '" << v << "'");
  return out;
}

Device ArgParser::device(const std::string& name) const {
  Device d;
  try {
    d = Device::parse(str(name));
  } catch (const Error&) {
    CLI_CHECK(false, command_ << ": --" << name << " expects cpu, cuda or cuda:N, got '" << str(name) << "'");
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
  std::string h = "usage: " + command_ + (order_.empty() ? "" : " [flags]") + "\n" + summary_ + "\n" +
                  (order_.empty() ? "" : "\nflags:\n");
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
