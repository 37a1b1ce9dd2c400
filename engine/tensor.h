// tensor.h — the Tensor handle.
//
// A Tensor is a cheap handle (shared_ptr) to: a Storage, an element offset into it, a shape,
// a dtype and autograd metadata. Data is always contiguous row-major; views exist only for
// reshape (same elements, new shape), slicing along dim 0 and flat ranges (the parameter
// arena), and they share storage with their base. Copying a Tensor copies the handle.
//
// Autograd (engine/autograd.h): a tensor that requires grad and was produced by an op while
// grad mode is on carries a grad_fn node; leaves (requires_grad, no grad_fn) accumulate
// .grad() in backward(). Gradient buffers of leaves are reused (accumulated in place), so a
// leaf whose grad was set to a view into a gradient arena keeps writing into that arena.
#pragma once
#include <memory>
#include <vector>

#include "engine/common.h"
#include "engine/device.h"
#include "engine/storage.h"

namespace nanofed {

struct Node;
class Generator;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;     // op that produced this tensor (non-leaf)
};

class Tensor {
 public:
  Tensor() = default;  // undefined
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return (int64_t)shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(shape()); }
  DType dtype() const;
  Device device() const;
  size_t nbytes() const { return (size_t)numel() * dtype_size(dtype()); }
  std::string str() const;  // "f32[2, 3] on cpu"

  // Raw element pointer (device pointer for CUDA tensors). Checks the dtype.
  template <typename T> T* data() const;
  void* raw_data() const;

  // ---- devices and host read-back ----
  Tensor to(Device device) const;  // differentiable; returns *this if already there
  Tensor cpu() const { return to(Device::cpu()); }
  Tensor cuda() const { return to(Device::cuda()); }
  template <typename T = float> std::vector<T> to_vector() const;
  float item() const;  // single-element f32 tensor -> float

  // ---- views (share storage; differentiable) ----
  Tensor reshape(Shape shape) const;  // one dim may be -1
  Tensor view(Shape shape) const { return reshape(std::move(shape)); }
  Tensor flatten(int64_t start_dim = 0) const;  // dims start..end collapsed into one
  Tensor slice(int64_t begin, int64_t end) const;  // rows [begin, end) along dim 0
  // A view of numel(shape) elements starting at element `offset` of this tensor; for arenas.
  // Not recorded on the tape (the arena's leaves are the views themselves).
  Tensor view_range(int64_t offset, Shape shape) const;

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // only on leaves
  bool is_leaf() const;
  Tensor grad() const;                    // undefined until a backward reached it
  void set_grad(const Tensor& g) const;   // replaces the grad buffer (e.g. an arena view)
  void zero_grad() const;                 // fills an existing grad with 0 (keeps the buffer)
  void backward(const Tensor& grad_output = Tensor()) const;  // scalar root if none given
  Tensor detach() const;  // same storage, no history, requires_grad = false
  const std::shared_ptr<Node>& grad_fn() const;

  // ---- non-differentiable in-place helpers (optimizers, initializers) ----
  Tensor& fill_(float value);
  Tensor& copy_(const Tensor& src);  // same numel and dtype; any devices
  Tensor clone() const;              // new storage, same device, differentiable

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same_storage(const Tensor& o) const;

 private:
  void check_defined(const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

// ---- creation (f32 unless a dtype is given) ----
Tensor empty(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::f32);
Tensor zeros(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::f32);
Tensor ones(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::f32);
Tensor full(const Shape& shape, float value, Device device = Device::cpu(), DType dtype = DType::f32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, float value);
Tensor scalar_tensor(float value, Device device = Device::cpu());  // shape []
// [start, start+step, ...) < end, like torch.arange.
Tensor arange(float start, float end, float step = 1.0f, Device device = Device::cpu(),
              DType dtype = DType::f32);
Tensor arange(int64_t n, Device device = Device::cpu(), DType dtype = DType::f32);
// Copies host data; data.size() must equal numel(shape).
Tensor from_vector(const std::vector<float>& data, const Shape& shape, Device device = Device::cpu());
Tensor from_vector(const std::vector<int32_t>& data, const Shape& shape, Device device = Device::cpu());
Tensor from_vector(const std::vector<uint8_t>& data, const Shape& shape, Device device = Device::cpu());
// Random: uniform [0,1), standard normal, and {0,1} with P(1) = p (f32 values).
// Draws advance the generator, so the same seeded generator gives the same sequence.
Tensor rand(const Shape& shape, Generator& gen, Device device = Device::cpu());
Tensor randn(const Shape& shape, Generator& gen, Device device = Device::cpu());
Tensor bernoulli(const Shape& shape, float p, Generator& gen, Device device = Device::cpu());
// Fresh tensors drawn like rand/randn over [low, high) and N(mean, std^2).
Tensor uniform(const Shape& shape, float low, float high, Generator& gen, Device device = Device::cpu());
Tensor normal(const Shape& shape, float mean, float std, Generator& gen, Device device = Device::cpu());

// Checks used by every op: same device (naming the op and both tensors), dtype, rank.
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const Tensor& t, DType expected, const char* arg = "input");
void check_defined(const char* op, const Tensor& t, const char* arg = "input");

}  // namespace nanofed
