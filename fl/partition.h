// partition.h — splitting a dataset's sample indices across clients, and index files.
//
// Every partitioner returns parts[k] = the sample indices of client k, each part sorted
// ascending (the order inside a client is the loader's business), every index in exactly one
// part. Conventions (see /work/shared/reference/fl_ecosystem.md §partitioners and the
// "partitioners that hang" pitfall, PFLlib #130 / Flower #4377 / Flower PR #2795):
//   iid        randperm, then contiguous chunks; sizes differ by at most 1 (first n % K get +1).
//   dirichlet  Flower DirichletPartitioner / FedLab hetero_dir: per class c, p_c ~ Dir(alpha 1_K),
//              the class's shuffled indices are cut at floor(cumsum(p_c) * n_c); the whole draw
//              is repeated until every client has >= min_partition_size samples. Unlike
//              Flower/PFLlib it always terminates: K * min_partition_size > n throws at once,
//              and after max_tries draws it throws saying the request looks infeasible.
//              (Flower's self_balancing is not implemented.)
//   shards     McMahan et al. 2017 (FedAvg): indices sorted by label (stable, after shuffling
//              within each class), cut into K * classes_per_client near-equal shards. Deviation:
//              shards are dealt with stride K (client i gets shards i, i + K, i + 2K, ... of a
//              random class order and a random client order) instead of a uniformly random
//              assignment, so when every class splits into whole shards and classes_per_client
//              <= num_classes, every client gets exactly classes_per_client distinct labels.
//   by_environment  one client per distinct environment id, in ascending id order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"

namespace nanofed::fl {

using Partition = std::vector<std::vector<int64_t>>;

Partition iid_partition(int64_t num_samples, int64_t num_clients, Generator& gen);

Partition dirichlet_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                              double alpha, int64_t min_partition_size, Generator& gen,
                              int64_t max_tries = 1000);

Partition shards_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                           int64_t classes_per_client, Generator& gen);

Partition by_environment(const std::vector<int64_t>& env_ids);

// Throws naming `who` unless parts cover 0..num_samples-1 exactly once.
void check_partition(const Partition& parts, int64_t num_samples, const std::string& who);

// Text index file:
//   nanofed-partition v1
//   clients <K>
//   <k>: <i> <i> ...        (one line per client, k = 0..K-1 in order; may be empty after ':')
// read_partition throws "<path>:<line>: <what was expected>" on any malformed line.
void write_partition(const std::string& path, const Partition& parts);
Partition read_partition(const std::string& path);

// hist[k][c] = number of samples of client k with label c.
std::vector<std::vector<int64_t>> label_histogram(const std::vector<int32_t>& labels,
                                                  const Partition& parts, int64_t num_classes);
// One line per client: "client   3 | n=  120 | 0:40 1:80 ..." (zero classes omitted), then a
// total line.
std::string histogram_report(const std::vector<std::vector<int64_t>>& hist);

}  // namespace nanofed::fl
