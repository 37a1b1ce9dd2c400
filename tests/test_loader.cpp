// test_loader.cpp — DataLoader: every sample exactly once per epoch, batch sizes and shapes,
// seeded order per epoch, labels aligned with images, transforms per batch, devices.
#include <algorithm>
#include <numeric>
#include <vector>

#include "datasets/loader.h"
#include "engine/ops/elementwise.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::datasets;
using namespace nanofed::test;

namespace {

constexpr int64_t kClasses = 3;

// N images [C, H, W]; every pixel of image i holds the value i, and its label is i % 3, so a
// batch tells which samples it holds and whether labels travelled with their images.
Dataset id_dataset(int64_t N, Shape sample = {1, 2, 2}) {
  Shape shape = sample;
  shape.insert(shape.begin(), N);
  const int64_t per = shape_numel(sample);
  std::vector<float> px;
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < N; ++i) {
    px.insert(px.end(), (size_t)per, (float)i);
    labels.push_back((int32_t)(i % kClasses));
  }
  Dataset d;
  d.images = from_vector(px, shape);
  d.labels = from_vector(labels, {N});
  d.num_classes = kClasses;
  d.name = "ids";
  return d;
}

// Sample ids of a batch, checking that every pixel of an image agrees and its label matches.
std::vector<int64_t> ids_of(const Batch& b) {
  const int64_t B = b.x.size(0), per = b.x.numel() / B;
  std::vector<float> x = b.x.to_vector();
  std::vector<int32_t> y = b.y.to_vector<int32_t>();
  BOOST_REQUIRE_EQUAL((int64_t)y.size(), B);
  std::vector<int64_t> ids;
  for (int64_t k = 0; k < B; ++k) {
    const float id = x[k * per];
    for (int64_t p = 0; p < per; ++p) BOOST_REQUIRE_EQUAL(x[k * per + p], id);
    BOOST_CHECK_EQUAL(y[k], (int32_t)((int64_t)id % kClasses));
    ids.push_back((int64_t)id);
  }
  return ids;
}

// One pass: the ids in visiting order, and the batch sizes.
struct Pass {
  std::vector<int64_t> ids;
  std::vector<int64_t> sizes;
};
Pass run_pass(DataLoader& loader) {
  Pass p;
  int64_t expected_index = 0;
  for (const Batch& b : loader) {
    BOOST_CHECK_EQUAL(b.index, expected_index++);
    std::vector<int64_t> ids = ids_of(b);
    p.ids.insert(p.ids.end(), ids.begin(), ids.end());
    p.sizes.push_back(b.x.size(0));
  }
  return p;
}

LoaderOptions opts(int64_t batch, bool shuffle, bool drop_last, uint64_t seed = 0,
                   Device dev = Device::cpu()) {
  LoaderOptions o;
  o.batch_size = batch, o.shuffle = shuffle, o.drop_last = drop_last, o.seed = seed, o.device = dev;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(loader)

BOOST_AUTO_TEST_CASE(every_sample_exactly_once_per_epoch) {
  const int64_t N = 10;
  Dataset d = id_dataset(N);
  for (bool shuffle : {false, true})
    for (bool drop_last : {false, true})
      for (int64_t B : {1, 2, 3, 5, 7, 10, 16}) {
        DataLoader loader(d, opts(B, shuffle, drop_last, 7));
        const int64_t full = N / B, batches = drop_last ? full : (N + B - 1) / B;
        BOOST_CHECK_EQUAL(loader.size(), batches);
        BOOST_CHECK_EQUAL(loader.len(), batches);
        for (int epoch = 0; epoch < 3; ++epoch) {
          Pass p = run_pass(loader);
          BOOST_REQUIRE_EQUAL((int64_t)p.sizes.size(), batches);
          for (int64_t k = 0; k < batches; ++k)  // full batches, then a short last one if kept
            BOOST_CHECK_EQUAL(p.sizes[k], k < full ? B : N - full * B);
          std::vector<int64_t> sorted = p.ids;
          std::sort(sorted.begin(), sorted.end());
          BOOST_CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());  // no repeats
          BOOST_CHECK_EQUAL((int64_t)sorted.size(), drop_last ? full * B : N);
          if (!drop_last) {
            std::vector<int64_t> all(N);
            std::iota(all.begin(), all.end(), 0);
            BOOST_CHECK(sorted == all);
          }
          if (!shuffle) {  // in order
            std::vector<int64_t> prefix(p.ids.size());
            std::iota(prefix.begin(), prefix.end(), 0);
            BOOST_CHECK(p.ids == prefix);
          }
        }
      }
}

BOOST_AUTO_TEST_CASE(batch_shapes_and_counts_by_hand) {
  DataLoader loader(id_dataset(10, {2, 3, 4}), opts(4, false, false));
  BOOST_CHECK_EQUAL(loader.size(), 3);  // 4 + 4 + 2
  std::vector<Shape> xs, ys;
  for (const Batch& b : loader) xs.push_back(b.x.shape()), ys.push_back(b.y.shape());
  BOOST_REQUIRE_EQUAL(xs.size(), 3u);
  BOOST_CHECK(xs[0] == (Shape{4, 2, 3, 4}));
  BOOST_CHECK(xs[2] == (Shape{2, 2, 3, 4}));
  BOOST_CHECK(ys[2] == (Shape{2}));
  BOOST_CHECK_EQUAL(DataLoader(id_dataset(10), opts(4, true, true)).size(), 2);
  BOOST_CHECK_EQUAL(DataLoader(id_dataset(3), opts(4, true, true)).size(), 0);
  DataLoader none(id_dataset(3), opts(4, true, true));
  BOOST_CHECK_EQUAL(run_pass(none).ids.size(), 0u);
  // Feature data [N, D] is batched the same way.
  DataLoader feats(id_dataset(5, {3}), opts(2, true, false, 1));
  Pass p = run_pass(feats);
  BOOST_CHECK_EQUAL(p.ids.size(), 5u);
}

BOOST_AUTO_TEST_CASE(unshuffled_batches_are_views_of_the_resident_data) {
  DataLoader loader(id_dataset(6), opts(4, false, false));
  auto it = loader.begin();
  BOOST_CHECK(it->x.same_storage(loader.dataset().images));
  BOOST_CHECK(it->y.same_storage(loader.dataset().labels));
}

BOOST_AUTO_TEST_CASE(seeded_order_per_epoch) {
  const int64_t N = 20;
  Dataset d = id_dataset(N);
  DataLoader a(d, opts(3, true, false, 5)), b(d, opts(3, true, false, 5)), c(d, opts(3, true, false, 6));
  Pass a0 = run_pass(a), a1 = run_pass(a);
  Pass b0 = run_pass(b), b1 = run_pass(b);
  BOOST_CHECK(a0.ids == b0.ids);  // same seed, same epoch: same order
  BOOST_CHECK(a1.ids == b1.ids);
  BOOST_CHECK(a0.ids != a1.ids);  // passes advance the epoch
  BOOST_CHECK(run_pass(c).ids != a0.ids);  // another seed
  std::vector<int64_t> identity(N);
  std::iota(identity.begin(), identity.end(), 0);
  BOOST_CHECK(a0.ids != identity);  // actually shuffled
  // set_epoch replays an epoch; order(e) is the visiting order of epoch e.
  BOOST_CHECK_EQUAL(a.epoch(), 2);
  a.set_epoch(1);
  BOOST_CHECK(run_pass(a).ids == a1.ids);
  std::vector<int32_t> o0 = a.order(0);
  BOOST_CHECK(std::vector<int64_t>(o0.begin(), o0.end()) == a0.ids);
  expect_error([&] { a.set_epoch(-1); }, {"set_epoch", "-1"});
}

BOOST_AUTO_TEST_CASE(transform_per_batch_seeded) {
  Dataset d = id_dataset(8, {1, 4, 4});
  // A deterministic transform is applied to x only.
  Transform plus = {"plus100", [](const Tensor& x, Generator&) { return x + 100.0f; }};
  DataLoader lp(d, opts(4, false, false), plus);
  for (const Batch& b : lp) {
    std::vector<float> x = b.x.to_vector();
    BOOST_CHECK_EQUAL(x[0], 100.0f + 4 * b.index);
    BOOST_CHECK_EQUAL(b.y.to_vector<int32_t>()[0], (int32_t)((4 * b.index) % kClasses));
  }
  // A random transform repeats with the seed and differs between epochs.
  Transform crop = transforms::RandomCrop(4, 2);
  DataLoader x1(d, opts(8, false, false, 3), crop), x2(d, opts(8, false, false, 3), crop);
  std::vector<float> e0 = x1.begin()->x.to_vector(), e1 = x1.begin()->x.to_vector();
  BOOST_CHECK(e0 == x2.begin()->x.to_vector());
  BOOST_CHECK(e0 != e1);
}

BOOST_AUTO_TEST_CASE(errors) {
  Dataset d = id_dataset(4);
  expect_error([&] { DataLoader l(d, opts(0, false, false)); }, {"DataLoader", "batch_size", "0", "ids"});
  Dataset bad = d;
  bad.num_classes = 2;  // label 2 is out of range
  expect_error([&] { DataLoader l(bad, opts(2, false, false)); }, {"ids", "label 2", "[0, 2)"});
  DataLoader loader(d, opts(4, false, false));
  auto end = loader.end();
  expect_error([&] { (void)*end; }, {"DataLoader", "end iterator"});
}

// ---- CUDA ----

NF_CUDA_TEST_CASE(cuda_batches_on_device_match_cpu) {
  Dataset d = id_dataset(11, {1, 3, 3});
  Transform aug = transforms::Compose({transforms::RandomCrop(3, 1), transforms::RandomHorizontalFlip()});
  DataLoader gpu(d, opts(4, true, false, 9, Device::cuda()), aug), cpu(d, opts(4, true, false, 9), aug);
  BOOST_CHECK(gpu.dataset().images.device().is_cuda());
  BOOST_CHECK(gpu.dataset().labels.device().is_cuda());
  auto c = cpu.begin();
  int64_t n = 0;
  for (const Batch& b : gpu) {
    BOOST_CHECK(b.x.device().is_cuda());
    BOOST_CHECK(b.y.device().is_cuda());
    // Host-drawn order and augmentation parameters: identical batches on both devices.
    expect_close(b.x.cpu(), c->x, 0, 0, "cuda batch x");
    BOOST_CHECK(b.y.to_vector<int32_t>() == c->y.to_vector<int32_t>());
    ++c, ++n;
  }
  BOOST_CHECK_EQUAL(n, 3);
  // Coverage on the device without a transform.
  DataLoader plain(d, opts(4, true, false, 9, Device::cuda()));
  Pass p = run_pass(plain);
  std::sort(p.ids.begin(), p.ids.end());
  std::vector<int64_t> all(11);
  std::iota(all.begin(), all.end(), 0);
  BOOST_CHECK(p.ids == all);
}

BOOST_AUTO_TEST_SUITE_END()
