// optim.cpp — checks and dispatch for the fused optimizer updates (see optim.h).
#include "engine/ops/optim.h"

#include <cmath>

namespace nanofed {

namespace {
// Every tensor: defined, f32, on param's device, param's element count.
void check_state(const char* op, const Tensor& param, const Tensor& t, const char* arg) {
  check_defined(op, t, arg);
  check_dtype(op, t, DType::f32, arg);
  check_same_device(op, param, t);
  NF_CHECK(t.numel() == param.numel(), op << ": " << arg << " has " << t.numel()
                                          << " elements, the parameter " << param.numel());
}
}  // namespace

void sgd_step_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
               double momentum, double dampening, double weight_decay, bool nesterov,
               bool first_step) {
  const char* op = "sgd_step_";
  check_state(op, param, param, "param");
  check_state(op, param, grad, "grad");
  NF_CHECK((momentum != 0.0) == momentum_buffer.defined(),
           op << ": a momentum buffer is needed iff momentum != 0 (momentum " << momentum << ")");
  float* buf = nullptr;
  if (momentum_buffer.defined()) {
    check_state(op, param, momentum_buffer, "momentum_buffer");
    buf = momentum_buffer.data<float>();
  }
  NF_DISPATCH(param.device(), sgd_step_f32, param.data<float>(), grad.data<float>(), buf,
              param.numel(), (float)lr, (float)momentum, (float)(1.0 - dampening),
              (float)weight_decay, nesterov, first_step);
}

void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, int64_t step, double lr,
                double beta1, double beta2, double eps, double weight_decay, bool decoupled) {
  const char* op = "adam_step_";
  check_state(op, param, param, "param");
  check_state(op, param, grad, "grad");
  check_state(op, param, exp_avg, "exp_avg");
  check_state(op, param, exp_avg_sq, "exp_avg_sq");
  NF_CHECK(step >= 1, op << ": step must be >= 1 (counted before the update), got " << step);
  float* vmax = nullptr;
  if (max_exp_avg_sq.defined()) {
    check_state(op, param, max_exp_avg_sq, "max_exp_avg_sq");
    vmax = max_exp_avg_sq.data<float>();
  }
  // Host scalars in double, as torch.optim computes them from Python floats.
  const double bias_correction1 = 1.0 - std::pow(beta1, (double)step);
  const double bias_correction2 = 1.0 - std::pow(beta2, (double)step);
  NF_DISPATCH(param.device(), adam_step_f32, param.data<float>(), grad.data<float>(),
              exp_avg.data<float>(), exp_avg_sq.data<float>(), vmax, param.numel(), (float)beta1,
              (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2), (float)eps,
              (float)weight_decay, decoupled, (float)(1.0 - lr * weight_decay),
              (float)(lr / bias_correction1), (float)std::sqrt(bias_correction2));
}

}  // namespace nanofed
