// test_transforms.cpp — batch transforms: hand-computed values, identities, per-image
// randomness that repeats with the seed, the colored-digit construction, errors, CUDA parity.
#include <cmath>
#include <set>
#include <vector>

#include "datasets/transforms.h"
#include "engine/ops/augment.h"
#include "engine/ops/warp.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::datasets;
using namespace nanofed::test;

namespace {

// Image n, channel c, pixel (i, j) of the batch holds 1000n + 100c + 10i + j + 1: every pixel
// value names its place, and none is 0 (0 marks padding).
Tensor labelled_batch(int64_t N, int64_t C, int64_t H, int64_t W) {
  std::vector<float> v;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < H; ++i)
        for (int64_t j = 0; j < W; ++j) v.push_back((float)(1000 * n + 100 * c + 10 * i + j + 1));
  return from_vector(v, {N, C, H, W});
}

// Reference: image n of x shifted so that out[i][j] = x[i + dy][j + dx] (0 outside), size Ho x Wo.
std::vector<float> shifted(const std::vector<float>& x, int64_t n, int64_t C, int64_t H, int64_t W,
                           int64_t dy, int64_t dx, int64_t Ho, int64_t Wo) {
  std::vector<float> out;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < Ho; ++i)
      for (int64_t j = 0; j < Wo; ++j) {
        int64_t r = i + dy, q = j + dx;
        bool in = r >= 0 && r < H && q >= 0 && q < W;
        out.push_back(in ? x[((n * C + c) * H + r) * W + q] : 0.0f);
      }
  return out;
}

std::vector<float> image(const Tensor& t, int64_t n) {
  const int64_t per = t.numel() / t.size(0);
  std::vector<float> v = t.to_vector();
  return std::vector<float>(v.begin() + n * per, v.begin() + (n + 1) * per);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transform)

BOOST_AUTO_TEST_CASE(normalize_by_hand) {
  // Channel 0 holds {1, 2}, channel 1 {3, 4}; mean (1, 2), std (2, 4).
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 2, 1, 2});
  expect_close(normalize(x, {1, 2}, {2, 4}), from_vector(std::vector<float>{0, 0.5f, 0.25f, 0.5f}, {1, 2, 1, 2}),
               0, 0, "normalize [1,2,1,2]");
  // Feature batches [N, C] work too.
  Tensor f = from_vector(std::vector<float>{1, 3, 5, 7}, {2, 2});
  expect_close(normalize(f, {1, 3}, {2, 2}), from_vector(std::vector<float>{0, 0, 2, 2}, {2, 2}), 0, 0,
               "normalize [2,2]");
  expect_error([&] { normalize(x, {0}, {1}); }, {"normalize", "2 channels", "mean has 1"});
  expect_error([&] { normalize(x, {0, 0}, {1, 0}); }, {"normalize", "std[1]", "positive"});
}

BOOST_AUTO_TEST_CASE(crop_flip_by_hand) {
  // x = [[1,2,3],[4,5,6],[7,8,9]]
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  auto run = [&](int32_t dy, int32_t dx, int32_t flip, int64_t ho, int64_t wo) {
    return crop_flip(x, from_vector(std::vector<int32_t>{dy, dx, flip}, {1, 3}), ho, wo).to_vector();
  };
  // out[i][j] = x[i-1][j+1]: first row is padding, last column is padding.
  BOOST_CHECK(run(-1, 1, 0, 3, 3) == (std::vector<float>{0, 0, 0, 2, 3, 0, 5, 6, 0}));
  // The same window mirrored: out[i][j] = x[i-1][(2-j)+1].
  BOOST_CHECK(run(-1, 1, 1, 3, 3) == (std::vector<float>{0, 0, 0, 0, 3, 2, 0, 6, 5}));
  BOOST_CHECK(run(1, 0, 0, 2, 2) == (std::vector<float>{4, 5, 7, 8}));
  BOOST_CHECK(run(0, 0, 1, 3, 3) == (std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7}));
  BOOST_CHECK(run(5, -9, 0, 2, 2) == (std::vector<float>{0, 0, 0, 0}));  // far outside: all padding
  expect_error([&] { crop_flip(x, from_vector(std::vector<int32_t>{0, 0}, {1, 2}), 3, 3); },
               {"crop_flip", "params", "[N, 3]"});
  expect_error([&] { crop_flip(x, from_vector(std::vector<float>{0, 0, 0}, {1, 3}), 3, 3); }, {"crop_flip", "params"});
  Tensor xg = x.clone().requires_grad_();
  expect_error([&] { crop_flip(xg, from_vector(std::vector<int32_t>{0, 0, 0}, {1, 3}), 3, 3); },
               {"crop_flip", "not differentiable"});
}

BOOST_AUTO_TEST_CASE(random_crop_identity_without_padding) {
  Generator g(1);
  Tensor sq = labelled_batch(3, 2, 4, 4);
  expect_close(random_crop(sq, 4, 0, g), sq, 0, 0, "random_crop(size=4, padding=0) on 4x4");
  expect_error([&] { random_crop(sq, 5, 0, g); }, {"random_crop", "larger than the padded image", "4 x 4"});
  expect_error([&] { random_crop(sq, 3, -1, g); }, {"random_crop", "padding"});
  expect_error([&] { random_crop(from_vector(std::vector<float>{1, 2}, {2}), 1, 0, g); },
               {"random_crop", "[N, C, H, W]"});
}

BOOST_AUTO_TEST_CASE(random_crop_content_matches_the_drawn_offsets) {
  const int64_t N = 6, C = 2, H = 4, W = 4, pad = 2, size = 4;
  Tensor x = labelled_batch(N, C, H, W);
  Generator g(42);
  Tensor y = random_crop(x, size, pad, g);
  BOOST_CHECK(y.shape() == (Shape{N, C, size, size}));
  // Replay the documented draws: per image, top then left, each next_below(H + 2p - size + 1).
  Generator replay(42);
  const std::vector<float> xv = x.to_vector();
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t n = 0; n < N; ++n) {
    int64_t top = (int64_t)replay.next_below(H + 2 * pad - size + 1);
    int64_t left = (int64_t)replay.next_below(W + 2 * pad - size + 1);
    offsets.insert({top, left});
    BOOST_CHECK(image(y, n) == shifted(xv, n, C, H, W, top - pad, left - pad, size, size));
  }
  BOOST_CHECK_GT(offsets.size(), 1u);  // per-image offsets, not one for the batch
  BOOST_CHECK_EQUAL(g.offset(), replay.offset());

  // Same seed -> same crops; another seed -> other crops.
  Generator g2(42), g3(43);
  expect_close(random_crop(x, size, pad, g2), y, 0, 0, "random_crop same seed");
  BOOST_CHECK(random_crop(x, size, pad, g3).to_vector() != y.to_vector());
}

BOOST_AUTO_TEST_CASE(random_crop_small_window_by_hand) {
  // One 2x2 image [[1,2],[3,4]], padding 1, size 1: the 16 possible windows of the padded
  // 4x4 image hold 0 (the 12 border cells) or one of the pixels. Over many images every
  // pixel must appear and nothing else.
  const int64_t N = 400;
  std::vector<float> data;
  for (int64_t n = 0; n < N; ++n) data.insert(data.end(), {1, 2, 3, 4});
  Tensor x = from_vector(data, {N, 1, 2, 2});
  Generator g(5);
  std::vector<float> y = random_crop(x, 1, 1, g).to_vector();
  std::set<float> seen(y.begin(), y.end());
  BOOST_CHECK(seen == (std::set<float>{0, 1, 2, 3, 4}));
  int64_t zeros = 0;
  for (float v : y) zeros += v == 0.0f;
  // P(border) = 12/16: Binomial(400, .75) has mean 300, sd ~8.7; allow 5 sd.
  BOOST_CHECK_LE(std::fabs((double)zeros - 300.0), 45.0);
}

BOOST_AUTO_TEST_CASE(horizontal_flip_p0_p1_exact) {
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {2, 1, 2, 3});
  Generator g(3);
  expect_close(random_horizontal_flip(x, 0.0f, g), x, 0, 0, "flip p=0");
  expect_close(random_horizontal_flip(x, 1.0f, g),
               from_vector(std::vector<float>{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}, {2, 1, 2, 3}), 0, 0,
               "flip p=1");
  expect_error([&] { random_horizontal_flip(x, 1.5f, g); }, {"random_horizontal_flip", "[0, 1]", "1.5"});
}

BOOST_AUTO_TEST_CASE(horizontal_flip_half_and_seeded) {
  const int64_t N = 400;
  Tensor x = random_uniform({N, 1, 1, 2}, 9, 0, 1);
  Generator g(11);
  Tensor y = random_horizontal_flip(x, 0.5f, g);
  std::vector<float> xv = x.to_vector(), yv = y.to_vector();
  int64_t flipped = 0;
  for (int64_t n = 0; n < N; ++n) {
    bool same = yv[2 * n] == xv[2 * n] && yv[2 * n + 1] == xv[2 * n + 1];
    bool mirrored = yv[2 * n] == xv[2 * n + 1] && yv[2 * n + 1] == xv[2 * n];
    BOOST_CHECK(same || mirrored);
    flipped += mirrored && !same;
  }
  // Binomial(400, .5): sd 10; allow 5 sd.
  BOOST_CHECK_LE(std::fabs((double)flipped - 200.0), 50.0);
  Generator g2(11);
  expect_close(random_horizontal_flip(x, 0.5f, g2), y, 0, 0, "flip same seed");
}

BOOST_AUTO_TEST_CASE(rotation_and_translation_by_zero_are_identity) {
  Tensor x = random_uniform({3, 2, 5, 7}, 4, 0, 1);
  Generator g(8);
  expect_close(random_rotation(x, 0.0f, g), x, 1e-5f, 0, "rotation by 0");
  expect_close(random_translation(x, 0.0f, g), x, 1e-5f, 0, "translation by 0");
  expect_close(random_affine(x, 0.0f, 0.0f, g), x, 1e-5f, 0, "affine by 0");
}

BOOST_AUTO_TEST_CASE(affine_theta_matches_engine_builders_and_conventions) {
  // 90 degrees, no shift: rotation_theta(pi/2) = [[0,-1,0],[1,0,0]].
  expect_close(affine_theta({90}, {0}, {0}, 4, 4, Device::cpu()),
               from_vector(std::vector<float>{0, -1, 0, 1, 0, 0}, {1, 2, 3}), 1e-6f, 0, "theta 90deg");
  // Shift only: translation_theta = [[1,0,-2tx/W],[0,1,-2ty/H]] with tx=1, W=4, ty=2, H=8.
  expect_close(affine_theta({0}, {1}, {2}, 8, 4, Device::cpu()),
               from_vector(std::vector<float>{1, 0, -0.5f, 0, 1, -0.5f}, {1, 2, 3}), 1e-6f, 0, "theta shift");
  expect_close(affine_theta({0}, {1}, {2}, 8, 4, Device::cpu()),
               translation_theta(from_vector(std::vector<float>{1}, {1}), from_vector(std::vector<float>{2}, {1}), 8, 4),
               1e-6f, 0, "theta shift vs translation_theta");

  // x = [[1,2,3],[4,5,6],[7,8,9]]. A 90-degree counter-clockwise turn: out[i][j] = x[j][2-i].
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3});
  expect_close(affine_warp(x, affine_theta({90}, {0}, {0}, 3, 3, Device::cpu())),
               from_vector(std::vector<float>{3, 6, 9, 2, 5, 8, 1, 4, 7}, {1, 1, 3, 3}), 1e-5f, 0, "rotate 90");
  // Rotate, then move one column right: the first column becomes padding.
  expect_close(affine_warp(x, affine_theta({90}, {1}, {0}, 3, 3, Device::cpu())),
               from_vector(std::vector<float>{0, 3, 6, 0, 2, 5, 0, 1, 4}, {1, 1, 3, 3}), 1e-5f, 0,
               "rotate 90 then shift right");
  // Move one row down: out[i][j] = x[i-1][j].
  expect_close(affine_warp(x, affine_theta({0}, {0}, {1}, 3, 3, Device::cpu())),
               from_vector(std::vector<float>{0, 0, 0, 1, 2, 3, 4, 5, 6}, {1, 1, 3, 3}), 1e-5f, 0, "shift down");
}

BOOST_AUTO_TEST_CASE(random_translation_is_an_integer_shift_in_range) {
  const int64_t N = 8, H = 8, W = 8;
  Tensor x = random_uniform({N, 1, H, W}, 12, 0.5f, 1);  // no zeros: padding is recognizable
  Generator g(13);
  Tensor y = random_translation(x, 0.25f, g);  // |shift| <= 2 pixels
  const std::vector<float> xv = x.to_vector();
  std::set<std::pair<int64_t, int64_t>> shifts;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<float> yn = image(y, n);
    bool found = false;
    for (int64_t ty = -2; ty <= 2 && !found; ++ty)
      for (int64_t tx = -2; tx <= 2 && !found; ++tx) {
        std::vector<float> ref = shifted(xv, n, 1, H, W, -ty, -tx, H, W);  // content moves by +t
        bool ok = true;
        for (size_t k = 0; k < ref.size(); ++k) ok = ok && std::fabs(ref[k] - yn[k]) <= 1e-5f;
        if (ok) found = true, shifts.insert({ty, tx});
      }
    BOOST_CHECK_MESSAGE(found, "image " << n << " is not an integer shift within 2 pixels");
  }
  BOOST_CHECK_GT(shifts.size(), 1u);
}

BOOST_AUTO_TEST_CASE(random_affine_draw_order) {
  Tensor x = random_uniform({5, 2, 6, 6}, 14, 0, 1);
  Generator a(21), b(21), c(22), d(22);
  expect_close(random_affine(x, 30.0f, 0.0f, a), random_rotation(x, 30.0f, b), 0, 0, "affine(d, 0) == rotation(d)");
  expect_close(random_affine(x, 0.0f, 0.2f, c), random_translation(x, 0.2f, d), 0, 0,
               "affine(0, t) == translation(t)");
  Generator e(21);
  BOOST_CHECK(random_rotation(x, 30.0f, e).to_vector() != x.to_vector());
  expect_error([&] { random_affine(x, -1.0f, 0.0f, e); }, {"random_affine", "degrees"});
  expect_error([&] { random_affine(x, 0.0f, 2.0f, e); }, {"random_affine", "translate", "[0, 1]"});
}

BOOST_AUTO_TEST_CASE(gaussian_noise_statistics_and_clip) {
  Tensor x = full({100, 1, 10, 10}, 0.5f);
  Generator g(31);
  expect_close(gaussian_noise(x, 0.0f, g), x, 0, 0, "sigma 0");
  Tensor y = gaussian_noise(x, 0.1f, g, 0.0f, false);
  std::vector<float> v = y.to_vector();
  double mean = 0, sq = 0;
  for (float a : v) mean += a - 0.5, sq += (a - 0.5) * (a - 0.5);
  mean /= v.size();
  const double sd = std::sqrt(sq / v.size() - mean * mean);
  BOOST_CHECK_LE(std::fabs(mean), 0.005);       // sd of the mean: 0.1 / 100
  BOOST_CHECK_LE(std::fabs(sd - 0.1), 0.005);
  Tensor z = gaussian_noise(x, 1.0f, g);  // clipped
  for (float a : z.to_vector()) BOOST_REQUIRE(a >= 0.0f && a <= 1.0f);
  Generator g1(5), g2(5);
  expect_close(gaussian_noise(x, 0.3f, g1), gaussian_noise(x, 0.3f, g2), 0, 0, "noise same seed");
  expect_error([&] { gaussian_noise(x, -1.0f, g); }, {"gaussian_noise", "sigma"});
}

BOOST_AUTO_TEST_CASE(colorize_by_hand) {
  // Two 1x2 grayscale images: g0 = (0.5, 1), g1 = (0.25, 0); labels 0 and 1.
  Tensor g = from_vector(std::vector<float>{0.5f, 1.0f, 0.25f, 0.0f}, {2, 1, 1, 2});
  Tensor y = from_vector(std::vector<int32_t>{0, 1}, {2});
  // Environment 0: label y gets P[y]: image 0 red (1,0,0), image 1 green (0,1,0).
  expect_close(colorize(g, y, 0),
               from_vector(std::vector<float>{0.5f, 1, 0, 0, 0, 0,  //
                                              0, 0, 0.25f, 0, 0, 0},
                           {2, 3, 1, 2}),
               0, 0, "colorize env 0");
  // Environment 1: label y gets P[(y-1) mod 10]: image 0 spring green (0,1,.5), image 1 red.
  expect_close(colorize(g, y, 1),
               from_vector(std::vector<float>{0, 0, 0.5f, 1, 0.25f, 0.5f,  //
                                              0.25f, 0, 0, 0, 0, 0},
                           {2, 3, 1, 2}),
               0, 0, "colorize env 1");
  // The paper's example: red marks digit 0 in one environment and digit 1 in the other.
  BOOST_CHECK(default_palette()[0] == (Rgb{1, 0, 0}));
  BOOST_CHECK_EQUAL(default_palette().size(), 10u);

  // A custom 3-color palette, environment 2: label 0 -> P[(0-2) mod 3] = P[1], label 1 -> P[2].
  std::vector<Rgb> pal = {Rgb{1, 0, 0}, Rgb{0, 0.5f, 0}, Rgb{0, 0, 2}};
  expect_close(colorize(g, y, 2, pal),
               from_vector(std::vector<float>{0, 0, 0.25f, 0.5f, 0, 0,  //
                                              0, 0, 0, 0, 0.5f, 0},
                           {2, 3, 1, 2}),
               0, 0, "colorize custom palette env 2");

  expect_error([&] { colorize(from_vector(std::vector<float>(6), {1, 3, 1, 2}), y.slice(0, 1), 0); },
               {"colorize", "grayscale [N, 1, H, W]"});
  expect_error([&] { colorize(g, y.slice(0, 1), 0); }, {"colorize", "labels", "N = 2"});
  expect_error([&] { colorize(g, y, -1); }, {"colorize", "environment"});
  expect_error([&] { colorize(g, from_vector(std::vector<int32_t>{0, 3}, {2}), 0, pal); },
               {"colorize", "label 3 of image 1", "[0, 3)", "3 colors"});
}

BOOST_AUTO_TEST_CASE(colorize_dataset) {
  Dataset d;
  d.images = from_vector(std::vector<float>{0.5f, 1.0f, 0.25f, 0.0f}, {2, 1, 1, 2});
  d.labels = from_vector(std::vector<int32_t>{0, 1}, {2});
  d.num_classes = 2;
  d.name = "tiny";
  Dataset a = colorize(d, 0), b = colorize(d, 1);
  BOOST_CHECK(a.images.shape() == (Shape{2, 3, 1, 2}));
  BOOST_CHECK_EQUAL(a.name, "tiny/env0");
  BOOST_CHECK_EQUAL(b.num_classes, 2);
  BOOST_CHECK(a.labels.to_vector<int32_t>() == (std::vector<int32_t>{0, 1}));
  // Same digits in both environments: a gray pixel keeps its intensity in some channel.
  BOOST_CHECK(b.images.to_vector()[6] == 0.25f);  // image 1 (label 1) is red in env 1
  d.num_classes = 11;
  expect_error([&] { colorize(d, 0); }, {"colorize", "tiny", "11 classes", "10 colors"});
}

BOOST_AUTO_TEST_CASE(compose_pipeline) {
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 1, 2, 2});
  Transform t = transforms::Compose({transforms::Normalize({1}, {2}), transforms::RandomHorizontalFlip(1.0f)});
  Generator g(0);
  expect_close(t(x, g), from_vector(std::vector<float>{0.5f, 0, 1.5f, 1}, {1, 1, 2, 2}), 0, 0, "compose");
  BOOST_CHECK_EQUAL(t.name.rfind("Compose(Normalize(mean=[1], std=[2]), RandomHorizontalFlip(", 0), 0u);
  // Steps share the generator, in order: reproducible from the seed.
  Tensor big = random_uniform({4, 1, 6, 6}, 3, 0, 1);
  Transform aug = transforms::Compose({transforms::RandomCrop(6, 2), transforms::RandomHorizontalFlip(),
                                       transforms::RandomAffine(10, 0.1f), transforms::GaussianNoise(0, 0.05f)});
  Generator g1(9), g2(9);
  expect_close(aug(big, g1), aug(big, g2), 0, 0, "compose same seed");
  Transform empty_step;
  expect_error([&] { empty_step(x, g); }, {"transform", "no function"});
}

// ---- CUDA ----

NF_CUDA_TEST_CASE(cuda_crop_flip_parity) {
  Tensor x = random_tensor({3, 2, 5, 6}, 1);
  Tensor params = from_vector(std::vector<int32_t>{-2, 1, 0, 0, 0, 1, 3, -4, 1}, {3, 3});
  check_cuda_parity("crop_flip", [](const std::vector<Tensor>& in) { return crop_flip(in[0], in[1], 4, 7); },
                    {x, params}, 0, 0);
}

NF_CUDA_TEST_CASE(cuda_random_transforms_match_cpu) {
  // Per-image parameters are drawn on the host: the same seed gives the same result on both.
  Tensor x = random_uniform({6, 3, 8, 8}, 2, 0, 1);
  Tensor xd = x.cuda();
  auto same = [&](const char* what, auto&& f, float atol) {
    Generator gc(17), gd(17);
    Tensor yc = f(x, gc), yd = f(xd, gd);
    BOOST_CHECK(yd.device().is_cuda());
    expect_close(yd.cpu(), yc, atol, 0, what);
  };
  same("random_crop", [](const Tensor& t, Generator& g) { return random_crop(t, 8, 2, g); }, 0);
  same("flip", [](const Tensor& t, Generator& g) { return random_horizontal_flip(t, 0.5f, g); }, 0);
  same("affine", [](const Tensor& t, Generator& g) { return random_affine(t, 20, 0.2f, g); }, 1e-5f);
  same("normalize", [](const Tensor& t, Generator&) { return normalize(t, {0.1f, 0.2f, 0.3f}, {1, 2, 3}); }, 1e-6f);
  Tensor labels = from_vector(std::vector<int32_t>{0, 3, 9, 1, 1, 5}, {6});
  Tensor g1 = random_uniform({6, 1, 4, 4}, 3, 0, 1);
  expect_close(colorize(g1.cuda(), labels.cuda(), 1).cpu(), colorize(g1, labels, 1), 0, 0, "colorize cuda");
}

NF_CUDA_TEST_CASE(cuda_gaussian_noise_on_device) {
  Tensor x = full({50, 1, 10, 10}, 0.5f, Device::cuda());
  Generator g1(4), g2(4);
  Tensor y = gaussian_noise(x, 0.1f, g1, 0.0f, false);
  BOOST_CHECK(y.device().is_cuda());
  expect_close(y.cpu(), gaussian_noise(x, 0.1f, g2, 0.0f, false).cpu(), 0, 0, "cuda noise same seed");
  std::vector<float> v = y.to_vector();
  double mean = 0;
  for (float a : v) mean += a - 0.5;
  BOOST_CHECK_LE(std::fabs(mean / v.size()), 0.01);
}

BOOST_AUTO_TEST_SUITE_END()
