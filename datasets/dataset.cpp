#include "datasets/dataset.h"

#include <cstring>

namespace nanofed::datasets {

Shape Dataset::sample_shape() const {
  NF_CHECK(images.defined(), "dataset '" << name << "': no images");
  return Shape(images.shape().begin() + 1, images.shape().end());
}

Dataset Dataset::slice(int64_t begin, int64_t end) const {
  return {images.slice(begin, end).detach(), labels.slice(begin, end).detach(), num_classes, name};
}

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  const int64_t n = size(), row = n ? images.numel() / n : 0;
  Shape shape = images.shape();
  shape[0] = (int64_t)indices.size();
  // Gathered on the host: subsets are made once per experiment (client partitions), not per step.
  const std::vector<float> src = images.to_vector<float>();
  const std::vector<int32_t> src_labels = labels.to_vector<int32_t>();
  std::vector<float> dst((size_t)(indices.size() * row));
  std::vector<int32_t> dst_labels(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t k = indices[i];
    NF_CHECK(k >= 0 && k < n, "dataset '" << name << "': subset index " << k << " out of range [0, " << n << ")");
    std::memcpy(&dst[i * row], &src[k * row], (size_t)row * sizeof(float));
    dst_labels[i] = src_labels[k];
  }
  const Device dev = images.device();
  return {from_vector(dst, shape, dev), from_vector(dst_labels, {(int64_t)indices.size()}, dev), num_classes, name};
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
