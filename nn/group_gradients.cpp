// group_gradients.cpp — see group_gradients.h.
#include "nn/group_gradients.h"

#include "engine/common.h"
#include "engine/ops/softmax.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "nn/grouped_parameters.h"
#include "nn/training.h"

namespace nanofed::nn {
namespace {

void check_groups(const Tensor& x, const Tensor& labels, int64_t groups) {
  NF_CHECK(groups >= 1, "group_gradients: groups " << groups << " must be at least 1");
  NF_CHECK(x.dim() >= 1 && labels.dim() == 1 && x.size(0) == labels.size(0),
           "group_gradients: input " << x.str() << " and labels " << labels.str()
                                     << " must have the same number of rows");
  NF_CHECK(x.size(0) % groups == 0 && x.size(0) > 0,
           "group_gradients: " << x.size(0) << " rows do not split into " << groups << " equal non-empty groups");
}

// One batch_gradients per group: the oracle, and the path for layers without a grouped form.
Tensor sequential(Module& model, const Tensor& x, const Tensor& labels, int64_t groups, std::vector<float>* losses,
                  const LossFn& loss_fn) {
  const int64_t n = x.size(0) / groups, P = model.num_parameters();
  Tensor out = empty({groups, P}, model.device());
  for (int64_t k = 0; k < groups; ++k) {
    const Tensor loss = batch_gradients(model, x.slice(k * n, (k + 1) * n), labels.slice(k * n, (k + 1) * n), loss_fn);
    out.view_range(k * P, {P}).copy_(model.flat_gradients());
    if (losses) losses->push_back(loss.item());
  }
  return out;
}

// One forward and one backward for all groups: the parameters stacked G times, group g's rows
// through copy g, the loss the sum of the groups' mean cross-entropies (each group's logits
// gradient is then exactly what its own mean loss gives).
Tensor grouped(Module& model, const Tensor& x, const Tensor& labels, int64_t groups, std::vector<float>* losses,
               const LossFn& loss_fn) {
  const int64_t n = x.size(0) / groups;
  GroupedParameters stacked(model, groups);
  const Tensor logits = model(x);
  Tensor total;
  std::vector<Tensor> group_losses;
  for (int64_t k = 0; k < groups; ++k) {
    const Tensor out = logits.slice(k * n, (k + 1) * n), target = labels.slice(k * n, (k + 1) * n);
    Tensor loss = loss_fn ? loss_fn(out, target) : cross_entropy(out, target);
    group_losses.push_back(loss.detach());
    total = total.defined() ? add(total, loss) : loss;
  }
  total.backward();
  if (losses)  // one host read for all G losses
    for (float l : stack(group_losses).to_vector<float>()) losses->push_back(l);
  return stacked.gradient_rows();
}

}  // namespace

bool supports_grouped(const Module& model) { return first_ungroupable(model).empty(); }

Tensor group_gradients(Module& model, const Tensor& x, const Tensor& labels, int64_t groups,
                       std::vector<float>* losses, GroupPath path, const LossFn& loss) {
  check_groups(x, labels, groups);
  if (losses) losses->clear();
  const std::string bad = first_ungroupable(model);
  NF_CHECK(path != GroupPath::grouped || bad.empty(),
           "group_gradients: " << bad << " has no grouped form; use the sequential path");
  if (path == GroupPath::sequential || !bad.empty()) return sequential(model, x, labels, groups, losses, loss);
  return grouped(model, x, labels, groups, losses, loss);
}

}  // namespace nanofed::nn
