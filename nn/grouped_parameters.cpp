// grouped_parameters.cpp — see grouped_parameters.h.
#include "nn/grouped_parameters.h"

#include "engine/common.h"
#include "nn/layers.h"

namespace nanofed::nn {
namespace {

std::string type_name(const Module& m) {
  const std::string r = m.repr();
  return r.substr(0, r.find('('));
}

// A module whose own parameters and computation are per sample with a grouped op form.
bool groupable_itself(const Module& m) {
  if (dynamic_cast<const BatchNorm*>(&m)) return false;
  if (const auto* d = dynamic_cast<const Dropout*>(&m)) return !d->is_training() || d->p == 0.0f;
  if (dynamic_cast<const Linear*>(&m) || dynamic_cast<const Conv2d*>(&m)) return true;
  // Any other module: fine if its own parameters are none (containers, activations, pools).
  return m.named_parameters().size() == [&] {
    size_t in_children = 0;
    for (const auto& [name, child] : m.children()) in_children += child->named_parameters().size();
    return in_children;
  }();
}

std::string find_ungroupable(const Module& m, const std::string& path) {
  if (!groupable_itself(m)) return (path.empty() ? std::string("the model") : path) + " (" + type_name(m) + ")";
  for (const auto& [name, child] : m.children()) {
    std::string bad = find_ungroupable(*child, path.empty() ? name : path + "." + name);
    if (!bad.empty()) return bad;
  }
  return "";
}

}  // namespace

std::string first_ungroupable(const Module& model) { return find_ungroupable(model, ""); }

GroupedParameters::GroupedParameters(Module& model, int64_t groups) : groups_(groups) {
  NF_CHECK(groups >= 1, "GroupedParameters: groups " << groups << " must be at least 1");
  const std::string bad = first_ungroupable(model);
  NF_CHECK(bad.empty(), "GroupedParameters: " << bad << " has no grouped form (its computation mixes the "
                                              << "samples of a batch or draws per call)");
  const std::vector<Tensor> params = model.parameters();
  for (const Tensor& p : params) P_ += p.numel();
  const Device dev = model.device();
  values_ = empty({groups * P_}, dev);
  gradients_ = zeros({groups * P_}, dev);
  int64_t flat = 0;
  for (const Tensor& p : params) {
    const int64_t numel = p.numel();
    Shape stacked_shape = p.shape();
    stacked_shape.insert(stacked_shape.begin(), groups);
    Tensor stacked = values_.view_range(flat * groups, stacked_shape);
    for (int64_t g = 0; g < groups; ++g) stacked.view_range(g * numel, p.shape()).copy_(p.detach());
    saved_.push_back({p, p.impl()->storage, p.impl()->offset, p.shape(), p.grad(), flat});
    // Re-bind the parameter in place (the layers hold this handle) to its stacked block.
    p.impl()->storage = stacked.impl()->storage;
    p.impl()->offset = stacked.impl()->offset;
    p.impl()->shape = stacked_shape;
    p.set_grad(gradients_.view_range(flat * groups, stacked_shape));
    flat += numel;
  }
}

GroupedParameters::~GroupedParameters() {
  for (Saved& s : saved_) {
    s.param.impl()->storage = s.storage;
    s.param.impl()->offset = s.offset;
    s.param.impl()->shape = s.shape;
    s.param.impl()->grad = s.grad.defined() ? s.grad.impl() : nullptr;
  }
}

// Parameter j's block [G, numel_j] goes to columns [flat_j, flat_j + numel_j) of the rows.
Tensor GroupedParameters::gather(const Tensor& stacked) const {
  Tensor out = empty({groups_, P_}, stacked.device());
  for (const Saved& s : saved_) {
    const int64_t numel = shape_numel(s.shape);
    for (int64_t g = 0; g < groups_; ++g)
      out.view_range(g * P_ + s.flat_offset, {numel}).copy_(stacked.view_range(s.flat_offset * groups_ + g * numel, {numel}));
  }
  return out;
}

Tensor GroupedParameters::rows() const { return gather(values_); }
Tensor GroupedParameters::gradient_rows() const { return gather(gradients_); }

void GroupedParameters::load_rows(const Tensor& rows) {
  NF_CHECK(rows.shape() == Shape({groups_, P_}),
           "GroupedParameters::load_rows: rows " << rows.str() << " must be [" << groups_ << ", " << P_ << "]");
  for (const Saved& s : saved_) {
    const int64_t numel = shape_numel(s.shape);
    for (int64_t g = 0; g < groups_; ++g)
      values_.view_range(s.flat_offset * groups_ + g * numel, {numel}).copy_(rows.view_range(g * P_ + s.flat_offset, {numel}));
  }
}

Tensor GroupedParameters::stack(const Tensor& row) const {
  NF_CHECK(row.numel() == P_, "GroupedParameters::stack: row " << row.str() << " must have " << P_ << " elements");
  Tensor out = empty({groups_ * P_}, values_.device());
  for (const Saved& s : saved_) {
    const int64_t numel = shape_numel(s.shape);
    for (int64_t g = 0; g < groups_; ++g)
      out.view_range(s.flat_offset * groups_ + g * numel, {numel}).copy_(row.view_range(s.flat_offset, {numel}));
  }
  return out;
}

void GroupedParameters::zero_grad() { gradients_.fill_(0.0f); }

}  // namespace nanofed::nn
