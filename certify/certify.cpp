// certify.cpp — SAMPLE, CERTIFY and PREDICT of randomized smoothing (Cohen et al.).
#include "certify/certify.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <utility>

#include "certify/stats.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"

namespace nanofed::certify {
namespace {

// The three independent draw streams of one certification: selection and estimation must not
// share draws (Cohen et al.'s CERTIFY: the class chosen on n0 samples is tested on n fresh
// ones, or the bound is biased), and PREDICT draws its own.
constexpr uint64_t kSelectionStream = 0, kEstimationStream = 1, kPredictStream = 2;

// x [C, H, W] or [1, C, H, W] -> [1, C, H, W].
Tensor batch_of_one(const Tensor& x) {
  check_defined("sample_counts", x, "x");
  NF_CHECK(x.dim() == 3 || (x.dim() == 4 && x.size(0) == 1),
           "sample_counts: x must be one image [C, H, W] or [1, C, H, W], got "
               << shape_str(x.shape()));
  return x.dim() == 3 ? x.reshape({1, x.size(0), x.size(1), x.size(2)}) : x;
}

// The most frequent class, the lowest one on ties (numpy's argmax).
int64_t top_class(const std::vector<int64_t>& counts) {
  return std::max_element(counts.begin(), counts.end()) - counts.begin();
}

}  // namespace

void validate(const CertifyOptions& o, const std::string& who) {
  validate(o.smoothing, who);
  NF_CHECK(o.n0 >= 1, who << ": n0 must be >= 1, got " << o.n0);
  NF_CHECK(o.n >= 1, who << ": n must be >= 1, got " << o.n);
  NF_CHECK(o.n0 <= o.n, who << ": n0 (" << o.n0 << ") must be <= n (" << o.n << ")");
  NF_CHECK(o.alpha > 0 && o.alpha < 1, who << ": alpha must be in (0, 1), got " << o.alpha);
  NF_CHECK(o.batch >= 1, who << ": batch must be >= 1, got " << o.batch);
}

std::vector<int64_t> sample_counts(nn::Module& model, const Tensor& x, int64_t num,
                                   const Smoothing& s, int64_t batch, Generator& gen) {
  validate(s, "sample_counts");
  NF_CHECK(num >= 1 && num <= INT32_MAX,
           "sample_counts: num must be in [1, 2^31) (labels are counted in i32), got " << num);
  NF_CHECK(batch >= 1, "sample_counts: batch must be >= 1, got " << batch);
  const Tensor image = batch_of_one(x);
  NF_CHECK(image.device() == model.device(), "sample_counts: the image is on " << image.device().str()
                                                 << " but the model on " << model.device().str());
  NoGrad no_grad;
  nn::EvalMode eval_mode(model);
  // Every draw's predicted class stays on the device (4 bytes each); one bincount at the end
  // and one read-back of the class counts per SAMPLE.
  Tensor labels = empty({num}, image.device(), DType::i32);
  // The copies perturb() needs, made once; the short last batch takes a slice.
  const Tensor copies = broadcast_to(image, {std::min(batch, num), image.size(1), image.size(2), image.size(3)});
  int64_t classes = 0;
  for (int64_t start = 0; start < num; start += batch) {
    const int64_t b = std::min(batch, num - start);  // the last batch is num mod batch
    const Tensor logits = model(perturb(copies.slice(0, b), s, gen));
    NF_CHECK(logits.dim() == 2 && logits.size(0) == b && logits.size(1) >= 1 &&
                 (classes == 0 || logits.size(1) == classes),
             "sample_counts: the model must map [" << b << ", C, H, W] to logits [" << b
                                                   << ", K], got " << shape_str(logits.shape()));
    classes = logits.size(1);
    labels.slice(start, start + b).copy_(argmax(logits, 1));
  }
  const std::vector<int32_t> counts = bincount(labels, classes).to_vector<int32_t>();
  return std::vector<int64_t>(counts.begin(), counts.end());
}

Certificate certify(nn::Module& model, const Tensor& x, const CertifyOptions& o, Generator& gen) {
  validate(o, "certify");
  Generator selection = gen.derive({kSelectionStream});
  Generator estimation = gen.derive({kEstimationStream});
  Certificate c;
  c.cA = top_class(sample_counts(model, x, o.n0, o.smoothing, o.batch, selection));
  const std::vector<int64_t> counts =
      sample_counts(model, x, o.n, o.smoothing, o.batch, estimation);
  c.count_selected = counts[c.cA];
  c.pA_lower = clopper_pearson_lower(c.count_selected, o.n, o.alpha);
  if (c.pA_lower >= 0.5) {  // else ABSTAIN: predict -1, radius 0
    c.predict = c.cA;
    c.radius = radius(o.smoothing, c.pA_lower);
  }
  return c;
}

int64_t predict(nn::Module& model, const Tensor& x, const CertifyOptions& o, Generator& gen) {
  validate(o, "predict");
  Generator draws = gen.derive({kPredictStream});
  std::vector<int64_t> counts = sample_counts(model, x, o.n, o.smoothing, o.batch, draws);
  const int64_t cA = top_class(counts);
  const int64_t nA = counts[cA];
  counts[cA] = -1;  // the runner-up: the next most frequent class (0 draws with one class)
  const int64_t nB = counts.size() > 1 ? counts[top_class(counts)] : 0;
  return binom_test_two_sided(nA, nA + nB, 0.5) > o.alpha ? -1 : cA;
}

CertifyRow certify_row(nn::Module& model, const Tensor& image, int64_t idx, int64_t label, const CertifyOptions& o,
                       Generator& gen) {
  const auto start = std::chrono::steady_clock::now();
  const Certificate c = certify(model, image, o, gen);
  CertifyRow row;
  row.idx = idx;
  row.label = label;
  row.predict = c.predict;
  row.radius = c.radius;
  row.correct = c.predict == label;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return row;
}

}  // namespace nanofed::certify
