// optim.cpp — SGD, Adam, AdamW (see optim.h). The base class owns the state (step counts and
// buffer arenas), the fast/slow path choice and the state_dict; subclasses give the fused
// update and their hyper-parameters.
#include "nn/optim.h"

#include <cctype>
#include <map>
#include <set>

#include "engine/ops/optim.h"

namespace nanofed::nn {

namespace {

// "state.12.exp_avg" -> (12, "exp_avg"); false if not of that form.
bool parse_state_key(const std::string& key, size_t* index, std::string* kind) {
  const std::string prefix = "state.";
  if (key.compare(0, prefix.size(), prefix) != 0) return false;
  size_t dot = key.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 9) return false;
  size_t i = 0;
  for (size_t c = prefix.size(); c < dot; ++c) {
    if (!std::isdigit((unsigned char)key[c])) return false;
    i = i * 10 + (size_t)(key[c] - '0');
  }
  *index = i;
  *kind = key.substr(dot + 1);
  return true;
}

std::vector<float> host_values(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

}  // namespace

// ---------------------------------------------------------------- Optimizer

Optimizer::Optimizer(std::vector<Tensor> params, std::vector<std::string> buffer_names,
                     bool saves_step)
    : params_(std::move(params)), buffer_names_(std::move(buffer_names)), saves_step_(saves_step) {
  for (size_t i = 0; i < params_.size(); ++i) {
    NF_CHECK(params_[i].defined(), "optimizer: parameter " << i << " is undefined");
    NF_CHECK(params_[i].dtype() == DType::f32,
             "optimizer: parameter " << i << " is " << params_[i].str() << ", expected f32");
    NF_CHECK(params_[i].is_leaf(), "optimizer: parameter " << i << " is not a leaf tensor");
  }
  steps_.assign(params_.size(), 0);
}

void Optimizer::ensure_state(Device device) {
  if (buffer_names_.empty() || params_.empty()) return;
  if (arenas_.empty()) {
    for (size_t k = 0; k < buffer_names_.size(); ++k) {
      std::vector<Tensor> bufs;
      for (const Tensor& p : params_) bufs.push_back(zeros(p.shape(), device));
      arenas_.push_back(flatten_into_arena(bufs, device));
      buffers_.push_back(bufs);
    }
  } else if (arenas_[0].device() != device) {  // the parameters moved: the state follows
    for (size_t k = 0; k < buffer_names_.size(); ++k)
      arenas_[k] = flatten_into_arena(buffers_[k], device);
  }
}

// The fast path's precondition, arranged by the optimizer rather than left to the caller: the
// parameters in one arena, their gradients in another (no copy when they already are). Once
// only (see optim.h): gradients replaced every step would otherwise be copied every step.
void Optimizer::arrange_arenas(const std::vector<Tensor>& grads, Device device) {
  arranged_ = true;
  flatten_into_arena(params_, device);
  flatten_into_arena(grads, device);
}

void Optimizer::step() {
  last_step_fused_ = false;
  if (params_.empty()) return;
  const Device dev = params_[0].device();
  std::vector<Tensor> grads;
  bool all_grads = true, equal_steps = true;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    NF_CHECK(p.device() == dev, name() << ".step: parameter " << i << " is on " << p.device().str()
                                       << ", parameter 0 on " << dev.str()
                                       << " (all parameters must be on one device)");
    Tensor g = p.grad();
    if (g.defined()) {
      NF_CHECK(g.shape() == p.shape() && g.dtype() == DType::f32 && g.device() == dev,
               name() << ".step: the gradient of parameter " << i << " is " << g.str()
                      << ", the parameter " << p.str());
    } else {
      all_grads = false;
    }
    grads.push_back(g);
    if (steps_[i] != steps_[0]) equal_steps = false;
  }
  ensure_state(dev);

  if (all_grads && equal_steps) {
    if (!arranged_) arrange_arenas(grads, dev);
    Tensor p_span = contiguous_span(params_, dev), g_span = contiguous_span(grads, dev);
    if (p_span.defined() && g_span.defined()) {  // fast path: one launch over the arena
      const int64_t s = steps_[0] + 1;
      for (int64_t& st : steps_) st = s;
      update(p_span, g_span, arenas_, s);
      last_step_fused_ = true;
      return;
    }
  }
  last_step_fused_ = false;
  std::vector<Tensor> bufs(buffer_names_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;  // like PyTorch: no gradient, no update, no state change
    for (size_t k = 0; k < bufs.size(); ++k) bufs[k] = buffers_[k][i];
    update(params_[i], grads[i], bufs, ++steps_[i]);
  }
}

void Optimizer::zero_grad() {
  for (const Tensor& p : params_) p.zero_grad();
}

NamedTensors Optimizer::state_dict() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (steps_[i] == 0) continue;  // never stepped: no state, as in PyTorch
    const std::string prefix = "state." + std::to_string(i) + ".";
    if (saves_step_) out.push_back({prefix + "step", scalar_tensor((float)steps_[i])});
    for (size_t k = 0; k < buffer_names_.size(); ++k)
      out.push_back({prefix + buffer_names_[k], buffers_[k][i]});  // live handles, like PyTorch
  }
  // hyper_parameters() hands out pointers for load_state_dict; here they are only read.
  for (const Hyper& h : const_cast<Optimizer*>(this)->hyper_parameters()) {
    std::vector<float> v;
    if (h.flag) v.push_back(*h.flag ? 1.0f : 0.0f);
    for (double* d : h.values) v.push_back((float)*d);
    out.push_back({"param_groups.0." + h.name,
                   v.size() == 1 ? scalar_tensor(v[0]) : from_vector(v, {(int64_t)v.size()})});
  }
  return out;
}

void Optimizer::load_state_dict(const NamedTensors& state) {
  const std::string op = std::string(name()) + ".load_state_dict";
  std::vector<Hyper> hyper = hyper_parameters();
  std::map<std::string, const Tensor*> given;
  for (auto& [key, t] : state) {
    NF_CHECK(t.defined(), op << ": '" << key << "' is undefined");
    NF_CHECK(given.emplace(key, &t).second, op << ": key '" << key << "' appears twice");
  }

  // 1. Check everything before changing anything.
  std::vector<std::map<std::string, const Tensor*>> per_param(params_.size());
  std::map<std::string, std::vector<float>> hyper_values;
  for (auto& [key, tp] : given) {
    const Tensor& t = *tp;
    NF_CHECK(t.dtype() == DType::f32, op << ": '" << key << "' is " << dtype_name(t.dtype()) << ", expected f32");
    size_t i;
    std::string kind;
    if (parse_state_key(key, &i, &kind)) {
      NF_CHECK(i < params_.size(), op << ": '" << key << "' names parameter " << i << ", this "
                                      << name() << " has " << params_.size() << " parameters");
      bool known = (saves_step_ && kind == "step");
      for (auto& b : buffer_names_) known |= (kind == b);
      NF_CHECK(known, op << ": unexpected key '" << key << "' (no state '" << kind << "' in " << name() << ")");
      if (kind == "step") {
        NF_CHECK(t.numel() == 1, op << ": '" << key << "' has shape " << shape_str(t.shape()) << ", expected []");
        float s = host_values(t)[0];
        NF_CHECK(s >= 1.0f && s == (float)(int64_t)s,
                 op << ": '" << key << "' is " << s << ", expected a whole number >= 1");
      } else {
        NF_CHECK(t.shape() == params_[i].shape(), op << ": '" << key << "' has shape " << shape_str(t.shape())
                                                     << ", parameter " << i << " has " << shape_str(params_[i].shape()));
      }
      per_param[i][kind] = tp;
      continue;
    }
    const std::string group = "param_groups.0.";
    const Hyper* h = nullptr;
    if (key.compare(0, group.size(), group) == 0)
      for (const Hyper& c : hyper)
        if (c.name == key.substr(group.size())) h = &c;
    NF_CHECK(h, op << ": unexpected key '" << key << "'");
    const size_t want = h->flag ? 1 : h->values.size();
    NF_CHECK((size_t)t.numel() == want, op << ": '" << key << "' has " << t.numel() << " values, expected " << want);
    hyper_values[h->name] = host_values(t);
    if (h->flag)
      NF_CHECK((hyper_values[h->name][0] != 0.0f) == *h->flag,
               op << ": '" << key << "' is " << hyper_values[h->name][0] << " but this " << name()
                  << " has " << h->name << "=" << (*h->flag ? 1 : 0) << " (flags are not replaced on load)");
  }
  for (const Hyper& h : hyper)
    NF_CHECK(hyper_values.count(h.name), op << ": missing key 'param_groups.0." << h.name << "'");
  for (size_t i = 0; i < params_.size(); ++i) {
    if (per_param[i].empty()) continue;
    const std::string prefix = "state." + std::to_string(i) + ".";
    if (saves_step_) NF_CHECK(per_param[i].count("step"), op << ": missing key '" << prefix << "step'");
    for (auto& b : buffer_names_)
      NF_CHECK(per_param[i].count(b), op << ": missing key '" << prefix << b << "'");
  }

  // 2. Hyper-parameters: a saved value that is the float rounding of the current one keeps the
  // current (double) value, so save/load continues bit-identically. Rolled back if invalid.
  std::vector<double> old;
  for (const Hyper& h : hyper)
    for (size_t j = 0; j < h.values.size(); ++j) {
      double* d = h.values[j];
      old.push_back(*d);
      const float saved = hyper_values[h.name][j];
      if ((float)*d != saved) *d = saved;
    }
  try {
    validate();
  } catch (const Error& e) {
    size_t j = 0;
    for (const Hyper& h : hyper)
      for (double* d : h.values) *d = old[j++];
    throw Error(op + ": the loaded hyper-parameters are invalid: " + e.what());
  }

  // 3. State.
  if (params_.empty()) return;
  const Device dev = params_[0].device();
  ensure_state(dev);
  for (size_t i = 0; i < params_.size(); ++i) {
    if (per_param[i].empty()) {
      steps_[i] = 0;
      for (auto& bufs : buffers_) bufs[i].fill_(0.0f);
      continue;
    }
    steps_[i] = saves_step_ ? (int64_t)host_values(*per_param[i]["step"])[0] : 1;
    for (size_t k = 0; k < buffer_names_.size(); ++k) buffers_[k][i].copy_(*per_param[i][buffer_names_[k]]);
  }
}

// ---------------------------------------------------------------- SGD

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params),
                options.momentum() != 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                          : std::vector<std::string>{},
                /*saves_step=*/false),
      options_(options),
      has_momentum_buffer_(options.momentum() != 0.0) {
  validate();
}

void SGD::validate() const {
  const SGDOptions& o = options_;
  NF_CHECK(o.lr() >= 0.0, "SGD: invalid learning rate " << o.lr() << " (expected >= 0)");
  NF_CHECK(o.momentum() >= 0.0, "SGD: invalid momentum " << o.momentum() << " (expected >= 0)");
  NF_CHECK(o.weight_decay() >= 0.0, "SGD: invalid weight_decay " << o.weight_decay() << " (expected >= 0)");
  NF_CHECK(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
           "SGD: nesterov momentum requires a momentum > 0 and zero dampening (momentum "
               << o.momentum() << ", dampening " << o.dampening() << ")");
  NF_CHECK((o.momentum() != 0.0) == has_momentum_buffer_,
           "SGD: momentum cannot change between zero and non-zero after construction (the "
           "momentum buffers exist iff it was non-zero)");
}

std::vector<Optimizer::Hyper> SGD::hyper_parameters() {
  return {{"lr", {&options_.lr_}},
          {"momentum", {&options_.momentum_}},
          {"dampening", {&options_.dampening_}},
          {"weight_decay", {&options_.weight_decay_}},
          {"nesterov", {}, &options_.nesterov_}};
}

void SGD::update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& buffers,
                 int64_t step) {
  const SGDOptions& o = options_;
  sgd_step_(param, grad, buffers.empty() ? Tensor() : buffers[0], o.lr(), o.momentum(),
            o.dampening(), o.weight_decay(), o.nesterov(), /*first_step=*/step == 1);
}

// ---------------------------------------------------------------- Adam / AdamW

namespace {
std::vector<std::string> adam_buffers(bool amsgrad) {
  std::vector<std::string> names = {"exp_avg", "exp_avg_sq"};
  if (amsgrad) names.push_back("max_exp_avg_sq");
  return names;
}
AdamOptions as_adam(const AdamWOptions& w) {
  return AdamOptions(w.lr()).betas(w.betas()).eps(w.eps()).weight_decay(w.weight_decay()).amsgrad(w.amsgrad());
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options) : Adam(std::move(params), options, false) {}

Adam::Adam(std::vector<Tensor> params, AdamOptions options, bool decoupled)
    : Optimizer(std::move(params), adam_buffers(options.amsgrad()), /*saves_step=*/true),
      options_(options),
      decoupled_(decoupled) {
  validate();
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam(std::move(params), as_adam(options), /*decoupled=*/true) {}

void Adam::validate() const {
  const AdamOptions& o = options_;
  NF_CHECK(o.lr() >= 0.0, name() << ": invalid learning rate " << o.lr() << " (expected >= 0)");
  NF_CHECK(o.eps() >= 0.0, name() << ": invalid eps " << o.eps() << " (expected >= 0)");
  NF_CHECK(o.betas().first >= 0.0 && o.betas().first < 1.0,
           name() << ": invalid beta parameter at index 0: " << o.betas().first << " (expected [0, 1))");
  NF_CHECK(o.betas().second >= 0.0 && o.betas().second < 1.0,
           name() << ": invalid beta parameter at index 1: " << o.betas().second << " (expected [0, 1))");
  NF_CHECK(o.weight_decay() >= 0.0, name() << ": invalid weight_decay " << o.weight_decay() << " (expected >= 0)");
}

std::vector<Optimizer::Hyper> Adam::hyper_parameters() {
  return {{"lr", {&options_.lr_}},
          {"betas", {&options_.betas_.first, &options_.betas_.second}},
          {"eps", {&options_.eps_}},
          {"weight_decay", {&options_.weight_decay_}},
          {"amsgrad", {}, &options_.amsgrad_}};
}

void Adam::update(const Tensor& param, const Tensor& grad, const std::vector<Tensor>& buffers,
                  int64_t step) {
  const AdamOptions& o = options_;
  adam_step_(param, grad, buffers[0], buffers[1], o.amsgrad() ? buffers[2] : Tensor(), step,
             o.lr(), o.betas().first, o.betas().second, o.eps(), o.weight_decay(), decoupled_);
}

}  // namespace nanofed::nn
