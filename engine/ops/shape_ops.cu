// shape_ops.cu — CUDA kernels for concat / permute / index_select / gather.
// All are pure data movement (0 FLOPs): the cost is bytes read + written. Kernels are
// templated on a 1- or 4-byte element type so one kernel serves f32, i32 and u8.
// Gradients (scatter-adds) use no atomics: each destination element is summed by one thread
// in a fixed order, so results are deterministic and match the CPU reference bit for bit.
#include "engine/cuda/runtime.h"
#include "engine/common.h"
#include "engine/ops/shape_ops.h"

namespace nanofed::cuda {
namespace {

// Host shape arrays passed to kernels by value.
struct Dims {
  int64_t v[kMaxPermuteRank];
};
Dims to_dims(int rank, const int64_t* a) {
  Dims d{};
  for (int k = 0; k < rank; ++k) d.v[k] = a[k];
  return d;
}
Dims contiguous_strides(int rank, const int64_t* shape) {
  Dims s{};
  int64_t acc = 1;
  for (int k = rank - 1; k >= 0; --k) {
    s.v[k] = acc;
    acc *= shape[k];
  }
  return s;
}
int64_t product(int rank, const int64_t* shape) {
  int64_t p = 1;
  for (int k = 0; k < rank; ++k) p *= shape[k];
  return p;
}

template <typename T> __device__ __forceinline__ T poison() { return (T)~(T)0; }  // all ones

// Element types by size: the kernels only move bits.
#define NF_DISPATCH_ELEM(elem_size, ...)                                                  \
  do {                                                                                    \
    if ((elem_size) == 4) {                                                               \
      using T = uint32_t;                                                                 \
      __VA_ARGS__;                                                                        \
    } else if ((elem_size) == 1) {                                                        \
      using T = uint8_t;                                                                  \
      __VA_ARGS__;                                                                        \
    } else {                                                                              \
      NF_CHECK(false, "shape_ops: unsupported element size " << (elem_size));             \
    }                                                                                     \
  } while (0)

// concat band copy: reads and writes rows*cols elements once (2 * elem_size B/element).
template <typename T>
__global__ void copy_rows_kernel(const T* __restrict__ src, int64_t src_stride,
                                 T* __restrict__ dst, int64_t dst_stride, int64_t rows,
                                 int64_t cols) {
  NF_KERNEL_LOOP(i, rows * cols) {
    const int64_t r = i / cols, j = i - r * cols;
    dst[r * dst_stride + j] = src[r * src_stride + j];
  }
}

// Permute: one thread per output element (coalesced writes, gathered reads). 2 * elem_size
// B/element; a shared-memory tiled transpose would coalesce the reads too (not needed yet).
template <typename T>
__global__ void permute_kernel(const T* __restrict__ x, T* __restrict__ y, int rank,
                               Dims out_shape, Dims in_strides, int64_t n) {
  NF_KERNEL_LOOP(i, n) {
    int64_t rest = i, src = 0;
    for (int k = rank - 1; k >= 0; --k) {
      src += (rest % out_shape.v[k]) * in_strides.v[k];
      rest /= out_shape.v[k];
    }
    y[i] = x[src];
  }
}

// index_select forward: one thread per output element; 2 * elem_size B/element + index.
template <typename T>
__global__ void index_select_kernel(const T* __restrict__ x, const int32_t* __restrict__ index,
                                    T* __restrict__ y, int64_t outer, int64_t D, int64_t inner,
                                    int64_t K) {
  NF_KERNEL_LOOP(i, outer * K * inner) {
    const int64_t in = i % inner, ok = i / inner, k = ok % K, o = ok / K;
    const int32_t d = index[k];
    y[i] = (d < 0 || d >= D) ? poison<T>() : x[(o * D + d) * inner + in];
  }
}

// index_select backward, step 1: for each k, is it the first occurrence of its value, and
// where is the next one. O(K^2) integer compares (K = number of selected rows), independent
// of the row size; fine up to K ~ 1e4-1e5.
__global__ void index_chain_kernel(const int32_t* __restrict__ index, int64_t K,
                                   int32_t* __restrict__ is_first, int32_t* __restrict__ next) {
  NF_KERNEL_LOOP(k, K) {
    const int32_t v = index[k];
    int32_t first = 1, nxt = -1;
    for (int64_t j = 0; j < k && first; ++j) first = index[j] != v;
    for (int64_t j = k + 1; j < K; ++j)
      if (index[j] == v) {
        nxt = (int32_t)j;
        break;
      }
    is_first[k] = first;
    next[k] = nxt;
  }
}

// Step 2: one thread per (o, k, i) whose k is a first occurrence walks the chain of equal
// indices in increasing k and writes the sum once. Reads each grad_y element once: 4 B/elem.
__global__ void index_select_backward_kernel(const float* __restrict__ grad_y,
                                             const int32_t* __restrict__ index,
                                             const int32_t* __restrict__ is_first,
                                             const int32_t* __restrict__ next,
                                             float* __restrict__ grad_x, int64_t outer,
                                             int64_t D, int64_t inner, int64_t K) {
  NF_KERNEL_LOOP(i, outer * K * inner) {
    const int64_t in = i % inner, ok = i / inner, k = ok % K, o = ok / K;
    const int32_t d = index[k];
    if (!is_first[k] || d < 0 || d >= D) continue;
    float acc = 0.0f;
    for (int64_t j = k; j >= 0; j = next[j]) acc += grad_y[(o * K + j) * inner + in];
    grad_x[(o * D + d) * inner + in] = acc;
  }
}

// gather forward: one thread per index element; elem_size + 4 B read, elem_size written.
template <typename T>
__global__ void gather_kernel(const T* __restrict__ x, const int32_t* __restrict__ index,
                              T* __restrict__ y, int rank, Dims x_shape, Dims x_strides,
                              Dims index_shape, int64_t dim, int64_t n) {
  NF_KERNEL_LOOP(i, n) {
    const int32_t target = index[i];
    if (target < 0 || target >= x_shape.v[dim]) {
      y[i] = poison<T>();
      continue;
    }
    int64_t rest = i, src = 0;
    for (int k = rank - 1; k >= 0; --k) {
      const int64_t coord = k == dim ? target : rest % index_shape.v[k];
      src += coord * x_strides.v[k];
      rest /= index_shape.v[k];
    }
    y[i] = x[src];
  }
}

// gather backward: one thread per x element sums, in increasing position along `dim`, the
// index entries that point at it. O(numel(x) * index.size(dim)) reads of index (+ the
// matching grad_y): cheap when index.size(dim) is small (e.g. picking one class per row).
__global__ void gather_backward_kernel(const float* __restrict__ grad_y,
                                       const int32_t* __restrict__ index,
                                       float* __restrict__ grad_x, int rank, Dims x_shape,
                                       Dims index_shape, Dims index_strides, int64_t dim,
                                       int64_t n) {
  NF_KERNEL_LOOP(i, n) {
    int64_t rest = i, base = 0, coord_dim = 0;
    bool covered = true;  // x's coordinates (other than dim) exist in index
    for (int k = rank - 1; k >= 0; --k) {
      const int64_t coord = rest % x_shape.v[k];
      rest /= x_shape.v[k];
      if (k == dim) {
        coord_dim = coord;
      } else {
        covered = covered && coord < index_shape.v[k];
        base += coord * index_strides.v[k];
      }
    }
    float acc = 0.0f;
    if (covered) {
      for (int64_t j = 0; j < index_shape.v[dim]; ++j) {
        const int64_t pos = base + j * index_strides.v[dim];
        if (index[pos] == coord_dim) acc += grad_y[pos];
      }
    }
    grad_x[i] = acc;
  }
}

}  // namespace

void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t cols, size_t elem_size) {
  if (rows * cols == 0) return;
  NF_DISPATCH_ELEM(elem_size, copy_rows_kernel<T><<<blocks_for(rows * cols), kThreads, 0,
                                                    stream()>>>(
                                  static_cast<const T*>(src), src_stride, static_cast<T*>(dst),
                                  dst_stride, rows, cols));
  NF_KERNEL_CHECK();
}

void permute_copy(const void* x, void* y, size_t elem_size, int rank, const int64_t* out_shape,
                  const int64_t* in_strides, int64_t n) {
  if (n == 0) return;
  const Dims shape = to_dims(rank, out_shape), strides = to_dims(rank, in_strides);
  NF_DISPATCH_ELEM(elem_size, permute_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(
                                  static_cast<const T*>(x), static_cast<T*>(y), rank, shape,
                                  strides, n));
  NF_KERNEL_CHECK();
}

void index_select_forward(const void* x, const int32_t* index, void* y, size_t elem_size,
                          int64_t outer, int64_t D, int64_t inner, int64_t K) {
  const int64_t n = outer * K * inner;
  if (n == 0) return;
  NF_DISPATCH_ELEM(elem_size, index_select_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(
                                  static_cast<const T*>(x), index, static_cast<T*>(y), outer,
                                  D, inner, K));
  NF_KERNEL_CHECK();
}

void index_select_backward(const float* grad_y, const int32_t* index, int32_t* scratch,
                           float* grad_x, int64_t outer, int64_t D, int64_t inner, int64_t K) {
  if (outer * D * inner > 0)
    CUDA_CHECK(cudaMemsetAsync(grad_x, 0, sizeof(float) * outer * D * inner, stream()));
  if (outer * K * inner == 0) return;
  int32_t* is_first = scratch;
  int32_t* next = scratch + K;
  index_chain_kernel<<<blocks_for(K), kThreads, 0, stream()>>>(index, K, is_first, next);
  NF_KERNEL_CHECK();
  index_select_backward_kernel<<<blocks_for(outer * K * inner), kThreads, 0, stream()>>>(
      grad_y, index, is_first, next, grad_x, outer, D, inner, K);
  NF_KERNEL_CHECK();
}

void gather_forward(const void* x, const int32_t* index, void* y, size_t elem_size, int rank,
                    const int64_t* x_shape, const int64_t* index_shape, int64_t dim) {
  const int64_t n = product(rank, index_shape);
  if (n == 0) return;
  const Dims xs = to_dims(rank, x_shape), is = to_dims(rank, index_shape);
  const Dims x_strides = contiguous_strides(rank, x_shape);
  NF_DISPATCH_ELEM(elem_size, gather_kernel<T><<<blocks_for(n), kThreads, 0, stream()>>>(
                                  static_cast<const T*>(x), index, static_cast<T*>(y), rank, xs,
                                  x_strides, is, dim, n));
  NF_KERNEL_CHECK();
}

void gather_backward(const float* grad_y, const int32_t* index, float* grad_x, int rank,
                     const int64_t* x_shape, const int64_t* index_shape, int64_t dim) {
  const int64_t n = product(rank, x_shape);
  if (n == 0) return;
  const Dims xs = to_dims(rank, x_shape), is = to_dims(rank, index_shape);
  const Dims index_strides = contiguous_strides(rank, index_shape);
  gather_backward_kernel<<<blocks_for(n), kThreads, 0, stream()>>>(grad_y, index, grad_x, rank,
                                                                   xs, is, index_strides, dim, n);
  NF_KERNEL_CHECK();
}

}  // namespace nanofed::cuda
