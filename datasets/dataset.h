// dataset.h — what every reader returns and every loader consumes.
//
// A Dataset is one contiguous f32 image tensor [N, C, H, W] (pixels scaled to [0, 1] by the
// image readers; feature vectors are [N, D]) and i32 labels [N] in [0, num_classes).
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace nanofed::datasets {

struct Dataset {
  Tensor images;            // f32 [N, ...]
  Tensor labels;            // i32 [N]
  int64_t num_classes = 0;
  std::string name;         // e.g. "fashion-mnist/train", for messages

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Shape sample_shape() const;                      // images.shape() without N
  Dataset slice(int64_t begin, int64_t end) const;  // rows [begin, end), shares storage
  Dataset subset(const std::vector<int64_t>& indices) const;  // copies the rows, in that order
  Dataset to(Device device) const;
  // Throws naming `name` unless images/labels agree in N, labels are i32 in [0, num_classes).
  void validate() const;
};

struct TrainTest {
  Dataset train, test;
};

}  // namespace nanofed::datasets
