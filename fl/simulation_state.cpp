// Simulation::state / load_state: everything a resumed run needs, as named tensors.
#include <cctype>

#include "engine/common.h"
#include "engine/text.h"
#include "fl/simulation.h"

namespace nanofed::fl {
namespace {

// "personal2.params" / "personal2.buffers" -> 2; anything else -> 0.
int personal_set_of(const std::string& rest) {
  if (rest.rfind("personal", 0) != 0) return 0;
  size_t i = 8;
  while (i < rest.size() && std::isdigit((unsigned char)rest[i])) ++i;
  if (i == 8 || i >= rest.size() || rest[i] != '.') return 0;
  const std::string tail = rest.substr(i);
  NF_CHECK(tail == ".params" || tail == ".buffers", "fl::Simulation::load_state: unknown entry '" << rest << "'");
  return std::stoi(rest.substr(8, i - 8));
}

}  // namespace

nn::NamedTensors Simulation::state() const {
  nn::NamedTensors out = {{"global.params", global_params_}, {"init.params", init_params_}};
  if (global_buffers_.numel() > 0) {
    out.push_back({"global.buffers", global_buffers_});
    out.push_back({"init.buffers", init_buffers_});
  }
  out.push_back({"simulation.finished", from_vector(std::vector<int32_t>{finished_ ? 1 : 0}, {1})});
  nn::NamedTensors clients;  // this rank's clients (all of them in one process)
  for (int64_t k = 0; k < num_clients(); ++k) {
    if (!owns(k)) continue;
    const ClientState& s = state_[k];
    const std::string p = "client." + std::to_string(k) + ".";
    if (s.personal_params.defined()) clients.push_back({p + "personal.params", s.personal_params});
    if (s.personal_buffers.defined() && s.personal_buffers.numel() > 0)
      clients.push_back({p + "personal.buffers", s.personal_buffers});
    if (s.local_buffers.defined()) clients.push_back({p + "local_buffers", s.local_buffers});
    for (const auto& [name, t] : s.optimizer) clients.push_back({p + "optimizer." + name, t});
    // Further personal sets: "client.3.personal2.params" is set 2's v_3.
    for (size_t set = 1; set < personal_sets_.size(); ++set) {
      const ClientState& e = extra_sets_[set - 1][k];
      const std::string q = p + "personal" + std::to_string(set) + ".";
      if (e.personal_params.defined()) clients.push_back({q + "params", e.personal_params});
      if (e.personal_buffers.defined() && e.personal_buffers.numel() > 0) clients.push_back({q + "buffers", e.personal_buffers});
    }
  }
  if (comm_->size() > 1) {  // rank 0 gathers every rank's block: client order, as one process lists them
    const std::vector<char> mine = pack_tensors(clients);
    std::vector<size_t> sizes;
    const std::vector<char> all = comm_->gather(mine.data(), mine.size(), 0, &sizes);
    if (comm_->rank() == 0) {
      clients.clear();
      size_t at = 0;
      for (size_t bytes : sizes) {
        for (auto& entry : unpack_tensors(all.data() + at, bytes)) clients.push_back(std::move(entry));
        at += bytes;
      }
    }
  }
  out.insert(out.end(), clients.begin(), clients.end());
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
  for (std::vector<ClientState>& set : extra_sets_) set.assign(clients_.size(), ClientState());
  finished_ = false;
  for (const auto& [name, t] : state) {
    if (name == "simulation.finished") finished_ = t.to_vector<int32_t>().at(0) != 0;
    if (name.rfind("client.", 0) != 0) continue;
    const size_t dot = name.find('.', 7);
    const int64_t k = std::stoll(name.substr(7, dot - 7));
    NF_CHECK(k >= 0 && k < num_clients(), "fl::Simulation::load_state: '" << name << "' names no client");
    if (!owns(k)) continue;  // another rank's client
    const std::string rest = name.substr(dot + 1);
    ClientState& s = state_[k];
    const int set = personal_set_of(rest);
    NF_CHECK(set < (int)personal_sets_.size(), "fl::Simulation::load_state: '" << name << "' names personal set " << set
                                                   << ", but the strategy keeps " << personal_sets_.size());
    if (set > 0) {
      ClientState& e = extra_sets_[set - 1][k];
      (ends_with(rest, ".params") ? e.personal_params : e.personal_buffers) = t.to(device_).clone();
    } else if (rest == "personal.params") s.personal_params = t.to(device_).clone();
    else if (rest == "personal.buffers") s.personal_buffers = t.to(device_).clone();
    else if (rest == "local_buffers") s.local_buffers = t.to(device_).clone();
    else if (rest.rfind("optimizer.", 0) == 0) s.optimizer.push_back({rest.substr(10), t.to(device_).clone()});
    else NF_CHECK(false, "fl::Simulation::load_state: unknown entry '" << name << "'");
  }
  auto fill_buffers = [&](std::vector<ClientState>& states) {
    for (ClientState& s : states)
      if (s.personal_params.defined() && !s.personal_buffers.defined()) s.personal_buffers = init_buffers_.clone();
  };
  fill_buffers(state_);
  for (std::vector<ClientState>& set : extra_sets_) fill_buffers(set);
}

}  // namespace nanofed::fl
