// report_plot.cpp — the figure specs (DIR/figures/<name>.json) and the one python process that
// renders them (tools/plot_figures.py, matplotlib). The script is found next to the program
// (build/nanofed -> ../tools/plot_figures.py; build/examples/X -> ../../tools/...) or at
// $NANOFED_PLOT_SCRIPT; the interpreter is $NANOFED_PYTHON, else python3, else Debian's
// /usr/bin/python3 (where python3-matplotlib installs, and which a pyenv python3 on PATH hides).
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/file_io.h"
#include "tools/report.h"

namespace nanofed::report {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// The script's exit status when `import matplotlib` fails (tools/plot_figures.py).
constexpr int kNoMatplotlib = 3;
constexpr int kNoPython = 127;

json numbers(const std::vector<double>& v) {
  json out = json::array();
  for (double x : v) out.push_back(std::isfinite(x) ? json(x) : json());  // JSON has no NaN
  return out;
}

json spec_of(const Figure& f) {
  json series = json::array();
  for (const Series& s : f.series) {
    json j = {{"label", s.label}, {"x", numbers(s.x)}, {"y", numbers(s.y)}, {"dashed", s.dashed}};
    if (!s.lo.empty()) j["lo"] = numbers(s.lo), j["hi"] = numbers(s.hi);
    series.push_back(j);
  }
  json spec = {{"kind", f.kind}, {"title", f.title}, {"xlabel", f.xlabel}, {"ylabel", f.ylabel}, {"series", series}};
  if (f.kind == "bar") spec["categories"] = f.categories;
  return spec;
}

std::string program_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

std::string find_script() {
  if (const char* p = std::getenv("NANOFED_PLOT_SCRIPT"); p && *p) return p;
  const std::string dir = program_dir();
  for (const std::string& candidate : {dir + "/../tools/plot_figures.py", dir + "/../../tools/plot_figures.py",
                                       std::string("tools/plot_figures.py")})
    if (file_exists(candidate)) return fs::path(candidate).lexically_normal().string();
  return "";
}

// Runs `python script specs...` without a shell; returns its exit status (127: no interpreter).
int run_python(const std::string& python, const std::string& script, const std::vector<std::string>& specs) {
  std::vector<std::string> args = {python, script};
  args.insert(args.end(), specs.begin(), specs.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  const pid_t pid = fork();
  NF_CHECK(pid >= 0, "nanofed report: cannot start " << python);
  if (pid == 0) {
    execvp(argv[0], argv.data());
    _exit(kNoPython);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

std::vector<std::string> python_candidates() {
  const char* env = std::getenv("NANOFED_PYTHON");
  if (env && *env) return {env};
  return {"python3", "/usr/bin/python3"};
}

std::string render_figures(const Report& r, bool& missing_package) {
  missing_package = false;
  std::vector<std::string> specs;
  fs::create_directories(r.dir + "/figures");
  for (const Figure& f : r.figures) {
    if (f.kind == "image" || f.series.empty()) continue;
    specs.push_back(r.dir + "/figures/" + f.name + ".json");
    fs::remove(r.dir + "/figures/" + f.name + ".png");  // a failed rendering never shows an older figure
    write_file_atomic(specs.back(), spec_of(f).dump(1) + "\n", "nanofed report");
  }
  if (specs.empty()) return "";
  const std::string script = find_script();
  if (script.empty()) {
    missing_package = true;
    return "nanofed report: tools/plot_figures.py not found next to the program (set NANOFED_PLOT_SCRIPT); wrote "
           "report.html without figures";
  }
  const std::vector<std::string> pythons = python_candidates();
  int status = kNoPython;
  for (size_t i = 0; i < pythons.size() && (status == kNoPython || status == kNoMatplotlib); ++i)
    status = run_python(pythons[i], script, specs);
  if (status == 0) return "";
  missing_package = status == kNoPython || status == kNoMatplotlib;
  if (status == kNoPython)
    return "nanofed report: python3 is not installed (Debian: apt install python3 python3-matplotlib); wrote "
           "report.html without figures";
  if (status == kNoMatplotlib)
    return "nanofed report: python3-matplotlib is not installed (Debian: apt install python3-matplotlib); wrote "
           "report.html without figures";
  return "nanofed report: " + script + " failed (exit status " + std::to_string(status) + "); wrote report.html "
         "without the figures it did not render";
}

}  // namespace nanofed::report
