// smoothing.cpp — the smoothing distributions: names, checks, DeformRS' warps, one draw per
// image, and the certified radius of each.
#include "certify/smoothing.h"

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "certify/stats.h"
#include "engine/autograd.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/warp.h"

namespace nanofed::certify {
namespace {

struct TransformInfo {
  Transform transform;
  const char* name;
  int64_t params;  // warp parameters per image
};
constexpr TransformInfo kTransforms[] = {{Transform::pixel, "pixel", 0},
                                         {Transform::rotation, "rotation", 1},
                                         {Transform::translation, "translation", 2},
                                         {Transform::scaling, "scaling", 1},
                                         {Transform::affine, "affine", 6}};

const TransformInfo& info(Transform t) {
  for (const TransformInfo& i : kTransforms)
    if (i.transform == t) return i;
  NF_CHECK(false, "certify: unknown Transform value " << (int)t);
  return kTransforms[0];  // unreachable
}

// One entry of theta [[t0, t1, t2], [t3, t4, t5]] of a warp that is linear in its parameters:
// params[:, param] + offset, or the constant `offset` when param < 0.
struct ThetaEntry {
  int param;
  float offset;
};
using ThetaMap = std::array<ThetaEntry, 6>;
// smoothing.h's table: translation [[1, 0, t_v], [0, 1, t_u]] with params (t_u, t_v); scaling
// [[s, 0, 0], [0, s, 0]]; affine [[1 + a4, a3, a5], [a1, 1 + a0, a2]].
constexpr ThetaMap kTranslationTheta = {{{-1, 1}, {-1, 0}, {1, 0}, {-1, 0}, {-1, 1}, {0, 0}}};
constexpr ThetaMap kScalingTheta = {{{0, 0}, {-1, 0}, {-1, 0}, {-1, 0}, {0, 0}, {-1, 0}}};
constexpr ThetaMap kAffineTheta = {{{4, 1}, {3, 0}, {5, 0}, {1, 0}, {0, 1}, {2, 0}}};

// theta [N, 2, 3] assembled on the params' device (no host round trip, so a CUDA batch never
// waits for the host): the parameter columns, offsets added exactly in f32.
Tensor linear_theta(const Tensor& params, const ThetaMap& map) {
  const int64_t N = params.size(0);
  const Tensor columns = transpose(params, 0, 1);  // [k, N]: parameter p is row p
  std::vector<Tensor> entries;
  for (const ThetaEntry& e : map) {
    if (e.param < 0) {
      entries.push_back(full({N}, e.offset, params.device()));
      continue;
    }
    const Tensor column = columns.slice(e.param, e.param + 1).reshape({N});
    entries.push_back(e.offset == 0.0f ? column : add(column, e.offset));
  }
  return stack(entries, 1).reshape({N, 2, 3});
}

Tensor theta_of(const Tensor& params, Transform t) {
  switch (t) {
    // rotation_theta(a) = [[cos a, -sin a, 0], [sin a, cos a, 0]]; DeformRS' flow is a = -beta.
    case Transform::rotation: return rotation_theta(neg(params.reshape({params.size(0)})));
    case Transform::translation: return linear_theta(params, kTranslationTheta);
    case Transform::scaling: return linear_theta(params, kScalingTheta);
    case Transform::affine: return linear_theta(params, kAffineTheta);
    case Transform::pixel: break;
  }
  NF_CHECK(false, "deform: no theta for " << transform_name(t));
  return Tensor();  // unreachable
}

void check_images(const char* op, const Tensor& images) {
  check_defined(op, images, "images");
  check_dtype(op, images, DType::f32, "images");
  NF_CHECK(images.dim() == 4,
           op << ": images must be [N, C, H, W], got " << shape_str(images.shape()));
}

}  // namespace

Transform parse_transform(const std::string& s, const std::string& what) {
  for (const TransformInfo& i : kTransforms)
    if (s == i.name) return i.transform;
  NF_CHECK(false, what << ": unknown transform '" << s
                       << "' (expected pixel, rotation, translation, scaling or affine)");
  return Transform::pixel;  // unreachable
}

const char* transform_name(Transform t) { return info(t).name; }

Grid parse_grid(const std::string& s, const std::string& what) {
  NF_CHECK(s == "linspace" || s == "centers", what << ": unknown grid '" << s << "' (expected linspace or centers)");
  return s == "centers" ? Grid::centers : Grid::linspace;
}
int64_t num_params(Transform t) { return info(t).params; }

Distribution Smoothing::resolved() const {
  if (distribution != Distribution::automatic) return distribution;
  const bool uniform = transform == Transform::rotation || transform == Transform::scaling;
  return uniform ? Distribution::uniform : Distribution::gaussian;
}

double Smoothing::scale() const {
  return transform == Transform::rotation ? (double)sigma * M_PI : (double)sigma;
}

void validate(const Smoothing& s, const std::string& who) {
  info(s.transform);  // a valid enum value
  NF_CHECK(std::isfinite(s.sigma) && s.sigma > 0,
           who << ": sigma must be > 0 and finite, got " << s.sigma);
}

std::optional<Smoothing> augmentation(const std::string& name, double sigma, Grid grid, const std::string& what) {
  if (name == "none") return std::nullopt;
  Smoothing s;
  s.transform = parse_transform(name, what);
  s.sigma = (float)sigma;
  s.grid = grid;
  validate(s, what);
  return s;
}

Tensor deform(const Tensor& images, const Tensor& params, Transform t, Grid grid) {
  check_images("deform", images);
  check_defined("deform", params, "params");
  check_dtype("deform", params, DType::f32, "params");
  check_same_device("deform", images, params);
  NF_CHECK(t != Transform::pixel, "deform: pixel is not a warp (perturb adds pixel noise)");
  NF_CHECK(params.dim() == 2 && params.size(0) == images.size(0) && params.size(1) == num_params(t),
           "deform: params for " << transform_name(t) << " must be [" << images.size(0) << ", "
                                 << num_params(t) << "], got " << shape_str(params.shape()));
  const Tensor theta = theta_of(params, t);
  return affine_warp(images, theta, grid == Grid::linspace);
}

Tensor perturb(const Tensor& images, const Smoothing& s, Generator& gen) {
  validate(s, "perturb");
  check_images("perturb", images);
  NoGrad no_grad;
  const Tensor x = images.detach();
  const Device device = x.device();
  const float scale = (float)s.scale();
  const bool uniform_noise = s.resolved() == Distribution::uniform;
  auto draw = [&](const Shape& shape) {
    return uniform_noise ? uniform(shape, -scale, scale, gen, device)
                         : normal(shape, 0.0f, scale, gen, device);
  };
  if (s.transform == Transform::pixel) return add(x, draw(x.shape()));  // no clipping (Cohen et al. add N(0, σ²) unclipped)
  Tensor params = draw({x.size(0), num_params(s.transform)});
  if (s.transform == Transform::scaling) params = add(params, 1.0f);  // s = 1 + noise
  return deform(x, params, s.transform, s.grid);
}

double radius(const Smoothing& s, double pA_lower) {
  NF_CHECK(pA_lower >= 0 && pA_lower <= 1, "radius: pA_lower must be in [0, 1], got " << pA_lower);
  if (pA_lower < 0.5) return 0.0;
  if (s.resolved() == Distribution::uniform) return s.scale() * (2.0 * pA_lower - 1.0);
  if (pA_lower == 1.0) return std::numeric_limits<double>::infinity();  // Phi^-1(1)
  return s.scale() * phi_inv(pA_lower);
}

}  // namespace nanofed::certify
