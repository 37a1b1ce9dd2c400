// evaluate.cpp — clean/robust accuracy, eps sweeps and transferability over a data set; see
// evaluate.h. Counts and loss sums stay on the model's device until the end (one read).
#include "attacks/evaluate.h"

#include <algorithm>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"

namespace nanofed::attacks {

namespace {

void check_data(const char* op, const datasets::Dataset& data, int64_t batch_size) {
  NF_CHECK(batch_size > 0, op << ": batch_size must be > 0, got " << batch_size);
  if (data.size() > 0) data.validate();  // images and labels agree, labels in [0, num_classes)
}

// Calls fn(k, begin, end, x, y) for batch k = rows [begin, end) of `data` (already on the
// model's device: moved once, not per batch).
template <typename Fn>
void for_each_batch(const datasets::Dataset& data, int64_t batch_size, Fn fn) {
  const int64_t n = data.size();
  for (int64_t begin = 0, k = 0; begin < n; begin += batch_size, ++k) {
    const int64_t end = std::min(n, begin + batch_size);
    fn(k, begin, end, data.images.slice(begin, end), data.labels.slice(begin, end));
  }
}

// Number of nonzero flags (u8 [B]) as an f32 scalar on their device.
Tensor count(const Tensor& flags) { return sum(cast(flags, DType::f32)); }

// Target class of every sample, (y + shift) mod K (labels validated: in [0, K)), on the labels'
// device.
Tensor shifted_targets(const Tensor& labels, int64_t shift, int64_t num_classes) {
  std::vector<int32_t> y = labels.to_vector<int32_t>();
  const int64_t s = ((shift % num_classes) + num_classes) % num_classes;
  for (int32_t& v : y) v = (int32_t)((v + s) % num_classes);
  return from_vector(y, labels.shape(), labels.device());
}

}  // namespace

AttackResult evaluate(nn::Module& model, const datasets::Dataset& data, const AttackOptions& o,
                      Generator& gen, const EvaluateOptions& eo) {
  validate(o, "evaluate");
  check_data("evaluate", data, eo.batch_size);
  const int64_t n = data.size(), num_classes = data.num_classes;
  if (o.targeted) {
    NF_CHECK(num_classes > 1, "evaluate: a targeted attack needs num_classes > 1, data set '"
                                  << data.name << "' has " << num_classes);
    NF_CHECK(eo.target_shift % num_classes != 0,
             "evaluate: target_shift must not be a multiple of num_classes (" << num_classes
                                                                              << ") for a targeted attack, got "
                                                                              << eo.target_shift);
  }
  AttackResult r;
  r.samples = n;
  const Device device = model.device();
  if (eo.adversarial) *eo.adversarial = empty(data.images.defined() ? data.images.shape() : Shape{0}, device);
  if (n == 0) return r;

  const datasets::Dataset on_device = data.to(device);
  const Tensor targets = o.targeted ? shifted_targets(on_device.labels, eo.target_shift, num_classes) : on_device.labels;
  nn::InputGradientScope frozen(model);  // eval mode for the clean and adversarial predictions too
  // clean correct, robust correct, succeeded, clean loss sum, adversarial loss sum
  Tensor totals = zeros({5}, device);
  Tensor success = empty({n}, device, DType::u8);
  Tensor clean_pred = empty({n}, device, DType::i32), adv_pred_all = empty({n}, device, DType::i32);
  CrossEntropyOptions summed;
  summed.reduction = Reduction::sum;
  for_each_batch(on_device, eo.batch_size, [&](int64_t k, int64_t begin, int64_t end, const Tensor& x,
                                              const Tensor& y) {
    const Tensor t = targets.slice(begin, end);
    Generator batch_gen = gen.derive({(uint64_t)k});
    // eps 0 allows no perturbation: x' = x without running PGD (or drawing its random start).
    const bool attacked = o.eps > 0;
    const Tensor adv = attacked ? pgd(model, x, t, o, batch_gen) : x;
    NoGrad no_grad;
    const Tensor clean_logits = model(x), adv_logits = attacked ? model(adv) : clean_logits;
    const Tensor pred = argmax(clean_logits, 1), adv_pred = argmax(adv_logits, 1);
    clean_pred.slice(begin, end).copy_(pred);
    adv_pred_all.slice(begin, end).copy_(adv_pred);
    const Tensor clean_ok = cast(eq(pred, y), DType::f32);
    const Tensor robust = mul(clean_ok, cast(eq(adv_pred, y), DType::f32));
    // A success turns a correct clean prediction into a wrong (or the target) one: a point
    // misclassified before the attack is not the attack's doing, so eps 0 succeeds on none.
    const Tensor fooled = o.targeted ? eq(adv_pred, t) : ne(adv_pred, y);
    const Tensor succeeded = mul(clean_ok, cast(fooled, DType::f32));
    success.slice(begin, end).copy_(ne(succeeded, 0.0f));
    add_(totals, stack({sum(clean_ok), sum(robust), sum(succeeded), cross_entropy(clean_logits, y, summed),
                        cross_entropy(adv_logits, y, summed)}));
    if (eo.adversarial) eo.adversarial->slice(begin, end).copy_(adv);
  });
  const std::vector<float> sums = totals.to_vector<float>();
  r.clean_correct = std::llround(sums[0]);
  r.robust_correct = std::llround(sums[1]);
  r.succeeded = std::llround(sums[2]);
  r.clean_loss_sum = sums[3];
  r.adv_loss_sum = sums[4];
  r.success = success.to_vector<uint8_t>();
  r.clean_prediction = clean_pred.to_vector<int32_t>();
  r.adversarial_prediction = adv_pred_all.to_vector<int32_t>();
  return r;
}

std::vector<AttackResult> eps_sweep(nn::Module& model, const datasets::Dataset& data, const AttackOptions& o,
                                    const std::vector<float>& eps_list, Generator& gen,
                                    const EvaluateOptions& eo) {
  std::vector<AttackResult> results;
  for (float eps : eps_list) results.push_back(evaluate(model, data, at_eps(o, eps), gen, eo));
  return results;
}

AttackOptions at_eps(const AttackOptions& reference, float eps) {
  AttackOptions o = reference;
  o.eps = eps;
  if (reference.eps > 0) o.alpha = reference.alpha * (eps / reference.eps);  // keep the step/budget ratio
  return o;
}

namespace {

// Transferability from examples `craft(k, x, y)` returns for batch k; the two public forms
// differ only in where x' comes from.
template <typename Craft>
Transferability transfer(const char* op, nn::Module& source, nn::Module& target, const datasets::Dataset& data,
                         int64_t batch_size, Craft craft) {
  check_data(op, data, batch_size);
  Transferability r;
  r.samples = data.size();
  if (r.samples == 0) return r;
  const Device device = source.device();
  NF_CHECK(target.device() == device,
           op << ": source model on " << device.str() << " but target model on " << target.device().str());
  const datasets::Dataset on_device = data.to(device);
  nn::InputGradientScope frozen_source(source), frozen_target(target);
  // fooled source, fooled both, source clean correct, target clean correct, sum of l_{g->l}
  Tensor totals = zeros({5}, device);
  CrossEntropyOptions per_sample;
  per_sample.reduction = Reduction::none;
  for_each_batch(on_device, batch_size, [&](int64_t k, int64_t begin, int64_t end, const Tensor& x, const Tensor& y) {
    const Tensor adv = craft(k, begin, end, x, y);
    NoGrad no_grad;
    const Tensor source_clean = source(x), source_adv = source(adv);
    const Tensor target_clean = target(x), target_adv = target(adv);
    const Tensor fooled_source = cast(ne(argmax(source_adv, 1), y), DType::f32);
    const Tensor fooled_target = cast(ne(argmax(target_adv, 1), y), DType::f32);
    auto ce = [&](const Tensor& logits) { return cross_entropy(logits, y, per_sample); };
    // l_{g->l} per sample: how much more the perturbation hurts the target than the source.
    const Tensor measure = sub(sub(ce(target_adv), ce(target_clean)), sub(ce(source_adv), ce(source_clean)));
    add_(totals, stack({sum(fooled_source), sum(mul(fooled_source, fooled_target)),
                        count(eq(argmax(source_clean, 1), y)), count(eq(argmax(target_clean, 1), y)),
                        sum(measure)}));
  });
  const std::vector<float> sums = totals.to_vector<float>();
  r.fooled_source = std::llround(sums[0]);
  r.fooled_both = std::llround(sums[1]);
  r.source_clean_accuracy = double(sums[2]) / r.samples;
  r.target_clean_accuracy = double(sums[3]) / r.samples;
  r.loss_measure = double(sums[4]) / r.samples;
  return r;
}

}  // namespace

Transferability transferability(nn::Module& source, nn::Module& target, const datasets::Dataset& data,
                                const AttackOptions& o, Generator& gen, int64_t batch_size) {
  validate(o, "transferability");
  NF_CHECK(!o.targeted, "transferability: the attack must be untargeted (examples are crafted against the "
                        "true labels)");
  return transfer("transferability", source, target, data, batch_size,
                  [&](int64_t k, int64_t, int64_t, const Tensor& x, const Tensor& y) {
                    Generator batch_gen = gen.derive({(uint64_t)k});
                    return pgd(source, x, y, o, batch_gen);
                  });
}

Transferability transferability(nn::Module& source, nn::Module& target, const datasets::Dataset& data,
                                const Tensor& adversarial, int64_t batch_size) {
  NF_CHECK(adversarial.defined() && adversarial.shape() == data.images.shape(),
           "transferability: adversarial examples " << (adversarial.defined() ? adversarial.str() : "undefined")
                                                    << " do not match the data's images "
                                                    << (data.images.defined() ? data.images.str() : "undefined"));
  const Tensor adv = adversarial.to(source.device());
  return transfer("transferability", source, target, data, batch_size,
                  [&](int64_t, int64_t begin, int64_t end, const Tensor&, const Tensor&) { return adv.slice(begin, end); });
}

}  // namespace nanofed::attacks
