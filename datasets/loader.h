// loader.h — DataLoader: seeded shuffling, batching and an optional per-batch transform, with
// the data resident on the target device.
//
//   LoaderOptions opt;
//   opt.batch_size = 64, opt.shuffle = true, opt.seed = 1, opt.device = Device::cuda();
//   DataLoader loader(train, opt, transforms::RandomCrop(28, 2));
//   for (int64_t e = 0; e < epochs; ++e) {
//     loader.set_epoch(e);                       // optional: passes advance the epoch anyway
//     for (const Batch& b : loader) step(b.x, b.y);
//   }
//
// The data set is copied to options.device ONCE, at construction; a batch is then a slice of
// the resident tensors (no shuffle: a view sharing their storage, do not write into it) or an
// index_select of them (shuffle), so no host->device copy of images happens per batch; with
// shuffle one i32 permutation [N] is uploaded per epoch.
//
// Order: epoch e visits the samples in the order of a Fisher-Yates shuffle driven by
// Generator(seed).derive({e}) (identity order without shuffle), so every epoch covers each
// sample exactly once, epochs differ, and a run repeats exactly from the seed. The transform of
// batch b in epoch e draws from Generator(seed).derive({e, kTransformKey, b}), so it does not
// depend on which batches were consumed before. The last batch is short unless drop_last.
//
// Epochs: begin() starts a pass over epoch epoch() and then advances epoch() by one, so
// successive range-for loops see epochs 0, 1, 2, ... (like a PyTorch DataLoader with
// shuffle=True reshuffling every pass); set_epoch(e) makes the next pass epoch e (like
// torch.utils.data.DistributedSampler.set_epoch). Deviations from PyTorch: the order comes
// from (seed, epoch), not from the global RNG; sizes are `size()` (= len(loader)); there are no
// worker processes, samplers or collate functions (a batch is two tensors).
#pragma once
#include <cstdint>
#include <iterator>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/transforms.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::datasets {

struct LoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  Device device = Device::cpu();
};

struct Batch {
  Tensor x;           // f32 [B, ...] on the loader's device (transformed if a transform is set)
  Tensor y;           // i32 [B], aligned with x
  int64_t index = 0;  // batch number within the epoch
  int64_t epoch = 0;
};

class DataLoader {
 public:
  // Key separating the transform generators from the shuffle generator of the same epoch.
  static constexpr uint64_t kTransformKey = 0x7472616E73666F72ull;  // "transfor"

  // Validates the data set (throws naming it) and copies it to options.device. An empty
  // transform (no fn) means none.
  DataLoader(const Dataset& data, LoaderOptions options, Transform transform = {});

  int64_t size() const;  // batches per epoch (len(loader))
  int64_t len() const { return size(); }
  int64_t num_samples() const { return data_.size(); }
  const LoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return data_; }  // the device-resident copy

  int64_t epoch() const { return epoch_; }  // the epoch the next begin() will run
  void set_epoch(int64_t epoch);

  // The sample order of epoch e (a permutation of [0, N), or the identity without shuffle).
  std::vector<int32_t> order(int64_t epoch) const;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = const Batch*;
    using reference = const Batch&;

    const Batch& operator*() const;  // built on first access, then cached until ++
    const Batch* operator->() const { return &**this; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return index_ == o.index_; }
    bool operator!=(const Iterator& o) const { return index_ != o.index_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, int64_t epoch, Tensor order, int64_t index)
        : loader_(loader), epoch_(epoch), order_(std::move(order)), index_(index) {}
    const DataLoader* loader_;
    int64_t epoch_;
    Tensor order_;  // i32 [N] on the device (undefined without shuffle)
    int64_t index_;
    mutable Batch batch_;
    mutable bool built_ = false;
  };

  Iterator begin();  // starts epoch(), then advances it (see above)
  Iterator end() const;

 private:
  Batch make_batch(int64_t epoch, const Tensor& order, int64_t index) const;

  Dataset data_;
  LoaderOptions options_;
  Transform transform_;
  int64_t epoch_ = 0;
};

}  // namespace nanofed::datasets
