// workloads.h — nanofed's side of every benchmark workload (torch_ref.py has the same ones,
// same shapes, models, batch sizes and precision, under the same names).
//
// A workload is built once (models, optimizers, data: deterministic, seed 0) and then stepped:
// one step() is one iteration of what is measured (a training step, an FL round, a GEMM), and
// `items` per iteration turns seconds into the throughput `unit` (img/s, GFLOP/s, ...).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/random.h"
#include "engine/tensor.h"
#include "nn/module.h"
#include "nn/optim.h"

namespace nanofed::bench {

struct Workload {
  std::function<void()> step;
  double items = 1;  // per iteration, in the unit's numerator
  std::string unit;  // "img/s", "GFLOP/s", "steps/s", "rounds/s", "samples/s"
};

struct WorkloadSpec {
  std::string name;
  bool cpu_default = false;   // in the default list of --device cpu
  bool cuda_default = false;  // in the default list of --device cuda
  bool tf32 = false;          // TF32 tensor-op GEMMs on the GPU (else strict fp32)
  std::function<Workload(Device)> make;
};

// Every workload, in the order they run.
const std::vector<WorkloadSpec>& workload_specs();

// The parts, one file each (workload_specs() concatenates them).
std::vector<WorkloadSpec> nn_workloads();      // workloads_nn.cpp: GEMM, conv, MLP, CNN, ResNet18
std::vector<WorkloadSpec> robust_workloads();  // workloads_robust.cpp: PGD, smoothing, certify
std::vector<WorkloadSpec> fl_workloads();      // workloads_fl.cpp: federated rounds

// ---- shared by the workload files
// n labels uniform in [0, classes), i32, on `device` (drawn on the host from gen).
Tensor random_labels(int64_t n, int64_t classes, Generator& gen, Device device);
// One SGD training step as a user writes it: zero_grad, cross_entropy(model(x), y), backward,
// step. The model is moved to x's device and its gradients put in one arena first, so the
// optimizer makes one fused launch (as `nanofed train` does).
std::function<void()> train_step(std::shared_ptr<nn::Module> model, const nn::SGDOptions& options, Tensor x,
                                 Tensor y);

}  // namespace nanofed::bench
