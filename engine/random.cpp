#include "engine/random.h"

#include <utility>

#include "engine/common.h"

namespace nanofed {

// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
// a counter-based generator, so element i of a draw depends only on (seed, offset + i) and
// draws can be computed in any order or in parallel.
void philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]) {
  const uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = (uint64_t)kM0 * c0, p1 = (uint64_t)kM1 * c2;
    const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
    const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += kW0; k1 += kW1;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint64_t Generator::advance(uint64_t n) {
  const uint64_t start = offset_;
  offset_ += (n + 3) / 4 * 4;
  return start;
}

// Derived generators hash the parent seed with the keys (SplitMix64 steps), so
// derive({round, client}) differs for every (round, client) and never depends on the order
// in which other generators were used.
Generator Generator::derive(std::initializer_list<uint64_t> keys) const {
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(seed_);
  for (uint64_t k : keys) h = mix(h ^ mix(k));
  return Generator(h);
}

float Generator::next_uniform() {
  const uint64_t at = advance(1);
  uint32_t block[4];
  philox4x32(seed_, at / 4, block);
  return uint_to_uniform(block[0]);
}

uint64_t Generator::next_below(uint64_t n) {
  NF_CHECK(n > 0, "Generator::next_below: n must be positive");
  const uint64_t at = advance(4);
  uint32_t block[4];
  philox4x32(seed_, at / 4, block);
  const uint64_t x = ((uint64_t)block[0] << 32) | block[1];
  // 64-bit draw: the modulo bias is below 2^-32 for every n a program here uses.
  return x % n;
}

std::vector<int64_t> randperm(int64_t n, Generator& gen) {
  NF_CHECK(n >= 0, "randperm: n must be >= 0, got " << n);
  std::vector<int64_t> idx((size_t)n);
  for (int64_t i = 0; i < n; ++i) idx[i] = i;
  for (int64_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[gen.next_below((uint64_t)i)]);
  return idx;
}

}  // namespace nanofed
