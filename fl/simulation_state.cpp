// Simulation::state / load_state: everything a resumed run needs, as named tensors.
#include "engine/common.h"
#include "fl/simulation.h"

namespace nanofed::fl {

nn::NamedTensors Simulation::state() const {
  nn::NamedTensors out = {{"global.params", global_params_}, {"init.params", init_params_}};
  if (global_buffers_.numel() > 0) {
    out.push_back({"global.buffers", global_buffers_});
    out.push_back({"init.buffers", init_buffers_});
  }
  out.push_back({"simulation.finished", from_vector(std::vector<int32_t>{finished_ ? 1 : 0}, {1})});
  for (int64_t k = 0; k < num_clients(); ++k) {
    const ClientState& s = state_[k];
    const std::string p = "client." + std::to_string(k) + ".";
    if (s.personal_params.defined()) out.push_back({p + "personal.params", s.personal_params});
    if (s.personal_buffers.defined() && s.personal_buffers.numel() > 0)
      out.push_back({p + "personal.buffers", s.personal_buffers});
    if (s.local_buffers.defined()) out.push_back({p + "local_buffers", s.local_buffers});
    for (const auto& [name, t] : s.optimizer) out.push_back({p + "optimizer." + name, t});
  }
  return out;
}

void Simulation::load_state(const nn::NamedTensors& state) {
  auto take = [&](const std::string& name, const Tensor& like) {
    for (const auto& [n, t] : state)
      if (n == name) {
        NF_CHECK(t.numel() == like.numel(), "fl::Simulation::load_state: '" << name << "' has " << t.numel()
                                                                            << " elements, expected " << like.numel());
        return t.to(device_).clone();
      }
    NF_CHECK(false, "fl::Simulation::load_state: missing '" << name << "'");
    return Tensor();
  };
  global_params_ = take("global.params", global_params_);
  init_params_ = take("init.params", init_params_);
  if (global_buffers_.numel() > 0) {
    global_buffers_ = take("global.buffers", global_buffers_);
    init_buffers_ = take("init.buffers", init_buffers_);
  }
  state_.assign(clients_.size(), ClientState());
  finished_ = false;
  for (const auto& [name, t] : state) {
    if (name == "simulation.finished") finished_ = t.to_vector<int32_t>().at(0) != 0;
    if (name.rfind("client.", 0) != 0) continue;
    const size_t dot = name.find('.', 7);
    const int64_t k = std::stoll(name.substr(7, dot - 7));
    NF_CHECK(k >= 0 && k < num_clients(), "fl::Simulation::load_state: '" << name << "' names no client");
    const std::string rest = name.substr(dot + 1);
    ClientState& s = state_[k];
    if (rest == "personal.params") s.personal_params = t.to(device_).clone();
    else if (rest == "personal.buffers") s.personal_buffers = t.to(device_).clone();
    else if (rest == "local_buffers") s.local_buffers = t.to(device_).clone();
    else if (rest.rfind("optimizer.", 0) == 0) s.optimizer.push_back({rest.substr(10), t.to(device_).clone()});
    else NF_CHECK(false, "fl::Simulation::load_state: unknown entry '" << name << "'");
  }
  for (ClientState& s : state_)
    if (s.personal_params.defined() && !s.personal_buffers.defined()) s.personal_buffers = init_buffers_.clone();
}

}  // namespace nanofed::fl
