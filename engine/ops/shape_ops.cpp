// shape_ops.cpp — Tensor-level concat / stack / permute / transpose / index_select / gather.
#include "engine/ops/shape_ops.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"

namespace nanofed {

namespace {

// Shape viewed as [outer, shape[dim], inner].
int64_t outer_of(const Shape& s, int64_t dim) {
  int64_t p = 1;
  for (int64_t d = 0; d < dim; ++d) p *= s[d];
  return p;
}
int64_t inner_of(const Shape& s, int64_t dim) {
  int64_t p = 1;
  for (int64_t d = dim + 1; d < (int64_t)s.size(); ++d) p *= s[d];
  return p;
}

std::string dims_str(const std::vector<int64_t>& dims) { return shape_str(dims); }

// index_select's and gather's common checks: both defined, an i32 index on x's device.
void check_input_and_index(const char* op, const Tensor& x, const Tensor& index) {
  check_defined(op, x);
  check_defined(op, index, "index");
  check_dtype(op, index, DType::i32, "index");
  check_same_device(op, x, index);
}

void check_index(const char* op, const Tensor& index, int64_t size, int64_t dim) {
  if (!index.device().is_cpu()) return;  // GPU: no host sync (out-of-range -> poison value)
  const int32_t* v = index.data<int32_t>();
  for (int64_t i = 0; i < index.numel(); ++i)
    NF_CHECK(v[i] >= 0 && v[i] < size, op << ": index " << v[i] << " at position " << i
                                          << " is out of range for dim " << dim << " of size "
                                          << size);
}

}  // namespace

// ---- concat / stack ----

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  const char* op = "concat";
  NF_CHECK(!xs.empty(), op << ": needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) check_defined(op, xs[i]);
  const Tensor& first = xs[0];
  NF_CHECK(first.dim() >= 1, op << ": zero-dimensional tensor " << first.str()
                                << " cannot be concatenated");
  const int64_t d = normalize_dim(dim, first.dim(), op);
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check_same_device(op, first, x);
    NF_CHECK(x.dtype() == first.dtype(), op << ": tensor " << i << " is " << x.str()
                                            << " but tensor 0 is " << first.str());
    bool match = x.dim() == first.dim();
    for (int64_t k = 0; match && k < x.dim(); ++k) match = k == d || x.size(k) == first.size(k);
    NF_CHECK(match, op << ": tensor " << i << " has shape " << shape_str(x.shape())
                       << " but tensor 0 has " << shape_str(first.shape())
                       << " (all dims except dim " << d << " must match)");
    out_shape[d] += x.size(d);
  }
  const Device dev = first.device();
  const size_t elem = dtype_size(first.dtype());
  const int64_t outer = outer_of(out_shape, d), inner = inner_of(out_shape, d);
  const int64_t out_cols = out_shape[d] * inner;
  Tensor out = empty(out_shape, dev, first.dtype());
  // Each input is a [outer, size_i * inner] band of the [outer, out_cols] output.
  std::vector<int64_t> band_offset(xs.size()), band_cols(xs.size()), sizes(xs.size());
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    sizes[i] = xs[i].size(d);
    band_offset[i] = offset;
    band_cols[i] = xs[i].size(d) * inner;
    offset += band_cols[i];
    if (xs[i].numel() > 0)
      NF_DISPATCH(dev, copy_rows, xs[i].raw_data(), band_cols[i],
                  static_cast<char*>(out.raw_data()) + band_offset[i] * elem, out_cols, outer,
                  band_cols[i], elem);
  }
  const size_t count = xs.size();
  return record(op, out, xs, [=](const Tensor& grad_out, Grads& grads) {
    for (size_t i = 0; i < count; ++i) {
      if (!grads.wants(i)) continue;
      Shape shape = out_shape;
      shape[d] = sizes[i];
      Tensor g = empty(shape, dev);
      if (g.numel() > 0)
        NF_DISPATCH(dev, copy_rows, grad_out.data<float>() + band_offset[i], out_cols,
                    g.raw_data(), band_cols[i], outer, band_cols[i], sizeof(float));
      grads.set(i, g);
    }
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  const char* op = "stack";
  NF_CHECK(!xs.empty(), op << ": needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) {
    check_defined(op, xs[i]);
    NF_CHECK(xs[i].shape() == xs[0].shape(), op << ": tensor " << i << " has shape "
                                                << shape_str(xs[i].shape()) << " but tensor 0 has "
                                                << shape_str(xs[0].shape())
                                                << " (stack needs equal shapes)");
  }
  const int64_t d = normalize_dim(dim, xs[0].dim() + 1, op);
  Shape unsqueezed = xs[0].shape();
  unsqueezed.insert(unsqueezed.begin() + d, 1);
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(x.reshape(unsqueezed));
  return concat(parts, d);
}

// ---- permute / transpose ----

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const char* op = "permute";
  check_defined(op, x);
  const int64_t rank = x.dim();
  NF_CHECK((int64_t)dims.size() == rank, op << ": dims " << dims_str(dims) << " has "
                                            << dims.size() << " entries but the input "
                                            << shape_str(x.shape()) << " has rank " << rank);
  NF_CHECK(rank <= kMaxPermuteRank, op << ": rank " << rank << " of " << shape_str(x.shape())
                                       << " exceeds the supported " << kMaxPermuteRank);
  std::vector<int64_t> perm(rank), inverse(rank, -1);
  for (int64_t k = 0; k < rank; ++k) {
    perm[k] = normalize_dim(dims[k], rank, op);
    NF_CHECK(inverse[perm[k]] < 0, op << ": dims " << dims_str(dims) << " repeat dim "
                                      << perm[k] << " (expected a permutation of 0.."
                                      << rank - 1 << ")");
    inverse[perm[k]] = k;
  }
  Shape out_shape(rank);
  int64_t in_strides[kMaxPermuteRank], stride = 1, x_strides[kMaxPermuteRank];
  for (int64_t k = rank - 1; k >= 0; --k) {
    x_strides[k] = stride;
    stride *= x.size(k);
  }
  for (int64_t k = 0; k < rank; ++k) {
    out_shape[k] = x.size(perm[k]);
    in_strides[k] = x_strides[perm[k]];
  }
  Tensor out = empty(out_shape, x.device(), x.dtype());
  NF_DISPATCH(x.device(), permute_copy, x.raw_data(), out.raw_data(), dtype_size(x.dtype()),
              (int)rank, out_shape.data(), in_strides, x.numel());
  return record(op, out, {x}, [inverse](const Tensor& grad_out, Grads& grads) {
    grads.set(0, permute(grad_out, inverse));
  });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  check_defined("transpose", x);
  const int64_t d0 = normalize_dim(dim0, x.dim(), "transpose");
  const int64_t d1 = normalize_dim(dim1, x.dim(), "transpose");
  std::vector<int64_t> dims(x.dim());
  for (int64_t k = 0; k < x.dim(); ++k) dims[k] = k;
  std::swap(dims[d0], dims[d1]);
  return permute(x, dims);
}

// ---- index_select ----

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  const char* op = "index_select";
  check_input_and_index(op, x, index);
  NF_CHECK(index.dim() <= 1, op << ": index " << shape_str(index.shape()) << " must be 1-D");
  NF_CHECK(x.dim() >= 1, op << ": input " << x.str() << " must have at least one dim");
  const int64_t d = normalize_dim(dim, x.dim(), op);
  const int64_t D = x.size(d), K = index.numel();
  check_index(op, index, D, d);
  const int64_t outer = outer_of(x.shape(), d), inner = inner_of(x.shape(), d);
  Shape out_shape = x.shape();
  out_shape[d] = K;
  const Device dev = x.device();
  Tensor out = empty(out_shape, dev, x.dtype());
  NF_DISPATCH(dev, index_select_forward, x.raw_data(), index.data<int32_t>(), out.raw_data(),
              dtype_size(x.dtype()), outer, D, inner, K);
  const Tensor index_saved = index.detach();
  const Shape x_shape = x.shape();
  return record(op, out, {x}, [=](const Tensor& grad_out, Grads& grads) {
    Tensor grad_x = empty(x_shape, dev);
    Tensor scratch = empty({2 * K}, dev, DType::i32);
    NF_DISPATCH(dev, index_select_backward, grad_out.data<float>(),
                index_saved.data<int32_t>(), scratch.data<int32_t>(), grad_x.data<float>(),
                outer, D, inner, K);
    grads.set(0, grad_x);
  });
}

// ---- gather ----

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  const char* op = "gather";
  check_input_and_index(op, x, index);
  NF_CHECK(x.dim() >= 1 && x.dim() <= kMaxPermuteRank,
           op << ": input " << shape_str(x.shape()) << " must have rank 1.." << kMaxPermuteRank);
  NF_CHECK(index.dim() == x.dim(), op << ": index " << shape_str(index.shape())
                                      << " must have the same rank as the input "
                                      << shape_str(x.shape()));
  const int64_t d = normalize_dim(dim, x.dim(), op);
  for (int64_t k = 0; k < x.dim(); ++k)
    NF_CHECK(k == d || index.size(k) <= x.size(k),
             op << ": index " << shape_str(index.shape()) << " is larger than the input "
                << shape_str(x.shape()) << " in dim " << k << " (only dim " << d
                << " may be larger)");
  check_index(op, index, x.size(d), d);
  const Device dev = x.device();
  Tensor out = empty(index.shape(), dev, x.dtype());
  const int rank = (int)x.dim();
  NF_DISPATCH(dev, gather_forward, x.raw_data(), index.data<int32_t>(), out.raw_data(),
              dtype_size(x.dtype()), rank, x.shape().data(), index.shape().data(), d);
  const Tensor index_saved = index.detach();
  const Shape x_shape = x.shape();
  return record(op, out, {x}, [=](const Tensor& grad_out, Grads& grads) {
    Tensor grad_x = empty(x_shape, dev);
    NF_DISPATCH(dev, gather_backward, grad_out.data<float>(), index_saved.data<int32_t>(),
                grad_x.data<float>(), rank, x_shape.data(), index_saved.shape().data(), d);
    grads.set(0, grad_x);
  });
}

}  // namespace nanofed
