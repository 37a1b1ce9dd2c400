// partition.h — splitting a dataset's sample indices across clients, and index files.
//
// Every partitioner returns parts[k] = the sample indices of client k, each part sorted
// ascending (the order inside a client is the loader's business), every index in exactly one
// part. Conventions (Flower's partitioners, docs/references.md, and the
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
//   ditto      Ditto's Fashion-MNIST generator (Ditto §5 and its code): train AND
//              test indices per client, 5 consecutive classes each, reused across clients;
//              see ditto_partition below. Not a partition in the sense above.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/random.h"

namespace nanofed::fl {

using Partition = std::vector<std::vector<int64_t>>;

// p ~ Dir(alpha 1_k): k Gamma(alpha) draws (Marsaglia-Tsang, in logs so tiny alpha does not
// underflow) normalized to sum 1. The dirichlet partition draws its proportions with it.
std::vector<double> dirichlet_draw(int64_t k, double alpha, Generator& gen);

Partition iid_partition(int64_t num_samples, int64_t num_clients, Generator& gen);

Partition dirichlet_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                              double alpha, int64_t min_partition_size, Generator& gen,
                              int64_t max_tries = 1000);

Partition shards_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                           int64_t classes_per_client, Generator& gen);

Partition by_environment(const std::vector<int64_t>& env_ids);

// One client's sample indices: train into the train pool, test into the test pool (which
// may be the same data set, see split_train_test).
struct ClientSplit {
  std::vector<int64_t> train, test;
  bool operator==(const ClientSplit& o) const { return train == o.train && test == o.test; }
  bool operator!=(const ClientSplit& o) const { return !(*this == o); }
};
using FederatedSplit = std::vector<ClientSplit>;

// A client's validation share of its train list (Ditto App. G.4: dynamic lambda picks on local
// validation data; the paper's code keeps int(0.9 n) for training): n - floor((1 - fraction) n)
// indices drawn at random (gen) leave `train` for `val`; both keep their order. fraction 0
// leaves everything in train. Throws unless fraction lies in [0, 1).
struct TrainValidation {
  std::vector<int64_t> train, val;
};
TrainValidation split_validation(const std::vector<int64_t>& train, double fraction, Generator& gen);

// Ditto's Fashion-MNIST generator (001 §5 "Partition [C]", data/fmnist/create_dataset.py of
// litian96/ditto; there: 500 clients, 10 classes, scale 1, numpy seed 233):
//   n~_u = LogNormal(3, 1) + 10 per client, n_u = floor(scale * N_train * n~_u / sum n~);
//   client u gets classes c_j = (u + j) mod num_classes, j = 0..4, with proportions
//   p = LogNormal(1, 1)^5 / sum; floor(p_j n_u) + 1 train and floor(p_j n_u / 6) + 1 test
//   samples of class c_j, taken in client order from per-class pools with a cursor each:
//   a request that does not fit in the rest of the pool restarts at its start (the
//   reference's rule, so samples repeat across clients once a pool is used up).
// Both lists of every client sorted ascending. Deviations: our Generator is not numpy's, so
// the result is statistically, not bitwise, Ditto's generator's; each pool is
// shuffled once (the reference walks a class in file order); n_u is floored (the reference
// keeps it real-valued, so counts here are at most 1 lower per class); a request larger than
// the whole pool cycles through it (the reference would return fewer images than labels).
// Throws unless num_clients >= 1, num_classes >= 5, scale > 0, labels lie in
// [0, num_classes) and every class some client draws has samples in both pools.
FederatedSplit ditto_partition(const std::vector<int32_t>& train_labels,
                               const std::vector<int32_t>& test_labels, int64_t num_clients,
                               int64_t num_classes, double scale, Generator& gen);

// Splits each part into test (a random round(test_fraction * size) samples, at least 1 when
// the part has >= 2 samples, and at least 1 train sample) and train; both lists sorted.
// round is std::round (halves away from zero); a part of 0 or 1 samples is all train.
// Requires 0 < test_fraction < 1. One randperm per part, in client order.
FederatedSplit split_train_test(const Partition& parts, double test_fraction, Generator& gen);

// Throws naming `who` unless parts cover 0..num_samples-1 exactly once.
void check_partition(const Partition& parts, int64_t num_samples, const std::string& who);

// Text index file:
//   nanofed-partition v1
//   clients <K>
//   <k>: <i> <i> ...        (one line per client, k = 0..K-1 in order; may be empty after ':')
// read_partition throws "<path>:<line>: <what was expected>" on any malformed line.
void write_partition(const std::string& path, const Partition& parts);
Partition read_partition(const std::string& path);

// The same for a FederatedSplit (lists may be empty after ':'):
//   nanofed-split v1
//   clients <K>
//   <k> train: <i> <i> ...
//   <k> test: <i> <i> ...    (two lines per client, k = 0..K-1 in order)
// read_split throws "<path>:<line>: <what was expected>" on any malformed line.
void write_split(const std::string& path, const FederatedSplit& split);
FederatedSplit read_split(const std::string& path);

// hist[k][c] = number of samples of client k with label c.
std::vector<std::vector<int64_t>> label_histogram(const std::vector<int32_t>& labels,
                                                  const Partition& parts, int64_t num_classes);
// One line per client: "client   3 | n=  120 | 0:40 1:80 ..." (zero classes omitted), then a
// total line.
std::string histogram_report(const std::vector<std::vector<int64_t>>& hist);

}  // namespace nanofed::fl
