// test_warp.cpp — affine_grid, grid_sample, affine_warp, rotation_theta, translation_theta.
#include <cmath>
#include <vector>

#include "engine/ops/warp.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

const float kPi = 3.14159265358979323846f;

Tensor theta_of(const std::vector<float>& values) {
  return from_vector(values, {(int64_t)values.size() / 6, 2, 3});
}

// Distance of the nearest sample coordinate (in pixels) to a pixel centre, where the bilinear
// weights (and so the grid gradient) have a kink.
float min_distance_to_pixel_centre(const Tensor& grid, int64_t H, int64_t W) {
  std::vector<float> g = grid.to_vector();
  float best = 1.0f;
  for (size_t k = 0; k < g.size(); ++k) {
    int64_t size = (k % 2 == 0) ? W : H;
    float pix = ((g[k] + 1.0f) * (float)size - 1.0f) * 0.5f;
    best = std::fmin(best, std::fabs(pix - std::round(pix)));
  }
  return best;
}

// A random near-identity theta [N,2,3] (rotation/shear/scale/shift) whose sample points all
// stay at least `margin` pixels away from pixel centres, so finite differences in theta do not
// straddle a kink. Deterministic: tries seeds base_seed, base_seed+1, ...
Tensor smooth_theta(int64_t N, int64_t H, int64_t W, float margin, uint64_t base_seed) {
  for (uint64_t seed = base_seed; seed < base_seed + 5000; ++seed) {
    Tensor noise = random_uniform({N, 2, 3}, seed, -0.3f, 0.3f);
    std::vector<float> t = noise.to_vector();
    for (int64_t n = 0; n < N; ++n) {
      t[n * 6 + 0] += 1.0f;
      t[n * 6 + 4] += 1.0f;
    }
    Tensor theta = from_vector(t, {N, 2, 3});
    if (min_distance_to_pixel_centre(affine_grid(theta, {N, 1, H, W}), H, W) >= margin)
      return theta;
  }
  BOOST_FAIL("smooth_theta: no seed found");
  return Tensor();
}

// A random grid in [-1.2, 1.2] (some points fall partly outside the image) whose points stay
// `margin` pixels away from pixel centres.
Tensor smooth_grid(int64_t N, int64_t Ho, int64_t Wo, int64_t H, int64_t W, float margin,
                   uint64_t base_seed) {
  for (uint64_t seed = base_seed; seed < base_seed + 5000; ++seed) {
    Tensor grid = random_uniform({N, Ho, Wo, 2}, seed, -1.2f, 1.2f);
    if (min_distance_to_pixel_centre(grid, H, W) >= margin) return grid;
  }
  BOOST_FAIL("smooth_grid: no seed found");
  return Tensor();
}

// Normalized coordinates of the kinks of bilinear sampling along an axis of `size` pixels:
// the pixel centres (2k+1)/size - 1 for k = -1..size.
void add_kinks(std::vector<float>& kinks, int64_t size) {
  for (int64_t k = -1; k <= size; ++k) kinks.push_back((float)(2 * k + 1) / (float)size - 1.0f);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(warp)

// ---------------------------------------------------------------- hand-computed values

BOOST_AUTO_TEST_CASE(affine_grid_values_2x3) {
  // H=2, W=3: x in {-2/3, 0, 2/3}, y in {-1/2, 1/2}.
  // Item 0: theta = [[1,2,3],[4,5,6]] -> (x + 2y + 3, 4x + 5y + 6). Item 1: identity -> (x, y).
  Tensor theta = theta_of({1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0});
  Tensor grid = affine_grid(theta, {2, 7, 2, 3});
  BOOST_CHECK(grid.shape() == Shape({2, 2, 3, 2}));
  const float t = 1.0f / 3.0f, s = 1.0f / 6.0f;
  std::vector<float> expected = {
      // item 0, row 0 (y = -1/2)
      4 * t, 5 * s, 2, 3.5f, 8 * t, 37 * s,
      // item 0, row 1 (y = 1/2)
      10 * t, 35 * s, 4, 8.5f, 14 * t, 67 * s,
      // item 1 (identity)
      -2 * t, -0.5f, 0, -0.5f, 2 * t, -0.5f,
      -2 * t, 0.5f, 0, 0.5f, 2 * t, 0.5f};
  expect_close(grid.to_vector(), expected, 1e-6f, 1e-6f, "affine_grid 2x3");
}

BOOST_AUTO_TEST_CASE(affine_grid_backward_sums_coordinates) {
  // dgrid = all ones: dtheta = [sum x, sum y, HW] per row; sum x = sum y = 0 by symmetry.
  Tensor theta = random_tensor({2, 2, 3}, 1);
  theta.requires_grad_();
  Tensor grid = affine_grid(theta, {2, 1, 3, 5});
  grid.backward(ones({2, 3, 5, 2}));
  expect_close(theta.grad().to_vector(), {0, 0, 15, 0, 0, 15, 0, 0, 15, 0, 0, 15}, 1e-5f, 0,
               "affine_grid dtheta for dgrid = 1");
}

BOOST_AUTO_TEST_CASE(affine_grid_align_corners_values) {
  // align_corners = true: x in linspace(-1, 1, 3) = {-1, 0, 1}, y in {-1, 1}.
  // Item 0: theta = [[1,2,3],[4,5,6]] -> (x + 2y + 3, 4x + 5y + 6). Item 1: identity -> (x, y).
  Tensor theta = theta_of({1, 2, 3, 4, 5, 6, 1, 0, 0, 0, 1, 0});
  Tensor grid = affine_grid(theta, {2, 7, 2, 3}, true);
  BOOST_CHECK(grid.shape() == Shape({2, 2, 3, 2}));
  expect_close(grid.to_vector(),
               {0, -3, 1, 1, 2, 5,  4, 7, 5, 11, 6, 15,  // item 0, rows y = -1 and y = 1
                -1, -1, 0, -1, 1, -1,  -1, 1, 0, 1, 1, 1},  // item 1
               1e-6f, 0, "affine_grid align_corners 2x3");
  // A one-pixel axis sits at 0 (PyTorch's convention).
  expect_close(affine_grid(theta_of({1, 0, 0.25f, 0, 1, -0.5f}), {1, 1, 1, 1}, true).to_vector(),
               {0.25f, -0.5f}, 0, 0, "align_corners 1x1");
  // The base coordinates are symmetric bit for bit: x[W-1-j] == -x[j] (here W = 7).
  std::vector<float> g = affine_grid(theta_of({1, 0, 0, 0, 1, 0}), {1, 1, 1, 7}, true).to_vector();
  for (int j = 0; j < 7; ++j) BOOST_CHECK_EQUAL(g[2 * (6 - j)], -g[2 * j]);
  BOOST_CHECK_EQUAL(g[6], 0.0f);
}

BOOST_AUTO_TEST_CASE(affine_grid_align_corners_backward) {
  // dgrid = 1: dtheta = [sum x, sum y, HW] per row (the sums vanish by symmetry); dgrid = x
  // in the first channel: dtheta[0] = sum x^2 = H * sum_j x_j^2 = 3 * (1 + 1/4 + 0 + 1/4 + 1).
  Tensor theta = random_tensor({1, 2, 3}, 1);
  theta.requires_grad_();
  Tensor grid = affine_grid(theta, {1, 1, 3, 5}, true);
  grid.backward(ones({1, 3, 5, 2}));
  expect_close(theta.grad().to_vector(), {0, 0, 15, 0, 0, 15}, 1e-5f, 0, "dgrid = 1");
  theta.zero_grad();
  std::vector<float> dgrid;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) dgrid.insert(dgrid.end(), {-1.0f + 0.5f * (float)j, 0.0f});
  affine_grid(theta, {1, 1, 3, 5}, true).backward(from_vector(dgrid, {1, 3, 5, 2}));
  expect_close(theta.grad().to_vector(), {7.5f, 0, 0, 0, 0, 0}, 1e-5f, 0, "dgrid = (x, 0)");
  Tensor thetas = random_tensor({3, 2, 3}, 10);
  thetas.requires_grad_();
  gradcheck("affine_grid align_corners", [](const std::vector<Tensor>& in) {
    return affine_grid(in[0], {3, 2, 5, 7}, true);
  }, {thetas});
}

BOOST_AUTO_TEST_CASE(grid_sample_hand_points) {
  // 2x2 image [[1,2],[3,4]] sampled at 4 hand-picked points (ix = ((gx+1)*2-1)/2, same for y):
  //  (0, 0)       -> ix=0.5,  iy=0.5  -> mean of all four            = 2.5
  //  (-1, -1)     -> ix=-0.5, iy=-0.5 -> 0.25 * 1                     = 0.25
  //  (0.5, -0.5)  -> ix=1,    iy=0    -> pixel (0,1)                  = 2
  //  (0.25, 0.75) -> ix=0.75, iy=1.25 -> 0.75*(0.25*3 + 0.75*4) + 0.25*(row 2: zeros) = 2.8125
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2});
  Tensor grid =
      from_vector(std::vector<float>{0, 0, -1, -1, 0.5f, -0.5f, 0.25f, 0.75f}, {1, 1, 4, 2});
  Tensor y = grid_sample(x, grid);
  BOOST_CHECK(y.shape() == Shape({1, 1, 1, 4}));
  expect_close(y.to_vector(), {2.5f, 0.25f, 2.0f, 2.8125f}, 1e-6f, 0, "grid_sample points");
}

BOOST_AUTO_TEST_CASE(identity_reproduces_image) {
  // Power-of-two sizes: every coordinate is exact in float, so the copy is exact.
  Tensor x = random_tensor({2, 3, 4, 8}, 2);
  Tensor theta = theta_of({1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0});
  Tensor y = affine_warp(x, theta);
  BOOST_CHECK(y.shape() == x.shape());
  std::vector<float> yv = y.to_vector(), xv = x.to_vector();
  size_t mismatches = 0;
  for (size_t i = 0; i < xv.size(); ++i) mismatches += (yv[i] != xv[i]);
  BOOST_CHECK_EQUAL(mismatches, 0u);
  // Odd sizes: equal up to float rounding of the coordinates.
  Tensor x2 = random_tensor({1, 2, 5, 7}, 3);
  expect_close(affine_warp(x2, theta_of({1, 0, 0, 0, 1, 0})), x2, 1e-5f, 1e-5f,
               "identity warp 5x7");
}

BOOST_AUTO_TEST_CASE(rotation_90_degrees_permutes_pixels) {
  // in = [[1..4],[5..8],[9..12],[13..16]]. A +90 degree rotation turns the content
  // counter-clockwise: out[i][j] = in[j][3-i] (the top-right 4 goes to the top-left).
  std::vector<float> in(16);
  for (int k = 0; k < 16; ++k) in[k] = (float)(k + 1);
  Tensor x = from_vector(in, {1, 1, 4, 4});
  std::vector<float> expected = {4, 8, 12, 16,  //
                                 3, 7, 11, 15,  //
                                 2, 6, 10, 14,  //
                                 1, 5, 9, 13};
  // The exact matrix [[cos, -sin, 0], [sin, cos, 0]] at 90 degrees: exact result.
  expect_close(affine_warp(x, theta_of({0, -1, 0, 1, 0, 0})).to_vector(), expected, 0, 0,
               "rotation by exact 90-degree theta");
  // Through rotation_theta (cos(pi/2) is ~4e-8 in float, hence the tolerance).
  Tensor theta = rotation_theta(from_vector(std::vector<float>{kPi / 2}, {1}));
  expect_close(theta.to_vector(), {0, -1, 0, 1, 0, 0}, 1e-6f, 0, "rotation_theta(pi/2)");
  expect_close(affine_warp(x, theta).to_vector(), expected, 1e-5f, 0, "rotation by pi/2");
  // And back: -90 degrees undoes it.
  Tensor back = rotation_theta(from_vector(std::vector<float>{-kPi / 2}, {1}));
  expect_close(affine_warp(affine_warp(x, theta), back).to_vector(), in, 1e-4f, 0,
               "rotation by pi/2 then -pi/2");
}

BOOST_AUTO_TEST_CASE(integer_translation_shifts_one_hot) {
  // 5x6 images, one-hot at (row 1, col 2), (row 4, col 5), (row 0, col 5).
  // Shifts (tx, ty) = (+2, +1): right 2, down 1 -> (row 2, col 4).
  //                   (-3, -2): left 3, up 2    -> (row 2, col 2).
  //                   (+1,  0): off the right edge -> all zeros.
  const int64_t H = 5, W = 6;
  std::vector<float> in(3 * H * W, 0.0f), expected(3 * H * W, 0.0f);
  in[0 * H * W + 1 * W + 2] = 1;
  in[1 * H * W + 4 * W + 5] = 1;
  in[2 * H * W + 0 * W + 5] = 1;
  expected[0 * H * W + 2 * W + 4] = 1;
  expected[1 * H * W + 2 * W + 2] = 1;
  Tensor x = from_vector(in, {3, 1, H, W});
  Tensor tx = from_vector(std::vector<float>{2, -3, 1}, {3});
  Tensor ty = from_vector(std::vector<float>{1, -2, 0}, {3});
  Tensor theta = translation_theta(tx, ty, H, W);
  expect_close(theta.to_vector(),
               {1, 0, -4.0f / 6, 0, 1, -2.0f / 5, 1, 0, 6.0f / 6, 0, 1, 4.0f / 5, 1, 0,
                -2.0f / 6, 0, 1, 0},
               1e-6f, 0, "translation_theta values");
  expect_close(affine_warp(x, theta).to_vector(), expected, 1e-5f, 0, "one-hot translation");

  // Zeros come in from the edge: a constant image moved right by 2 and up by 1.
  Tensor ones_img = ones({1, 2, H, W});
  Tensor moved = affine_warp(ones_img, translation_theta(from_vector(std::vector<float>{2}, {1}),
                                                         from_vector(std::vector<float>{-1}, {1}),
                                                         H, W));
  std::vector<float> want(2 * H * W);
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) want[(c * H + i) * W + j] = (j >= 2 && i <= H - 2) ? 1 : 0;
  expect_close(moved.to_vector(), want, 1e-5f, 0, "constant image translation");
}

BOOST_AUTO_TEST_CASE(half_pixel_translation_bilinear_weights) {
  // 2x4 image rows [1, 2, 4, 8] and [16, 32, 64, 128] (power-of-two sizes: exact arithmetic).
  Tensor x = from_vector(std::vector<float>{1, 2, 4, 8, 16, 32, 64, 128}, {1, 1, 2, 4});
  auto shifted = [&](float tx, float ty) {
    return affine_warp(x, translation_theta(from_vector(std::vector<float>{tx}, {1}),
                                            from_vector(std::vector<float>{ty}, {1}), 2, 4))
        .to_vector();
  };
  // tx = 0.5: out[j] = 0.5 in[j-1] + 0.5 in[j] (in[-1] = 0).
  expect_close(shifted(0.5f, 0), {0.5f, 1.5f, 3, 6, 8, 24, 48, 96}, 0, 0, "tx = 0.5");
  // tx = 0.25: out[j] = 0.25 in[j-1] + 0.75 in[j].
  expect_close(shifted(0.25f, 0), {0.75f, 1.75f, 3.5f, 7, 12, 28, 56, 112}, 0, 0, "tx = 0.25");
  // ty = 0.5: out[0] = 0.5 row0, out[1] = 0.5 row0 + 0.5 row1.
  expect_close(shifted(0, 0.5f), {0.5f, 1, 2, 4, 8.5f, 17, 34, 68}, 0, 0, "ty = 0.5");
  // tx = ty = 0.5: the four neighbours weigh 0.25 each.
  expect_close(shifted(0.5f, 0.5f), {0.25f, 0.75f, 1.5f, 3, 4.25f, 12.75f, 25.5f, 51}, 0, 0,
               "tx = ty = 0.5");
  // tx = -0.5: out[j] = 0.5 in[j] + 0.5 in[j+1] (in[4] = 0).
  expect_close(shifted(-0.5f, 0), {1.5f, 3, 6, 4, 24, 48, 96, 64}, 0, 0, "tx = -0.5");
}

// ---------------------------------------------------------------- gradients

BOOST_AUTO_TEST_CASE(gradcheck_affine_grid) {
  Tensor theta = random_tensor({3, 2, 3}, 10);
  theta.requires_grad_();
  gradcheck("affine_grid", [](const std::vector<Tensor>& in) {
    return affine_grid(in[0], {3, 2, 5, 7});
  }, {theta});
}

BOOST_AUTO_TEST_CASE(gradcheck_grid_sample_input) {
  Tensor x = random_tensor({2, 3, 5, 7}, 11);
  Tensor grid = random_uniform({2, 4, 3, 2}, 12, -1.2f, 1.2f);
  x.requires_grad_();
  gradcheck("grid_sample d/dx", [](const std::vector<Tensor>& in) {
    return grid_sample(in[0], in[1]);
  }, {x, grid});
}

BOOST_AUTO_TEST_CASE(gradcheck_grid_sample_grid) {
  Tensor x = random_tensor({2, 3, 5, 7}, 13);
  Tensor grid = random_uniform({2, 4, 3, 2}, 14, -1.2f, 1.2f);
  grid.requires_grad_();
  GradcheckOptions opt;
  opt.step = 2e-3f;
  opt.kink_range = 5e-3f;
  add_kinks(opt.kinks, 5);
  add_kinks(opt.kinks, 7);
  gradcheck("grid_sample d/dgrid", [](const std::vector<Tensor>& in) {
    return grid_sample(in[0], in[1]);
  }, {x, grid}, opt);
}

BOOST_AUTO_TEST_CASE(gradcheck_grid_sample_both_upsampling) {
  // Output larger than the input (several samples share a stencil: dx accumulates).
  Tensor x = random_tensor({1, 2, 3, 4}, 15);
  Tensor grid = smooth_grid(1, 6, 5, 3, 4, 0.02f, 16);
  x.requires_grad_();
  grid.requires_grad_();
  GradcheckOptions opt;
  opt.step = 2e-3f;
  gradcheck("grid_sample d/dx, d/dgrid (upsampling)", [](const std::vector<Tensor>& in) {
    return grid_sample(in[0], in[1]);
  }, {x, grid}, opt);
}

BOOST_AUTO_TEST_CASE(gradcheck_affine_warp) {
  const int64_t N = 2, C = 2, H = 3, W = 5;
  Tensor x = random_tensor({N, C, H, W}, 17);
  // Theta steps of 1e-3 move sample points by < 0.01 pixel: keep them 0.02 from the kinks.
  Tensor theta = smooth_theta(N, H, W, 0.02f, 100);
  x.requires_grad_();
  theta.requires_grad_();
  GradcheckOptions opt;
  opt.step = 1e-3f;
  gradcheck("affine_warp d/dx, d/dtheta", [](const std::vector<Tensor>& in) {
    return affine_warp(in[0], in[1]);
  }, {x, theta}, opt);
}

BOOST_AUTO_TEST_CASE(gradcheck_theta_builders) {
  Tensor angles = random_uniform({5}, 18, -3.0f, 3.0f);
  angles.requires_grad_();
  gradcheck("rotation_theta", [](const std::vector<Tensor>& in) { return rotation_theta(in[0]); },
            {angles});
  Tensor tx = random_tensor({4}, 19, 2.0f), ty = random_tensor({4}, 20, 2.0f);
  tx.requires_grad_();
  ty.requires_grad_();
  gradcheck("translation_theta", [](const std::vector<Tensor>& in) {
    return translation_theta(in[0], in[1], 7, 9);
  }, {tx, ty});
}

BOOST_AUTO_TEST_CASE(translation_gradient_matches_image_gradient) {
  // d/dtx of a warp by (tx, 0) is -d/dcol of the warped image's source: for an image linear in
  // the column index, in[i][j] = j, interior samples move by exactly -tx, so the sum of the
  // interior outputs has derivative -(number of interior pixels).
  const int64_t H = 3, W = 8;
  std::vector<float> in(H * W);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) in[i * W + j] = (float)j;
  Tensor x = from_vector(in, {1, 1, H, W});
  Tensor tx = from_vector(std::vector<float>{0.3f}, {1});
  Tensor ty = from_vector(std::vector<float>{0.0f}, {1});
  tx.requires_grad_();
  Tensor y = affine_warp(x, translation_theta(tx, ty, H, W));
  // Weight only the columns whose stencil stays inside the image (j = 1..W-1).
  std::vector<float> w(H * W, 0.0f);
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 1; j < W; ++j) w[i * W + j] = 1.0f;
  y.backward(from_vector(w, {1, 1, H, W}));
  expect_close(tx.grad().to_vector(), {-(float)(H * (W - 1))}, 1e-4f, 1e-5f, "d sum / d tx");
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(error_cases) {
  Tensor x = random_tensor({2, 3, 4, 5}, 30);
  expect_error([] { affine_grid(random_tensor({2, 3}, 1), {2, 1, 4, 4}); },
               {"affine_grid", "[N, 2, 3]", "[2, 3]"});
  expect_error([] { affine_grid(random_tensor({2, 3, 2}, 1), {2, 1, 4, 4}); },
               {"affine_grid", "[2, 3, 2]"});
  expect_error([] { affine_grid(random_tensor({2, 2, 3}, 1), {3, 1, 4, 4}); },
               {"affine_grid", "[2, 2, 3]", "[3, 1, 4, 4]"});
  expect_error([] { affine_grid(random_tensor({2, 2, 3}, 1), {2, 4, 4}); },
               {"affine_grid", "[2, 4, 4]"});
  expect_error([&] { grid_sample(random_tensor({3, 4, 5}, 1), random_tensor({3, 2, 2, 2}, 2)); },
               {"grid_sample", "[3, 4, 5]"});
  expect_error([&] { grid_sample(x, random_tensor({2, 4, 4, 3}, 2)); },
               {"grid_sample", "grid", "[2, 4, 4, 3]"});
  expect_error([&] { grid_sample(x, random_tensor({2, 4, 8}, 2)); },
               {"grid_sample", "grid", "[2, 4, 8]"});
  expect_error([&] { grid_sample(x, random_tensor({3, 4, 4, 2}, 2)); },
               {"grid_sample", "[2, 3, 4, 5]", "[3, 4, 4, 2]"});
  expect_error([&] { grid_sample(zeros({2, 3, 4, 5}, Device::cpu(), DType::i32),
                                 random_tensor({2, 4, 4, 2}, 2)); },
               {"grid_sample"});
  expect_error([&] { affine_warp(x, random_tensor({2, 3, 3}, 3)); },
               {"affine_warp", "[N, 2, 3]", "[2, 3, 3]"});
  expect_error([&] { affine_warp(x, random_tensor({1, 2, 3}, 3)); },
               {"affine_warp", "[2, 3, 4, 5]", "[1, 2, 3]"});
  expect_error([&] { affine_warp(random_tensor({3, 4, 5}, 1), random_tensor({3, 2, 3}, 3)); },
               {"affine_warp", "[3, 4, 5]"});
  expect_error([] { rotation_theta(random_tensor({2, 2}, 4)); }, {"rotation_theta", "[2, 2]"});
  expect_error([] { translation_theta(random_tensor({2}, 4), random_tensor({3}, 5), 4, 4); },
               {"translation_theta", "[2]", "[3]"});
  expect_error([] { translation_theta(random_tensor({2}, 4), random_tensor({2}, 5), 0, 4); },
               {"translation_theta", "height 0"});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(cuda_parity_affine_grid) {
  for (bool align_corners : {false, true})
    for (Shape size : {Shape{3, 1, 7, 5}, Shape{2, 3, 33, 40}, Shape{2, 1, 1, 1}}) {
      Tensor theta = random_tensor({size[0], 2, 3}, 40);
      theta.requires_grad_();
      check_cuda_parity("affine_grid " + shape_str(size) +
                            (align_corners ? " align_corners" : ""),
                        [size, align_corners](const std::vector<Tensor>& in) {
                          return affine_grid(in[0], size, align_corners);
                        },
                        {theta}, 1e-4f, 1e-4f);
    }
}

NF_CUDA_TEST_CASE(cuda_parity_grid_sample) {
  struct Case { int64_t N, C, H, W, Ho, Wo; };
  for (Case c : {Case{2, 3, 9, 11, 13, 7}, Case{1, 1, 1, 1, 3, 3}, Case{4, 5, 32, 32, 33, 31}}) {
    Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 41);
    // Away from pixel centres, where the grid gradient jumps and FMA rounding could pick a side.
    Tensor grid = smooth_grid(c.N, c.Ho, c.Wo, c.H, c.W, 1e-4f, 42);
    x.requires_grad_();
    grid.requires_grad_();
    check_cuda_parity("grid_sample " + shape_str(x.shape()) + " grid " + shape_str(grid.shape()),
                      [](const std::vector<Tensor>& in) { return grid_sample(in[0], in[1]); },
                      {x, grid}, 1e-4f, 1e-4f);
  }
}

NF_CUDA_TEST_CASE(cuda_parity_affine_warp) {
  struct Case { int64_t N, C, H, W; };
  for (Case c : {Case{3, 2, 7, 9}, Case{8, 3, 32, 32}}) {
    Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 43);
    Tensor theta = smooth_theta(c.N, c.H, c.W, 1e-4f, 44);
    x.requires_grad_();
    theta.requires_grad_();
    // dtheta sums ~1000 products of order W: a few ulps of relative error.
    check_cuda_parity("affine_warp " + shape_str(x.shape()),
                      [](const std::vector<Tensor>& in) { return affine_warp(in[0], in[1]); },
                      {x, theta}, 1e-3f, 1e-3f);
  }
}

NF_CUDA_TEST_CASE(cuda_parity_theta_builders) {
  Tensor angles = random_uniform({300}, 45, -3.0f, 3.0f);
  angles.requires_grad_();
  check_cuda_parity("rotation_theta",
                    [](const std::vector<Tensor>& in) { return rotation_theta(in[0]); },
                    {angles}, 1e-5f, 1e-5f);
  Tensor tx = random_tensor({301}, 46, 3.0f), ty = random_tensor({301}, 47, 3.0f);
  tx.requires_grad_();
  ty.requires_grad_();
  check_cuda_parity("translation_theta",
                    [](const std::vector<Tensor>& in) {
                      return translation_theta(in[0], in[1], 28, 31);
                    },
                    {tx, ty}, 1e-5f, 1e-5f);
}

NF_CUDA_TEST_CASE(cuda_rotation_and_translation_values) {
  // The hand-computed cases on the GPU (no CPU oracle involved).
  std::vector<float> in(16);
  for (int k = 0; k < 16; ++k) in[k] = (float)(k + 1);
  Tensor x = from_vector(in, {1, 1, 4, 4}, Device::cuda());
  Tensor theta = rotation_theta(from_vector(std::vector<float>{kPi / 2}, {1}, Device::cuda()));
  expect_close(affine_warp(x, theta).to_vector(),
               {4, 8, 12, 16, 3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13}, 1e-5f, 0,
               "cuda rotation by pi/2");
  Tensor x2 = from_vector(std::vector<float>{1, 2, 4, 8, 16, 32, 64, 128}, {1, 1, 2, 4},
                          Device::cuda());
  Tensor t = translation_theta(from_vector(std::vector<float>{0.5f}, {1}, Device::cuda()),
                               from_vector(std::vector<float>{0.5f}, {1}, Device::cuda()), 2, 4);
  expect_close(affine_warp(x2, t).to_vector(), {0.25f, 0.75f, 1.5f, 3, 4.25f, 12.75f, 25.5f, 51},
               1e-6f, 0, "cuda tx = ty = 0.5");
}

BOOST_AUTO_TEST_SUITE_END()
