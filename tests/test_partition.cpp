// test_partition.cpp — partitioners cover every index once, sizes, seeded reproducibility,
// Dirichlet skew vs alpha and its bounded retries, shards' classes per client, environments,
// index files (round trip, malformed) and label histograms; Ditto's FMNIST generator, per-client
// train/test splits and their files.
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

std::vector<int64_t> class_counts(const std::vector<int32_t>& labels,
                                  const std::vector<int64_t>& indices, int64_t classes) {
  std::vector<int64_t> h((size_t)classes, 0);
  for (int64_t i : indices) ++h[labels.at((size_t)i)];
  return h;
}

// blocks[b] = what the b-th client drawing one class took from that class's pool of size m,
// in client order. Replays create_dataset.py's cursor from the block sizes alone: no index
// repeats inside one pass over the pool, and every pass restarts at the pool's start, so the
// first blocks of any two passes are nested. Returns the number of passes.
int64_t check_sequential_pool(const std::vector<std::vector<int64_t>>& blocks, int64_t m,
                              const std::string& what) {
  int64_t passes = 0, cursor = 0;
  std::set<int64_t> seen;
  std::vector<std::vector<int64_t>> firsts;
  for (const auto& block : blocks) {
    const int64_t n = (int64_t)block.size();
    BOOST_REQUIRE_LE(n, m);
    if (passes == 0 || cursor + n > m) {
      ++passes, cursor = 0, seen.clear();
      firsts.push_back(block);
    }
    for (int64_t i : block)
      BOOST_CHECK_MESSAGE(seen.insert(i).second, what << ": " << i << " repeats inside a pass");
    cursor += n;
  }
  for (const auto& a : firsts)
    for (const auto& b : firsts) {
      const auto& small = a.size() <= b.size() ? a : b;
      const auto& large = a.size() <= b.size() ? b : a;
      BOOST_CHECK_MESSAGE(std::includes(large.begin(), large.end(), small.begin(), small.end()),
                          what << ": passes do not start at the same place");
    }
  return passes;
}

// Indices of one class in a sorted index list, still sorted.
std::vector<int64_t> of_class(const std::vector<int32_t>& labels,
                              const std::vector<int64_t>& indices, int32_t c) {
  std::vector<int64_t> out;
  for (int64_t i : indices)
    if (labels[i] == c) out.push_back(i);
  return out;
}

// Writes each malformed text to `path` and expects `read(path)` to fail naming every piece.
template <class Read>
void expect_each_rejected(const std::string& path, Read read,
                          const std::vector<std::pair<std::string, std::vector<std::string>>>& cases) {
  for (const auto& [text, pieces] : cases) {
    write_text(path, text);
    expect_error([&] { read(path); }, pieces);
  }
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
  expect_each_rejected(path, read_partition, {
      {"", {"bad.txt:1:", "end of file"}},
      {"partition\nclients 1\n0: 1\n", {"bad.txt:1:", "nanofed-partition v1"}},
      {"nanofed-partition v1\nclients two\n", {"bad.txt:2:", "number of clients", "'two'"}},
      {"nanofed-partition v1\nclients 2\n0: 1 2\n", {"bad.txt:4:", "end of file"}},
      {"nanofed-partition v1\nclients 2\n0: 1 2\n1: 3 x\n", {"bad.txt:4:", "sample index", "'x'"}},
      {"nanofed-partition v1\nclients 2\n0: 1 -2\n1: 3\n", {"bad.txt:3:", "'-2'"}},
      {"nanofed-partition v1\nclients 2\n1: 1\n0: 3\n", {"bad.txt:3:", "expected client 0"}},
      {"nanofed-partition v1\nclients 1\n0 1 2\n", {"bad.txt:3:", "'0: <indices>'"}},
      {"nanofed-partition v1\nclients 1\n0: 1\n1: 2\n", {"bad.txt:4:", "unexpected content"}}});
}

BOOST_AUTO_TEST_CASE(ditto_classes_counts_and_sizes) {
  const std::vector<int32_t> y_train = balanced_labels(10, 600), y_test = balanced_labels(10, 100);
  const int64_t K = 50;
  Generator gen(233);
  const FederatedSplit s = ditto_partition(y_train, y_test, K, 10, 1.0, gen);
  BOOST_REQUIRE_EQUAL(s.size(), (size_t)K);
  int64_t train_total = 0, test_total = 0;
  for (int64_t u = 0; u < K; ++u) {
    BOOST_CHECK(std::is_sorted(s[u].train.begin(), s[u].train.end()));
    BOOST_CHECK(std::is_sorted(s[u].test.begin(), s[u].test.end()));
    const std::vector<int64_t> tr = class_counts(y_train, s[u].train, 10);
    const std::vector<int64_t> te = class_counts(y_test, s[u].test, 10);
    for (int64_t c = 0; c < 10; ++c) {
      const bool own = (c - u % 10 + 10) % 10 < 5;  // c = (u + j) mod 10, j = 0..4
      if (!own) {
        BOOST_CHECK_MESSAGE(tr[c] == 0 && te[c] == 0, "client " << u << " has class " << c);
        continue;
      }
      // train = floor(x) + 1 >= 1 and test = floor(x / 6) + 1 = floor(floor(x) / 6) + 1, so
      // test = (train - 1) / 6 + 1 exactly (integer division) and test <= train.
      BOOST_CHECK_GE(tr[c], 1);
      BOOST_CHECK_MESSAGE(te[c] == (tr[c] - 1) / 6 + 1,
                          "client " << u << " class " << c << ": " << tr[c] << " train, " << te[c]
                                    << " test");
      BOOST_CHECK_LE(te[c], tr[c]);
    }
    train_total += (int64_t)s[u].train.size();
    test_total += (int64_t)s[u].test.size();
  }
  // sum_j floor(p_j n_u) lies in [n_u - 4, n_u] for integer n_u, so a client has n_u + 1 ..
  // n_u + 5 train samples; sum n_u lies in (N - K, N] after flooring: (N, N + 5K] in total.
  BOOST_TEST_MESSAGE("ditto K=50: " << train_total << " train, " << test_total << " test");
  BOOST_CHECK_GT(train_total, 6000);
  BOOST_CHECK_LE(train_total, 6000 + 5 * K);
  // Per class test = (train - 1) / 6 + 1 lies in [train / 6, train / 6 + 5/6]: about 1/6.
  const double ratio = (double)test_total / (double)train_total;
  BOOST_CHECK_GE(ratio, 1.0 / 6);
  BOOST_CHECK_LE(ratio, 1.0 / 6 + 5.0 / 6 * 5 * K / train_total);
  // The test pools (100 per class) run out and wrap: sequential passes, indices reused.
  BOOST_REQUIRE_GT(test_total, 1000);
  std::set<int64_t> distinct;
  for (const auto& c : s) distinct.insert(c.test.begin(), c.test.end());
  BOOST_CHECK_LT((int64_t)distinct.size(), test_total);
  int64_t max_test_passes = 0;
  for (int32_t c = 0; c < 10; ++c) {
    std::vector<std::vector<int64_t>> train_blocks, test_blocks;
    for (int64_t u = 0; u < K; ++u) {
      if ((c - u % 10 + 10) % 10 >= 5) continue;
      train_blocks.push_back(of_class(y_train, s[u].train, c));
      test_blocks.push_back(of_class(y_test, s[u].test, c));
    }
    check_sequential_pool(train_blocks, 600, "train class " + std::to_string(c));
    max_test_passes =
        std::max(max_test_passes,
                 check_sequential_pool(test_blocks, 100, "test class " + std::to_string(c)));
  }
  BOOST_CHECK_GE(max_test_passes, 2);
  // scale 0.5: (N/2, N/2 + 5K]
  Generator g2(1);
  int64_t half_total = 0;
  for (const auto& c : ditto_partition(y_train, y_test, K, 10, 0.5, g2))
    half_total += c.train.size();
  BOOST_CHECK_GT(half_total, 3000);
  BOOST_CHECK_LE(half_total, 3000 + 5 * K);
}

BOOST_AUTO_TEST_CASE(ditto_seed_small_pools_and_errors) {
  const std::vector<int32_t> y_train = balanced_labels(10, 600), y_test = balanced_labels(10, 100);
  Generator g1(5), g2(5), g3(6);
  const FederatedSplit a = ditto_partition(y_train, y_test, 20, 10, 1.0, g1);
  BOOST_CHECK(a == ditto_partition(y_train, y_test, 20, 10, 1.0, g2));
  BOOST_CHECK(a != ditto_partition(y_train, y_test, 20, 10, 1.0, g3));
  // A one-sample test pool per class (index c has label c): every request cycles through it.
  Generator g4(2);
  const std::vector<int32_t> one_each = balanced_labels(10, 1);
  const FederatedSplit tiny = ditto_partition(y_train, one_each, 10, 10, 1.0, g4);
  for (int64_t u = 0; u < 10; ++u) {
    const std::vector<int64_t> tr = class_counts(y_train, tiny[u].train, 10);
    const std::vector<int64_t> te = class_counts(one_each, tiny[u].test, 10);
    for (int64_t c = 0; c < 10; ++c) BOOST_CHECK_EQUAL(te[c], tr[c] ? (tr[c] - 1) / 6 + 1 : 0);
    for (int64_t i : tiny[u].test) BOOST_CHECK((i - u + 10) % 10 < 5);
  }
  // 2 clients draw classes 0..5 only: 6..9 may be missing from both pools.
  std::vector<int32_t> six_train, six_test;
  for (int32_t y : y_train) if (y < 6) six_train.push_back(y);
  for (int32_t y : y_test) if (y < 6) six_test.push_back(y);
  Generator g5(3);
  const FederatedSplit two = ditto_partition(six_train, six_test, 2, 10, 1.0, g5);
  const std::vector<int64_t> h1 = class_counts(six_train, two[1].train, 10);
  for (int64_t c = 0; c < 10; ++c) BOOST_CHECK_EQUAL(h1[c] > 0, c >= 1 && c <= 5);
  // With 3 clients class 6 is drawn (client 2: 2..6) and missing.
  Generator gen(0);
  expect_error([&] { ditto_partition(six_train, six_test, 3, 10, 1.0, gen); },
               {"ditto partition", "class 6 has 0 train and 0 test samples", "(0..6)"});
  std::vector<int32_t> no7_test = y_test;
  for (int32_t& y : no7_test) if (y == 7) y = 0;
  expect_error([&] { ditto_partition(y_train, no7_test, 20, 10, 1.0, gen); },
               {"ditto partition", "class 7 has 600 train and 0 test samples"});
  expect_error([&] { ditto_partition(y_train, y_test, 0, 10, 1.0, gen); },
               {"ditto partition", "num_clients must be >= 1, got 0"});
  expect_error([&] { ditto_partition(y_train, y_test, 20, 4, 1.0, gen); },
               {"ditto partition", "num_classes must be >= 5", "got 4"});
  expect_error([&] { ditto_partition(y_train, y_test, 20, 10, 0.0, gen); },
               {"ditto partition", "scale must be > 0, got 0"});
  expect_error([&] { ditto_partition(y_train, y_test, 20, 9, 1.0, gen); },
               {"ditto partition", "train label 9 at index 9", "outside [0, 9)"});
}

// Ditto App. G.4's validation share: the paper's code keeps int(0.9 n) samples for training.
BOOST_AUTO_TEST_CASE(split_validation_holds_out_n_minus_floor_of_the_rest) {
  std::vector<int64_t> train(12);
  for (int64_t i = 0; i < 12; ++i) train[i] = 100 + 3 * i;
  for (const auto& [n, held] : std::vector<std::pair<int64_t, int64_t>>{{12, 2}, {10, 1}, {3, 1}, {1, 1}, {0, 0}}) {
    BOOST_TEST_CONTEXT("n = " << n) {
      const std::vector<int64_t> list(train.begin(), train.begin() + n);
      Generator g(5);
      const TrainValidation tv = split_validation(list, 0.1, g);  // floor(0.9 * 12) = 10 -> 2 held
      BOOST_TEST((int64_t)tv.val.size() == held);
      std::vector<int64_t> both = tv.train;
      both.insert(both.end(), tv.val.begin(), tv.val.end());
      std::sort(both.begin(), both.end());
      BOOST_TEST(both == list, boost::test_tools::per_element());  // a partition of the list
      BOOST_TEST(std::is_sorted(tv.train.begin(), tv.train.end()));  // order kept
      BOOST_TEST(std::is_sorted(tv.val.begin(), tv.val.end()));
    }
  }
  Generator a(5), b(5), c(6);
  BOOST_TEST(split_validation(train, 0.3, a).val == split_validation(train, 0.3, b).val, boost::test_tools::per_element());
  BOOST_TEST(split_validation(train, 0.3, c).val != split_validation(train, 0.3, b).val);  // the seed draws them
  Generator d(1);
  BOOST_TEST(split_validation(train, 0.0, d).train == train, boost::test_tools::per_element());
  expect_error([&] { split_validation(train, 1.0, d); }, {"split_validation: fraction = 1 must lie in [0, 1)"});
}

BOOST_AUTO_TEST_CASE(split_train_test_sizes_cover_and_seed) {
  std::vector<int64_t> ten, hundred;
  for (int64_t i = 10; i < 20; ++i) ten.push_back(i);
  for (int64_t i = 0; i < 100; ++i) hundred.push_back(3 * i);
  const Partition parts = {{}, {7}, {3, 9}, {0, 1, 2, 4, 5}, ten};
  auto test_sizes = [&](double fraction) {
    Generator gen(1);
    std::vector<size_t> sizes;
    for (const ClientSplit& c : split_train_test(parts, fraction, gen))
      sizes.push_back(c.test.size());
    return sizes;
  };
  // sizes 0, 1, 2, 5, 10; test = round(f n) clamped to [1, n - 1] for n >= 2, else 0:
  //   f = 0.2:  -, -, round(0.4) = 0 -> 1, round(1.0) = 1, 2
  //   f = 0.5:  -, -, 1, round(2.5) = 3 (halves away from zero), 5
  //   f = 0.9:  -, -, round(1.8) = 2 -> 1, round(4.5) = 5 -> 4, 9
  //   f = 0.01: -, -, 0 -> 1, 0 -> 1, round(0.1) = 0 -> 1
  BOOST_TEST(test_sizes(0.2) == std::vector<size_t>({0, 0, 1, 1, 2}),
             boost::test_tools::per_element());
  BOOST_TEST(test_sizes(0.5) == std::vector<size_t>({0, 0, 1, 3, 5}),
             boost::test_tools::per_element());
  BOOST_TEST(test_sizes(0.9) == std::vector<size_t>({0, 0, 1, 4, 9}),
             boost::test_tools::per_element());
  BOOST_TEST(test_sizes(0.01) == std::vector<size_t>({0, 0, 1, 1, 1}),
             boost::test_tools::per_element());
  // Disjoint, covering, sorted; test = the first round(f n) of one randperm per part, in order.
  Generator gen(4), replay(4);
  const FederatedSplit s = split_train_test(parts, 0.2, gen);
  BOOST_REQUIRE_EQUAL(s.size(), parts.size());
  for (size_t k = 0; k < parts.size(); ++k) {
    BOOST_CHECK(std::is_sorted(s[k].train.begin(), s[k].train.end()));
    BOOST_CHECK(std::is_sorted(s[k].test.begin(), s[k].test.end()));
    std::vector<int64_t> common, both;
    std::set_intersection(s[k].train.begin(), s[k].train.end(), s[k].test.begin(),
                          s[k].test.end(), std::back_inserter(common));
    BOOST_CHECK(common.empty());
    std::merge(s[k].train.begin(), s[k].train.end(), s[k].test.begin(), s[k].test.end(),
               std::back_inserter(both));
    BOOST_CHECK(both == parts[k]);
    const std::vector<int64_t> perm = randperm((int64_t)parts[k].size(), replay);
    std::vector<int64_t> expected_test;
    for (size_t i = 0; i < s[k].test.size(); ++i) expected_test.push_back(parts[k][perm[i]]);
    std::sort(expected_test.begin(), expected_test.end());
    BOOST_CHECK(s[k].test == expected_test);
  }
  BOOST_CHECK(s[1].train == std::vector<int64_t>({7}));
  Generator g1(9), g2(9), g3(10);
  const FederatedSplit big = split_train_test({hundred, ten}, 0.3, g1);
  BOOST_CHECK_EQUAL(big[0].test.size(), 30u);
  BOOST_CHECK(big == split_train_test({hundred, ten}, 0.3, g2));
  BOOST_CHECK(big != split_train_test({hundred, ten}, 0.3, g3));
  for (double bad : {0.0, 1.0, -0.1})
    expect_error([&] { split_train_test(parts, bad, gen); },
                 {"split_train_test", "test_fraction", "(0, 1)"});
}

BOOST_AUTO_TEST_CASE(split_file_round_trip) {
  TempDir dir;
  const FederatedSplit s = {{{0, 3, 7}, {1}}, {{}, {}}, {{2, 4}, {5, 6}}};
  write_split(dir / "s.txt", s);
  BOOST_CHECK(read_split(dir / "s.txt") == s);
  BOOST_CHECK_EQUAL(read_text(dir / "s.txt"),
                    "nanofed-split v1\nclients 3\n0 train: 0 3 7\n0 test: 1\n1 train:\n1 test:\n"
                    "2 train: 2 4\n2 test: 5 6\n");
  Generator gen(8);
  const FederatedSplit d =
      ditto_partition(balanced_labels(10, 60), balanced_labels(10, 10), 12, 10, 1.0, gen);
  write_split(dir / "d.txt", d);
  BOOST_CHECK(read_split(dir / "d.txt") == d);
}

BOOST_AUTO_TEST_CASE(split_file_malformed) {
  TempDir dir;
  const std::string path = dir / "bad.txt";
  expect_error([&] { read_split(dir / "missing.txt"); },
               {"read_split", "missing.txt", "cannot open"});
  expect_each_rejected(path, read_split, {
      {"nanofed-partition v1\nclients 1\n0 train: 1\n0 test: 2\n", {"bad.txt:1:", "expected header 'nanofed-split v1'"}},
      {"nanofed-split v1\nclients 2\n0 train: 1\n0 test: 2\n2 train: 3\n1 test: 4\n", {"bad.txt:5:", "expected client 1, got 2"}},
      {"nanofed-split v1\nclients 1\n0 train: 1 2.5\n0 test:\n", {"bad.txt:3:", "sample index", "'2.5'"}},
      {"nanofed-split v1\nclients 1\n0 train: 1\n0 train: 2\n", {"bad.txt:4:", "expected '0 test: <indices>'"}},
      {"nanofed-split v1\nclients 1\n0 train: 1\n", {"bad.txt:4:", "end of file", "'0 test: <indices>'"}},
      {"nanofed-split v1\nclients 1\n0 train: 1\n0 test: 2\n1 train: 3\n", {"bad.txt:5:", "unexpected content after 1 clients"}}});
}

BOOST_AUTO_TEST_SUITE_END()
