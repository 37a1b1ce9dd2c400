// random.h — seeded, counter-based random numbers.
//
// A Generator is (seed, offset): Philox4x32-10 keyed by the seed, counting from offset. Each
// draw of n numbers advances offset, so a sequence of draws is reproducible from the seed
// alone, and generators can be derived per (seed, round, client, purpose) with derive().
// CPU draws use our Philox; CUDA draws use cuRAND's Philox generator with the same seed and
// offset. The two devices do NOT give identical numbers (cuRAND's output mapping differs);
// reproducibility is per device.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <vector>

namespace nanofed {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }
  // Reserves n 32-bit draws (rounded up to whole Philox blocks of 4); returns the start offset.
  uint64_t advance(uint64_t n);
  // An independent generator for a purpose, e.g. derive({round, client, PURPOSE_LOCAL_SGD}).
  Generator derive(std::initializer_list<uint64_t> keys) const;
  // Host draws (used by samplers and shufflers): uniform in [0,1), uniform integer in [0,n).
  float next_uniform();
  uint64_t next_below(uint64_t n);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// A uniformly random permutation of 0..n-1 (Fisher-Yates from the back, drawing next_below),
// like torch.randperm but on the host: shuffles, partitions and client sampling use it.
std::vector<int64_t> randperm(int64_t n, Generator& gen);

// Philox4x32-10 block `counter` under key `seed`: four 32-bit outputs.
void philox4x32(uint64_t seed, uint64_t counter, uint32_t out[4]);
// Maps a 32-bit draw to (0, 1]-exclusive-of-0 floats and standard normals (Box-Muller).
inline float uint_to_uniform(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }  // [0,1)

}  // namespace nanofed
