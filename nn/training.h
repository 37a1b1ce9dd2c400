// training.h — the training loop and the evaluation every trainer shares: `nanofed train`
// (tools/train_command.cpp), the federated clients' local SGD (fl::Simulation::run_steps) and
// their test scores (fl::score), and the engine demo (tools/demo_command.cpp).
//
//   nn::SGD opt(model.parameters(), nn::SGDOptions(0.05));
//   nn::EpochResult r = nn::train_epoch(model, opt, loader.size(), [&](int64_t) { ... return Batch{x, y}; });
//   nn::Evaluation e = nn::evaluate(model, test_images, test_labels, 1000);
//
// No data set types here (nn/ does not include datasets/): a trainer hands over tensors, or a
// callback that makes batch s of the epoch. Losses are summed on the device and read once per
// call, so a step never waits for the host.
#pragma once
#include <cstdint>
#include <functional>

#include "engine/tensor.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace nanofed::nn {

// A training loss of the model's output against the labels (cross-entropy when empty).
using LossFn = std::function<Tensor(const Tensor& output, const Tensor& labels)>;

// Mean cross-entropy and accuracy of a model on a labelled set.
struct Evaluation {
  int64_t samples = 0, correct = 0;
  double loss_sum = 0;  // summed cross-entropy
  double accuracy() const { return samples ? double(correct) / samples : 0.0; }
  double loss() const { return samples ? loss_sum / samples : 0.0; }
};

// Scores `model` on images [N, ...] and labels i32 [N] (on the model's device), batch_size
// samples at a time, in eval mode (each module's mode restored after) and without a tape.
Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size);

// The mean of loss(model(x), y) over a labelled set (cross-entropy when loss is empty): each
// batch's mean loss weighted by its size, in eval mode (modes restored after), without a tape,
// one read at the end. 0 for an empty set. TERM's L_i (fl/strategies/term.cpp) is this.
double mean_loss(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size,
                 const LossFn& loss = {});

// The gradients of loss(model(x), y) in the model's parameters (zeroed first); returns the
// loss, detached.
Tensor batch_gradients(Module& model, const Tensor& x, const Tensor& y, const LossFn& loss = {});

// The optimizer loop: for s in [0, steps): loss_s = gradients(s) (the batch's detached loss,
// its gradients left in the parameters), edit() if given (a trainer's own terms written into
// the gradients: FedProx, Ditto), opt.step(), after_step(s + 1, loss_sum) if given. Returns the
// summed loss on the device (NaN/Inf if any step's was).
using StepGradients = std::function<Tensor(int64_t step)>;
using StepObserver = std::function<void(int64_t steps_done, const Tensor& loss_sum)>;
Tensor train_steps(Optimizer& opt, int64_t steps, const StepGradients& gradients,
                   const std::function<void()>& edit = {}, const StepObserver& after_step = {});

struct Batch {
  Tensor x, y;
};
struct EpochResult {
  int64_t steps = 0, samples = 0;
  double loss = 0;  // mean batch loss (NaN/Inf if any step's was)
};

// One epoch in train mode: `steps` batches from batch(s), s = 0, 1, ... in order, each a
// batch_gradients and an optimizer step. after_step (progress) sees the steps done and the
// summed loss; reading it syncs with the device, so call .item() only now and then.
EpochResult train_epoch(Module& model, Optimizer& opt, int64_t steps, const std::function<Batch(int64_t)>& batch,
                        const StepObserver& after_step = {}, const LossFn& loss = {});

}  // namespace nanofed::nn
