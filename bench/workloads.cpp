#include "bench/workloads.h"

#include "engine/ops/softmax.h"

namespace nanofed::bench {

const std::vector<WorkloadSpec>& workload_specs() {
  static const std::vector<WorkloadSpec> all = [] {
    std::vector<WorkloadSpec> v;
    for (auto part : {nn_workloads, robust_workloads, fl_workloads})
      for (WorkloadSpec& s : part()) v.push_back(std::move(s));
    return v;
  }();
  return all;
}

Tensor random_labels(int64_t n, int64_t classes, Generator& gen, Device device) {
  std::vector<int32_t> y(n);
  for (int32_t& v : y) v = (int32_t)gen.next_below((uint64_t)classes);
  return from_vector(y, {n}, device);
}

std::function<void()> train_step(std::shared_ptr<nn::Module> model, const nn::SGDOptions& options, Tensor x,
                                 Tensor y) {
  model->to(x.device());
  model->train();
  model->flat_gradients();
  auto opt = std::make_shared<nn::SGD>(model->parameters(), options);
  return [model, opt, x, y] {
    opt->zero_grad();
    cross_entropy((*model)(x), y).backward();
    opt->step();
  };
}

}  // namespace nanofed::bench
