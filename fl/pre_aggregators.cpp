#include "fl/pre_aggregators.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <utility>

#include "fl/aggregators.h"

namespace nanofed::fl {

using detail::HostRows;

namespace {

Updates from_host(const HostRows& h, std::vector<double> weights, Device device) {
  Updates out;
  out.rows = detail::to_tensor(h.x, {h.K, h.P}, device);
  out.weights = std::move(weights);
  return out;
}

// Scales row k to norm `limit` when its norm exceeds it.
void clip_row(HostRows& h, int64_t k, double limit) {
  const double n = detail::norm(h.row(k), h.P);
  if (n > limit)
    for (int64_t j = 0; j < h.P; ++j) h.row(k)[j] *= limit / n;
}

constexpr int64_t kColumnBlock = 2048;  // columns per block: K rows of it fit in L2

// dist[i K + j] = sq_dist(row i, row j) for every pair, the same bits: each pair's sum runs over
// the columns in order, only cut into column blocks (the K rows' slices stay in cache) and four
// pairs at a time (independent sums the CPU overlaps). sq_dist is symmetric bit for bit, so each
// pair is computed once; the diagonal too (a row holding inf is NaN away from itself).
std::vector<double> pairwise_sq_dist(const HostRows& h) {
  const int64_t K = h.K;
  std::vector<double> dist((size_t)(K * K), 0.0);
  for (int64_t c0 = 0; c0 < h.P; c0 += kColumnBlock) {
    const int64_t c1 = std::min(h.P, c0 + kColumnBlock);
    for (int64_t i = 0; i < K; ++i) {
      const double* a = h.row(i);
      int64_t j = i;
      // Eight pairs at a time: eight independent chains keep both FMA pipes busy (a chain's own
      // sum must stay in column order for the bits, so it cannot be split across lanes).
      for (; j + 8 <= K; j += 8) {
        const double* b[8];
        double s[8];
        for (int q = 0; q < 8; ++q) b[q] = h.row(j + q), s[q] = dist[i * K + j + q];
        for (int64_t c = c0; c < c1; ++c) {
          const double ac = a[c];
          for (int q = 0; q < 8; ++q) s[q] += (ac - b[q][c]) * (ac - b[q][c]);
        }
        for (int q = 0; q < 8; ++q) dist[i * K + j + q] = s[q];
      }
      for (; j + 4 <= K; j += 4) {
        const double *b0 = h.row(j), *b1 = h.row(j + 1), *b2 = h.row(j + 2), *b3 = h.row(j + 3);
        double s0 = dist[i * K + j], s1 = dist[i * K + j + 1], s2 = dist[i * K + j + 2], s3 = dist[i * K + j + 3];
        for (int64_t c = c0; c < c1; ++c) {
          s0 += (a[c] - b0[c]) * (a[c] - b0[c]);
          s1 += (a[c] - b1[c]) * (a[c] - b1[c]);
          s2 += (a[c] - b2[c]) * (a[c] - b2[c]);
          s3 += (a[c] - b3[c]) * (a[c] - b3[c]);
        }
        dist[i * K + j] = s0, dist[i * K + j + 1] = s1, dist[i * K + j + 2] = s2, dist[i * K + j + 3] = s3;
      }
      for (; j < K; ++j) {
        const double* b = h.row(j);
        double s = dist[i * K + j];
        for (int64_t c = c0; c < c1; ++c) s += (a[c] - b[c]) * (a[c] - b[c]);
        dist[i * K + j] = s;
      }
    }
  }
  for (int64_t i = 0; i < K; ++i)
    for (int64_t j = 0; j < i; ++j) dist[i * K + j] = dist[j * K + i];
  return dist;
}

}  // namespace

StaticClip::StaticClip(double max_norm) : max_norm_(max_norm) {
  NF_CHECK(max_norm > 0, "clip: max_norm must be > 0, got " << max_norm);
}

std::string StaticClip::describe() const {
  std::ostringstream s;
  s << "clip(norm=" << max_norm_ << ")";
  return s.str();
}

Updates StaticClip::apply(const Updates& in, Generator&) const {
  HostRows h = detail::to_host(in, "clip");
  for (int64_t k = 0; k < h.K; ++k) clip_row(h, k, max_norm_);
  return from_host(h, in.weights, in.rows.device());
}

Updates MedianNormClip::apply(const Updates& in, Generator&) const {
  HostRows h = detail::to_host(in, "median_norm_clip");
  std::vector<double> norms((size_t)h.K);
  for (int64_t k = 0; k < h.K; ++k) norms[k] = detail::norm(h.row(k), h.P);
  const double limit = detail::median_of(norms);
  for (int64_t k = 0; k < h.K; ++k) clip_row(h, k, limit);
  return from_host(h, in.weights, in.rows.device());
}

ServerClip::ServerClip(int64_t f, int64_t n) : f_(f), n_(n) {
  NF_CHECK(f >= 0, "server_clip: f must be >= 0, got f = " << f);
  NF_CHECK(n >= 0, "server_clip: n must be >= 0 (0 = the number of rows), got n = " << n);
}

std::string ServerClip::describe() const {
  return "server_clip(f=" + std::to_string(f_) + (n_ > 0 ? ", n=" + std::to_string(n_) : std::string()) + ")";
}

// ByzFL computes f (1 + f / (n - 2f)) in floating point and truncates it with int(); so do we.
int64_t ServerClip::cut_off(int64_t K) const {
  const int64_t n = n_ > 0 ? n_ : K;
  const int64_t c = f_ < n / 3 ? n - (int64_t)((double)f_ * (1.0 + (double)f_ / (double)(n - 2 * f_))) : n - f_;
  NF_CHECK(c >= 1 && c <= K, "server_clip: the cut-off c = " << c << " (f = " << f_ << ", n = " << n
                                                              << ") must be in [1, K = " << K << "]");
  return c;
}

Updates ServerClip::apply(const Updates& in, Generator&) const {
  HostRows h = detail::to_host(in, "server_clip");
  const int64_t c = cut_off(h.K);
  std::vector<double> norms((size_t)h.K);
  for (int64_t k = 0; k < h.K; ++k) norms[k] = detail::norm(h.row(k), h.P);
  std::vector<int64_t> order((size_t)h.K);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return norms[a] < norms[b]; });
  const double limit = norms[order[c - 1]];
  for (int64_t r = c; r < h.K; ++r) clip_row(h, order[r], limit);
  return from_host(h, in.weights, in.rows.device());
}

NNM::NNM(int64_t f) : f_(f) { NF_CHECK(f >= 0, "nnm: f must be >= 0, got f = " << f); }

std::string NNM::describe() const { return "nnm(f=" + std::to_string(f_) + ")"; }

// Row i's K - f nearest rows: nth_element on (distance, index) pairs, a total order, selects
// exactly the rows a stable sort by distance would put first, in O(K) per row instead of
// O(K log K) (FT-Byzantine's mean estimation mixes 600-750 rows per repetition); they are then
// summed in index order.
Updates NNM::apply(const Updates& in, Generator&) const {
  const HostRows h = detail::to_host(in, "nnm");
  NF_CHECK(h.K > f_, "nnm: needs K > f, got f = " << f_ << " and K = " << h.K);
  const int64_t keep = h.K - f_;
  const std::vector<double> dist = pairwise_sq_dist(h);
  std::vector<std::vector<int64_t>> neighbours((size_t)h.K);
  std::vector<std::pair<double, int64_t>> by_distance((size_t)h.K);  // (distance, index): a total order
  std::vector<char> chosen((size_t)h.K);
  for (int64_t i = 0; i < h.K; ++i) {
    for (int64_t j = 0; j < h.K; ++j) by_distance[j] = {dist[i * h.K + j], j};
    std::nth_element(by_distance.begin(), by_distance.begin() + (keep - 1), by_distance.end());
    std::fill(chosen.begin(), chosen.end(), 0);
    for (int64_t r = 0; r < keep; ++r) chosen[by_distance[r].second] = 1;
    for (int64_t j = 0; j < h.K; ++j)
      if (chosen[j]) neighbours[(size_t)i].push_back(j);  // summed in index order
  }
  // Column blocks, so that the neighbours' slices stay in cache while every output row is summed
  // (the rows are ~10^6 wide for a CNN); each element is still summed in index order, in double,
  // and rounded to f32 as it is stored into the output rows (what from_host would do after).
  Updates out;
  out.rows = empty({h.K, h.P}, Device::cpu());
  out.weights = in.weights;
  float* y = out.rows.data<float>();
  std::vector<double> acc((size_t)kColumnBlock);
  for (int64_t c0 = 0; c0 < h.P; c0 += kColumnBlock) {
    const int64_t c1 = std::min(h.P, c0 + kColumnBlock), len = c1 - c0;
    for (int64_t i = 0; i < h.K; ++i) {
      std::fill(acc.begin(), acc.begin() + len, 0.0);
      for (int64_t j : neighbours[(size_t)i]) {
        const double* r = h.row(j) + c0;
        for (int64_t c = 0; c < len; ++c) acc[c] += r[c];
      }
      float* o = y + i * h.P + c0;
      for (int64_t c = 0; c < len; ++c) o[c] = (float)(acc[c] / (double)keep);
    }
  }
  if (!in.rows.device().is_cpu()) out.rows = out.rows.to(in.rows.device());
  return out;
}

Bucketing::Bucketing(int64_t s) : s_(s) {
  NF_CHECK(s >= 1, "bucketing: bucket size s must be >= 1, got s = " << s);
}

std::string Bucketing::describe() const { return "bucketing(s=" + std::to_string(s_) + ")"; }

Updates Bucketing::apply(const Updates& in, Generator& gen) const {
  const HostRows h = detail::to_host(in, "bucketing");
  const std::vector<double> w = detail::weights_or_ones(in);
  const std::vector<int64_t> perm = randperm(h.K, gen);
  HostRows out;
  out.K = (h.K + s_ - 1) / s_;
  out.P = h.P;
  out.x.assign((size_t)(out.K * out.P), 0.0);
  std::vector<double> weights((size_t)out.K, 0.0);
  for (int64_t b = 0; b < out.K; ++b) {
    const int64_t begin = b * s_, end = std::min(h.K, begin + s_);
    for (int64_t r = begin; r < end; ++r) {
      weights[b] += w[perm[r]];
      for (int64_t j = 0; j < h.P; ++j) out.row(b)[j] += h.row(perm[r])[j] / (double)(end - begin);
    }
  }
  return from_host(out, weights, in.rows.device());
}

}  // namespace nanofed::fl
