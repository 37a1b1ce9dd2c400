// nn/functional.h alone is enough for model code: a forward op, the loss and the accuracy
// count (argmax), through nn:: as in torch.nn.functional.
#include <cmath>

#include "nn/functional.h"
#include "tests/test_util.h"

using namespace nanofed;

BOOST_AUTO_TEST_SUITE(functional)

BOOST_AUTO_TEST_CASE(one_header_has_the_loss_and_the_prediction) {
  const Tensor logits = from_vector(std::vector<float>{2, 0, -1, 0, 1, 3}, {2, 3});
  const Tensor labels = from_vector(std::vector<int32_t>{0, 1}, {2});
  const Tensor predicted = nn::argmax(relu(logits), 1);
  BOOST_TEST(predicted.to_vector<int32_t>() == std::vector<int32_t>({0, 2}), boost::test_tools::per_element());
  const Tensor p = nn::softmax(logits, 1);
  const std::vector<float> pv = p.to_vector();
  const float expected = -0.5f * (std::log(pv[0]) + std::log(pv[4]));
  BOOST_TEST(nn::cross_entropy(logits, labels).item() == expected, boost::test_tools::tolerance(1e-5f));
}

BOOST_AUTO_TEST_SUITE_END()
