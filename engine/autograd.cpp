// autograd.cpp — the tape engine: record() builds nodes, run_backward() walks them.
#include "engine/autograd.h"

#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "engine/dispatch.h"
#include "engine/ops/basic.h"

namespace nanofed {

namespace {
thread_local bool t_grad_enabled = true;
bool g_detect_anomaly = false;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
NoGrad::NoGrad() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGrad::~NoGrad() { t_grad_enabled = previous_; }

RequiresGradOff::RequiresGradOff(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  required_.reserve(tensors_.size());
  for (const Tensor& t : tensors_) required_.push_back(t.requires_grad());
  // requires_grad_(false) does not throw: the scope is never left half applied.
  for (Tensor& t : tensors_) t.requires_grad_(false);
}

RequiresGradOff::~RequiresGradOff() {
  for (size_t i = 0; i < tensors_.size(); ++i) tensors_[i].requires_grad_(required_[i]);
}

void set_detect_anomaly(bool on) { g_detect_anomaly = on; }
bool detect_anomaly() { return g_detect_anomaly; }

bool needs_tape(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) return true;
  return false;
}
bool needs_tape(std::initializer_list<Tensor> inputs) { return needs_tape(std::vector<Tensor>(inputs)); }

Tensor record(const char* op, Tensor output, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!needs_tape(inputs)) return output;
  auto node = std::make_shared<Node>();
  node->name = op;
  for (Tensor& t : inputs) {
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape{});
    node->input_devices.push_back(t.defined() ? t.device() : Device::cpu());
    node->inputs.push_back(t.requires_grad() ? t : Tensor());
  }
  node->output_shape = output.shape();
  node->output_device = output.device();
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

bool Grads::wants(size_t i) const { return i < node_.inputs.size() && node_.inputs[i].defined(); }

void Grads::set(size_t i, Tensor grad) {
  NF_CHECK(i < out_.size(), node_.name << " backward: gradient for input " << i << " but the op has "
                                       << out_.size() << " inputs");
  if (!wants(i) || !grad.defined()) return;
  NF_CHECK(grad.shape() == node_.input_shapes[i] && grad.device() == node_.input_devices[i] &&
               grad.dtype() == DType::f32,
           node_.name << " backward: gradient " << grad.str() << " for input " << i << " does not match "
                      << "the input's shape " << shape_str(node_.input_shapes[i]) << " on "
                      << node_.input_devices[i].str());
  out_[i] = std::move(grad);
}

namespace {

// Sums `g` into `slot`. A slot may alias another tensor (a pass-through gradient), so the
// first accumulation into it makes a private copy; later ones add in place.
struct GradSlot {
  Tensor grad;
  bool owned = false;
};
void accumulate(GradSlot& slot, const Tensor& g) {
  if (!slot.grad.defined()) {
    slot.grad = g;
    return;
  }
  if (!slot.owned) {
    slot.grad = slot.grad.clone();
    slot.owned = true;
  }
  NF_DISPATCH(g.device(), axpy_f32, 1.0f, g.data<float>(), slot.grad.data<float>(), g.numel());
}

void accumulate_leaf(const Tensor& leaf, const Tensor& g) {
  TensorImpl& impl = *leaf.impl();
  if (!impl.grad) {
    impl.grad = g.clone().impl();  // a fresh buffer: g may alias other tensors
    return;
  }
  Tensor acc(impl.grad);
  NF_DISPATCH(g.device(), axpy_f32, 1.0f, g.data<float>(), acc.data<float>(), g.numel());
}

void check_finite(const Node& node, size_t input, const Tensor& g) {
  for (float v : g.to_vector<float>())
    NF_CHECK(std::isfinite(v), "anomaly: backward of '" << node.name << "' produced " << v
                                   << " in the gradient of input " << input << " " << g.str());
}

// Reverse topological order of the nodes reachable from `root` (iterative DFS: long tapes
// such as an unrolled PGD do not overflow the stack).
std::vector<std::shared_ptr<Node>> topo_order(const std::shared_ptr<Node>& root) {
  std::vector<std::shared_ptr<Node>> post;
  std::unordered_set<Node*> seen{root.get()};
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& in = node->inputs[next++];
      if (in.defined() && in.grad_fn() && seen.insert(in.grad_fn().get()).second)
        stack.push_back({in.grad_fn(), 0});
    } else {
      post.push_back(node);
      stack.pop_back();
    }
  }
  return {post.rbegin(), post.rend()};
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output) {
  NF_CHECK(root.requires_grad(), "backward: the tensor " << root.str()
                                     << " does not require grad (no input had requires_grad, or it "
                                        "was computed under NoGrad)");
  NoGrad no_grad;
  Tensor seed = grad_output;
  if (!seed.defined()) {
    NF_CHECK(root.numel() == 1, "backward: grad_output can be omitted only for a single-element "
                                "tensor; got " << root.str());
    seed = ones(root.shape(), root.device());
  }
  NF_CHECK(seed.shape() == root.shape() && seed.device() == root.device(),
           "backward: grad_output " << seed.str() << " does not match " << root.str());
  if (root.is_leaf()) {
    accumulate_leaf(root, seed);
    return;
  }

  std::unordered_map<Node*, GradSlot> pending;
  pending[root.grad_fn().get()].grad = seed;
  for (const std::shared_ptr<Node>& node : topo_order(root.grad_fn())) {
    auto it = pending.find(node.get());
    if (it == pending.end()) continue;  // nothing flowed here (all consumers skipped it)
    const Tensor g = it->second.grad;
    pending.erase(it);
    NF_CHECK(node->backward, "backward: '" << node->name << "' was already backpropagated through "
                             "and its saved tensors freed (call backward once per forward)");
    std::vector<Tensor> input_grads(node->inputs.size());
    Grads grads(*node, input_grads);
    node->backward(g, grads);
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Tensor& gi = input_grads[i];
      if (!gi.defined()) continue;
      if (g_detect_anomaly) check_finite(*node, i, gi);
      const Tensor& in = node->inputs[i];
      if (in.grad_fn()) accumulate(pending[in.grad_fn().get()], gi);
      else accumulate_leaf(in, gi);
    }
    node->backward = nullptr;  // free the saved tensors now, like PyTorch's retain_graph=false
    node->inputs.assign(node->inputs.size(), Tensor());
  }
}

}  // namespace nanofed
