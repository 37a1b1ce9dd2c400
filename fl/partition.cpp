// partition.cpp — the partition schemes (iid, dirichlet, shards, Ditto's generator), the train/test
// split of each part, checks and label histograms. The partition files: fl/partition_io.cpp.
#include "fl/partition.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "engine/common.h"
#include "fl/host_draws.h"

namespace nanofed::fl {

namespace {

// log of a Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 boosted by U^(1/shape)).
// Logs keep tiny alpha (e.g. 0.01) from underflowing every draw of a Dirichlet to zero.
double log_gamma_draw(double shape, Generator& gen) {
  double log_boost = 0.0;
  if (shape < 1.0) {
    log_boost = std::log(uniform_open(gen)) / shape;
    shape += 1.0;
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = standard_normal(gen);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open(gen);
    if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return std::log(d * v) + log_boost;
  }
}

}  // namespace

std::vector<double> dirichlet_draw(int64_t k, double alpha, Generator& gen) {
  NF_CHECK(k >= 1 && alpha > 0, "dirichlet draw: needs k >= 1 and alpha > 0, got k = " << k << ", alpha = " << alpha);
  std::vector<double> logs(k);
  for (auto& l : logs) l = log_gamma_draw(alpha, gen);
  const double mx = *std::max_element(logs.begin(), logs.end());
  double sum = 0.0;
  std::vector<double> p(k);
  for (int64_t i = 0; i < k; ++i) sum += (p[i] = std::exp(logs[i] - mx));
  for (auto& v : p) v /= sum;
  return p;
}

namespace {

void sort_parts(Partition& parts) {
  for (auto& p : parts) std::sort(p.begin(), p.end());
}

std::vector<std::vector<int64_t>> by_class(const std::vector<int32_t>& labels, const char* who,
                                           int64_t* num_classes) {
  int32_t mx = -1;
  for (size_t i = 0; i < labels.size(); ++i) {
    NF_CHECK(labels[i] >= 0, who << ": label " << labels[i] << " at index " << i << " is negative");
    mx = std::max(mx, labels[i]);
  }
  *num_classes = (int64_t)mx + 1;
  std::vector<std::vector<int64_t>> cls(*num_classes);
  for (size_t i = 0; i < labels.size(); ++i) cls[labels[i]].push_back((int64_t)i);
  return cls;
}

void shuffle(std::vector<int64_t>& v, Generator& gen) {
  const std::vector<int64_t> perm = randperm((int64_t)v.size(), gen);
  std::vector<int64_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[perm[i]];
  v.swap(out);
}

// create_dataset.py's per-class cursor: a request that does not fit in the rest of the pool
// restarts at its start; one larger than the whole pool cycles through it.
void take_from_pool(const std::vector<int64_t>& pool, int64_t count, int64_t* cursor,
                    std::vector<int64_t>* out) {
  const int64_t m = (int64_t)pool.size();
  if (*cursor + count > m) *cursor = 0;
  for (int64_t i = 0; i < count; ++i) out->push_back(pool[(*cursor + i) % m]);
  *cursor += count;
}

// Cuts items into `runs` contiguous runs whose sizes differ by at most one (the first
// items.size() % runs are one longer) and appends run s to parts[owner(s)].
template <class Owner>
void deal_runs(const std::vector<int64_t>& items, int64_t runs, Owner owner, Partition& parts) {
  const int64_t base = (int64_t)items.size() / runs, extra = (int64_t)items.size() % runs;
  int64_t pos = 0;
  for (int64_t s = 0; s < runs; ++s) {
    const int64_t size = base + (s < extra ? 1 : 0);
    auto& part = parts[owner(s)];
    part.insert(part.end(), items.begin() + pos, items.begin() + pos + size);
    pos += size;
  }
}

// exp(mu + sigma z), numpy.random.lognormal's parametrisation.
double lognormal(double mu, double sigma, Generator& gen) {
  return std::exp(mu + sigma * standard_normal(gen));
}

}  // namespace

Partition iid_partition(int64_t num_samples, int64_t num_clients, Generator& gen) {
  NF_CHECK(num_clients >= 1, "iid partition: num_clients must be >= 1, got " << num_clients);
  NF_CHECK(num_samples >= 0, "iid partition: num_samples must be >= 0, got " << num_samples);
  const std::vector<int64_t> perm = randperm(num_samples, gen);
  Partition parts(num_clients);
  deal_runs(perm, num_clients, [](int64_t k) { return k; }, parts);
  sort_parts(parts);
  return parts;
}

Partition dirichlet_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                              double alpha, int64_t min_partition_size, Generator& gen,
                              int64_t max_tries) {
  const char* who = "dirichlet partition";
  NF_CHECK(num_clients >= 1, who << ": num_clients must be >= 1, got " << num_clients);
  NF_CHECK(alpha > 0 && std::isfinite(alpha), who << ": alpha must be > 0, got " << alpha);
  NF_CHECK(min_partition_size >= 0,
           who << ": min_partition_size must be >= 0, got " << min_partition_size);
  NF_CHECK(max_tries >= 1, who << ": max_tries must be >= 1, got " << max_tries);
  const int64_t n = (int64_t)labels.size();
  NF_CHECK(num_clients * min_partition_size <= n,
           who << ": infeasible: " << num_clients << " clients x min_partition_size "
               << min_partition_size << " > " << n << " samples");
  int64_t num_classes = 0;
  std::vector<std::vector<int64_t>> cls = by_class(labels, who, &num_classes);
  for (int64_t t = 0; t < max_tries; ++t) {
    Partition parts(num_clients);
    for (auto& idx : cls) {
      std::vector<int64_t> shuffled = idx;
      shuffle(shuffled, gen);
      const std::vector<double> p = dirichlet_draw(num_clients, alpha, gen);
      const int64_t nc = (int64_t)shuffled.size();
      double cum = 0.0;
      int64_t start = 0;
      for (int64_t k = 0; k < num_clients; ++k) {
        cum += p[k];
        int64_t end = k + 1 == num_clients ? nc : std::min<int64_t>(nc, (int64_t)(cum * nc));
        end = std::max(end, start);
        parts[k].insert(parts[k].end(), shuffled.begin() + start, shuffled.begin() + end);
        start = end;
      }
    }
    bool ok = true;
    for (const auto& part : parts) ok = ok && (int64_t)part.size() >= min_partition_size;
    if (ok) {
      sort_parts(parts);
      return parts;
    }
  }
  NF_CHECK(false, who << ": no draw in " << max_tries << " tries gave every one of " << num_clients
                      << " clients >= min_partition_size " << min_partition_size << " samples (n = "
                      << n << ", alpha = " << alpha
                      << "); the request looks infeasible: lower min_partition_size, raise alpha "
                         "or use fewer clients");
  return {};
}

Partition shards_partition(const std::vector<int32_t>& labels, int64_t num_clients,
                           int64_t classes_per_client, Generator& gen) {
  const char* who = "shards partition";
  NF_CHECK(num_clients >= 1, who << ": num_clients must be >= 1, got " << num_clients);
  NF_CHECK(classes_per_client >= 1,
           who << ": classes_per_client must be >= 1, got " << classes_per_client);
  const int64_t n = (int64_t)labels.size();
  const int64_t num_shards = num_clients * classes_per_client;
  NF_CHECK(num_shards <= n, who << ": " << num_shards << " shards (clients x classes_per_client) > "
                                << n << " samples");
  int64_t num_classes = 0;
  std::vector<std::vector<int64_t>> cls = by_class(labels, who, &num_classes);
  // A random class order, and a random order inside each class.
  const std::vector<int64_t> class_order = randperm(num_classes, gen);
  std::vector<int64_t> sorted;
  sorted.reserve(n);
  for (int64_t c : class_order) {
    shuffle(cls[c], gen);
    sorted.insert(sorted.end(), cls[c].begin(), cls[c].end());
  }
  const std::vector<int64_t> client_order = randperm(num_clients, gen);
  Partition parts(num_clients);
  deal_runs(sorted, num_shards, [&](int64_t s) { return client_order[s % num_clients]; }, parts);
  sort_parts(parts);
  return parts;
}

Partition by_environment(const std::vector<int64_t>& env_ids) {
  std::map<int64_t, std::vector<int64_t>> groups;
  for (size_t i = 0; i < env_ids.size(); ++i) groups[env_ids[i]].push_back((int64_t)i);
  Partition parts;
  for (auto& g : groups) parts.push_back(std::move(g.second));
  return parts;
}

FederatedSplit ditto_partition(const std::vector<int32_t>& train_labels,
                               const std::vector<int32_t>& test_labels, int64_t num_clients,
                               int64_t num_classes, double scale, Generator& gen) {
  const char* who = "ditto partition";
  const int64_t classes_per_client = 5;  // create_dataset.py: class_per_user = 5
  NF_CHECK(num_clients >= 1, who << ": num_clients must be >= 1, got " << num_clients);
  NF_CHECK(num_classes >= classes_per_client,
           who << ": num_classes must be >= " << classes_per_client << " (5 consecutive classes "
               << "per client), got " << num_classes);
  NF_CHECK(scale > 0 && std::isfinite(scale), who << ": scale must be > 0, got " << scale);
  auto pools_of = [&](const std::vector<int32_t>& labels, const char* which) {
    std::vector<std::vector<int64_t>> pools(num_classes);
    for (size_t i = 0; i < labels.size(); ++i) {
      NF_CHECK(labels[i] >= 0 && labels[i] < num_classes,
               who << ": " << which << " label " << labels[i] << " at index " << i
                   << " outside [0, " << num_classes << ")");
      pools[labels[i]].push_back((int64_t)i);
    }
    for (auto& pool : pools) shuffle(pool, gen);
    return pools;
  };
  const std::vector<std::vector<int64_t>> train_pools = pools_of(train_labels, "train");
  const std::vector<std::vector<int64_t>> test_pools = pools_of(test_labels, "test");
  // Clients 0..K-1 with 5 consecutive classes each draw classes 0..min(C, K + 4) - 1.
  const int64_t drawn = std::min(num_classes, num_clients + classes_per_client - 1);
  for (int64_t c = 0; c < drawn; ++c)
    NF_CHECK(!train_pools[c].empty() && !test_pools[c].empty(),
             who << ": class " << c << " has " << train_pools[c].size() << " train and "
                 << test_pools[c].size() << " test samples; every class the clients draw (0.."
                 << drawn - 1 << ") needs at least one of each");

  std::vector<double> raw((size_t)num_clients);
  double raw_sum = 0;
  for (double& r : raw) raw_sum += (r = lognormal(3, 1, gen) + 10);
  const double total = scale * (double)train_labels.size();

  FederatedSplit split((size_t)num_clients);
  std::vector<int64_t> train_cursor((size_t)num_classes, 0), test_cursor((size_t)num_classes, 0);
  for (int64_t u = 0; u < num_clients; ++u) {
    const double n_u = std::floor(total * raw[u] / raw_sum);
    std::vector<double> p((size_t)classes_per_client);
    double p_sum = 0;
    for (double& v : p) p_sum += (v = lognormal(1, 1, gen));
    for (int64_t j = 0; j < classes_per_client; ++j) {
      const int64_t c = (u + j) % num_classes;
      const double x = p[j] / p_sum * n_u;
      take_from_pool(train_pools[c], (int64_t)std::floor(x) + 1, &train_cursor[c], &split[u].train);
      take_from_pool(test_pools[c], (int64_t)std::floor(x / 6) + 1, &test_cursor[c],
                     &split[u].test);
    }
    std::sort(split[u].train.begin(), split[u].train.end());
    std::sort(split[u].test.begin(), split[u].test.end());
  }
  return split;
}

FederatedSplit split_train_test(const Partition& parts, double test_fraction, Generator& gen) {
  NF_CHECK(test_fraction > 0 && test_fraction < 1,
           "split_train_test: test_fraction must be in (0, 1), got " << test_fraction);
  FederatedSplit split(parts.size());
  for (size_t k = 0; k < parts.size(); ++k) {
    const int64_t n = (int64_t)parts[k].size();
    int64_t n_test = 0;
    if (n >= 2)
      n_test = std::min(n - 1, std::max<int64_t>(1, (int64_t)std::round(test_fraction * n)));
    const std::vector<int64_t> perm = randperm(n, gen);
    for (int64_t i = 0; i < n; ++i)
      (i < n_test ? split[k].test : split[k].train).push_back(parts[k][perm[i]]);
    std::sort(split[k].train.begin(), split[k].train.end());
    std::sort(split[k].test.begin(), split[k].test.end());
  }
  return split;
}

void check_partition(const Partition& parts, int64_t num_samples, const std::string& who) {
  std::vector<char> seen(num_samples, 0);
  for (size_t k = 0; k < parts.size(); ++k)
    for (int64_t i : parts[k]) {
      NF_CHECK(i >= 0 && i < num_samples, who << ": client " << k << " has index " << i
                                              << " outside [0, " << num_samples << ")");
      NF_CHECK(!seen[i], who << ": index " << i << " appears twice (again in client " << k << ")");
      seen[i] = 1;
    }
  for (int64_t i = 0; i < num_samples; ++i)
    NF_CHECK(seen[i], who << ": index " << i << " is in no client");
}

std::vector<std::vector<int64_t>> label_histogram(const std::vector<int32_t>& labels,
                                                  const Partition& parts, int64_t num_classes) {
  NF_CHECK(num_classes >= 1, "label_histogram: num_classes must be >= 1, got " << num_classes);
  std::vector<std::vector<int64_t>> hist(parts.size(), std::vector<int64_t>(num_classes, 0));
  for (size_t k = 0; k < parts.size(); ++k)
    for (int64_t i : parts[k]) {
      NF_CHECK(i >= 0 && i < (int64_t)labels.size(),
               "label_histogram: client " << k << " index " << i << " outside [0, "
                                          << labels.size() << ")");
      const int32_t y = labels[i];
      NF_CHECK(y >= 0 && y < num_classes, "label_histogram: label " << y << " of sample " << i
                                              << " outside [0, " << num_classes << ")");
      ++hist[k][y];
    }
  return hist;
}

std::string histogram_report(const std::vector<std::vector<int64_t>>& hist) {
  std::ostringstream s;
  std::vector<int64_t> total;
  int64_t all = 0;
  for (size_t k = 0; k < hist.size(); ++k) {
    int64_t n = 0;
    for (int64_t v : hist[k]) n += v;
    all += n;
    if (total.size() < hist[k].size()) total.resize(hist[k].size(), 0);
    char head[64];
    std::snprintf(head, sizeof head, "client %4zu | n=%6lld |", k, (long long)n);
    s << head;
    for (size_t c = 0; c < hist[k].size(); ++c) {
      total[c] += hist[k][c];
      if (hist[k][c] != 0) s << " " << c << ":" << hist[k][c];
    }
    s << "\n";
  }
  char head[64];
  std::snprintf(head, sizeof head, "total       | n=%6lld |", (long long)all);
  s << head;
  for (size_t c = 0; c < total.size(); ++c) s << " " << c << ":" << total[c];
  s << "\n";
  return s.str();
}

TrainValidation split_validation(const std::vector<int64_t>& train, double fraction, Generator& gen) {
  NF_CHECK(fraction >= 0 && fraction < 1, "split_validation: fraction = " << fraction << " must lie in [0, 1)");
  const int64_t n = (int64_t)train.size();
  const int64_t kept = (int64_t)std::floor((1.0 - fraction) * (double)n + 1e-9), held = n - kept;
  std::vector<bool> is_val((size_t)n, false);
  const std::vector<int64_t> perm = randperm(n, gen);
  for (int64_t i = 0; i < held; ++i) is_val[(size_t)perm[(size_t)i]] = true;
  TrainValidation out;
  for (int64_t i = 0; i < n; ++i) (is_val[(size_t)i] ? out.val : out.train).push_back(train[(size_t)i]);
  return out;
}

}  // namespace nanofed::fl
