// transforms.h — batch-wise image transforms that run where the batch lives (GPU-side
// augmentation, as in airbench), plus the colored-digit construction of the spurious-feature
// paper.
//
// Every transform takes a batch x [N, C, H, W] (f32) on any device and returns a new batch on
// the same device. Random ones draw from the Generator passed in; the same generator state
// gives the same result. Per-image parameters (crop offsets, flip decisions, angles, shifts)
// are drawn on the HOST from the generator, N at a time in a fixed order, and uploaded, so they
// are identical on the CPU and on CUDA for the same seed (and the CPU/CUDA outputs agree).
// Only gaussian_noise draws its noise on the device (like dropout: per-device streams).
// The random transforms are data augmentation: their outputs carry no autograd history.
//
// Names follow torchvision.transforms (functional forms here, the Transform objects in
// `transforms::`). Deviations from torchvision:
//   * they act on a whole batch with per-image random parameters (torchvision: one image);
//   * random_crop takes a square size and a symmetric zero padding (torchvision also takes
//     (h, w) sizes, per-side padding and other padding modes);
//   * rotation / translation / affine interpolate bilinearly (the engine's grid_sample);
//     torchvision's default is nearest. Fill is 0 like torchvision;
//   * random_affine takes one translate fraction for both axes (torchvision: (a, b)) and no
//     scale / shear;
//   * random_translation is RandomAffine(degrees=0, translate=(f, f)) under its own name.
#pragma once
#include <array>
#include <functional>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::datasets {

// ---- deterministic ----

// (x - mean[c]) / std[c] over channel dim 1 (x [N, C, ...], C == mean.size() == std.size()).
// Differentiable in x (plain broadcast ops), so it can sit inside a model (e.g. for attacks).
Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std);

// ---- random, per image ----

// Zero-pads every image by `padding` on all four sides and cuts a size x size window at an
// offset drawn uniformly per image: top, left in [0, H + 2*padding - size] (two
// gen.next_below draws per image, images in order, top before left). padding 0 and size == H
// == W is the identity. Throws if the padded image is smaller than size.
Tensor random_crop(const Tensor& x, int64_t size, int64_t padding, Generator& gen);

// Mirrors each image left-right with probability p: image n flips iff gen.next_uniform() < p
// (N draws, always made), so p = 0 never flips and p = 1 always does.
Tensor random_horizontal_flip(const Tensor& x, float p, Generator& gen);

// Rotation by an angle drawn uniformly per image in [-degrees, degrees] about the image
// centre (positive = counter-clockwise, like torchvision), zeros outside.
Tensor random_rotation(const Tensor& x, float degrees, Generator& gen);

// Integer shifts drawn per image, tx = round(U(-translate*W, translate*W)) columns and
// ty = round(U(-translate*H, translate*H)) rows (rounded half to even, like torchvision's
// Python round); positive moves the content right / down; zeros outside. translate in [0, 1].
Tensor random_translation(const Tensor& x, float translate, Generator& gen);

// Rotation then translation, each drawn as above. Draw order: N angles, then N tx, then N ty
// (all drawn even when a range is 0), so random_affine(x, d, 0, g) rotates exactly like
// random_rotation(x, d, g) and random_affine(x, 0, t, g) shifts like random_translation.
Tensor random_affine(const Tensor& x, float degrees, float translate, Generator& gen);

// The theta [N, 2, 3] that random_affine uses for angles (degrees) and pixel shifts (tx, ty),
// in the engine's affine_warp convention (engine/ops/warp.h): theta = [R(a) | -R(a) t] with
// R(a) = [[cos a, -sin a], [sin a, cos a]] (rotation_theta) and t = (2 tx / W, 2 ty / H)
// (the normalized shift of translation_theta), i.e. the output at p shows the input at
// R(a) (p - t): content rotated about the centre, then moved by (tx, ty) pixels.
Tensor affine_theta(const std::vector<float>& angles_deg, const std::vector<float>& tx,
                    const std::vector<float>& ty, int64_t height, int64_t width, Device device);

// x + N(mean, sigma^2) noise drawn on x's device (randn: CPU and CUDA streams differ), then
// clamped to [0, 1] if clip — torchvision.transforms.v2.GaussianNoise(mean, sigma, clip).
Tensor gaussian_noise(const Tensor& x, float sigma, Generator& gen, float mean = 0.0f,
                      bool clip = true);

// ---- colored digits: the spurious-feature construction ----
//
// From Spurious (000) §4 and its colored-MNIST setup (docs/references.md): the digit's
// color is keyed to its label, with a different color map per environment ("red <-> digit 0
// in env 1, red <-> digit 1 in env 2"). A grayscale image g [1, H, W] with label y in
// environment e becomes the RGB image
//     x[c] = g * P[(y - e) mod K][c],   c = R, G, B,
// i.e. the foreground takes the palette color channel-wise and the black background stays
// black. Environment 0 (the paper's env 1 / "A") colors label y with P[y]; environment 1 ("B")
// with P[(y - 1) mod K], so P[0] (red) marks digit 0 in env 0 and digit 1 in env 1; env e
// shifts by e. The map is deterministic within an environment (no randomness, no probability
// of keeping the correlation: the paper controls the correlation through which environment
// each client trains on). Counter-examples for up-weighting (UW) are the same images colored
// with the other environment.
using Rgb = std::array<float, 3>;  // in [0, 1]

// The default palette (the paper does not list its colors; the reference asks for 10
// well-separated ones): the 7 nonblack corners of the RGB cube and three half-way hues, every
// pair at least 0.5 apart, P[0] = red as in the paper's example:
//   0 red, 1 green, 2 blue, 3 yellow, 4 magenta, 5 cyan, 6 white, 7 orange (1, .5, 0),
//   8 violet (.5, 0, 1), 9 spring green (0, 1, .5).
const std::vector<Rgb>& default_palette();

// gray [N, 1, H, W] f32, labels i32 [N] in [0, K) with K = palette.size(), env >= 0 ->
// [N, 3, H, W] on gray's device. Labels are checked on the CPU only (on CUDA an out-of-range
// label gives NaN pixels, index_select's convention). Differentiable in gray.
Tensor colorize(const Tensor& gray, const Tensor& labels, int64_t env,
                const std::vector<Rgb>& palette = default_palette());
// The whole data set in environment env (num_classes must be <= palette.size()).
Dataset colorize(const Dataset& gray, int64_t env,
                 const std::vector<Rgb>& palette = default_palette());

// ---- pipelines ----

// One step of a pipeline: a named function of (batch, generator). Deterministic steps
// ignore the generator.
struct Transform {
  std::string name;  // for messages, e.g. "RandomCrop(32, padding=4)"
  std::function<Tensor(const Tensor&, Generator&)> fn;
  Tensor operator()(const Tensor& x, Generator& gen) const;
};

// torchvision-named constructors of the steps above.
namespace transforms {
Transform Normalize(std::vector<float> mean, std::vector<float> std);
Transform RandomCrop(int64_t size, int64_t padding = 0);
Transform RandomHorizontalFlip(float p = 0.5f);
Transform RandomRotation(float degrees);
Transform RandomTranslation(float translate);
Transform RandomAffine(float degrees, float translate = 0.0f);
Transform GaussianNoise(float mean = 0.0f, float sigma = 0.1f, bool clip = true);
// Applies the steps in order, all drawing from the same generator (in step order).
Transform Compose(std::vector<Transform> steps);
}  // namespace transforms

}  // namespace nanofed::datasets
