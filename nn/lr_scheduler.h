// lr_scheduler.h — torch.optim.lr_scheduler's StepLR, MultiStepLR and CosineAnnealingLR.
//
//   nn::SGD opt(model.parameters(), nn::SGDOptions(0.1).momentum(0.9));
//   nn::CosineAnnealingLR sched(opt, /*T_max=*/epochs);
//   for (epoch...) { train_one_epoch(opt); sched.step(); }
//
// Construction records base_lr = optimizer.lr() and sets last_epoch = 0 (the learning rate at
// epoch 0 is base_lr for all three). step() advances last_epoch by one and writes the closed
// form for that epoch into the optimizer (PyTorch's _get_closed_form_lr):
//   StepLR             base_lr * gamma ^ floor(epoch / step_size)
//   MultiStepLR        base_lr * gamma ^ (number of milestones <= epoch; repeats count twice)
//   CosineAnnealingLR  eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
//                      (periodic beyond T_max, as PyTorch's recursive form is)
// computed in double.
//
// Deviations from PyTorch: one parameter group, so get_last_lr() returns a double rather than
// a list; always the closed form (PyTorch's step() uses a chainable recursive form, which
// agrees up to rounding unless someone else changes the lr between steps — then PyTorch builds
// on the changed value and this rescheduler overwrites it); no step(epoch) argument (deprecated
// in PyTorch) and no verbose flag. state_dict() holds "last_epoch" and "base_lr" (f32 []).
#pragma once
#include <cstdint>
#include <vector>

#include "nn/module.h"
#include "nn/optim.h"

namespace nanofed::nn {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  void step();                                    // ++last_epoch, sets the optimizer's lr
  double get_last_lr() const { return last_lr_; }  // the lr set by the latest step/construction
  int64_t last_epoch() const { return last_epoch_; }
  double base_lr() const { return base_lr_; }
  virtual double lr_at(int64_t epoch) const = 0;  // the closed form

  NamedTensors state_dict() const;
  void load_state_dict(const NamedTensors& state);  // also sets the optimizer's lr

 protected:
  explicit LRScheduler(Optimizer& optimizer);
  void start();  // called by each constructor once the subclass is set up: applies epoch 0

 private:
  void apply();
  Optimizer& optimizer_;
  double base_lr_;
  int64_t last_epoch_ = 0;
  double last_lr_ = 0.0;
};

class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(int64_t epoch) const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);
  double lr_at(int64_t epoch) const override;

 private:
  int64_t T_max_;
  double eta_min_;
};

}  // namespace nanofed::nn
