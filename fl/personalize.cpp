// personalize.cpp — the loss terms, the Adam loop with checkpoint selection, and the data the
// personalizers build (fl/personalize.h).
#include "fl/personalize.h"

#include <algorithm>

#include "datasets/transforms.h"
#include "engine/autograd.h"
#include "engine/common.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "nn/optim.h"

namespace nanofed::fl::personalize {

namespace {

Tensor index_tensor(const std::vector<int64_t>& rows, Device device) {
  std::vector<int32_t> v(rows.begin(), rows.end());
  return from_vector(v, {(int64_t)v.size()}, device);
}

datasets::Dataset rows_of(const datasets::Dataset& d, const Tensor& images, const Tensor& labels) {
  datasets::Dataset out;
  out.images = images, out.labels = labels, out.num_classes = d.num_classes, out.name = d.name;
  return out;
}

datasets::Dataset appended(const datasets::Dataset& base, const Tensor& images, const Tensor& labels) {
  if (labels.numel() == 0) return base;
  return rows_of(base, concat({base.images, images}, 0), concat({base.labels, labels}, 0));
}

// Zeroes the parameters' gradients before a step (they accumulate across backward calls).
}  // namespace

// ---------------------------------------------------------------- the loss terms

Tensor consistency_loss(const Tensor& logits, const Tensor& target_probs) {
  return cross_entropy(logits, target_probs.detach());  // soft targets: mean_i -sum_k p log q
}

double add_l2_pull(Tensor& grad, const Tensor& w, const Tensor& w_g, double lambda) {
  const Tensor diff = sub(w.detach(), w_g);
  const double n = norm(diff).item();
  // d||w - w_g|| / dw = (w - w_g) / ||w - w_g||, undefined at 0: take the subgradient 0 there
  // (what PyTorch's norm backward gives), so the first step is plain fine-tuning.
  if (n > 0 && lambda != 0) add_(grad, diff, (float)(lambda / n));
  return n;
}

// ---------------------------------------------------------------- the loop

namespace {

// The loss of one batch (rows idx of the recipe), taped.
Tensor batch_loss(nn::Module& model, const Recipe& r, const Tensor& idx) {
  Tensor loss = cross_entropy(model(index_select(r.train.images, 0, idx)), index_select(r.train.labels, 0, idx));
  if (r.lambda_adv != 0 && r.consistency_x.defined()) {
    const Tensor c = consistency_loss(model(index_select(r.consistency_x, 0, idx)), index_select(r.consistency_p, 0, idx));
    loss = add(loss, mul(c, (float)r.lambda_adv));
  }
  return loss;
}

}  // namespace

Trained train(nn::Module& model, const Recipe& recipe, const Options& options, Generator& gen,
              const CheckpointScore& score) {
  NF_CHECK(options.batch_size >= 1 && options.epochs >= 0 && options.eval_every >= 1,
           "personalize: batch_size, eval_every must be >= 1 and epochs >= 0");
  const int64_t n = recipe.train.size();
  NF_CHECK(!recipe.consistency_x.defined() || recipe.consistency_x.size(0) == n,
           "personalize: the consistency inputs must be row-aligned with the train rows");
  const Tensor w_g = model.flat_parameters().clone();
  nn::Adam opt(model.parameters(), nn::AdamOptions(options.lr));
  Trained t;
  t.params = w_g.clone();
  double best = score(model, 0);
  const int64_t per_epoch = (n + options.batch_size - 1) / options.batch_size;
  t.total_batches = per_epoch * options.epochs;
  const Device device = recipe.train.images.device();
  for (int64_t e = 0, b = 0; e < options.epochs; ++e) {
    const std::vector<int64_t> perm = randperm(n, gen);
    for (int64_t s = 0; s < n; s += options.batch_size) {
      const std::vector<int64_t> rows(perm.begin() + s, perm.begin() + std::min(n, s + options.batch_size));
      model.train();
      model.zero_grad();
      batch_loss(model, recipe, index_tensor(rows, device)).backward();
      if (recipe.lambda_l2 != 0) {
        Tensor g = model.flat_gradients();
        add_l2_pull(g, model.flat_parameters(), w_g, recipe.lambda_l2);
      }
      opt.step();
      ++b;
      if (b % options.eval_every != 0 && b != t.total_batches) continue;
      const double v = score(model, b);
      // Ties go to the later checkpoint: a validation split of a few dozen images ties often,
      // and the paper's val-acc selection is the one that lands on late, entangled checkpoints.
      if (v >= best) best = v, t.params.copy_(model.flat_parameters()), t.best_batches = b;
    }
  }
  return t;
}

// ---------------------------------------------------------------- data

datasets::Dataset with_flipped_labels(const ClientInputs& in) {
  const std::vector<int32_t> y = in.train.labels.to_vector<int32_t>(), p = in.adv_prediction.to_vector<int32_t>();
  std::vector<int64_t> fooled;
  for (size_t i = 0; i < y.size(); ++i)
    if (p[i] != y[i]) fooled.push_back((int64_t)i);
  const Tensor idx = index_tensor(fooled, in.train_adv.device());
  return appended(in.train, index_select(in.train_adv, 0, idx), index_select(in.adv_prediction, 0, idx));
}

datasets::Dataset recolor(const datasets::Dataset& colored, int64_t env) {
  const Device device = colored.images.device();
  const Tensor img = colored.images.to(Device::cpu());
  NF_CHECK(img.dim() == 4 && img.size(1) == 3, "recolor: expected colored images [N, 3, H, W], got " << img.str());
  const int64_t n = img.size(0), hw = img.size(2) * img.size(3);
  std::vector<float> gray((size_t)(n * hw));
  const float* x = img.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < hw; ++j)
      gray[i * hw + j] = std::max({x[(i * 3) * hw + j], x[(i * 3 + 1) * hw + j], x[(i * 3 + 2) * hw + j]});
  datasets::Dataset g = rows_of(colored, from_vector(gray, {n, 1, img.size(2), img.size(3)}),
                                colored.labels.to(Device::cpu()));
  return datasets::colorize(g, env).to(device);
}

datasets::Dataset upsample(const datasets::Dataset& base, const datasets::Dataset& extra,
                           const std::vector<int64_t>& rows, int64_t copies) {
  std::vector<int64_t> repeated;
  for (int64_t c = 0; c < copies; ++c) repeated.insert(repeated.end(), rows.begin(), rows.end());
  const Tensor idx = index_tensor(repeated, extra.images.device());
  return appended(base, index_select(extra.images, 0, idx), index_select(extra.labels, 0, idx));
}

std::vector<int64_t> misclassified(nn::Module& model, const datasets::Dataset& data) {
  nn::EvalMode eval_mode(model);
  std::vector<int64_t> wrong;
  {
    NoGrad no_grad;
    for (int64_t s = 0; s < data.size(); s += 256) {
      const datasets::Dataset b = data.slice(s, std::min(data.size(), s + 256));
      const std::vector<int32_t> p = argmax(model(b.images), 1).to_vector<int32_t>(), y = b.labels.to_vector<int32_t>();
      for (size_t i = 0; i < p.size(); ++i)
        if (p[i] != y[i]) wrong.push_back(s + (int64_t)i);
    }
  }
  return wrong;
}

}  // namespace nanofed::fl::personalize
