// test_grouped_ops.cpp — conv2d and linear with grouped weights ([G, ...]): each group equals
// an ungrouped op on its own rows, bit for bit on the CPU (outputs and all three gradients),
// gradchecks, shape errors, and CUDA parity.
#include <boost/test/unit_test.hpp>

#include <cstring>

#include "engine/autograd.h"
#include "engine/ops/conv2d.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/matmul.h"
#include "engine/ops/reduce.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

// The op under test: conv2d or linear with the given weight and bias.
using Op = std::function<Tensor(const Tensor& x, const Tensor& w, const Tensor& b)>;

// Runs `op` grouped on x [G*n, ...] with weight [G, ...] and bias [G, ...], then once per group
// ungrouped on its rows with weight[g], bias[g], backpropagating the same random output weights;
// output, dx, dW and db must have the same bits.
void check_groups_match(const std::string& what, const Op& op, const Tensor& x, const Tensor& w, const Tensor& b,
                        uint64_t seed) {
  const int64_t G = w.size(0), n = x.size(0) / G;
  Tensor xg = x.clone().detach().requires_grad_(), wg = w.clone().detach().requires_grad_();
  Tensor bg = b.defined() ? b.clone().detach().requires_grad_() : Tensor();
  Tensor y = op(xg, wg, bg);
  Tensor r = random_tensor(y.shape(), seed);
  sum(mul(y, r)).backward();
  const int64_t x_rows = x.numel() / x.size(0), y_rows = y.numel() / y.size(0);
  for (int64_t g = 0; g < G; ++g) {
    Tensor xs = x.slice(g * n, (g + 1) * n).clone().detach().requires_grad_();
    Tensor ws = w.slice(g, g + 1).reshape(Shape(w.shape().begin() + 1, w.shape().end())).clone().detach().requires_grad_();
    Tensor bs = b.defined() ? b.slice(g, g + 1).reshape({b.size(1)}).clone().detach().requires_grad_() : Tensor();
    Tensor ys = op(xs, ws, bs);
    sum(mul(ys, r.slice(g * n, (g + 1) * n))).backward();
    const std::string at = what + " group " + std::to_string(g);
    BOOST_CHECK_MESSAGE(same_bits(ys, y.detach().view_range(g * n * y_rows, ys.shape())), at << ": output");
    BOOST_CHECK_MESSAGE(same_bits(xs.grad(), xg.grad().view_range(g * n * x_rows, xs.shape())), at << ": dx");
    BOOST_CHECK_MESSAGE(same_bits(ws.grad(), wg.grad().view_range(g * ws.numel(), ws.shape())), at << ": dW");
    if (b.defined())
      BOOST_CHECK_MESSAGE(same_bits(bs.grad(), bg.grad().view_range(g * bs.numel(), bs.shape())), at << ": db");
  }
}

Op conv_op(int64_t stride, int64_t pad) {
  return [=](const Tensor& x, const Tensor& w, const Tensor& b) { return conv2d(x, w, b, stride, pad); };
}
Op linear_op() {
  return [](const Tensor& x, const Tensor& w, const Tensor& b) { return linear(x, w, b); };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(grouped_ops)

BOOST_AUTO_TEST_CASE(grouped_conv2d_equals_each_group_alone) {
  // 3 groups of 2 images; 3x3 padded stride 1, stride-2 unpadded, pointwise 1x1, no bias.
  check_groups_match("conv 3x3 pad 1", conv_op(1, 1), random_tensor({6, 3, 7, 6}, 1),
                     random_tensor({3, 4, 3, 3, 3}, 2, 0.3f), random_tensor({3, 4}, 3), 4);
  check_groups_match("conv 3x3 stride 2", conv_op(2, 0), random_tensor({4, 2, 9, 9}, 5),
                     random_tensor({2, 5, 2, 3, 3}, 6, 0.3f), random_tensor({2, 5}, 7), 8);
  check_groups_match("conv 1x1", conv_op(1, 0), random_tensor({6, 4, 5, 5}, 9),
                     random_tensor({3, 3, 4, 1, 1}, 10), random_tensor({3, 3}, 11), 12);
  check_groups_match("conv no bias", conv_op(1, 2), random_tensor({4, 1, 8, 8}, 13),
                     random_tensor({4, 6, 1, 5, 5}, 14, 0.2f), Tensor(), 15);
  // The chunked path: one image per chunk, inside each group as alone.
  const int64_t previous = set_conv2d_column_budget(1);
  check_groups_match("conv chunked", conv_op(1, 1), random_tensor({6, 2, 5, 5}, 16),
                     random_tensor({2, 3, 2, 3, 3}, 17, 0.3f), random_tensor({2, 3}, 18), 19);
  set_conv2d_column_budget(previous);
}

BOOST_AUTO_TEST_CASE(grouped_linear_equals_each_group_alone) {
  check_groups_match("linear", linear_op(), random_tensor({12, 7}, 20), random_tensor({4, 5, 7}, 21),
                     random_tensor({4, 5}, 22), 23);
  check_groups_match("linear no bias", linear_op(), random_tensor({6, 33}, 24), random_tensor({2, 17, 33}, 25),
                     Tensor(), 26);
  check_groups_match("linear one group", linear_op(), random_tensor({5, 3}, 27), random_tensor({1, 2, 3}, 28),
                     random_tensor({1, 2}, 29), 30);
}

BOOST_AUTO_TEST_CASE(grouped_gradcheck) {
  gradcheck("grouped conv2d",
            [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
            {random_tensor({4, 2, 5, 5}, 31).requires_grad_(), random_tensor({2, 3, 2, 3, 3}, 32).requires_grad_(),
             random_tensor({2, 3}, 33).requires_grad_()});
  gradcheck("grouped linear", [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
            {random_tensor({6, 4}, 34).requires_grad_(), random_tensor({3, 5, 4}, 35).requires_grad_(),
             random_tensor({3, 5}, 36).requires_grad_()});
}

BOOST_AUTO_TEST_CASE(grouped_shape_errors) {
  expect_error([] { conv2d(random_tensor({5, 2, 6, 6}, 1), random_tensor({2, 3, 2, 3, 3}, 2)); },
               {"conv2d: grouped weight [2, 3, 2, 3, 3]", "5 images split into 2 equal groups"});
  expect_error([] { conv2d(random_tensor({4, 2, 6, 6}, 1), random_tensor({2, 3, 2, 3, 3}, 2), random_tensor({3}, 3)); },
               {"conv2d: bias [3] does not match weight [2, 3, 2, 3, 3] (expected [2, 3])"});
  expect_error([] { linear(random_tensor({5, 4}, 1), random_tensor({2, 3, 4}, 2)); },
               {"linear: grouped weight [2, 3, 4]", "split into 2 equal groups"});
  expect_error([] { linear(random_tensor({4, 4}, 1), random_tensor({2, 3, 4}, 2), random_tensor({2, 4}, 3)); },
               {"linear: bias [2, 4] does not match weight [2, 3, 4] (expected [2, 3])"});
}

NF_CUDA_TEST_CASE(cuda_parity_grouped_ops) {
  check_cuda_parity("grouped conv2d",
                    [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
                    {random_tensor({6, 3, 8, 8}, 40).requires_grad_(),
                     random_tensor({3, 4, 3, 3, 3}, 41, 0.3f).requires_grad_(), random_tensor({3, 4}, 42).requires_grad_()},
                    2e-4f, 1e-4f);
  check_cuda_parity("grouped linear", [](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                    {random_tensor({12, 9}, 43).requires_grad_(), random_tensor({4, 5, 9}, 44).requires_grad_(),
                     random_tensor({4, 5}, 45).requires_grad_()},
                    2e-4f, 1e-4f);
}

BOOST_AUTO_TEST_SUITE_END()
