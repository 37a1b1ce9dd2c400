// The CUDA backend at the sizes and edges a GPU run meets, each against the CPU reference:
// ResNet18 convolutions at batch 128 with an uneven last chunk, a tensor past 2^31 elements and
// the grid-size cap, zero-size tensors on every op family, TF32 actually engaged, the caching
// allocator's empty_cache and its out-of-memory report, one federated round (fedavg + median
// with a sign-flipping client, ditto), PGD on a BN network and one CERTIFY call.
//
// The zero-size cases also run on the CPU alone (expected outcomes written out), so the CPU
// reference they are compared with is itself checked here.
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attacks/pgd.h"
#include "certify/certify.h"
#include "datasets/synthetic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/dropout.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/pool.h"
#include "engine/ops/reduce.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "engine/ops/warp.h"
#include "fl/simulation.h"
#include "nn/layers.h"
#include "nn/models.h"
#include "tests/test_util.h"
#if NANOFED_CUDA
#include "engine/cuda/runtime.h"
#endif

using namespace nanofed;
using namespace nanofed::test;

namespace {

// ---------------------------------------------------------------- zero-size tensors

// One op family on an input with a zero-size dimension: run(device) returns the output (or
// throws), expected_shape is what the CPU must give (empty = the op must throw).
struct ZeroCase {
  std::string name;
  std::function<Tensor(Device)> run;
  Shape expected_shape;
  bool throws = false;
};

Tensor z(const Shape& s, Device d) { return zeros(s, d); }
Tensor labels0(Device d) { return zeros({0}, d, DType::i32); }

std::vector<ZeroCase> zero_size_cases() {
  std::vector<ZeroCase> c;
  c.push_back({"add broadcast", [](Device d) { return add(z({0, 3}, d), z({3}, d)); }, {0, 3}});
  c.push_back({"relu", [](Device d) { return relu(z({0, 3}, d)); }, {0, 3}});
  c.push_back({"exp", [](Device d) { return exp(z({2, 0}, d)); }, {2, 0}});
  c.push_back({"mul scalar", [](Device d) { return mul(z({0}, d), 2.0f); }, {0}});
  c.push_back({"sum all", [](Device d) { return sum(z({0, 3}, d)); }, {}});
  c.push_back({"sum dim 0", [](Device d) { return sum(z({0, 3}, d), 0); }, {3}});
  c.push_back({"sum dim 1", [](Device d) { return sum(z({0, 3}, d), 1); }, {0}});
  c.push_back({"argmax dim 1", [](Device d) { return argmax(z({0, 3}, d), 1); }, {0}});
  c.push_back({"bincount", [](Device d) { return bincount(labels0(d), 4); }, {4}});
  c.push_back({"matmul M=0", [](Device d) { return matmul(z({0, 4}, d), z({4, 3}, d)); }, {0, 3}});
  c.push_back({"matmul N=0", [](Device d) { return matmul(z({2, 4}, d), z({4, 0}, d)); }, {2, 0}});
  c.push_back({"matmul K=0", [](Device d) { return matmul(z({2, 0}, d), z({0, 3}, d)); }, {2, 3}});
  c.push_back({"conv2d N=0", [](Device d) { return conv2d(z({0, 3, 5, 5}, d), z({4, 3, 3, 3}, d), z({4}, d), 1, 1); },
               {0, 4, 5, 5}});
  c.push_back({"max_pool2d N=0", [](Device d) { return max_pool2d(z({0, 2, 4, 4}, d), 2); }, {0, 2, 2, 2}});
  c.push_back({"avg_pool2d N=0", [](Device d) { return avg_pool2d(z({0, 2, 4, 4}, d), 2); }, {0, 2, 2, 2}});
  c.push_back({"global_avg_pool2d N=0", [](Device d) { return global_avg_pool2d(z({0, 2, 4, 4}, d)); }, {0, 2}});
  c.push_back({"batch_norm eval N=0",
               [](Device d) { return batch_norm(z({0, 2, 3, 3}, d), z({2}, d), full({2}, 1.0f, d)); },
               {0, 2, 3, 3}});
  c.push_back({"softmax", [](Device d) { return softmax(z({0, 5}, d)); }, {0, 5}});
  c.push_back({"log_softmax", [](Device d) { return log_softmax(z({0, 5}, d)); }, {0, 5}});
  c.push_back({"concat", [](Device d) { return concat({z({0, 3}, d), full({2, 3}, 1.0f, d)}); }, {2, 3}});
  c.push_back({"permute", [](Device d) { return permute(z({0, 2, 3}, d), {2, 0, 1}); }, {3, 0, 2}});
  c.push_back({"index_select empty index",
               [](Device d) { return index_select(full({4, 3}, 1.0f, d), 0, labels0(d)); }, {0, 3}});
  c.push_back({"affine_warp N=0", [](Device d) { return affine_warp(z({0, 1, 4, 4}, d), z({0, 2, 3}, d)); },
               {0, 1, 4, 4}});
  c.push_back({"dropout", [](Device d) {
                 Generator gen(3);
                 return dropout(z({0, 4}, d), 0.5f, true, gen);
               },
               {0, 4}});
  return c;
}

// Both devices either throw or give equal outputs (NaN equal to NaN).
void expect_same_outcome(const ZeroCase& c) {
  Tensor on_cpu, on_gpu;
  bool cpu_threw = false, gpu_threw = false;
  try { on_cpu = c.run(Device::cpu()); } catch (const Error&) { cpu_threw = true; }
  try { on_gpu = c.run(Device::cuda()); } catch (const Error&) { gpu_threw = true; }
  BOOST_TEST(cpu_threw == gpu_threw, c.name << ": cpu threw " << cpu_threw << ", cuda threw " << gpu_threw);
  if (cpu_threw || gpu_threw) return;
  BOOST_TEST(shape_str(on_gpu.shape()) == shape_str(on_cpu.shape()), c.name);
  const std::vector<float> a = on_cpu.to(Device::cpu()).to_vector<float>();
  const std::vector<float> b = on_gpu.to(Device::cpu()).to_vector<float>();
  BOOST_TEST(a.size() == b.size(), c.name);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    BOOST_TEST((a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i]))), c.name << " element " << i);
}

// ---------------------------------------------------------------- federated round

std::vector<fl::ClientData> blob_clients(int64_t num_clients) {
  std::vector<fl::ClientData> clients;
  for (int64_t k = 0; k < num_clients; ++k) {
    Generator gen(100 + (uint64_t)k);
    datasets::Dataset train = datasets::gaussian_blobs(40, 4, {1, 6, 6}, 0.8f, gen);
    datasets::Dataset test = datasets::gaussian_blobs(20, 4, {1, 6, 6}, 0.8f, gen);
    clients.push_back({train, test});
  }
  return clients;
}

fl::ModelFactory small_mlp() {
  return [] {
    Generator init(7);  // every call builds the same weights, on either device
    nn::ModelOptions o;
    o.in_channels = 1;
    o.image_size = 6;
    o.num_classes = 4;
    o.hidden = {16};
    o.gen = &init;
    return nn::make_model("mlp", o);
  };
}

// Two rounds of the config on `device`; returns the global and every benign personal model.
std::vector<std::vector<float>> two_rounds(fl::json j, const std::string& device) {
  j["device"] = device;
  const fl::FlConfig config = fl::parse_config(j);
  fl::Simulation sim(config, blob_clients(4), {3}, small_mlp());
  sim.run_round(0);
  sim.run_round(1);
  std::vector<std::vector<float>> out = {sim.global_params().cpu().to_vector<float>()};
  for (int64_t k = 0; k < 3; ++k) {
    const Tensor personal = sim.personal_params(k);
    if (personal.defined()) out.push_back(personal.cpu().to_vector<float>());
  }
  return out;
}

// ---------------------------------------------------------------- PGD and CERTIFY models

std::shared_ptr<nn::Module> small_resnet() {
  Generator init(11);
  nn::ModelOptions o;
  o.in_channels = 1;
  o.image_size = 16;
  o.num_classes = 3;
  o.width = 4;
  o.gen = &init;
  return nn::make_model("resnet18", o);
}

// logits [0, x_0 + b]: class 1 wins with probability Phi((x_0 + b) / sigma) under pixel noise.
std::shared_ptr<nn::Module> threshold_model(float b) {
  Generator init(0);
  auto linear = std::make_shared<nn::Linear>(4, 2, true, &init);
  linear->weight.copy_(from_vector(std::vector<float>{0, 0, 0, 0, 1, 0, 0, 0}, {2, 4}));
  linear->bias.copy_(from_vector(std::vector<float>{0.0f, b}, {2}));
  return std::make_shared<nn::Sequential>(std::make_shared<nn::Flatten>(), linear);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_scale)

BOOST_AUTO_TEST_CASE(zero_size_tensors_on_the_cpu) {
  for (const ZeroCase& c : zero_size_cases()) {
    Tensor y;
    try {
      y = c.run(Device::cpu());
    } catch (const Error& e) {
      BOOST_ERROR(c.name << " threw: " << e.what());
      continue;
    }
    BOOST_TEST(shape_str(y.shape()) == shape_str(c.expected_shape), c.name);
  }
  // The values that are not empty: sum of nothing is 0, K = 0 products are 0, bincount 0s,
  // concat keeps the non-empty part.
  BOOST_TEST(sum(zeros({0, 3})).item() == 0.0f);
  expect_values(matmul(zeros({2, 0}), zeros({0, 3})), std::vector<float>(6, 0.0f), "matmul K=0");
  expect_values(bincount(zeros({0}, Device::cpu(), DType::i32), 4), {0, 0, 0, 0}, "bincount");
  expect_values(sum(zeros({0, 3}), 0), {0, 0, 0}, "sum dim 0");
  // Gradients through an empty batch are zeros of the input's shape.
  Tensor x = zeros({0, 3, 5, 5}).requires_grad_();
  Tensor w = full({4, 3, 3, 3}, 1.0f).requires_grad_();
  sum(conv2d(x, w, Tensor(), 1, 1)).backward();
  BOOST_TEST(shape_str(x.grad().shape()) == "[0, 3, 5, 5]");
  expect_values(sum(w.grad()), {0.0f}, "conv2d dW of an empty batch");
}

NF_CUDA_TEST_CASE(cuda_zero_size_tensors_every_op_family) {
  for (const ZeroCase& c : zero_size_cases()) expect_same_outcome(c);
}

NF_CUDA_TEST_CASE(cuda_conv2d_resnet18_shapes_batch128_uneven_chunks) {
  // The standard ResNet18 (width 64) on 32x32 inputs: stem, a block conv per stage, the
  // stride-2 transitions and their 1x1 downsamples. The column budget makes the 64-channel
  // 32x32 layer run in chunks of 48, 48 and 32 images (per image: (CRS + K) * P * 4 bytes =
  // 640 * 1024 * 4); the other layers get other uneven splits.
  const int64_t previous = set_conv2d_column_budget(int64_t(48) * 640 * 1024 * 4);
  struct Layer { int64_t c, k, hw, r, stride, pad; };
  const std::vector<Layer> layers = {{3, 64, 32, 3, 1, 1},   {64, 64, 32, 3, 1, 1},  {64, 128, 32, 3, 2, 1},
                                     {64, 128, 32, 1, 2, 0}, {128, 128, 16, 3, 1, 1}, {128, 256, 16, 3, 2, 1},
                                     {256, 512, 8, 3, 2, 1}, {512, 512, 4, 3, 1, 1}};
  uint64_t seed = 2000;
  for (const Layer& l : layers) {
    Tensor x = random_tensor({128, l.c, l.hw, l.hw}, seed++).requires_grad_();
    Tensor w = random_tensor({l.k, l.c, l.r, l.r}, seed++, 1.0f / std::sqrt((float)(l.c * l.r * l.r)))
                   .requires_grad_();
    Tensor b = random_tensor({l.k}, seed++).requires_grad_();
    const int64_t stride = l.stride, pad = l.pad;
    check_cuda_parity("conv2d " + std::to_string(l.c) + "->" + std::to_string(l.k) + " " + std::to_string(l.hw) +
                          "x" + std::to_string(l.hw) + " k" + std::to_string(l.r) + " s" + std::to_string(l.stride),
                      [stride, pad](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], stride, pad); },
                      {x, w, b}, 2e-3f, 1e-3f);
  }
  set_conv2d_column_budget(previous);
}

#if NANOFED_CUDA
NF_CUDA_TEST_CASE(cuda_index_past_2_31_and_grid_cap) {
  // 2^31 + 4096 floats (8 GiB each; three live at once) when the GPU has room, else the largest
  // size that still passes the grid-size cap of blocks_for (65535 * 32 blocks of 256 threads).
  size_t free_bytes = 0, total_bytes = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  int64_t n = (int64_t(1) << 31) + 4096;
  if ((double)free_bytes < 3.5 * 4.0 * (double)n) {
    n = int64_t(65535) * 32 * 256 + 4096;
    BOOST_TEST_MESSAGE("only " << free_bytes << " bytes free: testing " << n << " elements (past the grid cap, "
                               "below 2^31)");
  }
  const Tensor x = full({n}, 1.5f, Device::cuda());
  const Tensor y = add(mul(x, 2.0f), x);  // 4.5 everywhere, written by grid-stride loops
  for (int64_t at : {int64_t(0), (int64_t(1) << 31) - 8, n - 8}) {
    if (at + 8 > n) continue;
    expect_values(y.slice(at, at + 8), std::vector<float>(8, 4.5f), "add/mul at element " + std::to_string(at));
  }
  // A row reduction whose input offsets pass 2^31: each of the rows sums 1024 values of 1.5.
  const int64_t rows = n / 1024;
  const Tensor row_sums = sum(x.slice(0, rows * 1024).reshape({rows, 1024}), 1);
  expect_values(row_sums.slice(rows - 4, rows), std::vector<float>(4, 1536.0f), "row sums at the end");
}

NF_CUDA_TEST_CASE(cuda_tf32_is_engaged_and_strict_is_not) {
  // Strict fp32 (the default) stays within float rounding of the CPU; TF32 must actually change
  // the product (10-bit mantissa inputs), or the switch did nothing.
  const Tensor a = random_tensor({256, 512}, 900), b = random_tensor({512, 256}, 901);
  const std::vector<float> ref = matmul(a, b).to_vector<float>();
  auto max_diff = [&](const Tensor& out) {
    const std::vector<float> v = out.cpu().to_vector<float>();
    double m = 0;
    for (size_t i = 0; i < v.size(); ++i) m = std::max(m, (double)std::fabs(v[i] - ref[i]));
    return m;
  };
  BOOST_TEST(!cuda::tf32_enabled());
  const double strict = max_diff(matmul(a.cuda(), b.cuda()));
  cuda::set_tf32(true);
  const double tf32 = max_diff(matmul(a.cuda(), b.cuda()));
  cuda::set_tf32(false);
  BOOST_TEST(strict < 1e-3);       // |entries| ~ sqrt(512) ~ 23: float rounding only
  BOOST_TEST(tf32 > 10 * strict);  // TF32 rounding is visible
  BOOST_TEST(tf32 < 0.5);          // and still bounded
}

NF_CUDA_TEST_CASE(cuda_empty_cache_and_out_of_memory) {
  cuda::empty_cache();
  const size_t base = cuda::memory_stats().reserved;
  {
    const Tensor t = zeros({1 << 20}, Device::cuda());  // 4 MiB
    BOOST_TEST(cuda::memory_stats().reserved >= base + (4u << 20));
  }
  BOOST_TEST(cuda::memory_stats().reserved >= base + (4u << 20));  // cached after the free
  cuda::empty_cache();
  BOOST_TEST(cuda::memory_stats().reserved == base);  // and handed back
  // 4 TiB cannot be had: one clean line naming the size, and the device still works after.
  expect_error([] { zeros({int64_t(1) << 40}, Device::cuda()); }, {"CUDA out of memory", "4398046511104"});
  expect_values(full({2}, 3.0f, Device::cuda()), {3.0f, 3.0f}, "allocation after an out-of-memory error");
}
#endif

NF_CUDA_TEST_CASE(cuda_federated_rounds_match_cpu) {
  // fedavg + median with one sign-flipping client, and ditto: two rounds on each device. The
  // batches, sampling and attack are host-side draws (identical on both); only float rounding
  // of the kernels differs.
  const fl::json base = {{"num_clients", 4}, {"sampling", "all"}, {"local_steps", 3}, {"batch_size", 8},
                     {"lr", 0.1},        {"progress", false}, {"num_byzantine", 1}, {"attack", "sign_flip"}};
  fl::json median = base, ditto = base;
  median["strategy"] = "fedavg";
  median["aggregator"] = "median";
  ditto["strategy"] = "ditto";
  ditto["aggregator"] = "mean";
  ditto["lambda"] = 0.5;
  for (const fl::json& j : {median, ditto}) {
    const auto cpu = two_rounds(j, "cpu"), gpu = two_rounds(j, "cuda");
    BOOST_TEST_REQUIRE(cpu.size() == gpu.size());
    for (size_t m = 0; m < cpu.size(); ++m)
      expect_close(gpu[m], cpu[m], 1e-4f, 1e-3f, j["strategy"].get<std::string>() + " model " + std::to_string(m));
  }
}

NF_CUDA_TEST_CASE(cuda_pgd_on_a_batchnorm_resnet_matches_cpu) {
  // L2 PGD (no sign: the step is continuous in the gradient) must agree to float tolerance; L-inf
  // PGD takes sign(grad), which may flip where a gradient entry is ~0, so it may differ only in a
  // small fraction of pixels.
  auto cpu_model = small_resnet(), gpu_model = small_resnet();
  gpu_model->to(Device::cuda());
  const Tensor x = random_uniform({16, 1, 16, 16}, 31, 0.0f, 1.0f);
  std::vector<int32_t> y_values(16);
  for (int i = 0; i < 16; ++i) y_values[i] = i % 3;
  const Tensor y = from_vector(y_values, {16});
  attacks::AttackOptions l2 = attacks::l2_defaults();
  l2.random_start = false;
  l2.eps = 0.5f;
  Generator g1(1), g2(1);
  expect_close(attacks::pgd(*gpu_model, x.cuda(), y.cuda(), l2, g2).cpu(), attacks::pgd(*cpu_model, x, y, l2, g1),
               1e-3f, 1e-3f, "pgd l2 on cuda");
  attacks::AttackOptions linf;
  linf.random_start = false;
  const std::vector<float> a = attacks::pgd(*cpu_model, x, y, linf, g1).to_vector<float>();
  const std::vector<float> b = attacks::pgd(*gpu_model, x.cuda(), y.cuda(), linf, g2).cpu().to_vector<float>();
  int64_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += std::fabs(a[i] - b[i]) > 1e-4f;
  BOOST_TEST(differ <= (int64_t)a.size() / 50, differ << " of " << a.size() << " pixels differ");
}

NF_CUDA_TEST_CASE(cuda_certify_matches_cpu_statistically) {
  // pA = Phi(0.32 / 0.25) = 0.90 for class 1. The noise differs between devices (cuRAND vs our
  // Philox mapping), so the two certificates agree in class and, with n = 20,000, in radius to
  // well within the binomial spread (radius sd ~ 0.006 here; tolerance 0.05).
  auto cpu_model = threshold_model(0.32f), gpu_model = threshold_model(0.32f);
  gpu_model->to(Device::cuda());
  certify::CertifyOptions o;
  o.smoothing.sigma = 0.25f;
  o.n0 = 100;
  o.n = 20000;
  const Tensor image = zeros({1, 2, 2});
  Generator g1(5), g2(5);
  const certify::Certificate on_cpu = certify::certify(*cpu_model, image, o, g1);
  const certify::Certificate on_gpu = certify::certify(*gpu_model, image.cuda(), o, g2);
  BOOST_TEST(on_cpu.predict == 1);
  BOOST_TEST(on_gpu.predict == 1);
  BOOST_TEST(std::fabs(on_gpu.radius - on_cpu.radius) < 0.05, on_gpu.radius << " vs " << on_cpu.radius);
  BOOST_TEST(std::fabs(on_gpu.pA_lower - 0.8997) < 0.02);
}

BOOST_AUTO_TEST_SUITE_END()
