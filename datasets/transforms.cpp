// transforms.cpp — batch transforms (see transforms.h). Random parameters are drawn on the
// host, N per kind, and uploaded; the pixel work is one engine op on the batch's device.
#include "datasets/transforms.h"

#include <cmath>
#include <sstream>

#include "engine/ops/augment.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/warp.h"

namespace nanofed::datasets {

namespace {

constexpr double kPi = 3.14159265358979323846;

void check_batch(const char* op, const Tensor& x) {
  check_defined(op, x, "input");
  check_dtype(op, x, DType::f32, "input");
  NF_CHECK(x.dim() == 4, op << ": input must be a batch [N, C, H, W], got " << shape_str(x.shape()));
}

// A channel vector as a [1, C, 1, ...] tensor that broadcasts against x [N, C, ...].
Tensor per_channel(const std::vector<float>& v, const Tensor& x) {
  Shape shape(x.shape().size(), 1);
  shape[1] = (int64_t)v.size();
  return from_vector(v, shape, x.device());
}

// n uniform draws in [low, high), in order.
std::vector<float> uniform_draws(int64_t n, float low, float high, Generator& gen) {
  std::vector<float> v((size_t)n);
  for (float& a : v) a = low + (high - low) * gen.next_uniform();
  return v;
}

}  // namespace

Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std) {
  check_defined("normalize", x, "input");
  check_dtype("normalize", x, DType::f32, "input");
  NF_CHECK(x.dim() >= 2, "normalize: input must be [N, C, ...], got " << shape_str(x.shape()));
  const int64_t C = x.size(1);
  NF_CHECK((int64_t)mean.size() == C && (int64_t)std.size() == C,
           "normalize: input " << shape_str(x.shape()) << " has " << C << " channels but mean has "
                               << mean.size() << " and std " << std.size() << " values");
  for (size_t c = 0; c < std.size(); ++c)
    NF_CHECK(std[c] > 0.0f, "normalize: std[" << c << "] must be positive, got " << std[c]);
  return div(sub(x, per_channel(mean, x)), per_channel(std, x));
}

Tensor random_crop(const Tensor& x, int64_t size, int64_t padding, Generator& gen) {
  check_batch("random_crop", x);
  NF_CHECK(size > 0 && padding >= 0, "random_crop: size must be positive and padding non-negative, got size "
                                         << size << ", padding " << padding);
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3);
  const int64_t range_h = H + 2 * padding - size + 1, range_w = W + 2 * padding - size + 1;
  NF_CHECK(range_h > 0 && range_w > 0, "random_crop: crop size " << size << " is larger than the padded image "
                                                                 << H + 2 * padding << " x " << W + 2 * padding);
  std::vector<int32_t> params((size_t)(N * 3));
  for (int64_t n = 0; n < N; ++n) {
    params[n * 3 + 0] = (int32_t)((int64_t)gen.next_below((uint64_t)range_h) - padding);
    params[n * 3 + 1] = (int32_t)((int64_t)gen.next_below((uint64_t)range_w) - padding);
    params[n * 3 + 2] = 0;
  }
  return crop_flip(x.detach(), from_vector(params, {N, 3}, x.device()), size, size);
}

Tensor random_horizontal_flip(const Tensor& x, float p, Generator& gen) {
  check_batch("random_horizontal_flip", x);
  NF_CHECK(p >= 0.0f && p <= 1.0f, "random_horizontal_flip: probability p must be in [0, 1], got " << p);
  const int64_t N = x.size(0);
  std::vector<int32_t> params((size_t)(N * 3), 0);
  for (int64_t n = 0; n < N; ++n) params[n * 3 + 2] = gen.next_uniform() < p ? 1 : 0;
  return crop_flip(x.detach(), from_vector(params, {N, 3}, x.device()), x.size(2), x.size(3));
}

Tensor affine_theta(const std::vector<float>& angles_deg, const std::vector<float>& tx,
                    const std::vector<float>& ty, int64_t height, int64_t width, Device device) {
  const size_t N = angles_deg.size();
  NF_CHECK(tx.size() == N && ty.size() == N, "affine_theta: " << N << " angles but " << tx.size() << " tx and "
                                                               << ty.size() << " ty");
  NF_CHECK(height > 0 && width > 0, "affine_theta: image size must be positive, got " << height << " x " << width);
  std::vector<float> theta(N * 6);
  for (size_t n = 0; n < N; ++n) {
    const double a = angles_deg[n] * kPi / 180.0, c = std::cos(a), s = std::sin(a);
    const double ux = 2.0 * tx[n] / (double)width, uy = 2.0 * ty[n] / (double)height;
    float* t = &theta[n * 6];
    t[0] = (float)c, t[1] = (float)-s, t[2] = (float)-(c * ux - s * uy);
    t[3] = (float)s, t[4] = (float)c, t[5] = (float)-(s * ux + c * uy);
  }
  return from_vector(theta, {(int64_t)N, 2, 3}, device);
}

Tensor random_affine(const Tensor& x, float degrees, float translate, Generator& gen) {
  check_batch("random_affine", x);
  NF_CHECK(degrees >= 0.0f && std::isfinite(degrees),
           "random_affine: degrees must be finite and non-negative, got " << degrees);
  NF_CHECK(translate >= 0.0f && translate <= 1.0f, "random_affine: translate must be in [0, 1], got " << translate);
  const int64_t N = x.size(0), H = x.size(2), W = x.size(3);
  const float max_dx = translate * (float)W, max_dy = translate * (float)H;
  std::vector<float> angles = uniform_draws(N, -degrees, degrees, gen);
  std::vector<float> tx = uniform_draws(N, -max_dx, max_dx, gen);
  std::vector<float> ty = uniform_draws(N, -max_dy, max_dy, gen);
  for (float& t : tx) t = std::nearbyint(t);  // ties to even under the default rounding mode
  for (float& t : ty) t = std::nearbyint(t);
  return affine_warp(x.detach(), affine_theta(angles, tx, ty, H, W, x.device()));
}

Tensor random_rotation(const Tensor& x, float degrees, Generator& gen) {
  return random_affine(x, degrees, 0.0f, gen);
}

Tensor random_translation(const Tensor& x, float translate, Generator& gen) {
  return random_affine(x, 0.0f, translate, gen);
}

Tensor gaussian_noise(const Tensor& x, float sigma, Generator& gen, float mean, bool clip) {
  check_defined("gaussian_noise", x, "input");
  check_dtype("gaussian_noise", x, DType::f32, "input");
  NF_CHECK(sigma >= 0.0f && std::isfinite(sigma), "gaussian_noise: sigma must be finite and non-negative, got " << sigma);
  Tensor y = add(x.detach(), normal(x.shape(), mean, sigma, gen, x.device()));
  return clip ? clamp(y, 0.0f, 1.0f) : y;
}

const std::vector<Rgb>& default_palette() {
  static const std::vector<Rgb> palette = {
      {1.0f, 0.0f, 0.0f},  // red
      {0.0f, 1.0f, 0.0f},  // green
      {0.0f, 0.0f, 1.0f},  // blue
      {1.0f, 1.0f, 0.0f},  // yellow
      {1.0f, 0.0f, 1.0f},  // magenta
      {0.0f, 1.0f, 1.0f},  // cyan
      {1.0f, 1.0f, 1.0f},  // white
      {1.0f, 0.5f, 0.0f},  // orange
      {0.5f, 0.0f, 1.0f},  // violet
      {0.0f, 1.0f, 0.5f},  // spring green
  };
  return palette;
}

Tensor colorize(const Tensor& gray, const Tensor& labels, int64_t env, const std::vector<Rgb>& palette) {
  check_defined("colorize", gray, "images");
  check_defined("colorize", labels, "labels");
  check_dtype("colorize", gray, DType::f32, "images");
  check_dtype("colorize", labels, DType::i32, "labels");
  check_same_device("colorize", gray, labels);
  NF_CHECK(gray.dim() == 4 && gray.size(1) == 1,
           "colorize: images must be grayscale [N, 1, H, W], got " << shape_str(gray.shape()));
  NF_CHECK(labels.dim() == 1 && labels.size(0) == gray.size(0),
           "colorize: labels must be i32 [N] with N = " << gray.size(0) << ", got " << shape_str(labels.shape()));
  NF_CHECK(!palette.empty(), "colorize: the palette is empty");
  NF_CHECK(env >= 0, "colorize: environment must be non-negative, got " << env);
  const int64_t K = (int64_t)palette.size(), N = gray.size(0);
  if (!labels.device().is_cuda()) {  // on the GPU this would cost a sync (see colorize's doc)
    const int32_t* y = labels.data<int32_t>();
    for (int64_t n = 0; n < N; ++n)
      NF_CHECK(y[n] >= 0 && y[n] < K, "colorize: label " << y[n] << " of image " << n << " is outside [0, " << K
                                                          << ") (the palette has " << K << " colors)");
  }
  // The environment's color map as a [K, 3] table indexed by label: row y = P[(y - env) mod K].
  std::vector<float> table((size_t)(K * 3));
  for (int64_t y = 0; y < K; ++y)
    for (int c = 0; c < 3; ++c) table[y * 3 + c] = palette[(size_t)(((y - env) % K + K) % K)][c];
  Tensor colors = index_select(from_vector(table, {K, 3}, gray.device()), 0, labels);  // [N, 3]
  return mul(gray, colors.reshape({N, 3, 1, 1}));
}

Dataset colorize(const Dataset& gray, int64_t env, const std::vector<Rgb>& palette) {
  NF_CHECK(gray.num_classes <= (int64_t)palette.size(),
           "colorize: dataset '" << gray.name << "' has " << gray.num_classes << " classes but the palette only "
                                 << palette.size() << " colors");
  Dataset out = gray;
  out.images = colorize(gray.images, gray.labels, env, palette).detach();
  out.name = gray.name + "/env" + std::to_string(env);
  return out;
}

Tensor Transform::operator()(const Tensor& x, Generator& gen) const {
  NF_CHECK(fn, "transform '" << name << "' has no function");
  return fn(x, gen);
}

namespace transforms {

namespace {
template <typename T> std::string list_str(const std::vector<T>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << v[i];
  s << "]";
  return s.str();
}
}  // namespace

Transform Normalize(std::vector<float> mean, std::vector<float> std) {
  std::string name = "Normalize(mean=" + list_str(mean) + ", std=" + list_str(std) + ")";
  return {name, [mean, std](const Tensor& x, Generator&) { return normalize(x, mean, std); }};
}

Transform RandomCrop(int64_t size, int64_t padding) {
  return {"RandomCrop(" + std::to_string(size) + ", padding=" + std::to_string(padding) + ")",
          [size, padding](const Tensor& x, Generator& g) { return random_crop(x, size, padding, g); }};
}

Transform RandomHorizontalFlip(float p) {
  return {"RandomHorizontalFlip(p=" + std::to_string(p) + ")",
          [p](const Tensor& x, Generator& g) { return random_horizontal_flip(x, p, g); }};
}

Transform RandomRotation(float degrees) {
  return {"RandomRotation(" + std::to_string(degrees) + ")",
          [degrees](const Tensor& x, Generator& g) { return random_rotation(x, degrees, g); }};
}

Transform RandomTranslation(float translate) {
  return {"RandomTranslation(" + std::to_string(translate) + ")",
          [translate](const Tensor& x, Generator& g) { return random_translation(x, translate, g); }};
}

Transform RandomAffine(float degrees, float translate) {
  return {"RandomAffine(" + std::to_string(degrees) + ", translate=" + std::to_string(translate) + ")",
          [degrees, translate](const Tensor& x, Generator& g) { return random_affine(x, degrees, translate, g); }};
}

Transform GaussianNoise(float mean, float sigma, bool clip) {
  return {"GaussianNoise(mean=" + std::to_string(mean) + ", sigma=" + std::to_string(sigma) + ")",
          [mean, sigma, clip](const Tensor& x, Generator& g) { return gaussian_noise(x, sigma, g, mean, clip); }};
}

Transform Compose(std::vector<Transform> steps) {
  std::string name = "Compose(";
  for (size_t i = 0; i < steps.size(); ++i) name += (i ? ", " : "") + steps[i].name;
  name += ")";
  return {name, [steps](const Tensor& x, Generator& g) {
            Tensor y = x;
            for (const Transform& t : steps) y = t(y, g);
            return y;
          }};
}

}  // namespace transforms

}  // namespace nanofed::datasets
