// reduce.cu — CUDA reductions over [outer, r, inner] -> [outer, inner].
//
// One kernel template (policy: the accumulator and its combine; load/store functors) does all
// of sum, sum of squares and max/argmax. A block of TX x TY = 256 threads owns TX neighbouring
// inner positions of one (outer, chunk of r): the TX lanes read consecutive addresses
// (coalesced), the TY rows stride over r, then a shared-memory tree combines the rows in a
// fixed order. When the output is too small to fill the GPU, r is split into chunks reduced by
// many blocks into a [outer, chunks, inner] buffer and a second pass reduces the chunks. The
// split depends only on the shape, so results are bitwise reproducible (no atomics).
//
// Cost: memory-bound; reads 4 bytes per input element, ~1 FLOP each; e.g. a full sum of
// 10^7 floats moves 40 MB (~15 us at ~3 TB/s) plus a negligible second pass.
// bincount (integer atomics) is at the end of the file.
#include <algorithm>
#include <climits>

#include "engine/cuda/runtime.h"
#include "engine/ops/reduce_kernels.h"

namespace nanofed::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kTargetBlocks = 1024;  // enough blocks to fill every SM a few times

struct SumOp {
  using Acc = float;
  __device__ static Acc identity() { return 0.f; }
  __device__ static Acc combine(Acc a, Acc b) { return a + b; }
};

struct ArgMax {
  float v;
  int32_t i;
};
struct MaxOp {  // larger value wins; NaN beats everything; ties go to the smaller index
  using Acc = ArgMax;
  __device__ static Acc identity() { return {-INFINITY, INT_MAX}; }
  __device__ static Acc combine(Acc a, Acc b) {
    bool a_nan = a.v != a.v, b_nan = b.v != b.v;
    if (a_nan != b_nan) return a_nan ? a : b;
    if (!a_nan && a.v != b.v) return a.v > b.v ? a : b;
    return a.i <= b.i ? a : b;
  }
};

struct LoadValue {  // x or x^2
  const float* x;
  bool square;
  __device__ float operator()(int64_t j, int64_t) const {
    float v = x[j];
    return square ? v * v : v;
  }
};
struct LoadArgMax {  // element k of the reduced dim
  const float* x;
  __device__ ArgMax operator()(int64_t j, int64_t k) const { return {x[j], (int32_t)k}; }
};
struct LoadPartialArgMax {  // second pass: (value, index) pairs from the first
  const float* v;
  const int32_t* idx;
  __device__ ArgMax operator()(int64_t j, int64_t) const { return {v[j], idx[j]}; }
};

struct StoreScaled {
  float* y;
  float scale;
  __device__ void operator()(int64_t j, float acc) const { y[j] = acc * scale; }
};
struct StoreArgMax {
  float* values;
  int32_t* indices;
  __device__ void operator()(int64_t j, ArgMax acc) const {
    values[j] = acc.v;
    indices[j] = acc.i;
  }
};

// Reduces chunk c of r for TX inner positions per block; writes [outer, chunks, inner].
template <class Op, class Load, class Store>
__global__ void reduce_kernel(Load load, Store store, int64_t outer, int64_t r, int64_t inner,
                              int64_t chunk_len, int64_t chunks) {
  using Acc = typename Op::Acc;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);
  const int tx = threadIdx.x, ty = threadIdx.y, TX = blockDim.x, TY = blockDim.y;
  const int64_t inner_tiles = (inner + TX - 1) / TX;
  const int64_t tiles = outer * chunks * inner_tiles;
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {  // uniform across the block
    const int64_t it = t % inner_tiles, c = (t / inner_tiles) % chunks,
                  o = t / (inner_tiles * chunks);
    const int64_t i = it * TX + tx;
    const int64_t k_end = (c + 1) * chunk_len < r ? (c + 1) * chunk_len : r;
    Acc acc = Op::identity();
    if (i < inner)
      for (int64_t k = c * chunk_len + ty; k < k_end; k += TY)
        acc = Op::combine(acc, load((o * r + k) * inner + i, k));
    smem[ty * TX + tx] = acc;
    __syncthreads();
    for (int s = TY / 2; s > 0; s >>= 1) {  // TY is a power of two
      if (ty < s) smem[ty * TX + tx] = Op::combine(smem[ty * TX + tx], smem[(ty + s) * TX + tx]);
      __syncthreads();
    }
    if (ty == 0 && i < inner) store((o * chunks + c) * inner + i, smem[tx]);
    __syncthreads();  // smem is rewritten by the next tile
  }
}

struct Plan {
  dim3 block;
  int64_t chunks = 1, chunk_len = 1;
  unsigned grid = 1;
};

// Block shape and r split for [outer, r, inner]; a function of the shape only.
Plan plan_reduction(int64_t outer, int64_t r, int64_t inner, bool allow_split) {
  Plan p;
  int tx = 1;
  while (tx < 32 && tx < inner) tx *= 2;
  int ty = kBlock / tx;
  p.block = dim3(tx, ty);
  const int64_t base_tiles = outer * ((inner + tx - 1) / tx);
  int64_t chunks = 1;
  if (allow_split && base_tiles < kTargetBlocks) {
    int64_t by_blocks = (kTargetBlocks + base_tiles - 1) / base_tiles;
    int64_t by_length = r / ((int64_t)ty * 8);  // at least 8 loads per thread in a chunk
    chunks = std::max<int64_t>(1, std::min(by_blocks, by_length));
  }
  p.chunk_len = std::max<int64_t>(1, (r + chunks - 1) / chunks);
  p.chunks = std::max<int64_t>(1, (r + p.chunk_len - 1) / p.chunk_len);
  int64_t tiles = base_tiles * p.chunks;
  p.grid = (unsigned)std::max<int64_t>(1, std::min<int64_t>(tiles, 65535LL * 32));
  return p;
}

template <class Op, class Load, class Store>
void launch(const Plan& p, Load load, Store store, int64_t outer, int64_t r, int64_t inner) {
  size_t smem = sizeof(typename Op::Acc) * p.block.x * p.block.y;
  reduce_kernel<Op><<<p.grid, p.block, smem, stream()>>>(load, store, outer, r, inner,
                                                         p.chunk_len, p.chunks);
  NF_KERNEL_CHECK();
}

__global__ void max_scatter_kernel(const float* g, const int32_t* indices, float* gx,
                                   int64_t outer, int64_t r, int64_t inner) {
  NF_KERNEL_LOOP(oi, outer * inner) {
    int64_t o = oi / inner, i = oi % inner;
    gx[(o * r + indices[oi]) * inner + i] = g[oi];
  }
}

// gx = g * x / norm (0 where norm == 0): 8 bytes read + 4 written per element.
__global__ void norm_backward_kernel(const float* x, const float* g, const float* norm,
                                     float* gx, int64_t outer, int64_t r, int64_t inner) {
  NF_KERNEL_LOOP(j, outer * r * inner) {
    int64_t oi = (j / (r * inner)) * inner + j % inner;
    float n = norm[oi];
    gx[j] = n == 0.f ? 0.f : g[oi] * x[j] / n;
  }
}

// ---- bincount ----
// A privatized histogram: each block counts its grid-stride share of x into shared memory
// (bins * 4 bytes, at most kSharedBins * 4 = 48 KiB, the default dynamic limit), then adds its
// non-zero bins to the global counts. Per value: one 4-byte global read and one shared-memory
// atomicAdd; per block: at most `bins` global atomics. Integer atomics commute, so the counts
// are exact whatever the order. CERTIFY's 10^5 labels into 10 classes read 400 KB (launch-bound,
// a few microseconds). Wider histograms take one global atomicAdd per value.
constexpr int64_t kSharedBins = 12 * 1024;
constexpr unsigned kMaxHistogramBlocks = 1024;  // bounds the flush cost (blocks * bins atomics)

__global__ void bincount_shared_kernel(const int32_t* __restrict__ x, int32_t* __restrict__ counts,
                                       int64_t n, int64_t bins) {
  extern __shared__ int32_t block_counts[];
  for (int64_t b = threadIdx.x; b < bins; b += blockDim.x) block_counts[b] = 0;
  __syncthreads();
  NF_KERNEL_LOOP(i, n) {
    const int32_t v = x[i];
    if (v >= 0 && v < bins) atomicAdd(&block_counts[v], 1);  // out of range: not counted
  }
  __syncthreads();
  for (int64_t b = threadIdx.x; b < bins; b += blockDim.x)
    if (block_counts[b] != 0) atomicAdd(&counts[b], block_counts[b]);
}

__global__ void bincount_global_kernel(const int32_t* __restrict__ x, int32_t* __restrict__ counts,
                                       int64_t n, int64_t bins) {
  NF_KERNEL_LOOP(i, n) {
    const int32_t v = x[i];
    if (v >= 0 && v < bins) atomicAdd(&counts[v], 1);
  }
}

}  // namespace

void reduce_sum_f32(const float* x, float* y, int64_t outer, int64_t r, int64_t inner,
                    bool square, float scale) {
  if (outer * inner == 0) return;  // r == 0 runs the kernel: 0 * scale, like the CPU
  Plan p = plan_reduction(outer, r, inner, true);
  if (p.chunks == 1) {
    launch<SumOp>(p, LoadValue{x, square}, StoreScaled{y, scale}, outer, r, inner);
    return;
  }
  size_t bytes = sizeof(float) * outer * p.chunks * inner;
  float* partial = (float*)device_malloc(bytes);
  launch<SumOp>(p, LoadValue{x, square}, StoreScaled{partial, 1.f}, outer, r, inner);
  Plan p2 = plan_reduction(outer, p.chunks, inner, false);
  launch<SumOp>(p2, LoadValue{partial, false}, StoreScaled{y, scale}, outer, p.chunks, inner);
  device_free(partial, bytes);  // stream-ordered reuse: later work on stream() runs after
}

void reduce_max_f32(const float* x, float* values, int32_t* indices, int64_t outer, int64_t r,
                    int64_t inner) {
  if (outer * inner == 0 || r == 0) return;  // r == 0 is rejected by the Tensor op
  Plan p = plan_reduction(outer, r, inner, true);
  if (p.chunks == 1) {
    launch<MaxOp>(p, LoadArgMax{x}, StoreArgMax{values, indices}, outer, r, inner);
    return;
  }
  int64_t n_partial = outer * p.chunks * inner;
  size_t bytes = (sizeof(float) + sizeof(int32_t)) * n_partial;
  char* buffer = (char*)device_malloc(bytes);
  float* part_v = (float*)buffer;
  int32_t* part_i = (int32_t*)(buffer + sizeof(float) * n_partial);
  launch<MaxOp>(p, LoadArgMax{x}, StoreArgMax{part_v, part_i}, outer, r, inner);
  Plan p2 = plan_reduction(outer, p.chunks, inner, false);
  launch<MaxOp>(p2, LoadPartialArgMax{part_v, part_i}, StoreArgMax{values, indices}, outer,
                p.chunks, inner);
  device_free(buffer, bytes);
}

void max_backward_f32(const float* g, const int32_t* indices, float* gx, int64_t outer,
                      int64_t r, int64_t inner) {
  int64_t n = outer * r * inner;
  if (n == 0) return;
  CUDA_CHECK(cudaMemsetAsync(gx, 0, sizeof(float) * n, stream()));
  max_scatter_kernel<<<blocks_for(outer * inner), kThreads, 0, stream()>>>(g, indices, gx, outer,
                                                                           r, inner);
  NF_KERNEL_CHECK();
}

void norm_backward_f32(const float* x, const float* g, const float* norm, float* gx,
                       int64_t outer, int64_t r, int64_t inner) {
  int64_t n = outer * r * inner;
  if (n == 0) return;
  norm_backward_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(x, g, norm, gx, outer, r, inner);
  NF_KERNEL_CHECK();
}

void bincount_i32(const int32_t* x, int32_t* counts, int64_t n, int64_t bins) {
  CUDA_CHECK(cudaMemsetAsync(counts, 0, sizeof(int32_t) * bins, stream()));
  if (n == 0) return;
  const unsigned grid = std::min(blocks_for(n), kMaxHistogramBlocks);
  if (bins <= kSharedBins)
    bincount_shared_kernel<<<grid, kThreads, sizeof(int32_t) * bins, stream()>>>(x, counts, n, bins);
  else
    bincount_global_kernel<<<grid, kThreads, 0, stream()>>>(x, counts, n, bins);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
