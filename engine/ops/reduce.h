// reduce.h — sum, mean, max, argmax and L2 norm over all elements or over one dim, and
// bincount (a histogram of class labels).
//
// Every reduction views its input as [outer, r, inner] (r the reduced dim; a full reduction
// is [1, numel, 1]) and writes [outer, inner]. Shapes follow PyTorch: a full reduction
// gives shape []; a per-dim one drops the dim, or keeps it as 1 with keepdim = true.
// Negative dims count from the end. One dim at a time.
//
// Gradients: sum/mean broadcast the gradient back (mean scaled by 1/r); max sends it to the
// argmax element (the first index among equal maxima; NaN counts as the largest); norm gives
// g * x / norm, and 0 where norm is 0 (PyTorch's subgradient).
//
// Determinism: the CPU reference accumulates in double in index order; the CUDA kernels use a
// fixed block-tree reduction (two passes when r is long), never float atomics, so a result
// does not change from run to run. max over an empty dim throws; sum over one gives 0.
//
// bincount(x, minlength): x i32 [n] of values in [0, minlength) -> i32 [minlength] counts
// (torch.bincount with exactly minlength bins). The CUDA kernel counts with integer atomics,
// which commute, so the counts are exact and reproducible. Validation follows index_select:
// on the CPU a value outside [0, minlength) throws naming bincount, the value and its
// position; on the GPU values are not checked (that needs a host sync) and an out-of-range
// value is not counted anywhere. Not differentiable.
#pragma once
#include <cstdint>

#include "engine/tensor.h"
#include "engine/ops/reduce_kernels.h"

namespace nanofed {

Tensor sum(const Tensor& x);                                       // -> []
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);                                      // -> []
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);                                       // -> [], differentiable
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);    // values, differentiable
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);  // i32, first max
Tensor norm(const Tensor& x);                                      // L2 over all -> []
Tensor norm(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor bincount(const Tensor& x, int64_t minlength);                // i32 [n] -> i32 [minlength]

// The [outer, r, inner] view of reducing `dim` (already normalized) of `shape`.
ReduceGeometry reduce_geometry(const Shape& shape, int64_t dim);

}  // namespace nanofed
