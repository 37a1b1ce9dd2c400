// group_gradients.h — the gradients of several groups of samples at one parameter vector.
//
// IPGD (fine-tuning vs Byzantine clients, Algorithm 1) evaluates every client's gradient at the
// personal model theta_i of the client being trained: n - f gradients of small batches at one
// point, per step. group_gradients computes them in one call:
//
//   Tensor g = nn::group_gradients(model, x, y, G);   // x [G*n, ...], y i32 [G*n]
//   // g [G, P]: row k = d/dtheta of the mean cross-entropy over rows [k*n, (k+1)*n) of x
//
// Rows are in flat_gradients() order (state_dict parameter order), so row k equals what
// batch_gradients(model, x_k, y_k) leaves in model.flat_gradients() — bit for bit on the CPU
// (tests/test_group_gradients.cpp): both paths run the same kernels on the same n images.
//
// Two paths, one result:
//   * grouped (automatic when the model allows; GroupedParameters, nn/grouped_parameters.h): every parameter is stacked G times
//     ([G, ...shape]) for the call, so each linear / conv2d applies group k's copy to group k's
//     rows and its weight gradient lands in row k: one forward and one backward for all groups.
//   * sequential: one batch_gradients per group; used for models with a layer the grouped ops
//     do not cover (BatchNorm: its batch statistics mix the groups; Dropout), and as the oracle.
// losses (optional) receives each group's loss.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "nn/module.h"
#include "nn/training.h"

namespace nanofed::nn {

enum class GroupPath { automatic, grouped, sequential };

// True if every layer of `model` has a grouped form (Linear, Conv2d and parameter-free
// per-sample layers): group_gradients then runs one pass.
bool supports_grouped(const Module& model);

// path: automatic = grouped when supports_grouped, else sequential; grouped throws (naming the
// layer) when the model has no grouped form; sequential forces the loop (the oracle).
// loss: the training loss of a group's output and labels (mean cross-entropy when empty).
Tensor group_gradients(Module& model, const Tensor& x, const Tensor& labels, int64_t groups,
                       std::vector<float>* losses = nullptr, GroupPath path = GroupPath::automatic,
                       const LossFn& loss = {});

}  // namespace nanofed::nn
