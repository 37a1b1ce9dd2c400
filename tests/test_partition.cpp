// test_partition.cpp — partitioners cover every index once, sizes, seeded reproducibility,
// Dirichlet skew vs alpha and its bounded retries, shards' classes per client, environments,
// index files (round trip, malformed) and label histograms.
#include <algorithm>
#include <fstream>
#include <set>
#include <vector>

#include "fl/partition.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::fl;
using namespace nanofed::test;

namespace {

// n_per_class samples of each of `classes` labels, interleaved.
std::vector<int32_t> balanced_labels(int64_t classes, int64_t n_per_class) {
  std::vector<int32_t> y;
  for (int64_t i = 0; i < classes * n_per_class; ++i) y.push_back((int32_t)(i % classes));
  return y;
}

// Mean over clients of (largest class count / client size).
double mean_max_fraction(const std::vector<std::vector<int64_t>>& hist) {
  double s = 0;
  int64_t clients = 0;
  for (const auto& h : hist) {
    int64_t n = 0, mx = 0;
    for (int64_t v : h) n += v, mx = std::max(mx, v);
    if (n == 0) continue;
    s += (double)mx / (double)n;
    ++clients;
  }
  return s / clients;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(partition)

BOOST_AUTO_TEST_CASE(iid_sizes_cover_and_seed) {
  Generator gen(1);
  const Partition p = iid_partition(10, 3, gen);
  BOOST_REQUIRE_EQUAL(p.size(), 3u);
  BOOST_CHECK_EQUAL(p[0].size(), 4u);
  BOOST_CHECK_EQUAL(p[1].size(), 3u);
  BOOST_CHECK_EQUAL(p[2].size(), 3u);
  check_partition(p, 10, "iid");
  for (const auto& part : p) BOOST_CHECK(std::is_sorted(part.begin(), part.end()));
  Generator g1(42), g2(42), g3(43);
  const Partition a = iid_partition(1000, 7, g1);
  BOOST_CHECK(a == iid_partition(1000, 7, g2));
  BOOST_CHECK(a != iid_partition(1000, 7, g3));
  check_partition(a, 1000, "iid 1000");
  for (const auto& part : a) BOOST_CHECK(part.size() == 142u || part.size() == 143u);
  expect_error([&] { iid_partition(10, 0, gen); }, {"iid partition", "num_clients"});
}

BOOST_AUTO_TEST_CASE(check_partition_reports) {
  expect_error([] { check_partition({{0, 1}, {1}}, 3, "p"); }, {"p", "index 1", "twice"});
  expect_error([] { check_partition({{0, 1}}, 3, "p"); }, {"p", "index 2", "no client"});
  expect_error([] { check_partition({{0, 5}}, 3, "p"); }, {"p", "index 5", "outside"});
}

BOOST_AUTO_TEST_CASE(dirichlet_skew_depends_on_alpha) {
  const std::vector<int32_t> y = balanced_labels(10, 200);  // n = 2000
  Generator g1(5);
  const Partition skewed = dirichlet_partition(y, 10, 0.05, 1, g1);
  check_partition(skewed, 2000, "dirichlet 0.05");
  Generator g2(5);
  const Partition flat = dirichlet_partition(y, 10, 1000.0, 1, g2);
  check_partition(flat, 2000, "dirichlet 1000");
  const double fs = mean_max_fraction(label_histogram(y, skewed, 10));
  const double ff = mean_max_fraction(label_histogram(y, flat, 10));
  BOOST_TEST_MESSAGE("mean max-class fraction alpha=0.05: " << fs << ", alpha=1000: " << ff);
  BOOST_CHECK_GT(fs, 0.6);  // mostly one class per client
  BOOST_CHECK_LT(ff, 0.2);  // near uniform: ~0.1 per class
  for (const auto& h : label_histogram(y, flat, 10))
    for (int64_t v : h) BOOST_CHECK(v >= 10 && v <= 30);  // ~20 of each class
  Generator g3(5);
  BOOST_CHECK(skewed == dirichlet_partition(y, 10, 0.05, 1, g3));
}

BOOST_AUTO_TEST_CASE(dirichlet_min_partition_size) {
  const std::vector<int32_t> y = balanced_labels(10, 100);  // n = 1000
  Generator gen(3);
  const Partition p = dirichlet_partition(y, 10, 0.5, 30, gen);
  check_partition(p, 1000, "dirichlet min 30");
  for (const auto& part : p) BOOST_CHECK_GE(part.size(), 30u);
  // Impossible by counting: thrown before any draw.
  expect_error([&] { dirichlet_partition(y, 10, 0.5, 101, gen); },
               {"dirichlet partition", "infeasible", "min_partition_size 101", "1000 samples"});
  // Feasible by counting, hopeless in practice with alpha 0.05: bounded retries, then an error.
  expect_error([&] { dirichlet_partition(y, 10, 0.05, 100, gen, 20); },
               {"dirichlet partition", "20 tries", "min_partition_size 100", "infeasible"});
  expect_error([&] { dirichlet_partition(y, 10, 0.0, 1, gen); }, {"alpha must be > 0"});
}

BOOST_AUTO_TEST_CASE(shards_classes_per_client) {
  const std::vector<int32_t> y = balanced_labels(10, 60);  // 600 samples
  Generator gen(9);
  const Partition p = shards_partition(y, 20, 2, gen);  // 40 shards of 15, 4 per class
  check_partition(p, 600, "shards");
  for (const auto& h : label_histogram(y, p, 10)) {
    int64_t distinct = 0, n = 0;
    for (int64_t v : h) distinct += v > 0, n += v;
    BOOST_CHECK_EQUAL(distinct, 2);
    BOOST_CHECK_EQUAL(n, 30);
  }
  Generator g1(9);
  BOOST_CHECK(p == shards_partition(y, 20, 2, g1));
  // 3 classes per client over 10 clients: 30 shards of 20, 3 per class.
  Generator g2(1);
  for (const auto& h : label_histogram(y, shards_partition(y, 10, 3, g2), 10)) {
    int64_t distinct = 0;
    for (int64_t v : h) distinct += v > 0;
    BOOST_CHECK_EQUAL(distinct, 3);
  }
  // Not divisible: still a partition.
  const std::vector<int32_t> z = balanced_labels(3, 7);
  Generator g3(2);
  check_partition(shards_partition(z, 4, 2, g3), 21, "shards 21");
  expect_error([&] { shards_partition(z, 11, 2, g3); }, {"shards partition", "22 shards"});
}

BOOST_AUTO_TEST_CASE(environments) {
  const Partition p = by_environment({5, 2, 5, 7, 2});
  BOOST_REQUIRE_EQUAL(p.size(), 3u);
  BOOST_CHECK((p[0] == std::vector<int64_t>{1, 4}));
  BOOST_CHECK((p[1] == std::vector<int64_t>{0, 2}));
  BOOST_CHECK((p[2] == std::vector<int64_t>{3}));
}

BOOST_AUTO_TEST_CASE(histogram_and_report) {
  const std::vector<int32_t> y = {0, 1, 1, 2, 0};
  const auto h = label_histogram(y, {{0, 1}, {2, 3, 4}}, 3);
  BOOST_CHECK((h[0] == std::vector<int64_t>{1, 1, 0}));
  BOOST_CHECK((h[1] == std::vector<int64_t>{1, 1, 1}));
  const std::string r = histogram_report(h);
  BOOST_CHECK(r.find("client    0 | n=     2 | 0:1 1:1\n") != std::string::npos);
  BOOST_CHECK(r.find("client    1 | n=     3 | 0:1 1:1 2:1\n") != std::string::npos);
  BOOST_CHECK(r.find("total       | n=     5 | 0:2 1:2 2:1\n") != std::string::npos);
  expect_error([&] { label_histogram(y, {{0, 9}}, 3); }, {"label_histogram", "index 9"});
  expect_error([&] { label_histogram(y, {{3}}, 2); }, {"label_histogram", "label 2"});
}

BOOST_AUTO_TEST_CASE(index_file_round_trip) {
  TempDir dir;
  const Partition p = {{0, 3, 7}, {}, {1, 2, 4, 5, 6}};
  write_partition(dir / "p.txt", p);
  BOOST_CHECK(read_partition(dir / "p.txt") == p);
  std::ifstream f(dir / "p.txt");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BOOST_CHECK_EQUAL(text, "nanofed-partition v1\nclients 3\n0: 0 3 7\n1:\n2: 1 2 4 5 6\n");
}

BOOST_AUTO_TEST_CASE(index_file_malformed) {
  TempDir dir;
  const std::string path = dir / "bad.txt";
  expect_error([&] { read_partition(dir / "missing.txt"); }, {"missing.txt", "cannot open"});
  write_text(path, "");
  expect_error([&] { read_partition(path); }, {"bad.txt:1:", "end of file"});
  write_text(path, "partition\nclients 1\n0: 1\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:1:", "nanofed-partition v1"});
  write_text(path, "nanofed-partition v1\nclients two\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:2:", "number of clients", "'two'"});
  write_text(path, "nanofed-partition v1\nclients 2\n0: 1 2\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:4:", "end of file"});
  write_text(path, "nanofed-partition v1\nclients 2\n0: 1 2\n1: 3 x\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:4:", "sample index", "'x'"});
  write_text(path, "nanofed-partition v1\nclients 2\n0: 1 -2\n1: 3\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:3:", "'-2'"});
  write_text(path, "nanofed-partition v1\nclients 2\n1: 1\n0: 3\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:3:", "expected client 0"});
  write_text(path, "nanofed-partition v1\nclients 1\n0 1 2\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:3:", "'0: <indices>'"});
  write_text(path, "nanofed-partition v1\nclients 1\n0: 1\n1: 2\n");
  expect_error([&] { read_partition(path); }, {"bad.txt:4:", "unexpected content"});
}

BOOST_AUTO_TEST_SUITE_END()
