#include "nn/training.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"

namespace nanofed::nn {

Evaluation evaluate(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size) {
  NF_CHECK(batch_size > 0, "nn::evaluate: batch_size must be positive, got " << batch_size);
  NF_CHECK(images.size(0) == labels.size(0), "nn::evaluate: " << images.size(0) << " images but " << labels.size(0)
                                                              << " labels");
  Evaluation out;
  out.samples = images.size(0);
  if (out.samples == 0) return out;
  NoGrad no_grad;
  EvalMode mode(model);
  Tensor loss_sum = zeros({}, images.device()), correct = zeros({}, images.device());
  CrossEntropyOptions ce;
  ce.reduction = Reduction::sum;
  for (int64_t b = 0; b < out.samples; b += batch_size) {
    const int64_t e = std::min(out.samples, b + batch_size);
    const Tensor x = images.slice(b, e), y = labels.slice(b, e);
    const Tensor logits = model(x);
    add_(loss_sum, cross_entropy(logits, y, ce));
    add_(correct, sum(cast(eq(argmax(logits, 1), y), DType::f32)));
  }
  out.loss_sum = loss_sum.item();  // the one read of the pass
  out.correct = (int64_t)std::llround(correct.item());
  return out;
}

double mean_loss(Module& model, const Tensor& images, const Tensor& labels, int64_t batch_size, const LossFn& loss) {
  NF_CHECK(batch_size > 0, "nn::mean_loss: batch_size must be positive, got " << batch_size);
  const int64_t n = images.size(0);
  if (n == 0) return 0.0;
  NoGrad no_grad;
  EvalMode mode(model);
  Tensor total = zeros({}, images.device());
  for (int64_t b = 0; b < n; b += batch_size) {
    const int64_t e = std::min(n, b + batch_size);
    const Tensor x = images.slice(b, e), y = labels.slice(b, e);
    const Tensor l = loss ? loss(model(x), y) : cross_entropy(model(x), y);
    add_(total, l, (float)(e - b));
  }
  return total.item() / n;
}

Tensor batch_gradients(Module& model, const Tensor& x, const Tensor& y, const LossFn& loss) {
  model.zero_grad();
  Tensor l = loss ? loss(model(x), y) : cross_entropy(model(x), y);
  l.backward();
  return l.detach();
}

Tensor train_steps(Optimizer& opt, int64_t steps, const StepGradients& gradients, const std::function<void()>& edit,
                   const StepObserver& after_step) {
  const Device device = opt.parameters().empty() ? Device::cpu() : opt.parameters()[0].device();
  Tensor loss_sum = zeros({}, device);
  for (int64_t s = 0; s < steps; ++s) {
    const Tensor loss = gradients(s);
    {
      NoGrad no_grad;
      add_(loss_sum, loss);
      if (edit) edit();
    }
    opt.step();
    if (after_step) after_step(s + 1, loss_sum);
  }
  return loss_sum;
}

EpochResult train_epoch(Module& model, Optimizer& opt, int64_t steps, const std::function<Batch(int64_t)>& batch,
                        const StepObserver& after_step, const LossFn& loss) {
  model.train();
  EpochResult r;
  r.steps = steps;
  const Tensor loss_sum = train_steps(
      opt, steps,
      [&](int64_t s) {
        const Batch b = batch(s);
        r.samples += b.x.size(0);
        return batch_gradients(model, b.x, b.y, loss);
      },
      {}, after_step);
  r.loss = loss_sum.item() / std::max<int64_t>(1, steps);
  return r;
}

}  // namespace nanofed::nn
