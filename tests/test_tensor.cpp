// Tensor handle, creation, views, devices, random numbers: the core every op relies on.
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <vector>

#include "engine/autograd.h"
#include "engine/block_cache.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/reduce.h"
#include "engine/random.h"
#include "engine/storage.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif
#include "engine/tensor.h"
#include "tests/test_util.h"

using namespace nanofed;
using nanofed::test::expect_error;

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(creation_values_and_shapes) {
  Tensor z = zeros({2, 3});
  BOOST_TEST(z.numel() == 6);
  BOOST_TEST(z.dim() == 2);
  BOOST_TEST(z.size(-1) == 3);
  for (float v : z.to_vector()) BOOST_TEST(v == 0.0f);
  for (float v : full({4}, 2.5f).to_vector()) BOOST_TEST(v == 2.5f);
  for (float v : ones({3}).to_vector()) BOOST_TEST(v == 1.0f);
  std::vector<float> a = arange(0.5f, 3.0f, 0.5f).to_vector();
  BOOST_TEST(a == std::vector<float>({0.5f, 1.0f, 1.5f, 2.0f, 2.5f}), boost::test_tools::per_element());
  std::vector<int32_t> ai = arange(4, Device::cpu(), DType::i32).to_vector<int32_t>();
  BOOST_TEST(ai == std::vector<int32_t>({0, 1, 2, 3}), boost::test_tools::per_element());
  Tensor s = scalar_tensor(7.0f);
  BOOST_TEST(s.dim() == 0);
  BOOST_TEST(s.item() == 7.0f);
  Tensor u8 = full({3}, 1.0f, Device::cpu(), DType::u8);
  BOOST_TEST(u8.to_vector<uint8_t>() == std::vector<uint8_t>({1, 1, 1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(from_vector_round_trip_and_errors) {
  Tensor t = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  BOOST_TEST(t.str() == "f32[2, 3] on cpu");
  BOOST_TEST(t.to_vector()[4] == 5.0f);
  expect_error([] { from_vector(std::vector<float>{1, 2, 3}, {2, 2}); }, {"from_vector", "3 values", "[2, 2]"});
  expect_error([&] { t.to_vector<int32_t>(); }, {"to_vector<i32>", "f32"});
  expect_error([&] { t.item(); }, {"item", "6 elements"});
  expect_error([] { Tensor u; u.shape(); }, {"undefined"});
}

BOOST_AUTO_TEST_CASE(reshape_flatten_slice_share_storage) {
  Tensor t = from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  Tensor r = t.reshape({2, -1});
  BOOST_TEST(r.shape() == Shape({2, 6}), boost::test_tools::per_element());
  BOOST_TEST(r.same_storage(t));
  BOOST_TEST(t.reshape({3, 2, 2}).flatten(1).shape() == Shape({3, 4}), boost::test_tools::per_element());
  Tensor s = t.slice(1, 3);
  BOOST_TEST(s.shape() == Shape({2, 4}), boost::test_tools::per_element());
  BOOST_TEST(s.to_vector()[0] == 4.0f);
  s.fill_(-1.0f);  // a view: writes through to the base
  BOOST_TEST(t.to_vector()[4] == -1.0f);
  BOOST_TEST(t.to_vector()[3] == 3.0f);
  Tensor range = t.view_range(2, {3});
  BOOST_TEST(range.to_vector() == std::vector<float>({2, 3, -1}), boost::test_tools::per_element());
  expect_error([&] { t.reshape({5, -1}); }, {"reshape", "[3, 4]", "[5, -1]"});
  expect_error([&] { t.reshape({-1, -1}); }, {"reshape", "more than one -1"});
  expect_error([&] { t.slice(2, 4); }, {"slice", "[2, 4)", "[3, 4]"});
  expect_error([&] { t.view_range(10, {3}); }, {"view_range", "out of range"});
  expect_error([&] { t.size(2); }, {"size", "dim 2", "rank 2"});
}

BOOST_AUTO_TEST_CASE(clone_and_copy_are_deep) {
  Tensor t = from_vector(std::vector<float>{1, 2, 3}, {3});
  Tensor c = t.clone();
  c.fill_(0.0f);
  BOOST_TEST(t.to_vector()[0] == 1.0f);
  Tensor d = zeros({3});
  d.copy_(t);
  BOOST_TEST(d.to_vector()[2] == 3.0f);
  expect_error([&] { d.copy_(zeros({4})); }, {"copy_", "f32[4]", "f32[3]"});
  expect_error([&] { d.copy_(zeros({3}, Device::cpu(), DType::i32)); }, {"copy_", "i32[3]"});
}

BOOST_AUTO_TEST_CASE(device_parse_and_cpu_only_errors) {
  BOOST_TEST(Device::parse("cpu").is_cpu());
  BOOST_TEST(Device::parse("cuda:0").is_cuda());
  expect_error([] { Device::parse("gpu"); }, {"device", "'gpu'"});
  expect_error([] { Device::parse("cuda:x"); }, {"device", "'cuda:x'"});
  if (!cuda_available()) expect_error([] { zeros({2}, Device::cuda()); }, {"CUDA"});
}

BOOST_AUTO_TEST_CASE(random_is_seeded_and_has_the_right_moments) {
  Generator g1(42), g2(42), g3(43);
  std::vector<float> a = rand({1000}, g1).to_vector(), b = rand({1000}, g2).to_vector(),
                     c = rand({1000}, g3).to_vector();
  BOOST_TEST(a == b, boost::test_tools::per_element());
  BOOST_TEST(a != c);
  // A second draw continues the stream instead of repeating it.
  BOOST_TEST(rand({1000}, g1).to_vector() != a);
  double mean = 0, var = 0;
  Generator gn(5);
  std::vector<float> z = randn({200000}, gn).to_vector();
  for (float v : z) mean += v;
  mean /= z.size();
  for (float v : z) var += (v - mean) * (v - mean);
  var /= z.size();
  // Standard errors: mean 1/sqrt(n) = 0.0022, variance sqrt(2/n) = 0.0032; allow 5 sigma.
  BOOST_TEST(std::fabs(mean) < 0.011);
  BOOST_TEST(std::fabs(var - 1.0) < 0.016);
  Generator gu(6);
  std::vector<float> u = uniform({100000}, -2.0f, 4.0f, gu).to_vector();
  double umean = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
  BOOST_TEST(std::fabs(umean - 1.0) < 0.03);  // sd of mean = 6/sqrt(12 n) = 0.0055
  for (float v : u) BOOST_TEST_REQUIRE((v >= -2.0f && v < 4.0f));
  Generator gb(7);
  std::vector<float> bern = bernoulli({100000}, 0.3f, gb).to_vector();
  double ones_frac = std::accumulate(bern.begin(), bern.end(), 0.0) / bern.size();
  BOOST_TEST(std::fabs(ones_frac - 0.3) < 0.0075);  // 5 sigma of sqrt(.21/n) = 0.00145
  expect_error([&] { bernoulli({2}, 1.5f, gb); }, {"bernoulli", "[0, 1]"});
}

BOOST_AUTO_TEST_CASE(derived_generators_do_not_depend_on_use_order) {
  Generator root(2024);
  Generator a = root.derive({3, 17}), b = root.derive({3, 18});
  std::vector<float> first = rand({8}, b).to_vector();  // use b before a
  std::vector<float> av = rand({8}, a).to_vector();
  Generator a2 = Generator(2024).derive({3, 17});
  BOOST_TEST(rand({8}, a2).to_vector() == av, boost::test_tools::per_element());
  BOOST_TEST(first != av);
  BOOST_TEST(root.derive({17, 3}).seed() != a.seed());
}

BOOST_AUTO_TEST_CASE(randperm_is_a_seeded_permutation) {
  Generator a(9), b(9);
  std::vector<int64_t> p = randperm(50, a), q = randperm(50, b);
  BOOST_TEST(p == q, boost::test_tools::per_element());
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) BOOST_TEST(sorted[i] == i);
  BOOST_TEST(p != randperm(50, a));  // the generator advanced
  // Every position is uniform: element 0 lands in each of 4 slots ~1/4 of the time.
  Generator g(10);
  std::vector<int> where(4, 0);
  for (int t = 0; t < 4000; ++t) {
    std::vector<int64_t> r = randperm(4, g);
    where[std::find(r.begin(), r.end(), 0) - r.begin()]++;
  }
  for (int c : where) BOOST_TEST(std::abs(c - 1000) < 120);  // 5 sigma of sqrt(4000*3/16)=27
  BOOST_TEST(randperm(0, g).empty());
}

BOOST_AUTO_TEST_CASE(philox_known_answer) {
  // Known-answer test from the Random123 distribution (kat_vectors: philox4x32 10 rounds,
  // counter 0, key 0): 6627e8d5 e169c58d bc57ac4c 9b00dbd8.
  uint32_t out[4];
  philox4x32(0, 0, out);
  BOOST_TEST(out[0] == 0x6627e8d5u);
  BOOST_TEST(out[1] == 0xe169c58du);
  BOOST_TEST(out[2] == 0xbc57ac4cu);
  BOOST_TEST(out[3] == 0x9b00dbd8u);
}

// ---------------------------------------------------------------- CUDA

NF_CUDA_TEST_CASE(cuda_round_trip_fill_arange) {
  Tensor h = test::random_tensor({3, 1001}, 1);
  Tensor d = h.to(Device::cuda());
  BOOST_TEST(d.device().is_cuda());
  BOOST_TEST(d.cpu().to_vector() == h.to_vector(), boost::test_tools::per_element());
  BOOST_TEST(full({70000}, 3.0f, Device::cuda()).cpu().to_vector() == full({70000}, 3.0f).to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(arange(0.0f, 5000.0f, 1.0f, Device::cuda()).cpu().to_vector() == arange(0.0f, 5000.0f).to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(arange(9, Device::cuda(), DType::i32).cpu().to_vector<int32_t>() ==
                 arange(9, Device::cpu(), DType::i32).to_vector<int32_t>(),
             boost::test_tools::per_element());
  Tensor s = d.slice(1, 2);
  BOOST_TEST(s.cpu().to_vector() == h.slice(1, 2).to_vector(), boost::test_tools::per_element());
}

NF_CUDA_TEST_CASE(cuda_random_moments_and_seeding) {
  Generator g1(42), g2(42);
  std::vector<float> a = randn({100001}, g1, Device::cuda()).cpu().to_vector();  // odd n
  std::vector<float> b = randn({100001}, g2, Device::cuda()).cpu().to_vector();
  BOOST_TEST(a == b, boost::test_tools::per_element());
  double mean = std::accumulate(a.begin(), a.end(), 0.0) / a.size(), var = 0;
  for (float v : a) var += (v - mean) * (v - mean);
  var /= a.size();
  BOOST_TEST(std::fabs(mean) < 0.016);
  BOOST_TEST(std::fabs(var - 1.0) < 0.023);
  std::vector<float> u = rand({100000}, g1, Device::cuda()).cpu().to_vector();
  for (float v : u) BOOST_TEST_REQUIRE((v >= 0.0f && v < 1.0f));
  double umean = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
  BOOST_TEST(std::fabs(umean - 0.5) < 0.0046);
}

NF_CUDA_TEST_CASE(cuda_allocator_reuses_blocks) {
#if NANOFED_CUDA
  auto step = [] {  // the allocation pattern of a fixed-shape step
    Tensor a = zeros({64, 1000}, Device::cuda()), b = ones({123}, Device::cuda());
    Tensor c = full({3, 3}, 2.0f, Device::cuda());
  };
  step();
  const cuda::MemoryStats warm = cuda::memory_stats();
  for (int i = 0; i < 10; ++i) step();
  const cuda::MemoryStats after = cuda::memory_stats();
  BOOST_TEST(after.system_allocations == warm.system_allocations);
  BOOST_TEST(after.allocated == warm.allocated);
  BOOST_TEST(after.peak_allocated >= 64 * 1000 * 4u);
#endif
}

BOOST_AUTO_TEST_CASE(host_allocator_reuses_blocks_in_a_fixed_shape_step) {
  Generator gen(3);
  Tensor x = randn({4, 3, 8, 8}, gen), w = randn({5, 3, 3, 3}, gen);
  w.requires_grad_();
  auto step = [&] {  // a conv step: im2col's column buffer, the output, the gradients
    Tensor y = conv2d(x, w, Tensor(), 1, 1);
    sum(y).backward();
    w.set_grad(Tensor());
  };
  step();
  const MemoryStats warm = host_memory_stats();
  for (int i = 0; i < 5; ++i) step();
  const MemoryStats after = host_memory_stats();
  BOOST_TEST(after.system_allocations == warm.system_allocations);
  BOOST_TEST(after.allocated == warm.allocated);
  BOOST_TEST(after.peak_allocated >= 4 * 5 * 8 * 8 * 4u);
}

// The cache over a fake system allocator that counts and can refuse.
BOOST_AUTO_TEST_CASE(block_cache_rounds_reuses_bounds_and_retries) {
  std::vector<size_t> asked;
  int64_t live = 0;
  bool refuse_once = false;
  std::vector<std::unique_ptr<char[]>> arena;
  BlockCache cache(
      [&](size_t bytes) -> void* {
        if (refuse_once) { refuse_once = false; return nullptr; }
        asked.push_back(bytes), ++live;
        arena.emplace_back(new char[1]);
        return arena.back().get();
      },
      [&](void*) { --live; }, /*max_cached=*/3 << 20);
  BOOST_TEST(BlockCache::round_size(0) == 512u);
  BOOST_TEST(BlockCache::round_size(513) == 1024u);
  BOOST_TEST(BlockCache::round_size((1 << 20) + 1) == size_t(2) << 20);
  void* a = cache.allocate(1000);                      // 1024
  cache.release(a, 1000);
  BOOST_TEST(cache.allocate(700) == a);                // same 1024 class: reused
  BOOST_TEST(asked == std::vector<size_t>({1024}));
  void* big = cache.allocate(size_t(2) << 20);         // 2 MiB
  void* big2 = cache.allocate(size_t(2) << 20);
  BOOST_TEST(cache.stats().allocated == 1024u + (size_t(4) << 20));
  BOOST_TEST(cache.stats().peak_allocated == 1024u + (size_t(4) << 20));
  cache.release(big, size_t(2) << 20);                 // cached: 2 MiB <= 3 MiB
  cache.release(big2, size_t(2) << 20);                // would make 4 MiB: back to the system
  BOOST_TEST(live == 2);
  BOOST_TEST(cache.stats().reserved == 1024u + (size_t(2) << 20));
  refuse_once = true;                                  // refused: the cache is released, then retried
  void* c = cache.allocate(5000);
  BOOST_TEST(c != nullptr);
  BOOST_TEST(live == 2);                               // the 1 KiB block and c; the 2 MiB one freed
  BOOST_TEST(cache.stats().system_allocations == 4u);
  cache.reset_peak();
  BOOST_TEST(cache.stats().peak_allocated == cache.stats().allocated);
  cache.release(c, 5000);
  cache.empty();
  BOOST_TEST(live == 1);
  BOOST_TEST(cache.stats().reserved == 1024u);
}

BOOST_AUTO_TEST_SUITE_END()
