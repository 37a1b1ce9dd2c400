// federation.h — everything a Simulation needs, built from a config: the data (with Ditto's
// per-pixel normalization), the client partition, the corrupted client ids and the model factory.
#pragma once
#include <cstdint>
#include <vector>

#include "fl/config.h"
#include "fl/partition.h"
#include "fl/simulation.h"
#include "nn/safetensors.h"

namespace nanofed::fl {

struct Federation {
  std::vector<ClientData> clients;
  FederatedSplit split;
  std::vector<int64_t> byzantine;
  ModelFactory make_model;
  nn::Metadata model_metadata;  // what nn::load_model needs to rebuild make_model's model
  int64_t num_classes = 0;
  // colored_environments: each client's environment (0 or 1, half of the clients each); else empty.
  std::vector<int64_t> environments;
};
Federation build_federation(const FlConfig& config);

}  // namespace nanofed::fl
