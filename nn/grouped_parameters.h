// grouped_parameters.h — G copies of a model's parameters, stacked, for one pass over G groups.
//
// For its scope, GroupedParameters gives every parameter of `model` a leading group dim: a
// weight [out, in] becomes [G, out, in], stored parameter by parameter in one arena (each
// parameter's G copies back to back). The layers keep their Tensor handles (the handles are
// re-bound in place, as the flat arenas do), so the unchanged forward now runs the grouped
// form of each op (engine/ops/conv2d.h, matmul.h): group g's rows of the input meet copy g.
// Gradients land in a stacked gradient arena the same way. On exit every parameter gets its
// own storage, shape and gradient buffer back.
//
// Only models whose layers are all per-sample can be grouped (first_ungroupable is ""): Linear and
// Conv2d for the parameters, and parameter-free layers that treat each sample alone (ReLU,
// pooling, Flatten, ...). BatchNorm (train-mode statistics mix the groups) and Dropout (its
// mask draws would differ from G separate calls) are refused.
//
// While a GroupedParameters is alive, do not call the model's flat_parameters() /
// flat_gradients() or step its optimizers: use rows() / gradient_rows() / load_rows().
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"
#include "nn/module.h"

namespace nanofed::nn {

// "" if every module of the tree has a grouped form, else the first one that has not, e.g.
// "bn1 (BatchNorm2d)".
std::string first_ungroupable(const Module& model);

class GroupedParameters {
 public:
  // Stacks G copies of the model's current parameter values (gradients zero). Throws, naming
  // the layer, when the model cannot be grouped.
  GroupedParameters(Module& model, int64_t groups);
  ~GroupedParameters();
  GroupedParameters(const GroupedParameters&) = delete;
  GroupedParameters& operator=(const GroupedParameters&) = delete;

  int64_t groups() const { return groups_; }
  int64_t parameters_per_group() const { return P_; }
  // [G, P] in flat_parameters() order: row g = copy g of every parameter (a gather).
  Tensor rows() const;
  Tensor gradient_rows() const;
  void load_rows(const Tensor& rows);  // the inverse of rows(): [G, P] into the stacked copies
  // One [P] row repeated G times, in the stacked layout (an anchor for every group's copy).
  Tensor stack(const Tensor& row) const;
  // The stacked arenas themselves ([G*P], parameter by parameter): an optimizer step or a
  // gradient edit that is elementwise runs on them in one pass for all groups.
  const Tensor& stacked_values() const { return values_; }
  const Tensor& stacked_gradients() const { return gradients_; }
  void zero_grad();

 private:
  struct Saved {
    Tensor param;
    std::shared_ptr<Storage> storage;
    size_t offset;
    Shape shape;
    Tensor grad;
    int64_t flat_offset;  // of this parameter in a [P] row
  };
  Tensor gather(const Tensor& stacked) const;
  int64_t groups_, P_ = 0;
  std::vector<Saved> saved_;
  Tensor values_, gradients_;  // the stacked arenas: parameter j's block is [G, numel_j]
};

}  // namespace nanofed::nn
