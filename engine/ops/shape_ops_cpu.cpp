// shape_ops_cpu.cpp — CPU reference for concat / permute / index_select / gather.
// Plain loops; elements are moved with memcpy so one loop serves every dtype.
#include <cstring>

#include "engine/ops/shape_ops.h"
#include "engine/threads.h"

namespace nanofed::cpu {

namespace {
// Contiguous row-major strides of `shape` (rank entries).
void contiguous_strides(int rank, const int64_t* shape, int64_t* strides) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; --k) {
    strides[k] = s;
    s *= shape[k];
  }
}

int64_t product(int rank, const int64_t* shape) {
  int64_t p = 1;
  for (int k = 0; k < rank; ++k) p *= shape[k];
  return p;
}

// The out-of-range marker: all bits set (NaN for f32, -1 for i32, 255 for u8).
void write_poison(char* dst, size_t elem_size) { std::memset(dst, 0xff, elem_size); }
}  // namespace

void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,
               int64_t cols, size_t elem_size) {
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  parallel_for(rows, cols, [&](int64_t r) {
    std::memcpy(d + r * dst_stride * elem_size, s + r * src_stride * elem_size, cols * elem_size);
  });
}

void permute_copy(const void* x, void* y, size_t elem_size, int rank, const int64_t* out_shape,
                  const int64_t* in_strides, int64_t n) {
  const char* xs = static_cast<const char*>(x);
  char* ys = static_cast<char*>(y);
  parallel_for(n, rank, [&](int64_t i) {
    int64_t rest = i, src = 0;
    for (int k = rank - 1; k >= 0; --k) {
      src += (rest % out_shape[k]) * in_strides[k];
      rest /= out_shape[k];
    }
    std::memcpy(ys + i * elem_size, xs + src * elem_size, elem_size);
  });
}

void index_select_forward(const void* x, const int32_t* index, void* y, size_t elem_size,
                          int64_t outer, int64_t D, int64_t inner, int64_t K) {
  const char* xs = static_cast<const char*>(x);
  char* ys = static_cast<char*>(y);
  parallel_for(outer, K * inner, [&](int64_t o) {
    for (int64_t k = 0; k < K; ++k) {
      char* dst = ys + ((o * K + k) * inner) * elem_size;
      const int32_t d = index[k];
      if (d < 0 || d >= D) {
        for (int64_t i = 0; i < inner; ++i) write_poison(dst + i * elem_size, elem_size);
        continue;
      }
      std::memcpy(dst, xs + ((o * D + d) * inner) * elem_size, inner * elem_size);
    }
  });
}

void index_select_backward(const float* grad_y, const int32_t* index, int32_t* scratch,
                           float* grad_x, int64_t outer, int64_t D, int64_t inner, int64_t K) {
  std::memset(grad_x, 0, sizeof(float) * outer * D * inner);
  parallel_for(outer, K * inner, [&](int64_t o) {
    for (int64_t k = 0; k < K; ++k) {  // increasing k: the order the CUDA kernel sums in
      const int32_t d = index[k];
      if (d < 0 || d >= D) continue;
      float* dst = grad_x + (o * D + d) * inner;
      const float* src = grad_y + (o * K + k) * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
    }
  });
}

void gather_forward(const void* x, const int32_t* index, void* y, size_t elem_size, int rank,
                    const int64_t* x_shape, const int64_t* index_shape, int64_t dim) {
  int64_t x_strides[kMaxPermuteRank];
  contiguous_strides(rank, x_shape, x_strides);
  const int64_t n = product(rank, index_shape);
  const char* xs = static_cast<const char*>(x);
  char* ys = static_cast<char*>(y);
  parallel_for(n, rank, [&](int64_t i) {
    const int32_t target = index[i];
    if (target < 0 || target >= x_shape[dim]) {
      write_poison(ys + i * elem_size, elem_size);
      return;
    }
    int64_t rest = i, src = 0;
    for (int k = rank - 1; k >= 0; --k) {
      const int64_t coord = k == dim ? target : rest % index_shape[k];
      src += coord * x_strides[k];
      rest /= index_shape[k];
    }
    std::memcpy(ys + i * elem_size, xs + src * elem_size, elem_size);
  });
}

void gather_backward(const float* grad_y, const int32_t* index, float* grad_x, int rank,
                     const int64_t* x_shape, const int64_t* index_shape, int64_t dim) {
  int64_t x_strides[kMaxPermuteRank];
  contiguous_strides(rank, x_shape, x_strides);
  std::memset(grad_x, 0, sizeof(float) * product(rank, x_shape));
  // Serial in index order: for any x element, its sources arrive in increasing position
  // along `dim` (the order the CUDA kernel sums in).
  const int64_t n = product(rank, index_shape);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t target = index[i];
    if (target < 0 || target >= x_shape[dim]) continue;
    int64_t rest = i, dst = 0;
    for (int k = rank - 1; k >= 0; --k) {
      const int64_t coord = k == dim ? target : rest % index_shape[k];
      dst += coord * x_strides[k];
      rest /= index_shape[k];
    }
    grad_x[dst] += grad_y[i];
  }
}

}  // namespace nanofed::cpu
