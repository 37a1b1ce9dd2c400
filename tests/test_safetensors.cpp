// safetensors: round trips, a byte-exact file written by hand, every malformed-file case, and
// checkpoints of a small module (with and without optimizer state).
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "nn/checkpoint.h"
#include "nn/safetensors.h"
#include "tests/test_util.h"

using nanofed::test::TempDir;

using namespace nanofed;
using nanofed::test::expect_close;
using nanofed::test::expect_error;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed at the end.
// A file image: the 8-byte little-endian length of `header`, `header`, then `data`.
std::string image(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = (char)((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string le_bytes(const void* p, size_t n) { return std::string((const char*)p, n); }

void expect_parse_error(const std::string& bytes, const std::vector<std::string>& fragments) {
  std::vector<std::string> f = fragments;
  f.insert(f.begin(), "read_safetensors: <mem>: ");
  expect_error([&] { nn::parse_safetensors(bytes, "<mem>"); }, f);
}

// A small model: linear(3->4) + relu, scaled by a buffer, then a child linear(4->2).
struct Head : nn::Module {
  Tensor weight;
  explicit Head(Generator& gen) { weight = register_parameter("weight", randn({2, 4}, gen)); }
  Tensor forward(const Tensor& x) override { return linear(x, weight); }
  std::string repr() const override { return "Head"; }
};
struct TinyNet : nn::Module {
  Tensor weight, bias, scale;
  std::shared_ptr<Head> head;
  explicit TinyNet(uint64_t seed) {
    Generator gen(seed);
    weight = register_parameter("weight", randn({4, 3}, gen));
    bias = register_parameter("bias", randn({4}, gen));
    scale = register_buffer("scale", uniform({4}, 0.5f, 1.5f, gen));
    head = register_module("head", std::make_shared<Head>(gen));
  }
  Tensor forward(const Tensor& x) override { return head->forward(mul(relu(linear(x, weight, bias)), scale)); }
  std::string repr() const override { return "TinyNet"; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_all_dtypes_scalars_empty_and_metadata) {
  TempDir dir;
  const std::string path = dir / "t.safetensors";
  nn::NamedTensors in = {
      {"weights", from_vector(std::vector<float>{1.5f, -2.25f, 3.0f, 1e-30f, -0.0f, 65504.0f}, {2, 3})},
      {"labels", from_vector(std::vector<int32_t>{-7, 0, 2147483647}, {3})},
      {"mask", from_vector(std::vector<uint8_t>{0, 255, 1, 2}, {2, 2})},
      {"scalar", scalar_tensor(42.5f)},
      {"empty", zeros({0, 5})},
      {"empty_u8", empty({0}, Device::cpu(), DType::u8)}};
  nn::Metadata meta = {{"format", "pt"}, {"epoch", "3"}, {"note", "ünïcode \"quoted\"\n"}};
  nn::write_safetensors(path, in, meta);
  BOOST_TEST(!fs::exists(path + ".tmp"));
  nn::SafetensorsFile out = nn::read_safetensors(path);
  BOOST_TEST((out.metadata == meta));
  BOOST_REQUIRE(out.tensors.size() == in.size());
  for (auto& [name, t] : in) {
    const Tensor* got = nullptr;
    for (auto& [n, u] : out.tensors)
      if (n == name) got = &u;
    BOOST_REQUIRE_MESSAGE(got, name);
    BOOST_TEST((got->shape() == t.shape()), name);
    BOOST_TEST((got->dtype() == t.dtype()), name);
    BOOST_TEST(std::memcmp(got->raw_data(), t.raw_data(), t.nbytes()) == 0, name);
  }
  // File order: F32 (by name), then I32, then U8 — the reference library's layout.
  std::vector<std::string> order;
  for (auto& [n, u] : out.tensors) order.push_back(n);
  BOOST_TEST(order == std::vector<std::string>({"empty", "scalar", "weights", "labels", "empty_u8", "mask"}),
             boost::test_tools::per_element());
  // Overwriting an existing file works (rename over it).
  nn::write_safetensors(path, {{"x", scalar_tensor(1.0f)}});
  BOOST_TEST(nn::read_safetensors(path).tensors.size() == 1u);
  BOOST_TEST(nn::read_safetensors(path).metadata.empty());
}

// The bytes written out by hand: header length 136 (0x88), the compact JSON (132 bytes) in the
// reference's order ("__metadata__" first, tensors F32 before U8, fields dtype/shape/
// data_offsets), 4 spaces of padding to a multiple of 8, then 1.0f = 00 00 80 3f,
// -2.0f = 00 00 00 c0 and the bytes 1 2 3.
BOOST_AUTO_TEST_CASE(byte_exact_small_file) {
  const std::string expected =
      std::string("\x88\0\0\0\0\0\0\0", 8) +
      "{\"__metadata__\":{\"k\":\"v\"},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}    " +
      std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0\x01\x02\x03", 11);
  BOOST_TEST(expected.size() == 8u + 136u + 11u);
  const nn::NamedTensors tensors = {{"b", from_vector(std::vector<uint8_t>{1, 2, 3}, {3})},
                                    {"a", from_vector(std::vector<float>{1.0f, -2.0f}, {2})}};
  const std::string got = nn::serialize_safetensors(tensors, {{"k", "v"}});
  BOOST_TEST(got == expected);
  TempDir dir;
  nn::write_safetensors(dir / "x.safetensors", tensors, {{"k", "v"}});
  std::ifstream f(dir / "x.safetensors", std::ios::binary);
  std::string on_disk((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  BOOST_TEST(on_disk == expected);
  // And the reader understands the hand-written bytes.
  auto back = nn::parse_safetensors(expected, "hand-made");
  BOOST_TEST(back.tensors[0].first == "a");
  BOOST_TEST(back.tensors[0].second.to_vector() == std::vector<float>({1.0f, -2.0f}), boost::test_tools::per_element());
  BOOST_TEST(back.tensors[1].second.to_vector<uint8_t>() == std::vector<uint8_t>({1, 2, 3}), boost::test_tools::per_element());
  // No metadata: no "__metadata__" entry at all (as safetensors.torch.save_file without it).
  BOOST_TEST(nn::serialize_safetensors({{"s", scalar_tensor(1.0f)}}).substr(8) ==
             std::string("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}   ") +
                 std::string("\x00\x00\x80\x3f", 4));
}

BOOST_AUTO_TEST_CASE(reads_pytorch_dtypes_i64_f64_bool) {
  const int64_t i64[3] = {5, -1, 2147483647};
  const double f64[2] = {0.5, -1e10};
  const std::string header =
      "{\"n\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
      "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[24,40]},"
      "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[40,42]}}";
  auto f = nn::parse_safetensors(image(header, le_bytes(i64, 24) + le_bytes(f64, 16) + std::string("\x01\x00", 2)), "m");
  BOOST_TEST((f.tensors[0].second.dtype() == DType::i32));
  BOOST_TEST(f.tensors[0].second.to_vector<int32_t>() == std::vector<int32_t>({5, -1, 2147483647}), boost::test_tools::per_element());
  BOOST_TEST(f.tensors[1].second.to_vector() == std::vector<float>({0.5f, -1e10f}), boost::test_tools::per_element());
  BOOST_TEST(f.tensors[2].second.to_vector<uint8_t>() == std::vector<uint8_t>({1, 0}), boost::test_tools::per_element());
  const int64_t big = 1LL << 40;
  expect_parse_error(image("{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", le_bytes(&big, 8)),
                     {"tensor 'n'", "I64 value 1099511627776", "does not fit"});
}

BOOST_AUTO_TEST_CASE(malformed_files_give_clear_errors) {
  const std::string data16(16, '\0');
  auto one = [](const std::string& entry) { return "{\"t\":" + entry + "}"; };
  expect_parse_error("abc", {"3 bytes", "shorter than the 8-byte header length"});
  expect_parse_error(image("{}").substr(0, 8) + "{", {"header length 2", "larger than the 1 bytes"});
  expect_parse_error(image("{\"t\": [1,"), {"invalid JSON header"});
  expect_parse_error(image("[1, 2]"), {"not an object"});
  expect_parse_error(image(one("{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}"), data16),
                     {"tensor 't'", "unknown or unsupported dtype 'F17'"});
  expect_parse_error(image(one("{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}"), data16),
                     {"tensor 't'", "dtype 'BF16'"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}"), data16),
                     {"tensor 't'", "shape [3] of F32 needs 12 bytes", "[0, 8] span 8"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]}"), data16),
                     {"tensor 't'", "[12, 20]", "beyond the 16 data bytes"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}"), data16),
                     {"tensor 't'", "end before they begin"});
  expect_parse_error(image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", data16),
                     {"tensors 'a' [0, 8] and 'b' [4, 12] overlap"});
  expect_parse_error(image(one("{\"shape\":[1],\"data_offsets\":[0,4]}"), data16), {"tensor 't'", "'dtype'"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"data_offsets\":[0,4]}"), data16), {"tensor 't'", "'shape'"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[1]}"), data16), {"tensor 't'", "'data_offsets'"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}"), data16), {"'data_offsets'"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}"), data16),
                     {"tensor 't'", "non-negative integers"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}"), data16), {"non-negative integers"});
  expect_parse_error(image(one("{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}"), data16),
                     {"tensor 't'", "needs too many bytes"});
  expect_parse_error(image(one("7"), data16), {"tensor 't'", "not an object"});
  expect_parse_error(image("{\"__metadata__\":{\"k\":1}}"), {"metadata 'k'", "not a string"});
  expect_parse_error(image("{\"__metadata__\":[]}"), {"'__metadata__' is not an object"});
  // Through a file: the path is named; a missing file too.
  TempDir dir;
  expect_error([&] { nn::read_safetensors(dir / "nope.safetensors"); }, {"read_safetensors", "nope.safetensors", "cannot open"});
  expect_error([&] { nn::read_safetensors(dir.path); }, {"read_safetensors", dir.path, "is a directory, expected a file"});
  try {  // nlohmann's "[json.exception.parse_error.101] " stays out of the message
    nn::parse_safetensors(image("{\"t\": [1,"), "<mem>");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("[json.exception") == std::string::npos, e.what());
  }
  // Writer-side errors.
  expect_error([&] { nn::serialize_safetensors({{"a", scalar_tensor(1)}, {"a", scalar_tensor(2)}}); }, {"'a' appears twice"});
  expect_error([&] { nn::serialize_safetensors({{"__metadata__", scalar_tensor(1)}}); }, {"reserved"});
  expect_error([&] { nn::write_safetensors(dir / "no/such/dir/x.safetensors", {}); }, {"write_safetensors", "x.safetensors.tmp"});
}

// Every truncation of a valid file is an Error, never a crash or a silent partial read.
BOOST_AUTO_TEST_CASE(every_truncation_is_an_error) {
  const std::string full = nn::serialize_safetensors(
      {{"w", from_vector(std::vector<float>{1, 2, 3}, {3})}, {"m", from_vector(std::vector<uint8_t>{7}, {1})}},
      {{"k", "v"}});
  for (size_t len = 0; len < full.size(); ++len) {
    bool threw = false;
    try {
      nn::parse_safetensors(full.substr(0, len), "cut");
    } catch (const Error& e) {
      threw = std::string(e.what()).find("read_safetensors: cut: ") == 0;
    }
    BOOST_TEST(threw, "prefix of " << len << " bytes");
  }
  BOOST_TEST(nn::parse_safetensors(full, "whole").tensors.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- checkpoints

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(model_round_trip_restores_identical_outputs) {
  TempDir dir;
  const std::string path = dir / "model.safetensors";
  TinyNet a(1), b(2);
  Tensor x = test::random_tensor({5, 3}, 9);
  BOOST_TEST((a(x).to_vector() != b(x).to_vector()));
  nn::save_checkpoint(path, a, nullptr, {{"epoch", "4"}});
  b.flat_parameters();  // the arena survives loading (values are copied in)
  Tensor arena = b.flat_parameters();
  nn::Metadata meta = nn::load_checkpoint(path, b);
  BOOST_TEST(meta.at("epoch") == "4");
  BOOST_TEST(b(x).to_vector() == a(x).to_vector(), boost::test_tools::per_element());
  BOOST_TEST(b.weight.same_storage(arena));
  // The file holds exactly the state_dict names.
  std::vector<std::string> keys;
  for (auto& [k, t] : nn::read_safetensors(path).tensors) keys.push_back(k);
  BOOST_TEST(keys == std::vector<std::string>({"bias", "head.weight", "scale", "weight"}), boost::test_tools::per_element());
}

// Model and Adam state saved mid-training; a restored copy continues bit-identically.
BOOST_AUTO_TEST_CASE(optimizer_state_round_trip_continues_training) {
  TempDir dir;
  const std::string path = dir / "ckpt.safetensors";
  Tensor x = test::random_tensor({6, 3}, 11);
  auto train_step = [&](TinyNet& m, nn::Optimizer& opt) {
    opt.zero_grad();
    Tensor loss = sum(mul(m(x), m(x)));
    loss.backward();
    opt.step();
  };
  TinyNet a(1), b(2);
  nn::Adam opt_a(a.parameters(), nn::AdamOptions(0.01).amsgrad(true));
  nn::Adam opt_b(b.parameters(), nn::AdamOptions(0.5).amsgrad(true));
  train_step(a, opt_a);
  train_step(a, opt_a);
  nn::save_checkpoint(path, a, &opt_a);
  nn::load_checkpoint(path, b, &opt_b);
  BOOST_TEST(opt_b.lr() == 0.01, boost::test_tools::tolerance(1e-7));
  BOOST_TEST(opt_b.step_count(0) == 2);
  train_step(a, opt_a);
  train_step(b, opt_b);
  BOOST_TEST(b(x).to_vector() == a(x).to_vector(), boost::test_tools::per_element());
  // Without an optimizer the optimizer state in the file is ignored.
  TinyNet c(3);
  nn::load_checkpoint(path, c);
  // Asking for optimizer state from a model-only file is an error.
  nn::save_checkpoint(dir / "model_only.safetensors", a);
  expect_error([&] { nn::load_checkpoint(dir / "model_only.safetensors", c, &opt_b); },
               {"load_checkpoint", "model_only.safetensors", "no optimizer state"});
}

// A file laid out as safetensors.torch.save_file(model.state_dict()) writes it, including a
// BatchNorm-style I64 num_batches_tracked that this model does not have.
BOOST_AUTO_TEST_CASE(loads_a_pytorch_state_dict_file) {
  TempDir dir;
  TinyNet ref(5);
  auto bytes_of = [](const Tensor& t) { return std::string((const char*)t.raw_data(), t.nbytes()); };
  const int64_t tracked = 17;
  std::string data = bytes_of(ref.bias) + bytes_of(ref.head->weight) + bytes_of(ref.scale) + bytes_of(ref.weight) +
                     std::string((const char*)&tracked, 8);
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"bias\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
      "\"head.weight\":{\"dtype\":\"F32\",\"shape\":[2,4],\"data_offsets\":[16,48]},"
      "\"scale\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[48,64]},"
      "\"weight\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[64,112]},"
      "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[112,120]}}";
  const std::string path = dir / "torch.safetensors";
  std::ofstream(path, std::ios::binary) << image(header, data);
  TinyNet m(6);
  BOOST_TEST(nn::load_checkpoint(path, m).at("format") == "pt");
  Tensor x = test::random_tensor({2, 3}, 4);
  BOOST_TEST(m(x).to_vector() == ref(x).to_vector(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mismatched_checkpoints_name_the_file_and_key) {
  TempDir dir;
  TinyNet a(1);
  const std::string path = dir / "bad.safetensors";
  nn::write_safetensors(path, {{"weight", zeros({4, 3})}, {"bias", zeros({5})}, {"scale", zeros({4})},
                               {"head.weight", zeros({2, 4})}});
  const std::vector<float> before = a.flat_parameters().to_vector();
  expect_error([&] { nn::load_checkpoint(path, a); }, {"load_checkpoint", "bad.safetensors", "'bias'", "[5]", "[4]"});
  BOOST_TEST(a.flat_parameters().to_vector() == before, boost::test_tools::per_element());  // untouched
  nn::write_safetensors(path, {{"weight", zeros({4, 3})}, {"bias", zeros({4})}, {"scale", zeros({4})}});
  expect_error([&] { nn::load_checkpoint(path, a); }, {"bad.safetensors", "missing key 'head.weight'"});
  nn::write_safetensors(path, {{"weight", zeros({4, 3})}, {"bias", zeros({4})}, {"scale", zeros({4})},
                               {"head.weight", zeros({2, 4})}, {"extra", zeros({1})}});
  expect_error([&] { nn::load_checkpoint(path, a); }, {"bad.safetensors", "unexpected key 'extra'"});
  std::ofstream(path, std::ios::binary) << "garbage";
  expect_error([&] { nn::load_checkpoint(path, a); }, {"read_safetensors", "bad.safetensors", "shorter"});
}

BOOST_AUTO_TEST_SUITE_END()
