// shape_ops family: concat, stack, permute, transpose, index_select, gather.
#include <cmath>

#include "engine/ops/shape_ops.h"
#include "tests/test_util.h"

using namespace nanofed;
using namespace nanofed::test;

namespace {

Tensor indices(const std::vector<int32_t>& v, const Shape& shape) {
  return from_vector(v, shape);
}
Tensor random_indices(const Shape& shape, int64_t bound, uint64_t seed) {
  Generator gen(seed);
  std::vector<int32_t> v(shape_numel(shape));
  for (auto& i : v) i = (int32_t)gen.next_below(bound);
  return indices(v, shape);
}
std::vector<float> iota(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (float)i;
  return v;
}

// Naive permute of a row-major tensor by index arithmetic (the oracle).
std::vector<float> naive_permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const Shape s = x.shape();
  const int64_t rank = (int64_t)s.size();
  const std::vector<float> v = x.to_vector<float>();
  Shape out_shape(rank);
  for (int64_t k = 0; k < rank; ++k) out_shape[k] = s[dims[k]];
  std::vector<float> out(v.size());
  for (int64_t i = 0; i < (int64_t)v.size(); ++i) {
    std::vector<int64_t> oc(rank), xc(rank);
    int64_t rest = i;
    for (int64_t k = rank - 1; k >= 0; --k) {
      oc[k] = rest % out_shape[k];
      rest /= out_shape[k];
    }
    for (int64_t k = 0; k < rank; ++k) xc[dims[k]] = oc[k];
    int64_t src = 0;
    for (int64_t k = 0; k < rank; ++k) src = src * s[k] + xc[k];
    out[i] = v[src];
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shape_ops)

// ---------------------------------------------------------------- values

BOOST_AUTO_TEST_CASE(concat_values_and_gradient_split) {
  Tensor a = fv({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor b = fv({5, 6}, {2, 1}).requires_grad_();
  Tensor c = concat({a, b}, 1);
  BOOST_TEST(c.shape() == Shape({2, 3}), boost::test_tools::per_element());
  expect_close(c.to_vector<float>(), {1, 2, 5, 3, 4, 6}, 0, 0, "concat dim 1");
  expect_close(concat({a, fv({7, 8}, {1, 2})}, 0).to_vector<float>(), {1, 2, 3, 4, 7, 8}, 0,
               0, "concat dim 0");
  expect_close(concat({b, a}, -1).to_vector<float>(), {5, 1, 2, 6, 3, 4}, 0, 0, "concat dim -1");
  // Gradient: the output gradient [[10, 20, 30], [40, 50, 60]] split back by columns.
  c.backward(fv({10, 20, 30, 40, 50, 60}, {2, 3}));
  expect_close(a.grad().to_vector<float>(), {10, 20, 40, 50}, 0, 0, "grad a");
  expect_close(b.grad().to_vector<float>(), {30, 60}, 0, 0, "grad b");
  // Integer tensors concatenate too (labels).
  const Tensor l = concat({indices({1, 2}, {2}), indices({3}, {1})}, 0);
  BOOST_TEST(l.to_vector<int32_t>() == std::vector<int32_t>({1, 2, 3}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stack_values) {
  const Tensor a = fv({1, 2, 3}, {3}), b = fv({4, 5, 6}, {3});
  const Tensor s0 = stack({a, b}, 0), s1 = stack({a, b}, 1), sm = stack({a, b}, -1);
  BOOST_TEST(s0.shape() == Shape({2, 3}), boost::test_tools::per_element());
  BOOST_TEST(s1.shape() == Shape({3, 2}), boost::test_tools::per_element());
  expect_close(s0.to_vector<float>(), {1, 2, 3, 4, 5, 6}, 0, 0, "stack dim 0");
  expect_close(s1.to_vector<float>(), {1, 4, 2, 5, 3, 6}, 0, 0, "stack dim 1");
  expect_close(sm, s1, 0, 0, "stack dim -1");
}

BOOST_AUTO_TEST_CASE(permute_and_transpose_values) {
  const Tensor x = fv(iota(6), {2, 3});
  const Tensor t = transpose(x, 0, 1);
  BOOST_TEST(t.shape() == Shape({3, 2}), boost::test_tools::per_element());
  expect_close(t.to_vector<float>(), {0, 3, 1, 4, 2, 5}, 0, 0, "transpose [2, 3]");
  const Tensor x4 = fv(iota(2 * 3 * 4 * 5), {2, 3, 4, 5});
  for (const std::vector<int64_t>& dims :
       std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {0, 2, 3, 1}}) {
    const Tensor y = permute(x4, dims);
    expect_close(y.to_vector<float>(), naive_permute(x4, dims), 0, 0,
                 "permute " + shape_str(dims));
  }
  expect_close(permute(x4, {-1, 0, 1, 2}), permute(x4, {3, 0, 1, 2}), 0, 0, "negative dims");
  // Gradient: the inverse permutation.
  Tensor xg = fv(iota(24), {2, 3, 4}).requires_grad_();
  Tensor y = permute(xg, {2, 0, 1});
  y.backward(fv(naive_permute(fv(iota(24), {2, 3, 4}), {2, 0, 1}), {4, 2, 3}));
  expect_close(xg.grad().to_vector<float>(), iota(24), 0, 0, "permute gradient");
}

BOOST_AUTO_TEST_CASE(index_select_values_and_scatter_add_gradient) {
  // x = [[0,1],[2,3],[4,5]]
  Tensor x = fv(iota(6), {3, 2}).requires_grad_();
  Tensor y = index_select(x, 0, indices({2, 0, 2}, {3}));
  expect_close(y.to_vector<float>(), {4, 5, 0, 1, 4, 5}, 0, 0, "index_select dim 0");
  expect_close(index_select(x, 1, indices({1, 1, 0}, {3})).to_vector<float>(),
               {1, 1, 0, 3, 3, 2, 5, 5, 4}, 0, 0, "index_select dim 1");
  // Row 2 was selected twice, row 1 never: gradient rows [g0+... ] summed.
  y.backward(fv({1, 2, 10, 20, 100, 200}, {3, 2}));
  expect_close(x.grad().to_vector<float>(), {10, 20, 0, 0, 101, 202}, 0, 0,
               "index_select gradient");
}

BOOST_AUTO_TEST_CASE(gather_values_and_gradient) {
  // torch.gather(torch.tensor([[1, 2], [3, 4]]), 1, torch.tensor([[0, 0], [1, 0]]))
  //   = [[1, 1], [4, 3]]
  Tensor x = fv({1, 2, 3, 4}, {2, 2}).requires_grad_();
  Tensor y = gather(x, 1, indices({0, 0, 1, 0}, {2, 2}));
  expect_close(y.to_vector<float>(), {1, 1, 4, 3}, 0, 0, "gather dim 1");
  y.backward(fv({1, 10, 100, 1000}, {2, 2}));
  expect_close(x.grad().to_vector<float>(), {11, 0, 1000, 100}, 0, 0, "gather gradient");
  // dim 0, index smaller than x in dim 1: out[i][j] = x[index[i][j]][j].
  const Tensor x3 = fv(iota(9), {3, 3});
  expect_close(gather(x3, 0, indices({2, 0, 1, 1}, {2, 2})).to_vector<float>(), {6, 1, 3, 4}, 0,
               0, "gather dim 0, smaller index");
  // Picking one class per row (the cross-entropy use).
  expect_close(gather(x3, -1, indices({2, 0, 1}, {3, 1})).to_vector<float>(), {2, 3, 7}, 0, 0,
               "gather one per row");
}

// ---------------------------------------------------------------- gradients

BOOST_AUTO_TEST_CASE(gradcheck_all_shape_ops) {
  const Tensor a = random_tensor({3, 5, 7}, 1).requires_grad_();
  const Tensor b = random_tensor({3, 2, 7}, 2).requires_grad_();
  const Tensor c = random_tensor({3, 1, 7}, 3);  // no grad: must be skipped
  gradcheck("concat dim 1", [](const std::vector<Tensor>& in) { return concat(in, 1); },
            {a, b, c});
  const Tensor d = random_tensor({3, 5, 2}, 4).requires_grad_();
  gradcheck("concat dim 2", [](const std::vector<Tensor>& in) { return concat(in, -1); }, {a, d});
  const Tensor e = random_tensor({1, 5, 7}, 5).requires_grad_();
  gradcheck("concat dim 0", [](const std::vector<Tensor>& in) { return concat(in, 0); }, {a, e});
  const Tensor f = random_tensor({3, 5, 7}, 6).requires_grad_();
  gradcheck("stack dim 1", [](const std::vector<Tensor>& in) { return stack(in, 1); }, {a, f});

  const Tensor p = random_tensor({2, 3, 5, 3}, 7).requires_grad_();
  gradcheck("permute [2, 0, 3, 1]",
            [](const std::vector<Tensor>& in) { return permute(in[0], {2, 0, 3, 1}); }, {p});
  gradcheck("transpose 1, 3",
            [](const std::vector<Tensor>& in) { return transpose(in[0], 1, 3); }, {p});

  const Tensor idx = indices({4, 0, 4, 2, 4, 1}, {6});  // repeats, and row 3 never selected
  for (int64_t dim : {0, 1, 2}) {
    const Tensor x = random_tensor({5, 5, 5}, 10 + dim).requires_grad_();
    gradcheck("index_select dim " + std::to_string(dim),
              [dim, idx](const std::vector<Tensor>& in) { return index_select(in[0], dim, idx); },
              {x});
  }
  const Tensor g = random_tensor({4, 6, 3}, 20).requires_grad_();
  for (int64_t dim : {0, 1, 2}) {
    Shape ishape = {3, 5, 2};
    ishape[dim] = 7;  // larger than x along dim: repeated targets
    const Tensor index = random_indices(ishape, g.size(dim), 30 + dim);
    gradcheck("gather dim " + std::to_string(dim),
              [dim, index](const std::vector<Tensor>& in) { return gather(in[0], dim, index); },
              {g});
  }
}

// ---------------------------------------------------------------- errors

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_the_shapes) {
  const Tensor a = zeros({2, 3}), b = zeros({2, 4});
  expect_error([&] { concat({a, b}, 0); }, {"concat", "[2, 4]", "[2, 3]", "dim 0"});
  expect_error([&] { concat({a, zeros({2, 3, 1})}, 0); }, {"concat", "[2, 3, 1]"});
  expect_error([&] { concat({a, zeros({2, 3}, Device::cpu(), DType::i32)}, 0); },
               {"concat", "i32", "f32"});
  expect_error([&] { concat({}, 0); }, {"concat"});
  expect_error([&] { concat({a, a}, 2); }, {"concat"});
  expect_error([&] { stack({a, b}, 0); }, {"stack", "[2, 4]", "[2, 3]"});
  expect_error([&] { permute(zeros({2, 3, 4}), {0, 0, 1}); }, {"permute", "[0, 0, 1]", "repeat"});
  expect_error([&] { permute(zeros({2, 3, 4}), {0, 1}); }, {"permute", "[0, 1]", "rank 3"});
  expect_error([&] { permute(zeros({2, 3}), {0, 2}); }, {"permute"});
  expect_error([&] { transpose(a, 0, 2); }, {"transpose"});
  expect_error([&] { index_select(a, 0, indices({0, 2}, {2})); },
               {"index_select", "index 2", "size 2"});
  expect_error([&] { index_select(a, 1, zeros({2})); }, {"index_select", "index"});
  expect_error([&] { index_select(a, 0, indices({0, 1, 0, 1}, {2, 2})); },
               {"index_select", "[2, 2]", "1-D"});
  expect_error([&] { gather(a, 1, indices({0, 1}, {2})); }, {"gather", "[2]", "[2, 3]", "rank"});
  expect_error([&] { gather(a, 1, indices({0, 0, 0, 0, 0, 0}, {3, 2})); },
               {"gather", "[3, 2]", "[2, 3]", "dim 0"});
  expect_error([&] { gather(a, 1, indices({0, 3}, {2, 1})); }, {"gather", "index 3", "size 3"});
}

// ---------------------------------------------------------------- CUDA parity

NF_CUDA_TEST_CASE(cuda_parity_concat_stack_permute) {
  const Tensor a = random_tensor({300, 7, 3}, 1).requires_grad_();
  const Tensor b = random_tensor({300, 5, 3}, 2).requires_grad_();
  check_cuda_parity("concat dim 1", [](const std::vector<Tensor>& in) { return concat(in, 1); },
                    {a, b}, 0, 0);
  const Tensor c = random_tensor({1000, 7, 3}, 3).requires_grad_();
  check_cuda_parity("concat dim 0", [](const std::vector<Tensor>& in) { return concat(in, 0); },
                    {a, c}, 0, 0);
  const Tensor d = random_tensor({300, 7, 3}, 4).requires_grad_();
  check_cuda_parity("stack dim 2", [](const std::vector<Tensor>& in) { return stack(in, 2); },
                    {a, d}, 0, 0);
  const Tensor p = random_tensor({5, 6, 7, 8, 3}, 5).requires_grad_();
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{
           {4, 3, 2, 1, 0}, {0, 2, 1, 4, 3}, {1, 0, 2, 3, 4}, {3, 4, 0, 1, 2}})
    check_cuda_parity("permute " + shape_str(dims),
                      [dims](const std::vector<Tensor>& in) { return permute(in[0], dims); }, {p},
                      0, 0);
  const Tensor big = random_tensor({513, 1031}, 6).requires_grad_();
  check_cuda_parity("transpose [513, 1031]",
                    [](const std::vector<Tensor>& in) { return transpose(in[0], 0, 1); }, {big},
                    0, 0);
  // Integer data moves bit for bit.
  const Tensor li = indices({1, 2, 3, 4, 5, 6}, {2, 3}), lj = indices({7, 8}, {2, 1});
  const std::vector<int32_t> cat_cpu = concat({li, lj}, 1).to_vector<int32_t>();
  const std::vector<int32_t> cat_gpu = concat({li.cuda(), lj.cuda()}, 1).to_vector<int32_t>();
  BOOST_TEST(cat_cpu == cat_gpu, boost::test_tools::per_element());
  BOOST_TEST(permute(li, {1, 0}).to_vector<int32_t>() ==
                 permute(li.cuda(), {1, 0}).to_vector<int32_t>(),
             boost::test_tools::per_element());
}

NF_CUDA_TEST_CASE(cuda_parity_index_select_gather) {
  // Gradients are deterministic on both devices and summed in the same order: exact match.
  const Tensor x = random_tensor({1000, 37}, 11).requires_grad_();
  const Tensor rows = random_indices({513}, 1000, 12);  // many repeats
  check_cuda_parity("index_select dim 0 [1000, 37]",
                    [rows](const std::vector<Tensor>& in) {
                      return index_select(in[0], 0, rows.to(in[0].device()));
                    },
                    {x}, 0, 0);
  const Tensor x3 = random_tensor({7, 300, 5}, 13).requires_grad_();
  const Tensor mids = random_indices({1000}, 300, 14);
  check_cuda_parity("index_select dim 1 [7, 300, 5]",
                    [mids](const std::vector<Tensor>& in) {
                      return index_select(in[0], 1, mids.to(in[0].device()));
                    },
                    {x3}, 0, 0);
  const Tensor logits = random_tensor({1000, 10}, 15).requires_grad_();
  const Tensor pick = random_indices({1000, 3}, 10, 16);
  check_cuda_parity("gather dim 1 [1000, 10]",
                    [pick](const std::vector<Tensor>& in) {
                      return gather(in[0], 1, pick.to(in[0].device()));
                    },
                    {logits}, 0, 0);
  const Tensor g = random_tensor({40, 9, 11}, 17).requires_grad_();
  const Tensor gi = random_indices({60, 8, 11}, 40, 18);
  check_cuda_parity("gather dim 0 [40, 9, 11]",
                    [gi](const std::vector<Tensor>& in) {
                      return gather(in[0], 0, gi.to(in[0].device()));
                    },
                    {g}, 0, 0);
}

NF_CUDA_TEST_CASE(cuda_out_of_range_index_poisons_the_output) {
  // No host sync to validate: the element reads as NaN (f32) / -1 (i32) instead.
  const Tensor x = fv(iota(6), {3, 2}).cuda();
  const std::vector<float> y = index_select(x, 0, indices({1, 7}, {2}).cuda()).to_vector<float>();
  BOOST_TEST(y[0] == 2.0f);
  BOOST_TEST(y[1] == 3.0f);
  BOOST_TEST(std::isnan(y[2]));
  BOOST_TEST(std::isnan(y[3]));
  const Tensor xi = indices({1, 2, 3}, {3}).cuda();
  BOOST_TEST(gather(xi, 0, indices({2, -1}, {2}).cuda()).to_vector<int32_t>() ==
                 std::vector<int32_t>({3, -1}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
