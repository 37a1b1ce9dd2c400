// pgd.cpp — FGSM and PGD (L-inf / L2), torchattacks semantics; see pgd.h.
#include "attacks/pgd.h"

#include <algorithm>
#include <cfloat>

#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/ops/softmax.h"

namespace nanofed::attacks {

Norm parse_norm(const std::string& s, const char* what) {
  if (s == "linf") return Norm::linf;
  if (s == "l2") return Norm::l2;
  NF_CHECK(false, what << ": expected linf or l2, got '" << s << "'");
  return Norm::linf;  // unreachable
}

const char* norm_name(Norm n) { return n == Norm::linf ? "linf" : "l2"; }

AttackOptions l2_defaults() {
  AttackOptions o;
  o.norm = Norm::l2;
  o.eps = 1.0f;
  o.alpha = 0.2f;
  o.steps = 10;
  o.random_start = true;
  return o;
}

void validate(const AttackOptions& o, const std::string& who) {
  // Written as "!(ok)" comparisons so that NaN fails too.
  NF_CHECK(o.eps >= 0.0f, who << ": eps must be >= 0, got " << o.eps);
  NF_CHECK(o.alpha >= 0.0f, who << ": alpha must be >= 0, got " << o.alpha);
  NF_CHECK(o.steps >= 0, who << ": steps must be >= 0, got " << o.steps);
  NF_CHECK(o.clip_min < o.clip_max,
           who << ": clip_min must be < clip_max, got clip_min " << o.clip_min << " and clip_max " << o.clip_max);
}

// ---------------------------------------------------------------- the attack

namespace {

// The feasible set around x: ||x' - x|| <= eps in the chosen norm and x' in [clip_min, clip_max].
class Ball {
 public:
  Ball(const Tensor& x, const AttackOptions& o) : x_(x), o_(o) {
    per_sample_.assign((size_t)x.dim(), 1);
    per_sample_[0] = x.size(0);
    if (o.norm == Norm::linf) {
      // clip(x + clamp(x' - x, -eps, eps)) == clamp(x', lo, hi) with these bounds, computed once
      // (lo <= hi always, and both lie in [clip_min, clip_max]).
      lo_ = clamp(sub(x, o.eps), o.clip_min, o.clip_max);
      hi_ = clamp(add(x, o.eps), o.clip_min, o.clip_max);
    }
  }

  // [N] per-sample values reshaped to broadcast against x: [N, 1, ..., 1].
  Tensor per_sample(const Tensor& v) const { return v.reshape(per_sample_); }

  // L2 norm of each sample of t [N, ...] -> [N].
  Tensor sample_norms(const Tensor& t) const { return norm(t.reshape({t.size(0), -1}), 1); }

  // The closest feasible point (L-inf), or torchattacks' PGDL2 radial rescale then clip (L2).
  Tensor project(const Tensor& adv) const {
    if (o_.norm == Norm::linf) return minimum(maximum(adv, lo_), hi_);
    const Tensor delta = sub(adv, x_);
    // factor = min(1, eps / ||delta||); the floor keeps eps = 0 (and delta = 0) finite: 0 / floor = 0.
    const float floor = std::max(o_.eps, FLT_MIN);
    const Tensor factor = div(o_.eps, clamp(sample_norms(delta), floor, FLT_MAX));
    return clamp(add(x_, mul(delta, per_sample(factor))), o_.clip_min, o_.clip_max);
  }

  // The start x'_0 before projection: uniform in the L-inf box, or a Gaussian direction at
  // radius U(0, 1) * eps (L2).
  Tensor random_point(Generator& gen) const {
    const Device dev = x_.device();
    if (o_.norm == Norm::linf) {
      Tensor start = uniform(x_.shape(), -o_.eps, o_.eps, gen, dev);
      add_(start, x_);
      return start;
    }
    const Tensor direction = randn(x_.shape(), gen, dev);
    const Tensor radius = mul(rand({x_.size(0)}, gen, dev), o_.eps);
    const Tensor scale = div(radius, clamp(sample_norms(direction), FLT_MIN, FLT_MAX));
    return add(x_, mul(direction, per_sample(scale)));
  }

  // The step direction: sign(g) (L-inf) or g / (||g||_2 + 1e-10) per sample (L2).
  Tensor direction(const Tensor& g) const {
    if (o_.norm == Norm::linf) return sign(g);
    return div(g, per_sample(add(sample_norms(g), 1e-10f)));
  }

 private:
  Tensor x_;
  const AttackOptions& o_;
  Shape per_sample_;
  Tensor lo_, hi_;  // L-inf only
};

void check_inputs(const char* op, const Tensor& x, const Tensor& y) {
  check_defined(op, x, "x");
  check_defined(op, y, "y");
  NF_CHECK(x.dtype() == DType::f32 && x.dim() >= 1,
           op << ": x must be f32 [N, ...], got " << x.str());
  NF_CHECK(y.dtype() == DType::i32 && y.shape() == Shape{x.size(0)},
           op << ": y must be i32 [" << x.size(0) << "] (one label per sample of x), got " << y.str());
  NF_CHECK(grad_enabled(), op << ": called with grad mode off (inside NoGrad); the attack needs "
                                 "the gradient w.r.t. the input");
}

// pgd() and fgsm() under the caller's name (for error messages).
Tensor attack(const char* op, nn::Module& model, const Tensor& x, const Tensor& y, const AttackOptions& o,
              Generator& gen) {
  validate(o, op);
  check_inputs(op, x, y);
  if (x.size(0) == 0) return x.detach().clone();
  nn::InputGradientScope frozen(model);
  // Nothing below requires grad except `adv` between requires_grad_(true) and backward(): the
  // parameters are frozen and x is detached, so only the forward of each step is taped.
  const Ball ball(x.detach(), o);
  Tensor adv = ball.project(o.random_start ? ball.random_point(gen) : x.detach());
  // Targeted: descend the loss at the target labels instead of ascending it at the true ones.
  const float step = o.targeted ? -o.alpha : o.alpha;
  for (int64_t s = 0; s < o.steps; ++s) {
    adv.requires_grad_(true);  // a fresh leaf each step (project() made a new tensor)
    const Tensor loss = cross_entropy(model(adv), y);
    if (!loss.requires_grad()) break;  // the output does not depend on the input: no gradient
    loss.backward();
    const Tensor g = adv.grad();
    adv = adv.detach();  // same storage, no grad: the in-place step below is not taped
    add_(adv, ball.direction(g), step);
    adv = ball.project(adv);
  }
  return adv.detach();  // (after a break, adv still requires grad)
}

}  // namespace

Tensor pgd(nn::Module& model, const Tensor& x, const Tensor& y, const AttackOptions& o, Generator& gen) {
  return attack("pgd", model, x, y, o, gen);
}

Tensor fgsm(nn::Module& model, const Tensor& x, const Tensor& y, float eps, bool targeted) {
  AttackOptions o;
  o.norm = Norm::linf;
  o.eps = eps;
  o.alpha = eps;
  o.steps = 1;
  o.random_start = false;
  o.targeted = targeted;
  Generator unused;  // no random start: nothing is drawn
  return attack("fgsm", model, x, y, o, unused);
}

}  // namespace nanofed::attacks
