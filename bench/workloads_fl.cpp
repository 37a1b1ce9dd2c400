// Federated rounds through the real code path: fl::Simulation with a FedAvg config like the
// quickstart's (examples/quickstart/config.json: lr 0.05, plain SGD, unweighted mean), every
// client in every round, on synthetic FMNIST-shaped data (uniform images, uniform labels)
// drawn from seed 0.
#include <memory>

#include "bench/workloads.h"
#include "fl/config.h"
#include "fl/simulation.h"
#include "nn/models.h"

namespace nanofed::bench {

namespace {

datasets::Dataset random_images(int64_t n, Generator& gen) {
  datasets::Dataset ds;
  ds.images = rand({n, 1, 28, 28}, gen);
  ds.labels = random_labels(n, 10, gen, Device::cpu());
  ds.num_classes = 10;
  ds.name = "bench/synthetic";
  return ds;
}

std::vector<fl::ClientData> synthetic_clients(int64_t clients, int64_t per_client) {
  Generator gen(0);
  std::vector<fl::ClientData> out;
  for (int64_t k = 0; k < clients; ++k) {
    datasets::Dataset train = random_images(per_client, gen);
    out.push_back({train, train.slice(0, 1)});  // the test set is never used here
  }
  return out;
}

// A fresh model of `name` with the same initial weights every call (the factory must be
// deterministic).
fl::ModelFactory factory(const std::string& name) {
  return [name] {
    Generator gen(0);
    nn::ModelOptions o;
    o.hidden = {200};
    o.gen = &gen;
    return nn::make_model(name, o);
  };
}

// One FedAvg round per iteration; `local` sets local_steps or local_epochs.
Workload fl_round(Device d, const std::string& model, int64_t clients, int64_t per_client, int64_t batch,
                  const fl::json& local) {
  fl::json j = {{"strategy", "fedavg"}, {"model", model},    {"num_clients", clients},
                {"sampling", "all"},    {"batch_size", batch}, {"lr", 0.05},
                {"aggregator", "mean"}, {"progress", false}, {"device", d.is_cuda() ? "cuda" : "cpu"}};
  j.update(local);
  const fl::FlConfig c = fl::parse_config(j, "nanofed_bench");
  auto sim = std::make_shared<fl::Simulation>(c, synthetic_clients(clients, per_client), std::vector<int64_t>{},
                                              factory(model));
  auto round = std::make_shared<int64_t>(0);
  return {[sim, round] { sim->run_round((*round)++); }, 1, "rounds/s"};
}

}  // namespace

std::vector<WorkloadSpec> fl_workloads() {
  using D = Device;
  return {
      // The quickstart's round: MLP 784-200-10, 10 clients x 10 local steps x batch 16.
      {"fl_round_mlp10", true, false, false,
       [](D d) { return fl_round(d, "mlp", 10, 240, 16, {{"local_steps", 10}}); }},
      // FMNIST CNN, 100 clients, 1 local epoch of batch 32: 60 images each on the CPU, 600 on
      // the GPU (the GPU needs a larger round to be measured at all).
      {"fl_round_cnn100", true, true, false,
       [](D d) { return fl_round(d, "cnn", 100, d.is_cuda() ? 600 : 60, 32, {{"local_epochs", 1}}); }},
  };
}

}  // namespace nanofed::bench
