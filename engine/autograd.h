// autograd.h — the tape.
//
// Each op computes its forward, then calls record(...) with the output, the inputs it is
// differentiable in, and a backward closure written right beside the forward. When grad mode
// is on and any of those inputs requires grad, the output gets a Node holding the closure.
// Tensor::backward() walks the nodes in reverse topological order; each closure receives the
// gradient of its output and fills Grads for the inputs that want one (grads.wants(i)), so an
// op can skip work nobody needs: a PGD step that wants d(loss)/d(input) only never runs the
// weight-gradient GEMMs. Closures run in no-grad mode (no higher-order gradients).
//
// Saved tensors: a closure captures what it needs by value. It must never capture its own
// output with history (that would be a reference cycle); capture out.detach() instead.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace nanofed {

class Grads {
 public:
  Grads(const Node& node, std::vector<Tensor>& out) : node_(node), out_(out) {}
  bool wants(size_t i) const;          // input i requires grad
  void set(size_t i, Tensor grad);     // checks shape/device against input i
 private:
  const Node& node_;
  std::vector<Tensor>& out_;
};

using BackwardFn = std::function<void(const Tensor& grad_output, Grads& grads)>;

struct Node {
  std::string name;                 // the op, for error messages
  std::vector<Tensor> inputs;       // inputs that require grad; undefined where they do not
  std::vector<Shape> input_shapes;  // every input's shape, to check what a closure returns
  std::vector<Device> input_devices;
  Shape output_shape;
  Device output_device;
  BackwardFn backward;              // reset after it ran (the graph is freed)
};

// Grad mode (thread-local). NoGrad disables taping in its scope, like torch.no_grad().
bool grad_enabled();
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;
 private:
  bool previous_;
};

// requires_grad = false on `tensors` for a scope (each gets its own flag back on exit): with
// the parameters frozen, a backward from the loss computes only the input's gradient and no
// weight-gradient GEMM runs. nn::InputGradientScope adds eval mode for a whole model.
class RequiresGradOff {
 public:
  explicit RequiresGradOff(std::vector<Tensor> tensors);
  ~RequiresGradOff();
  RequiresGradOff(const RequiresGradOff&) = delete;
  RequiresGradOff& operator=(const RequiresGradOff&) = delete;
 private:
  std::vector<Tensor> tensors_;
  std::vector<bool> required_;
};

// True if grad mode is on and any input requires grad: the op should build a closure.
bool needs_tape(std::initializer_list<Tensor> inputs);
bool needs_tape(const std::vector<Tensor>& inputs);

// Attaches a node to `output` if needs_tape(inputs); returns output either way.
Tensor record(const char* op, Tensor output, std::vector<Tensor> inputs, BackwardFn backward);

// The engine behind Tensor::backward().
void run_backward(const Tensor& root, const Tensor& grad_output);

// Anomaly mode: after every backward closure, gradients are checked for NaN/Inf and the first
// offender is reported with the op's name and the input index (slow: copies to the host).
void set_detect_anomaly(bool on);
bool detect_anomaly();

}  // namespace nanofed
