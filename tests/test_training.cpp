// End to end: the tiny MLP and CNN (nn/tiny_models.h) learn a synthetic problem on the CPU,
// and, with a GPU, the CUDA run follows the same loss curve.
#include "nn/tiny_models.h"
#include "tests/test_util.h"

using namespace nanofed;

BOOST_AUTO_TEST_SUITE(training)

BOOST_AUTO_TEST_CASE(tiny_mlp_learns_blobs_on_cpu) {
  tiny::TrainResult r = tiny::train_mlp(Device::cpu(), 60, 1);
  BOOST_TEST_MESSAGE("mlp loss " << r.losses.front() << " -> " << r.final_loss << ", acc " << r.accuracy);
  BOOST_TEST(r.losses.front() > 1.0f);                      // ~ln(4) = 1.39 at initialization
  BOOST_TEST(r.final_loss < r.losses.front() / 5.0f);       // falls by at least a factor of 5
  BOOST_TEST(r.accuracy >= 0.9f);
}

BOOST_AUTO_TEST_CASE(tiny_cnn_learns_quadrants_on_cpu) {
  tiny::TrainResult r = tiny::train_cnn(Device::cpu(), 60, 2);
  BOOST_TEST_MESSAGE("cnn loss " << r.losses.front() << " -> " << r.final_loss << ", acc " << r.accuracy);
  BOOST_TEST(r.losses.front() > 1.0f);
  BOOST_TEST(r.final_loss < r.losses.front() / 5.0f);
  BOOST_TEST(r.accuracy >= 0.9f);
}

BOOST_AUTO_TEST_CASE(training_is_reproducible_on_cpu) {
  tiny::TrainResult a = tiny::train_mlp(Device::cpu(), 5, 3), b = tiny::train_mlp(Device::cpu(), 5, 3);
  BOOST_TEST(a.losses == b.losses, boost::test_tools::per_element());
}

NF_CUDA_TEST_CASE(cuda_training_matches_cpu_curve) {
  // Same seed => same data and initial weights (generated on the host, then moved).
  tiny::TrainResult cpu = tiny::train_cnn(Device::cpu(), 20, 2), gpu = tiny::train_cnn(Device::cuda(), 20, 2);
  test::expect_close(gpu.losses, cpu.losses, 1e-3f, 1e-3f, "cnn loss curve, cuda vs cpu");
  tiny::TrainResult mcpu = tiny::train_mlp(Device::cpu(), 20, 1), mgpu = tiny::train_mlp(Device::cuda(), 20, 1);
  test::expect_close(mgpu.losses, mcpu.losses, 1e-3f, 1e-3f, "mlp loss curve, cuda vs cpu");
}

BOOST_AUTO_TEST_SUITE_END()
