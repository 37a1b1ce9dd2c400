// shape_ops.h — concat / stack, permute / transpose, index_select, gather.
//
// All ops copy into a new contiguous tensor (nanofed has no strided views) and accept any
// dtype (f32, i32, u8) in the forward; gradients flow only into f32 inputs.
//
// concat(xs, dim)       torch.cat: all shapes equal except along `dim`; the output's dim is
//                       the sum. Gradient: the output gradient split back along `dim`.
// stack(xs, dim)        torch.stack: equal shapes; a new dim of size xs.size() at `dim`
//                       (dim in [-(rank+1), rank]); concat of the inputs reshaped with a 1.
// permute(x, dims)      torch.permute: out.shape[k] = x.shape[dims[k]], rank <= 8, dims a
//                       permutation (negative dims allowed). Gradient: permute by the inverse.
// transpose(x, d0, d1)  permute swapping two dims.
// index_select(x, dim, index)  torch.index_select: index i32 1-D [K] of values in
//                       [0, x.size(dim)); out has size K along dim, out[.., k, ..] =
//                       x[.., index[k], ..]. Repeated indices allowed. Gradient: scatter-add
//                       of the output gradient into the selected rows, deterministic on both
//                       devices (each destination sums its sources in increasing k).
// gather(x, dim, index) torch.gather: index i32 with x's rank, index.size(d) <= x.size(d) for
//                       d != dim, out.shape = index.shape, out[i..] = x[i.. with i_dim :=
//                       index[i..]]. Gradient: scatter-add into x, deterministic.
// Index validation: on the CPU an out-of-range index throws Error naming the value and the
// size. On the GPU indices are not checked with an error (that needs a host sync): an
// out-of-range index writes an all-ones bit pattern into that output element (NaN for f32,
// -1 for i32, 255 for u8) and contributes no gradient; no out-of-bounds memory is read.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "engine/dispatch.h"

namespace nanofed {

Tensor concat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);

constexpr int kMaxPermuteRank = 8;  // permute / gather support tensors up to this rank

}  // namespace nanofed

// ---- raw kernels (same names and signatures on both devices) ----
// Element type: any 1- or 4-byte element (elem_size). Shape arrays (`shape`, `strides`) are
// HOST arrays of length `rank` (<= 8); the CUDA launchers pass them by value.
// copy_rows:  dst[r * dst_stride + j] = src[r * src_stride + j] for r < rows, j < cols
//             (concat forward writes one input into a column band of the output; the
//             backward reads the band back).
// permute_copy: y[i] = x[sum_k coord_k(i) * in_strides[k]] where coord(i) are the coordinates
//             of flat index i in out_shape and in_strides[k] = x's stride of dim dims[k].
// index_select: x viewed as [outer, D, inner], y as [outer, K, inner].
//   The backward zero-fills grad_x, then for every first occurrence of an index value sums
//   the output-gradient rows of all its occurrences (in increasing k). `scratch` is an i32
//   [2 * K] buffer (CUDA: per-k "first occurrence" flag and next-occurrence link; the CPU
//   ignores it).
// gather: flat over index (forward) / over x (backward, each x element sums the index
//   positions along `dim` that point at it: O(numel(x) * index.size(dim)), deterministic).
// Kernels: the same list on both devices (see engine/dispatch.h).
#define NF_SHAPE_OPS_KERNELS                                                                      \
void copy_rows(const void* src, int64_t src_stride, void* dst, int64_t dst_stride, int64_t rows,  \
               int64_t cols, size_t elem_size);                                                   \
void permute_copy(const void* x, void* y, size_t elem_size, int rank, const int64_t* out_shape,   \
                  const int64_t* in_strides, int64_t n);                                          \
void index_select_forward(const void* x, const int32_t* index, void* y, size_t elem_size,         \
                          int64_t outer, int64_t D, int64_t inner, int64_t K);                    \
void index_select_backward(const float* grad_y, const int32_t* index, int32_t* scratch,           \
                           float* grad_x, int64_t outer, int64_t D, int64_t inner, int64_t K);    \
void gather_forward(const void* x, const int32_t* index, void* y, size_t elem_size, int rank,     \
                    const int64_t* x_shape, const int64_t* index_shape, int64_t dim);             \
void gather_backward(const float* grad_y, const int32_t* index, float* grad_x, int rank,          \
                     const int64_t* x_shape, const int64_t* index_shape, int64_t dim);            \

NF_DECLARE_KERNELS(NF_SHAPE_OPS_KERNELS)
