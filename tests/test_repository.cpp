// The repository as a user's clone holds it: no source, doc or example points outside it (the
// papers are cited through docs/references.md), and no sentence names a work item or a stale
// plan. Runs from the repository root, as `make test` does.
#include <algorithm>
#include <filesystem>
#include <regex>
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

BOOST_AUTO_TEST_SUITE_END()
