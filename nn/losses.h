// losses.h — loss functions with torch.nn.functional semantics, composed from engine ops (so
// autograd comes for free and they run on both devices).
//
// cross_entropy and nll_loss (hard / soft targets, class weights, label smoothing, sample
// weights) are the engine's fused kernels (engine/ops/softmax.h); they are re-exported here so
// nn::cross_entropy works.
//
//   mse_loss(input, target)           (input - target)^2, reduced. Deviation: shapes must be
//                                     equal (PyTorch broadcasts with a warning).
//   multi_margin_loss(input [N, C], target i32 [N], p, margin, weight)
//                                     l_n = sum_{i != y_n} w_{y_n} max(0, margin - x[n, y_n]
//                                     + x[n, i])^p / C;  p in {1, 2}; mean divides by N (also
//                                     with weights, as PyTorch). The multi-class linear SVM
//                                     (Crammer-Singer style hinge). Deviation: no 1-D input.
//   binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)
//                                     l = w * [(1 - t) x - (1 + (pos_weight - 1) t) log sigmoid(x)],
//                                     log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)) (stable);
//                                     weight broadcasts to input, pos_weight to its last dim.
//                                     Gradients: input and target.
//   binary_hinge_loss(scores, target) max(0, margin - t * s) with t in {-1, +1}: the binary
//                                     linear SVM of the Ditto reference (Vehicle). Not in
//                                     PyTorch (its hinge_embedding_loss is a different loss).
// The subgradient at a hinge's kink is 0 (relu'(0) = 0), as in PyTorch's kernels.
#pragma once
#include "engine/ops/softmax.h"
#include "engine/tensor.h"

namespace nanofed::nn {

using ::nanofed::CrossEntropyOptions;
using ::nanofed::Reduction;
using ::nanofed::cross_entropy;
using ::nanofed::nll_loss;

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);

Tensor multi_margin_loss(const Tensor& input, const Tensor& target, int p = 1, float margin = 1.0f,
                         const Tensor& weight = Tensor(), Reduction reduction = Reduction::mean);

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& weight = Tensor(),
                                        Reduction reduction = Reduction::mean,
                                        const Tensor& pos_weight = Tensor());

Tensor binary_hinge_loss(const Tensor& scores, const Tensor& target, float margin = 1.0f,
                         Reduction reduction = Reduction::mean);

}  // namespace nanofed::nn
