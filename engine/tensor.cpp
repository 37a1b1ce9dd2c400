#include "engine/tensor.h"

#include <cmath>
#include <cstring>

#include "engine/dispatch.h"
#include "engine/ops/basic.h"
#include "engine/random.h"

namespace nanofed {

// ---------------------------------------------------------------- basics

void Tensor::check_defined(const char* what) const {
  NF_CHECK(impl_ != nullptr, what << ": the tensor is undefined (default-constructed)");
}

const Shape& Tensor::shape() const {
  check_defined("shape");
  return impl_->shape;
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }

DType Tensor::dtype() const {
  check_defined("dtype");
  return impl_->dtype;
}

Device Tensor::device() const {
  check_defined("device");
  return impl_->storage->device();
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " on " + device().str();
}

void* Tensor::raw_data() const {
  check_defined("data");
  return (char*)impl_->storage->data() + impl_->offset * dtype_size(impl_->dtype);
}

template <typename T>
T* Tensor::data() const {
  check_defined("data");
  NF_CHECK(impl_->dtype == dtype_of<T>::value,
           "data<" << dtype_name(dtype_of<T>::value) << ">: tensor holds " << dtype_name(impl_->dtype));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template int32_t* Tensor::data<int32_t>() const;
template uint8_t* Tensor::data<uint8_t>() const;

bool Tensor::same_storage(const Tensor& o) const {
  return defined() && o.defined() && impl_->storage == o.impl_->storage;
}

// A tensor sharing this one's storage with another shape / offset, no history.
static Tensor alias(const Tensor& t, size_t offset, Shape shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.impl()->storage;
  impl->offset = offset;
  impl->shape = std::move(shape);
  impl->dtype = t.dtype();
  return Tensor(impl);
}

// ---------------------------------------------------------------- creation

Tensor empty(const Shape& shape, Device device, DType dtype) {
  for (int64_t d : shape) NF_CHECK(d >= 0, "empty: negative dimension in shape " << shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>((size_t)shape_numel(shape) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(impl);
}

Tensor full(const Shape& shape, float value, Device device, DType dtype) {
  Tensor t = empty(shape, device, dtype);
  t.fill_(value);
  return t;
}
Tensor zeros(const Shape& shape, Device device, DType dtype) { return full(shape, 0.0f, device, dtype); }
Tensor ones(const Shape& shape, Device device, DType dtype) { return full(shape, 1.0f, device, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.device(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.device(), t.dtype()); }
Tensor full_like(const Tensor& t, float value) { return full(t.shape(), value, t.device(), t.dtype()); }
Tensor scalar_tensor(float value, Device device) { return full({}, value, device); }

Tensor arange(float start, float end, float step, Device device, DType dtype) {
  NF_CHECK(step != 0.0f, "arange: step must be nonzero");
  const double span = ((double)end - start) / step;
  const int64_t n = span > 0 ? (int64_t)std::ceil(span - 1e-9) : 0;
  Tensor t = empty({n}, device, dtype);
  if (dtype == DType::f32) {
    NF_DISPATCH(device, arange_f32, t.data<float>(), start, step, n);
  } else {
    NF_CHECK(dtype == DType::i32, "arange: dtype must be f32 or i32, got " << dtype_name(dtype));
    NF_DISPATCH(device, arange_i32, t.data<int32_t>(), (int32_t)start, (int32_t)step, n);
  }
  return t;
}
Tensor arange(int64_t n, Device device, DType dtype) { return arange(0.0f, (float)n, 1.0f, device, dtype); }

template <typename T>
static Tensor from_host(const std::vector<T>& data, const Shape& shape, Device device) {
  NF_CHECK((int64_t)data.size() == shape_numel(shape),
           "from_vector: " << data.size() << " values given for shape " << shape_str(shape) << " ("
                           << shape_numel(shape) << " elements)");
  Tensor t = empty(shape, device, dtype_of<T>::value);
  copy_bytes(t.raw_data(), device, data.data(), Device::cpu(), data.size() * sizeof(T));
  return t;
}
Tensor from_vector(const std::vector<float>& d, const Shape& s, Device dev) { return from_host(d, s, dev); }
Tensor from_vector(const std::vector<int32_t>& d, const Shape& s, Device dev) { return from_host(d, s, dev); }
Tensor from_vector(const std::vector<uint8_t>& d, const Shape& s, Device dev) { return from_host(d, s, dev); }

Tensor rand(const Shape& shape, Generator& gen, Device device) {
  Tensor t = empty(shape, device);
  const int64_t n = t.numel();
  NF_DISPATCH(device, uniform_f32, t.data<float>(), n, gen.seed(), gen.advance(n));
  return t;
}
Tensor randn(const Shape& shape, Generator& gen, Device device) {
  Tensor t = empty(shape, device);
  const int64_t n = t.numel();
  NF_DISPATCH(device, normal_f32, t.data<float>(), n, gen.seed(), gen.advance(n));
  return t;
}
Tensor bernoulli(const Shape& shape, float p, Generator& gen, Device device) {
  NF_CHECK(p >= 0.0f && p <= 1.0f, "bernoulli: p must be in [0, 1], got " << p);
  Tensor t = rand(shape, gen, device);
  NF_DISPATCH(device, threshold_below_f32, t.data<float>(), p, t.numel());
  return t;
}
Tensor uniform(const Shape& shape, float low, float high, Generator& gen, Device device) {
  NF_CHECK(high >= low, "uniform: high (" << high << ") must be >= low (" << low << ")");
  Tensor t = rand(shape, gen, device);
  NF_DISPATCH(device, affine_inplace_f32, t.data<float>(), high - low, low, t.numel());
  return t;
}
Tensor normal(const Shape& shape, float mean, float std, Generator& gen, Device device) {
  NF_CHECK(std >= 0.0f, "normal: std must be >= 0, got " << std);
  Tensor t = randn(shape, gen, device);
  NF_DISPATCH(device, affine_inplace_f32, t.data<float>(), std, mean, t.numel());
  return t;
}

// ---------------------------------------------------------------- checks

void check_defined(const char* op, const Tensor& t, const char* arg) {
  NF_CHECK(t.defined(), op << ": " << arg << " is an undefined tensor");
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  NF_CHECK(a.device() == b.device(), op << ": tensors are on different devices: "
                                        << a.str() << " and " << b.str());
}
void check_dtype(const char* op, const Tensor& t, DType expected, const char* arg) {
  NF_CHECK(t.dtype() == expected, op << ": " << arg << " must be " << dtype_name(expected) << ", got "
                                     << t.str());
}

// ---------------------------------------------------------------- devices and read-back

template <typename T>
std::vector<T> Tensor::to_vector() const {
  check_defined("to_vector");
  NF_CHECK(dtype() == dtype_of<T>::value, "to_vector<" << dtype_name(dtype_of<T>::value)
                                                       << ">: tensor holds " << dtype_name(dtype()));
  std::vector<T> out((size_t)numel());
  copy_bytes(out.data(), Device::cpu(), raw_data(), device(), nbytes());
  return out;
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

float Tensor::item() const {
  check_defined("item");
  NF_CHECK(numel() == 1, "item: tensor " << str() << " has " << numel() << " elements, expected 1");
  if (dtype() == DType::f32) return to_vector<float>()[0];
  if (dtype() == DType::i32) return (float)to_vector<int32_t>()[0];
  return (float)to_vector<uint8_t>()[0];
}

// ---------------------------------------------------------------- views
// (the differentiable ones, reshape, flatten and slice, are in tensor_graph.cpp)

Tensor Tensor::view_range(int64_t offset, Shape shape) const {
  check_defined("view_range");
  const int64_t n = shape_numel(shape);
  NF_CHECK(offset >= 0 && offset + n <= numel(),
           "view_range: elements [" << offset << ", " << offset + n << ") out of range for " << str());
  return alias(*this, impl_->offset + (size_t)offset, std::move(shape));
}

// ---------------------------------------------------------------- autograd surface
// (requires_grad_ and backward, which reach the graph, are in tensor_graph.cpp)

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad; }

bool Tensor::is_leaf() const { return defined() && !impl_->grad_fn; }

Tensor Tensor::grad() const {
  check_defined("grad");
  return impl_->grad ? Tensor(impl_->grad) : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  check_defined("set_grad");
  if (!g.defined()) {
    impl_->grad.reset();
    return;
  }
  NF_CHECK(g.shape() == shape() && g.device() == device() && g.dtype() == dtype(),
           "set_grad: gradient " << g.str() << " does not match tensor " << str());
  impl_->grad = g.impl();
}

void Tensor::zero_grad() const {
  check_defined("zero_grad");
  if (impl_->grad) Tensor(impl_->grad).fill_(0.0f);
}

Tensor Tensor::detach() const {
  check_defined("detach");
  return alias(*this, impl_->offset, shape());
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  check_defined("grad_fn");
  return impl_->grad_fn;
}

// ---------------------------------------------------------------- in-place helpers

Tensor& Tensor::fill_(float value) {
  check_defined("fill_");
  const int64_t n = numel();
  switch (dtype()) {
    case DType::f32: NF_DISPATCH(device(), fill_f32, data<float>(), value, n); break;
    case DType::i32: NF_DISPATCH(device(), fill_i32, data<int32_t>(), (int32_t)value, n); break;
    case DType::u8: NF_DISPATCH(device(), fill_u8, data<uint8_t>(), (uint8_t)value, n); break;
  }
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_defined("copy_");
  ::nanofed::check_defined("copy_", src, "source");
  NF_CHECK(src.numel() == numel() && src.dtype() == dtype(),
           "copy_: source " << src.str() << " does not match destination " << str());
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), nbytes());
  return *this;
}


}  // namespace nanofed
