// certify.h — PREDICT and CERTIFY of randomized smoothing, exactly as Cohen et al. (and the
// authors' deform_smooth.py), for any smoothing distribution of smoothing.h.
//
//   certify::CertifyOptions o;                 // pixel, sigma 0.25, N0 100, N 100000, alpha 0.001
//   certify::Certificate c = certify::certify(model, x, o, gen);   // c.predict == -1: abstain
//
// CERTIFY(f, x):  f in eval mode, no tape.
//   counts0 <- SAMPLE(x, n0) with draws from gen.derive({0})   (selection)
//   cA      <- argmax counts0 (lowest class on ties)
//   counts  <- SAMPLE(x, n)  with draws from gen.derive({1})   (estimation: FRESH draws)
//   pA      <- clopper_pearson_lower(counts[cA], n, alpha)
//   pA < 1/2 -> (ABSTAIN = -1, R = 0); else (cA, radius(smoothing, pA))
// PREDICT(f, x):  counts <- SAMPLE(x, n) from gen.derive({2}); top two (cA, nA), (cB, nB) (ties:
//   lower class first); abstain (-1) if binom_test_two_sided(nA, nA + nB, 0.5) > alpha, else cA.
// SAMPLE(x, num): ceil(num / batch) batches, the last one num mod batch (exactly num samples);
//   each batch is `b` copies of x perturbed independently (perturb()), classified by argmax of
//   the model's output, and histogrammed ON THE DEVICE (bincount); only the class counts are
//   read back, once per SAMPLE. Batch k of a SAMPLE draws from its generator in order, so the
//   counts depend on (gen, num, batch) only.
// The model must map [b, C, H, W] to logits [b, K]; x is one image [C, H, W] (or [1, C, H, W])
// on the model's device. BN in eval mode (running statistics): a batch of noisy copies of one
// image must not normalize itself (its statistics would be the noise's). The model's train/eval mode is restored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "certify/results.h"
#include "certify/smoothing.h"
#include "nn/module.h"

namespace nanofed::certify {

struct CertifyOptions {
  Smoothing smoothing;
  int64_t n0 = 100;       // selection samples (Cohen's N0)
  int64_t n = 100000;     // estimation samples (N)
  double alpha = 0.001;   // failure probability
  int64_t batch = 1000;   // noisy copies per forward pass
};

// Throws one line naming `who` and the argument: sigma > 0, n0 >= 1, n >= 1, n0 <= n
// (Cohen's scripts always have N0 <= N), alpha in (0, 1), batch >= 1.
void validate(const CertifyOptions& o, const std::string& who = "certify");

struct Certificate {
  int64_t predict = -1;    // class, or -1 (abstain)
  double radius = 0;       // 0 when abstaining
  double pA_lower = 0;     // the Clopper-Pearson bound (0.5 is NOT substituted on abstain)
  int64_t count_selected = 0;  // counts[cA] among the n estimation draws
  int64_t cA = -1;         // the class selected from the n0 draws
};

// Class counts of `num` perturbed copies of x: a vector of length num_classes (int64).
// num in [1, 2^31); gen is advanced by the draws.
std::vector<int64_t> sample_counts(nn::Module& model, const Tensor& x, int64_t num,
                                   const Smoothing& s, int64_t batch, Generator& gen);

// Both draw from generators derived from gen's seed (derive() ignores the offset), so gen is
// not advanced and two calls with one gen reuse the same noise: pass one generator per image,
// e.g. gen.derive({idx}).
Certificate certify(nn::Module& model, const Tensor& x, const CertifyOptions& o, Generator& gen);
int64_t predict(nn::Module& model, const Tensor& x, const CertifyOptions& o, Generator& gen);

// CERTIFY of one image as its TSV row (idx, label, prediction, radius, correct, the seconds it
// took): what `nanofed certify` and the federated evaluation write.
CertifyRow certify_row(nn::Module& model, const Tensor& image, int64_t idx, int64_t label, const CertifyOptions& o,
                       Generator& gen);

}  // namespace nanofed::certify
