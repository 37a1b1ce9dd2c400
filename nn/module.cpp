#include "nn/module.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "engine/ops/elementwise.h"
#include "engine/text.h"

namespace nanofed::nn {

// ---------------------------------------------------------------- arenas

namespace {
// Points `t` (in place: every handle sharing its impl sees it) at `numel` elements of
// `storage` starting at element `offset`.
void rebind(const Tensor& t, const Tensor& arena, int64_t offset) {
  t.impl()->storage = arena.impl()->storage;
  t.impl()->offset = arena.impl()->offset + (size_t)offset;
}
}  // namespace

Tensor contiguous_span(const std::vector<Tensor>& tensors, Device device) {
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined() || t.device() != device || t.dtype() != DType::f32) return Tensor();
    if (i && (!t.same_storage(tensors[0]) ||
              t.impl()->offset != tensors[i - 1].impl()->offset + (size_t)tensors[i - 1].numel()))
      return Tensor();
    total += t.numel();
  }
  if (tensors.empty()) return Tensor();
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = tensors[0].impl()->storage;
  impl->offset = tensors[0].impl()->offset;
  impl->shape = {total};
  return Tensor(impl);
}

Tensor flatten_into_arena(const std::vector<Tensor>& tensors, Device device) {
  int64_t total = 0;
  for (const Tensor& t : tensors) {
    NF_CHECK(t.dtype() == DType::f32, "flatten_into_arena: only f32 tensors share an arena, got " << t.str());
    total += t.numel();
  }
  if (tensors.empty()) return empty({0}, device);
  if (Tensor span = contiguous_span(tensors, device); span.defined()) return span;
  Tensor arena = empty({total}, device);
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    arena.view_range(offset, t.shape()).copy_(t);
    rebind(t, arena, offset);
    offset += t.numel();
  }
  return arena;
}

Generator& default_generator() {
  static Generator gen(0);
  return gen;
}
void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

// ---------------------------------------------------------------- registration

static void check_name(const std::string& name, const char* what) {
  NF_CHECK(!name.empty() && name.find('.') == std::string::npos,
           what << ": name '" << name << "' must be non-empty and contain no '.'");
}

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  check_name(name, "register_parameter");
  for (auto& [n, t] : params_) NF_CHECK(n != name, "register_parameter: '" << name << "' registered twice");
  Tensor p = value.is_leaf() ? value : value.detach();
  p.requires_grad_(true);
  params_.push_back({name, p});
  return p;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(name, "register_buffer");
  for (auto& [n, t] : buffers_) NF_CHECK(n != name, "register_buffer: '" << name << "' registered twice");
  buffers_.push_back({name, value.detach()});
  return buffers_.back().second;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_name(name, "register_module");
  NF_CHECK(module != nullptr, "register_module: '" << name << "' is null");
  for (auto& [n, m] : children_) NF_CHECK(n != name, "register_module: '" << name << "' registered twice");
  children_.push_back({name, std::move(module)});
}

// ---------------------------------------------------------------- traversal

void Module::collect(const std::string& prefix, NamedTensors* params, NamedTensors* buffers) const {
  if (params)
    for (auto& [n, t] : params_) params->push_back({prefix + n, t});
  if (buffers)
    for (auto& [n, t] : buffers_) buffers->push_back({prefix + n, t});
  for (auto& [n, child] : children_) child->collect(prefix + n + ".", params, buffers);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", &out, nullptr);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", nullptr, &out);
  return out;
}

// PyTorch order: each module's parameters, then its buffers, then its children.
NamedTensors Module::state_dict() const {
  NamedTensors out;
  for (auto& [n, t] : params_) out.push_back({n, t});
  for (auto& [n, t] : buffers_) out.push_back({n, t});
  for (auto& [name, child] : children_)
    for (auto& [n, t] : child->state_dict()) out.push_back({name + "." + n, t});
  return out;
}

namespace {
// PyTorch's BatchNorm counter ("bn1.num_batches_tracked", I64): a PyTorch-written state_dict
// has one per BatchNorm; our BatchNorm has no such buffer (nothing reads it without
// momentum=None), so a load ignores it rather than calling it unexpected.
bool is_num_batches_tracked(const std::string& name) {
  const std::string key = "num_batches_tracked";
  return name == key || ends_with(name, "." + key);
}
}  // namespace

void Module::check_state_dict(const NamedTensors& state, bool strict) const {
  std::unordered_map<std::string, Tensor> own;
  for (auto& [n, t] : state_dict()) own[n] = t;
  std::unordered_map<std::string, bool> given;
  for (auto& [name, value] : state) {
    given[name] = true;
    auto it = own.find(name);
    if (it == own.end()) {
      NF_CHECK(!strict || is_num_batches_tracked(name), "load_state_dict: unexpected key '" << name << "'");
      continue;
    }
    const Tensor& dst = it->second;
    NF_CHECK(value.shape() == dst.shape(), "load_state_dict: '" << name << "' has shape "
                                               << shape_str(value.shape()) << ", the model expects "
                                               << shape_str(dst.shape()));
    NF_CHECK(value.dtype() == dst.dtype(), "load_state_dict: '" << name << "' is " << dtype_name(value.dtype())
                                               << ", the model expects " << dtype_name(dst.dtype()));
  }
  if (strict)
    for (auto& [n, t] : state_dict()) NF_CHECK(given.count(n), "load_state_dict: missing key '" << n << "'");
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  check_state_dict(state, strict);
  std::unordered_map<std::string, Tensor> own;
  for (auto& [n, t] : state_dict()) own[n] = t;
  for (auto& [name, value] : state) {
    auto it = own.find(name);
    if (it != own.end()) it->second.copy_(value);
  }
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

namespace {
// "Normalize(mean=[0.1307], std=[0.3081])"; per-pixel statistics by their shape only.
std::string normalization_repr(const Tensor& mean, const Tensor& std) {
  if (mean.numel() > 8) return "Normalize(mean=" + shape_str(mean.shape()) + ", std=" + shape_str(std.shape()) + ")";
  auto list = [](const Tensor& t) {
    std::vector<std::string> items;
    for (float v : t.to_vector()) items.push_back(fmt(v, "%.4g"));
    return "[" + join(items) + "]";
  };
  return "Normalize(mean=" + list(mean) + ", std=" + list(std) + ")";
}
}  // namespace

std::string Module::str_indented(int indent) const {
  if (children_.empty() && !has_input_normalization()) return repr();
  std::string s = repr() + "(\n";
  const std::string pad(indent + 2, ' ');
  if (has_input_normalization())
    s += pad + "(input_normalization): " + normalization_repr(input_mean_, input_std_) + "\n";
  for (auto& [name, child] : children_) s += pad + "(" + name + "): " + child->str_indented(indent + 2) + "\n";
  return s + std::string(indent, ' ') + ")";
}
std::string Module::str() const { return str_indented(0); }

// ---------------------------------------------------------------- modes, grads, devices

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (const Tensor& p : parameters()) p.zero_grad();
}

Device Module::device() const {
  for (auto& [n, t] : state_dict()) return t.device();
  return Device::cpu();
}

void Module::to(Device device) {
  std::vector<Tensor> params = parameters(), grads, f32_buffers;
  bool all_grads = !params.empty();
  for (const Tensor& p : params) {
    if (!p.grad().defined()) all_grads = false;
    grads.push_back(p.grad());
  }
  flatten_into_arena(params, device);
  if (all_grads) {
    flatten_into_arena(grads, device);
  } else {
    for (const Tensor& p : params) p.set_grad(Tensor());  // gradients on the old device are dropped
  }
  for (auto& [n, b] : named_buffers()) {
    if (b.dtype() == DType::f32) {
      f32_buffers.push_back(b);
    } else if (b.device() != device) {  // non-f32 buffers move one by one
      Tensor moved = b.to(device);
      b.impl()->storage = moved.impl()->storage;
      b.impl()->offset = moved.impl()->offset;
    }
  }
  flatten_into_arena(f32_buffers, device);
  if (has_input_normalization()) {
    input_mean_ = input_mean_.to(device);
    input_std_ = input_std_.to(device);
  }
}

// ---------------------------------------------------------------- input normalization

Tensor Module::operator()(const Tensor& x) {
  if (!has_input_normalization()) return forward(x);
  return forward(div(sub(x, input_mean_), input_std_));
}

void Module::set_input_normalization(Tensor mean, Tensor std) {
  NF_CHECK(mean.defined() == std.defined(), "set_input_normalization: mean and std must both be given or both be undefined");
  if (!mean.defined()) {
    input_mean_ = input_std_ = Tensor();
    return;
  }
  NF_CHECK(mean.dtype() == DType::f32 && std.dtype() == DType::f32,
           "set_input_normalization: mean and std must be f32, got " << mean.str() << " and " << std.str());
  NF_CHECK(mean.shape() == std.shape(), "set_input_normalization: mean " << shape_str(mean.shape())
                                            << " and std " << shape_str(std.shape()) << " differ in shape");
  for (float s : std.to_vector())
    NF_CHECK(s > 0 && std::isfinite(s), "set_input_normalization: std must be positive and finite, got " << s);
  const Device dev = device();  // a copy: later changes to the caller's tensors do not leak in
  input_mean_ = mean.detach().to(dev).clone();
  input_std_ = std.detach().to(dev).clone();
}

Tensor Module::flat_parameters() { return flatten_into_arena(parameters(), device()); }

Tensor Module::flat_gradients() {
  const Device dev = device();
  flat_parameters();
  std::vector<Tensor> params = parameters(), grads;
  for (const Tensor& p : params) grads.push_back(p.grad().defined() ? p.grad() : zeros(p.shape(), dev));
  Tensor arena = flatten_into_arena(grads, dev);
  for (size_t i = 0; i < params.size(); ++i)
    if (!params[i].grad().defined()) params[i].set_grad(grads[i]);
  return arena;
}

Tensor Module::flat_buffers() {
  std::vector<Tensor> f32_buffers;
  for (auto& [n, b] : named_buffers())
    if (b.dtype() == DType::f32) f32_buffers.push_back(b);
  return flatten_into_arena(f32_buffers, device());
}

// ---------------------------------------------------------------- EvalMode

namespace {
void collect_modes(Module& m, std::vector<std::pair<Module*, bool>>& out) {
  out.emplace_back(&m, m.is_training());
  for (const auto& [name, child] : m.children()) collect_modes(*child, out);
}
}  // namespace

EvalMode::EvalMode(Module& model) {
  collect_modes(model, modes_);
  model.eval();
}

EvalMode::~EvalMode() {
  for (const auto& [module, training] : modes_) module->train(training);
}

InputGradientScope::InputGradientScope(Module& model)
    : eval_mode_(model), frozen_(model.parameters()) {}

}  // namespace nanofed::nn
