// smoothing.h — smoothing distributions: Gaussian pixel noise (Cohen et al.) and DeformRS's
// distributions over the parameters of a warp (rotation, translation, scaling, affine). One
// function, perturb(), draws one sample per image; certification applies it to n copies of one
// image, training-time augmentation to a batch — the same distribution by construction
// (004_certified_fl.md §2.4: "the same sigma as certification").
//
// Transforms and their parameters (004_certified_fl.md §2.2, ported from DeformRS'
// deform_wrapper.py / deform_smooth.py):
//   pixel        x + eps, eps ~ N(0, sigma^2) i.i.d. per pixel and channel, no clipping (noise
//                goes before the model's normalization, which lives inside the model)
//   rotation     beta ~ U[-sigma*pi, sigma*pi] (sigma in units of pi: 0.1 = +-18 degrees)
//   translation  (t_u, t_v) ~ N(0, sigma^2 I), in normalized coordinates ([-1, 1] spans the
//                image: one unit = W/2 pixels); t_u moves rows, t_v columns
//   scaling      s ~ U[1 - sigma, 1 + sigma]
//   affine       a_0..a_5 ~ N(0, sigma^2) each
// A warp samples the image bilinearly with zero padding at grid = base + flow(params), where
// base is DeformRS' meshgrid of linspace(-1, 1, H) x linspace(-1, 1, W) — affine_grid with
// align_corners = true — and grid_sample uses align_corners = false (PyTorch 1.7 defaults, as in
// the reference code). So even beta = 0 is not an exact identity: it rescales by (W-1)/W about
// the centre and blends the border half pixel with zeros (DeformRS' grid convention).
// Grid::centers uses the pixel-centre grid instead (affine_grid with align_corners = false),
// where beta = 0 is the exact identity and a translation by 2k/W is an exact k-pixel shift.
// In the warp's (x = column, y = row) basis, with X the row and Y the column coordinate of base:
//   rotation     theta = [[cos b,  sin b, 0], [-sin b, cos b, 0]]
//                (gx = X sin b + Y cos b, gy = X cos b - Y sin b: DeformRS' flow, centre-rotation)
//   translation  theta = [[1, 0, t_v], [0, 1, t_u]]
//   scaling      theta = [[s, 0, 0], [0, s, 0]]
//   affine       flow_X = a0 X + a1 Y + a2, flow_Y = a3 X + a4 Y + a5:
//                theta = [[1 + a4, a3, a5], [a1, 1 + a0, a2]]
//
// Certified radius from the lower bound pA on the top class's probability (pB = 1 - pA):
//   Gaussian: R = sigma * PhiInv(pA) (L2 in pixel space / in (t_u, t_v) / in a_0..a_5)
//   uniform:  R = s * (2 pA - 1) with s = sigma * pi for rotation (radians, = |delta beta|) and
//             s = sigma otherwise (L1 = |delta s| for scaling)
// The distribution follows the transform by default (Gaussian for pixel, translation, affine;
// uniform for rotation, scaling); Distribution::uniform with Transform::pixel is additive
// U[-sigma, sigma] noise per element (used by the 1-D tests of the uniform certificate).
// Overriding the family keeps the scale: the noise is N(0, scale()^2) or U[-scale(), scale()]
// (added to 1 for scaling), and the radius above uses scale() in both formulas.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "engine/random.h"
#include "engine/tensor.h"

namespace nanofed::certify {

enum class Transform { pixel, rotation, translation, scaling, affine };
enum class Distribution { automatic, gaussian, uniform };
enum class Grid { linspace, centers };

// "pixel" | "rotation" | "translation" | "scaling" | "affine"; an unknown name throws naming
// `what` and the valid names.
Transform parse_transform(const std::string& s, const std::string& what = "transform");
const char* transform_name(Transform t);
// "linspace" | "centers"; anything else throws naming `what`.
Grid parse_grid(const std::string& s, const std::string& what = "grid");
int64_t num_params(Transform t);  // warp parameters per sample: 1, 2, 1, 6 (pixel: 0)

struct Smoothing {
  Transform transform = Transform::pixel;
  float sigma = 0.25f;
  Distribution distribution = Distribution::automatic;
  Grid grid = Grid::linspace;
  Distribution resolved() const;  // automatic -> the transform's family
  double scale() const;           // sigma * pi for rotation, sigma otherwise
};

// Throws one line naming `who` and what is wrong: sigma must be > 0 and finite.
void validate(const Smoothing& s, const std::string& who = "certify");

// Training-time augmentation with a smoothing distribution (004 §2.4: train with the
// distribution certification will use): `name` "none" gives nullopt, a transform name gives
// its Smoothing at `sigma` on `grid` (apply it with perturb(), one draw per image). A bad name or
// sigma throws naming `what` (a flag or a config key). Used by `nanofed train --augment` and the
// fl config's augment / personal_augment.
std::optional<Smoothing> augmentation(const std::string& name, double sigma, Grid grid, const std::string& what);

// The warp alone: images [N, C, H, W], params [N, num_params(t)] f32 on the images' device.
// Differentiable in images (grid_sample); deterministic.
Tensor deform(const Tensor& images, const Tensor& params, Transform t, Grid grid = Grid::linspace);

// One draw per image: images [N, C, H, W] -> perturbed [N, C, H, W] on the same device, no
// history. Draws come from `gen` on the images' device (randn / rand: CPU and CUDA streams
// differ). Pixel: N*C*H*W normals; warps: N*num_params values.
Tensor perturb(const Tensor& images, const Smoothing& s, Generator& gen);

// The certified radius for a lower bound pA >= 0.5 (see above); 0 below 0.5; +inf for a
// Gaussian at pA = 1 (never a Clopper-Pearson bound, which stays below 1).
double radius(const Smoothing& s, double pA_lower);

}  // namespace nanofed::certify
