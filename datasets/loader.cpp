// loader.cpp — DataLoader (see loader.h).
#include "datasets/loader.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

#include "engine/ops/shape_ops.h"

namespace nanofed::datasets {

DataLoader::DataLoader(const Dataset& data, LoaderOptions options, Transform transform)
    : options_(options), transform_(std::move(transform)) {
  NF_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got " << options_.batch_size
                                                                                    << " (dataset '" << data.name << "')");
  data.validate();
  NF_CHECK(data.size() <= (int64_t)std::numeric_limits<int32_t>::max(),
           "DataLoader: dataset '" << data.name << "' has " << data.size() << " samples, more than i32 indices hold");
  data_ = data.to(options_.device);
}

int64_t DataLoader::size() const {
  const int64_t n = data_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void DataLoader::set_epoch(int64_t epoch) {
  NF_CHECK(epoch >= 0, "DataLoader::set_epoch: epoch must be non-negative, got " << epoch);
  epoch_ = epoch;
}

std::vector<int32_t> DataLoader::order(int64_t epoch) const {
  std::vector<int32_t> idx((size_t)data_.size());
  std::iota(idx.begin(), idx.end(), 0);
  if (!options_.shuffle) return idx;
  Generator gen = Generator(options_.seed).derive({(uint64_t)epoch});
  const std::vector<int64_t> perm = randperm(data_.size(), gen);
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = (int32_t)perm[i];
  return idx;
}

DataLoader::Iterator DataLoader::begin() {
  const int64_t e = epoch_++;
  Tensor order;
  if (options_.shuffle && size() > 0)
    order = from_vector(this->order(e), {data_.size()}, options_.device);  // one upload per epoch
  return Iterator(this, e, order, 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, epoch_, Tensor(), size()); }

Batch DataLoader::make_batch(int64_t epoch, const Tensor& order, int64_t index) const {
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, data_.size());
  Batch b;
  b.index = index;
  b.epoch = epoch;
  if (order.defined()) {
    const Tensor rows = order.slice(begin, end);
    b.x = index_select(data_.images, 0, rows);
    b.y = index_select(data_.labels, 0, rows);
  } else {
    b.x = data_.images.slice(begin, end);
    b.y = data_.labels.slice(begin, end);
  }
  if (transform_.fn) {
    Generator gen = Generator(options_.seed).derive({(uint64_t)epoch, kTransformKey, (uint64_t)index});
    b.x = transform_(b.x, gen);
  }
  return b;
}

const Batch& DataLoader::Iterator::operator*() const {
  NF_CHECK(index_ < loader_->size(), "DataLoader: dereferencing the end iterator");
  if (!built_) {
    batch_ = loader_->make_batch(epoch_, order_, index_);
    built_ = true;
  }
  return batch_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++index_;
  built_ = false;
  batch_ = Batch();
  return *this;
}

}  // namespace nanofed::datasets
