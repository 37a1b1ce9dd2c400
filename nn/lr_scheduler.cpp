// lr_scheduler.cpp — closed-form learning-rate schedules (see lr_scheduler.h).
#include "nn/lr_scheduler.h"

#include <algorithm>
#include <cmath>

namespace nanofed::nn {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer), base_lr_(optimizer.lr()) {}

void LRScheduler::start() { apply(); }

void LRScheduler::apply() {
  last_lr_ = lr_at(last_epoch_);
  optimizer_.set_lr(last_lr_);
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

NamedTensors LRScheduler::state_dict() const {
  return {{"last_epoch", scalar_tensor((float)last_epoch_)}, {"base_lr", scalar_tensor((float)base_lr_)}};
}

void LRScheduler::load_state_dict(const NamedTensors& state) {
  const Tensor *epoch = nullptr, *base = nullptr;
  for (auto& [key, t] : state) {
    NF_CHECK(key == "last_epoch" || key == "base_lr", "lr_scheduler.load_state_dict: unexpected key '" << key << "'");
    NF_CHECK(t.defined() && t.dtype() == DType::f32 && t.numel() == 1,
             "lr_scheduler.load_state_dict: '" << key << "' must be one f32 value, got " << t.str());
    (key == "last_epoch" ? epoch : base) = &t;
  }
  NF_CHECK(epoch, "lr_scheduler.load_state_dict: missing key 'last_epoch'");
  NF_CHECK(base, "lr_scheduler.load_state_dict: missing key 'base_lr'");
  const float e = epoch->cpu().item(), b = base->cpu().item();
  NF_CHECK(e >= 0.0f && e == std::floor(e), "lr_scheduler.load_state_dict: 'last_epoch' is " << e << ", expected a whole number >= 0");
  NF_CHECK(b >= 0.0f, "lr_scheduler.load_state_dict: 'base_lr' is " << b << ", expected >= 0");
  last_epoch_ = (int64_t)e;
  if ((float)base_lr_ != b) base_lr_ = b;  // same float: keep the exact double
  apply();
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  NF_CHECK(step_size >= 1, "StepLR: step_size must be >= 1, got " << step_size);
  start();
}

double StepLR::lr_at(int64_t epoch) const {
  return base_lr() * std::pow(gamma_, (double)(epoch / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  start();
}

double MultiStepLR::lr_at(int64_t epoch) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  return base_lr() * std::pow(gamma_, (double)passed);
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  NF_CHECK(T_max >= 1, "CosineAnnealingLR: T_max must be >= 1, got " << T_max);
  start();
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  const double pi = 3.14159265358979323846;
  return eta_min_ + (base_lr() - eta_min_) * (1.0 + std::cos(pi * (double)epoch / (double)T_max_)) / 2.0;
}

}  // namespace nanofed::nn
