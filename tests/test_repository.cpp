// The repository as a user's clone holds it: no source, doc or example points outside it (the
// papers are cited through docs/references.md), no sentence names a work item or a stale
// plan, and the includes form layers without cycles. Runs from the repository root, as `make
// test` does.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace nanofed::test;
namespace fs = std::filesystem;

namespace {

bool is_text_source(const fs::path& p) {
  static const std::vector<std::string> endings = {".h", ".cpp", ".cu", ".md", ".sh", ".py", ".json", ".txt"};
  const std::string name = p.filename().string();
  if (name == "Makefile") return true;
  for (const std::string& e : endings)
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return true;
  return false;
}

// Every text file of the project's own folders (not build outputs, data or runs).
std::vector<fs::path> project_files() {
  std::vector<fs::path> files = {"README.md", "Makefile"};
  for (const char* dir : {"engine", "nn", "datasets", "fl", "attacks", "certify", "tools", "tests", "docs",
                          "examples", "bench", "fuzz", ".ci"}) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir))
      if (e.is_regular_file() && is_text_source(e.path())) files.push_back(e.path());
  }
  return files;
}


// The project's include graph between units: a .h with its .cpp / .cu / _cpu.cpp twin is one
// unit ("engine/ops/conv2d"), since an include cycle through a header and its source file is
// still a cycle for whoever reads or links the code. Edges come from `#include "..."` lines.
using IncludeGraph = std::map<std::string, std::set<std::string>>;

std::string unit_of(std::string path) {
  for (const char* ext : {".cuh", ".cpp", ".cu", ".h"}) {
    const std::string e = ext;
    if (path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0) {
      path.resize(path.size() - e.size());
      break;
    }
  }
  const std::string twin = "_cpu";  // conv2d_cpu.cpp: the CPU reference of conv2d's kernels
  if (path.size() > twin.size() && path.compare(path.size() - twin.size(), twin.size(), twin) == 0)
    path.resize(path.size() - twin.size());
  return path;
}

IncludeGraph include_graph() {
  static const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  IncludeGraph graph;
  for (const fs::path& p : project_files()) {
    const std::string ext = p.extension().string();
    if (ext != ".h" && ext != ".cpp" && ext != ".cu" && ext != ".cuh") continue;
    const std::string from = unit_of(p.generic_string());
    graph[from];
    std::smatch m;
    for (const std::string& line : split_lines(read_text(p.string())))
      if (std::regex_search(line, m, include_line) && unit_of(m[1]) != from) graph[from].insert(unit_of(m[1]));
  }
  return graph;
}

// One include cycle as "a -> b -> a", or "" when the graph has none (depth-first search).
std::string find_cycle(const IncludeGraph& graph) {
  std::map<std::string, int> state;  // 0 unseen, 1 on the current path, 2 done
  std::vector<std::string> path;
  std::string cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& u) {
    state[u] = 1;
    path.push_back(u);
    const auto it = graph.find(u);
    if (it != graph.end())
      for (const std::string& v : it->second) {
        if (state[v] == 1) {
          for (auto at = std::find(path.begin(), path.end(), v); at != path.end(); ++at) cycle += *at + " -> ";
          cycle += v;
          return true;
        }
        if (state[v] == 0 && visit(v)) return true;
      }
    path.pop_back();
    state[u] = 2;
    return false;
  };
  for (const auto& [unit, edges] : graph)
    if (state[unit] == 0 && visit(unit)) return cycle;
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(repository)

BOOST_AUTO_TEST_CASE(nothing_points_outside_the_repository_or_at_work_items) {
  BOOST_TEST_REQUIRE(fs::exists("docs/references.md"), "run from the repository root");
  // Built from pieces so that this file does not match itself.
  const std::string outside = std::string("\\.\\./sha") + "red|sha" + "red/reference|/wo" + "rk/";
  const std::string stale = std::string("[Ii]ss") + "ue [0-9]|replaces this " + "demo";
  const std::regex forbidden(outside + "|" + stale);
  int64_t files = 0;
  for (const fs::path& p : project_files()) {
    ++files;
    const std::vector<std::string> lines = split_lines(read_text(p.string()));
    for (size_t i = 0; i < lines.size(); ++i)
      BOOST_CHECK_MESSAGE(!std::regex_search(lines[i], forbidden), p.string() << ":" << i + 1 << ": " << lines[i]);
  }
  BOOST_TEST(files > 100);  // the walk found the tree
}

// The GPU pack runs these cases under compute-sanitizer: each must name an existing CUDA case
// (Boost.Test ignores a --run_test path that matches nothing).
BOOST_AUTO_TEST_CASE(gpu_pack_memcheck_cases_exist_and_are_cuda_cases) {
  namespace utf = boost::unit_test;
  int64_t cases = 0;
  for (const std::string& line : split_lines(read_text("tools/gpu_pack/memcheck_cases.txt"))) {
    if (line.empty() || line[0] == '#') continue;
    ++cases;
    const size_t slash = line.find('/');
    BOOST_TEST_REQUIRE(slash != std::string::npos, line);
    const utf::test_unit_id suite_id = utf::framework::master_test_suite().get(line.substr(0, slash));
    BOOST_TEST_REQUIRE(suite_id != utf::INV_TEST_UNIT_ID, line << ": no such suite");
    const utf::test_unit_id case_id = utf::framework::get<utf::test_suite>(suite_id).get(line.substr(slash + 1));
    BOOST_TEST_REQUIRE(case_id != utf::INV_TEST_UNIT_ID, line << ": no such case");
    const auto& labels = utf::framework::get(case_id, utf::TUT_CASE).p_labels.get();
    BOOST_TEST((std::find(labels.begin(), labels.end(), "cuda") != labels.end()), line << " is not a CUDA case");
  }
  BOOST_TEST(cases >= 10);
}

// No include cycle between units, and the layers point one way: engine <- datasets <- nn <-
// attacks / certify <- fl <- tools, with nn independent of datasets (file I/O is the engine's).
BOOST_AUTO_TEST_CASE(includes_form_layers_without_cycles) {
  const IncludeGraph graph = include_graph();
  BOOST_TEST_REQUIRE(graph.size() > 100u);
  BOOST_TEST(find_cycle(graph) == "");
  // What each library layer may include besides itself.
  const std::map<std::string, std::set<std::string>> allowed = {
      {"engine", {}}, {"datasets", {"engine"}}, {"nn", {"engine"}},
      {"attacks", {"engine", "nn", "datasets"}}, {"certify", {"engine", "nn"}},
      {"fl", {"engine", "datasets", "nn", "attacks", "certify"}}};
  const auto layer = [](const std::string& unit) { return unit.substr(0, unit.find('/')); };
  for (const auto& [unit, edges] : graph) {
    const auto rule = allowed.find(layer(unit));
    if (rule == allowed.end()) continue;  // tools, tests, examples, bench, fuzz: anything below
    for (const std::string& to : edges)
      BOOST_CHECK_MESSAGE(layer(to) == rule->first || rule->second.count(layer(to)),
                          unit << " includes " << to << ": " << rule->first << "/ may not depend on " << layer(to) << "/");
  }
}

// The cycle finder itself, on hand-made graphs.
BOOST_AUTO_TEST_CASE(find_cycle_reports_the_loop) {
  BOOST_TEST(find_cycle({{"a", {"b"}}, {"b", {"c"}}, {"c", {}}}) == "");
  BOOST_TEST(find_cycle({{"a", {"b"}}, {"b", {"c"}}, {"c", {"b"}}}) == "b -> c -> b");
  BOOST_TEST(unit_of("engine/ops/conv2d.cu") == "engine/ops/conv2d");
  BOOST_TEST(unit_of("engine/ops/conv2d_cpu.cpp") == "engine/ops/conv2d");
  BOOST_TEST(unit_of("fl/run.h") == "fl/run");
}

BOOST_AUTO_TEST_SUITE_END()
