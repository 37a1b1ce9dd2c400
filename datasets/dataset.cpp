#include "datasets/dataset.h"

#include <cstring>

#include "engine/autograd.h"
#include "engine/ops/shape_ops.h"

namespace nanofed::datasets {

Shape Dataset::sample_shape() const {
  NF_CHECK(images.defined(), "dataset '" << name << "': no images");
  return Shape(images.shape().begin() + 1, images.shape().end());
}

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  return {images.slice(begin, end).detach(), labels.slice(begin, end).detach(), num_classes, name};
}

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  std::vector<int32_t> index(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t k = indices[i];
    NF_CHECK(k >= 0 && k < n, "dataset '" << name << "': subset index " << k << " out of range [0, " << n << ")");
    index[i] = (int32_t)k;
  }
  // One gather per tensor on the data's own device (no host round trip of the whole set: a
  // federation takes hundreds of subsets of one pool).
  const Tensor idx = from_vector(index, {(int64_t)index.size()}, images.device());
  NoGrad no_grad;
  return {index_select(images, 0, idx).detach(), index_select(labels, 0, idx).detach(), num_classes, name};
}

Dataset Dataset::to(Device device) const { return {images.to(device), labels.to(device), num_classes, name}; }

void Dataset::validate() const {
  NF_CHECK(images.defined() && labels.defined(), "dataset '" << name << "': images or labels missing");
  NF_CHECK(images.dtype() == DType::f32, "dataset '" << name << "': images must be f32, got " << images.str());
  NF_CHECK(labels.dtype() == DType::i32 && labels.dim() == 1,
           "dataset '" << name << "': labels must be i32 [N], got " << labels.str());
  NF_CHECK(images.dim() >= 2 && images.size(0) == labels.size(0),
           "dataset '" << name << "': " << images.size(0) << " images but " << labels.size(0) << " labels");
  const std::vector<int32_t> ls = labels.to_vector<int32_t>();
  for (size_t i = 0; i < ls.size(); ++i)
    NF_CHECK(ls[i] >= 0 && ls[i] < num_classes, "dataset '" << name << "': label " << ls[i] << " of sample " << i
                                                              << " is outside [0, " << num_classes << ")");
}

}  // namespace nanofed::datasets
