#include "fl/partition.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "engine/common.h"

namespace nanofed::fl {

namespace {

double uniform_open(Generator& gen) {  // (0, 1) with 53 random bits
  return ((double)gen.next_below(1ull << 53) + 0.5) / 9007199254740992.0;
}

double standard_normal(Generator& gen) {
  const double u1 = uniform_open(gen), u2 = uniform_open(gen);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

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

std::vector<double> dirichlet_draw(int64_t k, double alpha, Generator& gen) {
  std::vector<double> logs(k);
  for (auto& l : logs) l = log_gamma_draw(alpha, gen);
  const double mx = *std::max_element(logs.begin(), logs.end());
  double sum = 0.0;
  std::vector<double> p(k);
  for (int64_t i = 0; i < k; ++i) sum += (p[i] = std::exp(logs[i] - mx));
  for (auto& v : p) v /= sum;
  return p;
}

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

}  // namespace

Partition iid_partition(int64_t num_samples, int64_t num_clients, Generator& gen) {
  NF_CHECK(num_clients >= 1, "iid partition: num_clients must be >= 1, got " << num_clients);
  NF_CHECK(num_samples >= 0, "iid partition: num_samples must be >= 0, got " << num_samples);
  const std::vector<int64_t> perm = randperm(num_samples, gen);
  Partition parts(num_clients);
  const int64_t base = num_samples / num_clients, extra = num_samples % num_clients;
  int64_t pos = 0;
  for (int64_t k = 0; k < num_clients; ++k) {
    const int64_t size = base + (k < extra ? 1 : 0);
    parts[k].assign(perm.begin() + pos, perm.begin() + pos + size);
    pos += size;
  }
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
  const int64_t base = n / num_shards, extra = n % num_shards;
  int64_t pos = 0;
  for (int64_t s = 0; s < num_shards; ++s) {
    const int64_t size = base + (s < extra ? 1 : 0);
    auto& part = parts[client_order[s % num_clients]];
    part.insert(part.end(), sorted.begin() + pos, sorted.begin() + pos + size);
    pos += size;
  }
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

void write_partition(const std::string& path, const Partition& parts) {
  std::ofstream f(path);
  NF_CHECK(f.good(), "write_partition: cannot open " << path << " for writing");
  f << "nanofed-partition v1\n" << "clients " << parts.size() << "\n";
  for (size_t k = 0; k < parts.size(); ++k) {
    f << k << ":";
    for (int64_t i : parts[k]) f << " " << i;
    f << "\n";
  }
  f.flush();
  NF_CHECK(f.good(), "write_partition: error writing " << path);
}

Partition read_partition(const std::string& path) {
  std::ifstream f(path);
  NF_CHECK(f.good(), "read_partition: cannot open " << path);
  std::string line;
  int64_t lineno = 0;
  auto next = [&](const char* expected) {
    ++lineno;
    NF_CHECK((bool)std::getline(f, line),
             path << ":" << lineno << ": unexpected end of file, expected " << expected);
    if (!line.empty() && line.back() == '\r') line.pop_back();
  };
  // Parses a non-negative decimal integer token fully, or throws naming the line.
  auto parse_int = [&](const std::string& tok, const char* what) -> int64_t {
    NF_CHECK(!tok.empty() && tok.size() <= 18 &&
                 std::all_of(tok.begin(), tok.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
             path << ":" << lineno << ": expected " << what << " (a non-negative integer), got '"
                  << tok << "'");
    return std::stoll(tok);
  };
  next("header 'nanofed-partition v1'");
  NF_CHECK(line == "nanofed-partition v1",
           path << ":" << lineno << ": expected header 'nanofed-partition v1', got '" << line << "'");
  next("'clients <K>'");
  std::istringstream hs(line);
  std::string word, count, rest;
  hs >> word >> count;
  NF_CHECK(word == "clients" && !(hs >> rest),
           path << ":" << lineno << ": expected 'clients <K>', got '" << line << "'");
  const int64_t K = parse_int(count, "the number of clients");
  Partition parts(K);
  for (int64_t k = 0; k < K; ++k) {
    next("a client line '<k>: <indices>'");
    const size_t colon = line.find(':');
    NF_CHECK(colon != std::string::npos,
             path << ":" << lineno << ": expected '" << k << ": <indices>', got '" << line << "'");
    const int64_t id = parse_int(line.substr(0, colon), "the client id");
    NF_CHECK(id == k, path << ":" << lineno << ": expected client " << k << ", got " << id);
    std::istringstream ls(line.substr(colon + 1));
    std::string tok;
    while (ls >> tok) parts[k].push_back(parse_int(tok, "a sample index"));
  }
  while (std::getline(f, line)) {
    ++lineno;
    NF_CHECK(line.find_first_not_of(" \t\r") == std::string::npos,
             path << ":" << lineno << ": unexpected content after " << K << " clients: '" << line
                  << "'");
  }
  return parts;
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

}  // namespace nanofed::fl
