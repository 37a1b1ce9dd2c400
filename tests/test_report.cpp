// `nanofed report` on a tiny run of each output kind (train, fl grid and one fl run, attack,
// certify): every figure is a valid PNG, and the page links only local files that exist. The
// figure cases need python3-matplotlib (`make deps` installs it) and are reported skipped,
// naming the package, where it is missing; the error cases run everywhere.
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include "engine/common.h"
#include "engine/file_io.h"
#include "fl/run.h"
#include "tests/command_util.h"
#include "tests/test_util.h"
#include "tools/attack_command.h"
#include "tools/certify_command.h"
#include "tools/cli_args.h"
#include "tools/report.h"
#include "tools/report_command.h"

using namespace nanofed;
using namespace nanofed::test;
namespace fs = std::filesystem;

namespace {

bool matplotlib_present() {
  for (const std::string& python : report::python_candidates())
    if (std::system((python + " -c 'import matplotlib' >/dev/null 2>&1").c_str()) == 0) return true;
  return false;
}

struct MatplotlibPresent {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(matplotlib_present());
    if (!r) r.message() << "python3-matplotlib is not installed (make deps installs it; or set NANOFED_PYTHON)";
    return r;
  }
};

// nanofed report DIR, its output swallowed; returns the exit status.
int run_report(const std::string& dir) {
  int status = -1;
  capture_stderr([&] { capture_stdout([&] { status = cli::report_command({dir}); }); });
  return status;
}

// The 8-byte PNG signature, then an IHDR chunk with a width and a height > 0.
void check_png(const std::string& path) {
  const std::vector<uint8_t> b = read_file_bytes(path, "test");
  BOOST_TEST_REQUIRE(b.size() > 33u, path);
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  BOOST_TEST(std::equal(signature, signature + 8, b.begin()), path);
  BOOST_TEST(std::string(b.begin() + 12, b.begin() + 16) == "IHDR", path);
  const PngHeader h = read_png_header(path);
  BOOST_TEST((h.width > 0 && h.height > 0), path);
}

// A link's path with its percent-escapes (%3D for '=') undone.
std::string unescape(const std::string& link) {
  std::string out;
  for (size_t i = 0; i < link.size(); ++i) {
    if (link[i] == '%' && i + 2 < link.size()) {
      out += (char)std::stoi(link.substr(i + 1, 2), nullptr, 16);
      i += 2;
    } else {
      out += link[i];
    }
  }
  return out;
}

// Every figure the report lists exists as a PNG; every src= / href= is a relative path to a
// file that exists (no network, no absolute path). Returns the number of figures.
size_t check_report(const std::string& dir) {
  const report::Report r = report::collect(dir);
  size_t figures = 0;
  for (const report::Figure& f : r.figures) {
    if (f.series.empty() && f.kind != "image") continue;
    check_png(dir + "/" + (f.kind == "image" ? f.image : "figures/" + f.name + ".png"));
    ++figures;
  }
  const std::string html = read_text(dir + "/report.html");
  const std::regex link("(src|href)=\"([^\"]*)\"");
  size_t links = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link); it != std::sregex_iterator(); ++it, ++links) {
    const std::string target = (*it)[2];
    BOOST_TEST(target.find(':') == std::string::npos, target);  // no http:, file:, data:
    BOOST_TEST(target.front() != '/', target);
    BOOST_TEST(fs::is_regular_file(dir + "/" + unescape(target)), target);
  }
  BOOST_TEST(links >= figures);
  BOOST_TEST(html.find("<script") == std::string::npos);
  return figures;
}

// 6 clients on 1x6x6 synthetic images, 3 rounds, FedAvg and Ditto over 2 seeds, certified.
fl::json tiny_grid(const std::string& out) {
  return fl::json{{"name", "g"}, {"out", out}, {"dataset", "synthetic"}, {"synthetic_size", 6},
                  {"synthetic_train", 240}, {"synthetic_test", 60}, {"num_clients", 6}, {"clients_per_round", 5}, {"model", "mlp"},
                  {"hidden", {8}}, {"rounds", 3}, {"local_steps", 2}, {"batch_size", 8}, {"lr", 0.1},
                  {"progress", false}, {"strategy", {"fedavg", "ditto"}}, {"seeds", {0, 1}},
                  {"eval_certify", "pixel"}, {"certify_samples", 4}, {"certify_n0", 10}, {"certify_n", 40}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(report_command)

BOOST_AUTO_TEST_CASE(train_attack_and_certify_folders_get_valid_figures_and_local_links,
                     *boost::unit_test::precondition(MatplotlibPresent())) {
  TempDir tmp;
  const std::string ckpt = train_synthetic_checkpoint(tmp / "train", {"--epochs", "2"});
  std::vector<std::string> data = synthetic_data_flags();
  fs::create_directories(tmp / "attack");
  std::vector<std::string> attack = {"--model", ckpt, "--eps", "0,0.1,0.2", "--max", "20", "--out", tmp / "attack/pgd.csv",
                                     "--save-png", tmp / "attack/adv.png", "--png-count", "4"};
  attack.insert(attack.end(), data.begin(), data.end());
  capture_stdout([&] { cli::attack_command(attack); });
  fs::create_directories(tmp / "certify");
  std::vector<std::string> certify = {"--model", ckpt, "--N0", "10", "--N", "50", "--batch", "50", "--max", "6",
                                      "--out", tmp / "certify/c.tsv"};
  certify.insert(certify.end(), data.begin(), data.end());
  capture_stderr([&] { capture_stdout([&] { cli::certify_command(certify); }); });
  for (const char* kind : {"train", "attack", "certify"}) {
    BOOST_TEST_CONTEXT(kind) {
      BOOST_TEST(run_report(tmp / kind) == 0);
      BOOST_TEST(check_report(tmp / kind) >= 1u);
    }
  }
  BOOST_TEST(fs::exists(tmp / "attack/figures/robust_accuracy.png"));
  BOOST_TEST(read_text(tmp / "attack/report.html").find("src=\"adv.png\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_fl_grid_and_one_of_its_runs_get_valid_figures_and_local_links,
                     *boost::unit_test::precondition(MatplotlibPresent())) {
  TempDir tmp;
  capture_stderr([&] { capture_stdout([&] { fl::run(tiny_grid(tmp.path)); }); });
  BOOST_TEST(run_report(tmp / "g") == 0);
  BOOST_TEST(check_report(tmp / "g") >= 4u);  // accuracy per model, client spread, rejected, certified
  for (const char* f : {"grid_accuracy_global", "grid_accuracy_personal", "grid_rejected", "certified_accuracy"})
    BOOST_TEST(fs::exists(tmp / "g/figures/" + f + ".png"), f);
  const std::string run = tmp / "g/strategy=ditto/seed_1";
  BOOST_TEST(run_report(run) == 0);
  BOOST_TEST(check_report(run) >= 4u);
  // The page shows the resolved config and the summary as tables.
  const std::string html = read_text(run + "/report.html");
  BOOST_TEST(html.find("Resolved config") != std::string::npos);
  BOOST_TEST(html.find("<td>last.personal.mean_acc</td>") != std::string::npos);
}

// A bar figure (kind "bar"): its spec carries the category labels and one series per method
// (null = no bar, lo / hi = whisker ends, left out when not given); with matplotlib it renders.
BOOST_AUTO_TEST_CASE(a_bar_figure_spec_has_its_categories_and_series) {
  TempDir tmp;
  report::Report r;
  r.dir = tmp / "bars";
  report::Figure f;
  f.name = "attacks";
  f.kind = "bar";
  f.title = "accuracy under attack";
  f.categories = {"clean", "A1 50%", "A3 20%"};
  const double nan = std::nan("");
  report::Series fedavg{"fedavg", {}, {0.9, 0.4, nan}, {0.85, 0.3, nan}, {0.95, 0.5, nan}};
  report::Series ditto{"ditto", {}, {0.97, 0.9, 0.88}, {}, {}};
  f.series = {fedavg, ditto};
  r.figures = {f};
  bool missing = false;
  const std::string problem = report::render_figures(r, missing);
  const fl::json spec = fl::json::parse(read_text(r.dir + "/figures/attacks.json"));
  BOOST_TEST(spec["kind"] == "bar");
  BOOST_TEST(spec["categories"] == (fl::json{"clean", "A1 50%", "A3 20%"}), spec["categories"].dump());
  BOOST_TEST(spec["series"].size() == 2u);
  BOOST_TEST(spec["series"][0]["label"] == "fedavg");
  BOOST_TEST(spec["series"][0]["y"] == (fl::json{0.9, 0.4, nullptr}), spec["series"][0]["y"].dump());
  BOOST_TEST(spec["series"][0]["lo"] == (fl::json{0.85, 0.3, nullptr}));
  BOOST_TEST(spec["series"][0]["hi"] == (fl::json{0.95, 0.5, nullptr}));
  BOOST_TEST(spec["series"][1]["y"] == (fl::json{0.97, 0.9, 0.88}));
  BOOST_TEST(!spec["series"][1].contains("lo"));
  if (!matplotlib_present()) return;  // the spec is the C++ side's part; rendering needs matplotlib
  BOOST_TEST(problem == "", problem);
  check_png(r.dir + "/figures/attacks.png");
}

// Without matplotlib (here: no interpreter at all) the page is still written with its tables,
// one line names the package, and the status is 2.
BOOST_AUTO_TEST_CASE(without_python_the_page_has_the_tables_and_the_status_is_2) {
  TempDir tmp;
  train_synthetic_checkpoint(tmp / "train");
  setenv("NANOFED_PYTHON", (tmp / "no-such-python").c_str(), 1);
  int status = -1;
  const std::string err = capture_stderr([&] { capture_stdout([&] { status = cli::report_command({tmp / "train"}); }); });
  unsetenv("NANOFED_PYTHON");
  BOOST_TEST(status == 2);
  BOOST_TEST(split_lines(err).size() == 1u);
  BOOST_TEST(err.find("python3-matplotlib") != std::string::npos, err);
  BOOST_TEST(err.find("without figures") != std::string::npos, err);
  const std::string html = read_text(tmp / "train/report.html");
  BOOST_TEST(html.find("test_accuracy") != std::string::npos);
  BOOST_TEST(!fs::exists(tmp / "train/figures/train_loss.png"));
}

// A DIR that is not an output folder: one line naming it, and nothing created.
BOOST_AUTO_TEST_CASE(a_folder_without_results_is_an_error_that_names_it_and_writes_nothing) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  expect_error([&] { cli::report_command({tmp / "empty"}); }, {"nanofed report", tmp / "empty", "epochs.csv", "rounds.csv"});
  BOOST_TEST(fs::is_empty(tmp / "empty"));
  expect_error([&] { cli::report_command({tmp / "missing"}); }, {tmp / "missing", "is not a directory"});
  BOOST_TEST(!fs::exists(tmp / "missing"));
  BOOST_CHECK_THROW(cli::report_command({}), cli::UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
