#include "tests/test_util.h"

#include <fstream>

#include <stdlib.h>
#include <cstdlib>

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <cstring>
#include <sstream>

#include "engine/device.h"
#include "engine/ops/elementwise.h"

namespace nanofed::test {

boost::test_tools::assertion_result GpuPresent::operator()(boost::unit_test::test_unit_id) const {
  // The GPU pack sets NANOFED_REQUIRE_GPU=1: there a missing GPU must fail, not skip.
  const char* required = std::getenv("NANOFED_REQUIRE_GPU");
  const bool run = cuda_available() || (required && std::string(required) == "1");
  boost::test_tools::assertion_result r(run);
  if (!run) r.message() << cuda_unavailable_reason();
  return r;
}

Tensor fv(const std::vector<float>& values, const Shape& shape, Device device) {
  return from_vector(values, shape, device);
}

Tensor labels(const std::vector<int32_t>& values) { return from_vector(values, {(int64_t)values.size()}); }

std::vector<std::string> names(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float scale, float shift) {
  Generator gen(seed);
  return normal(shape, shift, scale, gen);
}

Tensor random_uniform(const Shape& shape, uint64_t seed, float low, float high) {
  Generator gen(seed);
  return uniform(shape, low, high, gen);
}

Tensor distinct_values(const Shape& shape, float step, float shift) {
  const int64_t n = shape_numel(shape);
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (float)((i * 7919) % n) * step + shift;
  return from_vector(v, shape);
}

void expect_values(const Tensor& t, const std::vector<float>& expected, const std::string& what, float atol) {
  expect_close(cast(t, DType::f32).to_vector(), expected, atol, 1e-6f, what);
}

void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, float atol,
                  float rtol, const std::string& what) {
  if (actual.size() != expected.size()) {
    BOOST_ERROR(what << ": " << actual.size() << " values, expected " << expected.size());
    return;
  }
  size_t bad = 0, worst = 0;
  double max_err = 0;
  std::ostringstream first;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i], err = std::fabs(a - e);
    const bool ok = err <= atol + rtol * std::fabs(e) || (std::isnan(a) && std::isnan(e));
    if (err > max_err || std::isnan(err)) { max_err = err; worst = i; }
    if (!ok) {
      if (bad < 5) first << "\n    [" << i << "] got " << a << " expected " << e;
      ++bad;
    }
  }
  BOOST_CHECK_MESSAGE(bad == 0, what << ": " << bad << " of " << actual.size()
                                     << " values differ (atol " << atol << ", rtol " << rtol
                                     << "), max error " << max_err << " at [" << worst << "]"
                                     << first.str());
}

void expect_close(const Tensor& actual, const Tensor& expected, float atol, float rtol,
                  const std::string& what) {
  if (actual.shape() != expected.shape()) {
    BOOST_ERROR(what << ": shape " << shape_str(actual.shape()) << ", expected "
                     << shape_str(expected.shape()));
    return;
  }
  expect_close(actual.detach().to_vector<float>(), expected.detach().to_vector<float>(), atol, rtol, what);
}

namespace {
// <R, f(x)> in double, evaluated without a tape.
double weighted_output(const TensorFn& f, const std::vector<Tensor>& inputs, const std::vector<float>& r) {
  NoGrad no_grad;
  const std::vector<float> y = f(inputs).to_vector<float>();
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += (double)r[i] * y[i];
  return s;
}
}  // namespace

int64_t gradcheck(const std::string& what, const TensorFn& f, const std::vector<Tensor>& inputs,
               const GradcheckOptions& opt) {
  // Leaves of our own, so the caller's tensors keep no gradient.
  std::vector<Tensor> leaves;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().clone();
    if (t.requires_grad()) c.requires_grad_();
    leaves.push_back(c);
  }
  Tensor y = f(leaves);
  Generator gen(12345);
  const Tensor r = uniform(y.shape(), 0.5f, 1.5f, gen);  // positive weights: no cancellation
  const std::vector<float> rv = r.to_vector<float>();
  y.backward(r);
  int64_t total_bad = 0;

  for (size_t k = 0; k < leaves.size(); ++k) {
    if (!leaves[k].requires_grad()) continue;
    const Tensor analytic_t = leaves[k].grad();
    if (!analytic_t.defined()) {
      if (opt.report) BOOST_ERROR(what << ": input " << k << " received no gradient");
      ++total_bad;
      continue;
    }
    const std::vector<float> analytic = analytic_t.to_vector<float>();
    std::vector<float> values = leaves[k].to_vector<float>();
    const int64_t n = (int64_t)values.size();
    const int64_t stride = std::max<int64_t>(1, n / opt.max_elements);
    int64_t bad = 0, probed = 0;
    std::ostringstream first;
    for (int64_t i = 0; i < n; i += stride) {
      const float x0 = values[i];
      bool near_kink = false;
      for (float kink : opt.kinks) near_kink |= std::fabs(x0 - kink) < opt.kink_range + opt.step;
      if (near_kink) continue;
      std::vector<Tensor> probe = leaves;
      auto eval_at = [&](float v) {
        values[i] = v;
        probe[k] = from_vector(values, leaves[k].shape());
        return weighted_output(f, probe, rv);
      };
      const double numeric = (eval_at(x0 + opt.step) - eval_at(x0 - opt.step)) / (2.0 * opt.step);
      values[i] = x0;
      const double a = analytic[i];
      const double scale = std::max({std::fabs(a), std::fabs(numeric), 1.0});
      ++probed;
      if (std::fabs(a - numeric) > opt.atol + opt.rtol * scale) {
        if (bad < 5) first << "\n    [" << i << "] analytic " << a << " numeric " << numeric;
        ++bad;
      }
    }
    total_bad += bad;
    if (!opt.report) continue;
    BOOST_CHECK_MESSAGE(bad == 0, what << ": gradient of input " << k << " differs from finite "
                                       << "differences at " << bad << " of " << probed
                                       << " probed elements" << first.str());
    BOOST_CHECK_MESSAGE(probed > 0, what << ": input " << k << ": every element was near a kink");
  }
  return total_bad;
}

void check_cuda_parity(const std::string& what, const TensorFn& f, const std::vector<Tensor>& cpu_inputs,
                       float atol, float rtol) {
  std::vector<Tensor> host, device;
  for (const Tensor& t : cpu_inputs) {
    Tensor h = t.detach().clone(), d = t.detach().to(Device::cuda());
    if (t.requires_grad()) {
      h.requires_grad_();
      d.requires_grad_();
    }
    host.push_back(h);
    device.push_back(d);
  }
  Tensor yh = f(host), yd = f(device);
  BOOST_REQUIRE_MESSAGE(yd.device().is_cuda(), what << ": output of the CUDA run is on " << yd.device().str());
  expect_close(yd.cpu(), yh, atol, rtol, what + " (forward, cuda vs cpu)");
  if (!yh.requires_grad()) return;
  Generator gen(777);
  const Tensor r = uniform(yh.shape(), -1.0f, 1.0f, gen);
  yh.backward(r);
  yd.backward(r.to(Device::cuda()));
  for (size_t k = 0; k < host.size(); ++k) {
    if (!host[k].requires_grad()) continue;
    BOOST_REQUIRE_MESSAGE(host[k].grad().defined() && device[k].grad().defined(),
                          what << ": input " << k << " has no gradient on one device");
    expect_close(device[k].grad().cpu(), host[k].grad(), atol, rtol,
                 what + " (gradient of input " + std::to_string(k) + ", cuda vs cpu)");
  }
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/nanofed_test_XXXXXX";
  const char* made = mkdtemp(tmpl);
  BOOST_REQUIRE_MESSAGE(made != nullptr, "mkdtemp failed");
  path = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  BOOST_REQUIRE_MESSAGE(f.good(), "cannot write " << path);
  f << text;
}

Tensor random_labels(int64_t n, int64_t classes, uint64_t seed) {
  Generator gen(seed);
  std::vector<int32_t> v((size_t)n);
  for (auto& y : v) y = (int32_t)gen.next_below((uint64_t)classes);
  return labels(v);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

bool same_bits(const Tensor& a, const Tensor& b) { return same_bits(a.to_vector<float>(), b.to_vector<float>()); }

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& fragments) {
  try {
    fn();
  } catch (const Error& e) {
    const std::string msg = e.what();
    BOOST_CHECK_MESSAGE(msg.find('\n') == std::string::npos, "error message is not one line: '" << msg << "'");
    for (const std::string& frag : fragments)
      BOOST_CHECK_MESSAGE(msg.find(frag) != std::string::npos,
                          "error message '" << msg << "' lacks '" << frag << "'");
    return;
  }
  BOOST_ERROR("expected a nanofed::Error containing '" << (fragments.empty() ? "" : fragments[0]) << "'");
}

}  // namespace nanofed::test
