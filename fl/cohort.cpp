// cohort.cpp — many clients' local training as one grouped model ("lockstep cohorts").
//
// The clients of a round that share the architecture and take batches of the same sizes step
// by step train together: their parameters stacked G times (nn::GroupedParameters), each step
// one forward and one backward over the G batches side by side (grouped conv2d / linear: group
// g's images meet copy g), the per-client losses summed, the gradient edit (FedProx / Ditto /
// mixture pull) and the SGD step one elementwise pass over the stacked arena. Every client's
// batches and random keys are its own, so each row ends with the bits of that client trained
// alone (tests/test_fl_cohort.cpp). What it buys: on the GPU one launch per op for G clients
// instead of G small launches; on the CPU for_each_client already keeps the cores busy, so
// `cohort: auto` turns it on only with device cuda.
//
// Fallback (one client per task, as before): cohort off; a layer without a grouped form
// (BatchNorm, Dropout: first_ungroupable names it); adv_train (PGD per client model);
// persist_optimizer_state (per-client optimizer state) on the global side; a client whose
// batch sizes differ from every other's (it trains alone).
#include <algorithm>
#include <map>

#include "engine/ops/elementwise.h"
#include "engine/ops/shape_ops.h"
#include "engine/ops/softmax.h"
#include "fl/simulation.h"
#include "nn/group_gradients.h"
#include "nn/grouped_parameters.h"

namespace nanofed::fl {

std::string Simulation::cohort_blocker(bool global_side) {
  if (config_.cohort == "off") return "cohort = off";
  if (config_.cohort == "auto" && device_.is_cpu()) return "cohort = auto on the CPU (clients train at once on the thread pool)";
  if (config_.adv_train) return "adv_train (PGD examples are crafted on each client's own model)";
  if (global_side && config_.persist_optimizer_state) return "persist_optimizer_state (per-client optimizer state)";
  const std::string bad = nn::first_ungroupable(*workers_.at(0).global);
  if (!bad.empty()) return bad + " has no grouped form";
  return "";
}

void Simulation::for_each_cohort(const std::vector<int64_t>& clients, const std::vector<Batches>& batches,
                                 bool global_side, const std::function<void(const std::vector<size_t>&)>& cohort,
                                 const std::function<void(int64_t i)>& alone) {
  NF_CHECK(batches.size() == clients.size(), "fl::Simulation: " << batches.size() << " batch plans for "
                                                                << clients.size() << " clients");
  std::vector<size_t> rest(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) rest[i] = i;
  if (cohort_blocker(global_side).empty()) {
    // Owned clients with at least one step, grouped by their steps' batch sizes (in client order).
    std::map<std::vector<int64_t>, std::vector<size_t>> by_shape;
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!owns(clients[i]) || batches[i].steps.empty()) continue;
      std::vector<int64_t> shape;
      for (const auto& step : batches[i].steps) shape.push_back((int64_t)step.size());
      by_shape[shape].push_back(i);
    }
    std::vector<bool> in_cohort(clients.size(), false);
    for (const auto& [shape, members] : by_shape) {
      if (members.size() < 2) continue;
      for (size_t begin = 0; begin < members.size(); begin += (size_t)config_.cohort_size) {
        const std::vector<size_t> part(members.begin() + begin,
                                       members.begin() + std::min(members.size(), begin + (size_t)config_.cohort_size));
        if (part.size() < 2) continue;
        cohort(part);
        for (size_t i : part) in_cohort[i] = true;
        cohorts_run_ += 1;
        cohort_clients_ += (int64_t)part.size();
      }
    }
    rest.erase(std::remove_if(rest.begin(), rest.end(), [&](size_t i) { return in_cohort[i]; }), rest.end());
  }
  std::vector<int64_t> rest_clients;
  for (size_t i : rest) rest_clients.push_back(clients[i]);
  for_each_client(rest_clients, [&](int64_t j) { alone((int64_t)rest[j]); });
}

Tensor Simulation::run_cohort(nn::Module& model, const std::vector<int64_t>& clients,
                              const std::vector<const Batches*>& batches, const Tensor& start_rows, const Tensor& anchor,
                              double pull, double grad_scale, double lr, bool personal, std::vector<double>& losses) {
  const int64_t G = (int64_t)clients.size(), steps = (int64_t)batches[0]->steps.size();
  nn::GroupedParameters stacked(model, G);
  stacked.load_rows(start_rows);
  const Tensor anchor_stacked = pull != 0.0 ? stacked.stack(anchor) : Tensor();
  auto opt = make_optimizer(model, lr);  // over the stacked parameters: one elementwise pass
  std::vector<Tensor> loss_sums;
  for (int64_t m = 0; m < G; ++m) loss_sums.push_back(zeros({}, device_));
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<Tensor> xs, ys;
    for (int64_t m = 0; m < G; ++m) {
      auto [x, y] = load_batch(clients[m], batches[m]->steps[s], batches[m]->perturb.derive({(uint64_t)s}), personal);
      xs.push_back(x);
      ys.push_back(y);
    }
    const Tensor x = concat(xs), y = concat(ys);
    stacked.zero_grad();
    const Tensor out = model(x);
    // The sum of the clients' own mean losses: client m's logits get exactly its loss's gradient.
    Tensor total;
    std::vector<Tensor> step_losses;
    int64_t row = 0;
    for (int64_t m = 0; m < G; ++m) {
      const int64_t n = xs[m].size(0);
      const Tensor o = out.slice(row, row + n), t = y.slice(row, row + n);
      Tensor l = loss_ ? loss_(o, t) : cross_entropy(o, t);
      step_losses.push_back(l.detach());
      total = total.defined() ? add(total, l) : l;
      row += n;
    }
    total.backward();
    {
      NoGrad no_grad;
      for (int64_t m = 0; m < G; ++m) add_(loss_sums[m], step_losses[m]);
      // grad_scale * grad + pull (w - anchor), as run_steps edits one client's gradients.
      Tensor g = stacked.stacked_gradients();  // a handle on the stacked arena
      if (grad_scale != 1.0) mul_(g, (float)grad_scale);
      if (pull != 0.0) {
        add_(g, stacked.stacked_values(), (float)pull);
        add_(g, anchor_stacked, (float)-pull);
      }
    }
    opt->step();
  }
  losses.assign(G, 0.0);
  for (int64_t m = 0; m < G; ++m) losses[m] = loss_sums[m].item() / steps;
  return stacked.rows();
}

std::vector<Simulation::LocalResult> Simulation::train_global_sides(const std::vector<int64_t>& clients,
                                                                    const std::vector<Batches>& batches, double mu) {
  std::vector<LocalResult> results(clients.size());
  for_each_cohort(
      clients, batches, true,
      [&](const std::vector<size_t>& part) {
        nn::Module& model = worker();
        load_into(model, global_params_, client_buffers(clients[part[0]]));  // no BN: buffers empty
        std::vector<int64_t> ids;
        std::vector<const Batches*> plans;
        for (size_t i : part) ids.push_back(clients[i]), plans.push_back(&batches[i]);
        const int64_t G = (int64_t)part.size(), P = global_params_.numel();
        Tensor start = empty({G, P}, device_);
        for (int64_t m = 0; m < G; ++m) start.view_range(m * P, {P}).copy_(global_params_);
        std::vector<double> losses;
        const Tensor rows = run_cohort(model, ids, plans, start, global_params_, mu, 1.0, config_.lr, false, losses);
        for (int64_t m = 0; m < G; ++m) {
          LocalResult& r = results[part[m]];
          r.loss = losses[m];
          r.finite = std::isfinite(r.loss);
          r.update = sub(rows.view_range(m * P, {P}), global_params_);
          r.buffers = model.flat_buffers().clone();
        }
      },
      [&](int64_t i) { results[i] = train_global_side(clients[i], batches[i], mu); });
  return results;
}

std::vector<double> Simulation::train_personals(const std::vector<int64_t>& clients, const std::vector<Batches>& batches,
                                                const Tensor& anchor, double pull, double grad_scale, double lr, int set) {
  std::vector<double> losses(clients.size(), 0.0);
  for_each_cohort(
      clients, batches, false,
      [&](const std::vector<size_t>& part) {
        nn::Module& model = *task_workers().personal;
        std::vector<int64_t> ids;
        std::vector<const Batches*> plans;
        for (size_t i : part) ids.push_back(clients[i]), plans.push_back(&batches[i]);
        const int64_t G = (int64_t)part.size(), P = global_params_.numel();
        Tensor start = empty({G, P}, device_);
        for (int64_t m = 0; m < G; ++m) start.view_range(m * P, {P}).copy_(personal_state(ids[m], set).personal_params);
        std::vector<double> part_losses;
        const Tensor rows = run_cohort(model, ids, plans, start, anchor, pull, grad_scale, lr, true, part_losses);
        for (int64_t m = 0; m < G; ++m) {
          personal_state(ids[m], set).personal_params.copy_(rows.view_range(m * P, {P}));
          losses[part[m]] = part_losses[m];
        }
      },
      [&](int64_t i) { losses[i] = train_personal(clients[i], batches[i], anchor, pull, grad_scale, lr, set); });
  return losses;
}

std::vector<Tensor> Simulation::gradients_at(nn::Module& model, const std::vector<int64_t>& clients,
                                             const std::vector<std::vector<int64_t>>& idx,
                                             const std::vector<Generator>& gens, int64_t loss_of,
                                             std::vector<double>& losses) {
  const size_t n = clients.size();
  std::vector<Tensor> grads(n);
  losses.assign(n, 0.0);
  std::vector<std::vector<size_t>> alone_and_groups;  // groups of equal batch size (size >= 2), or singles
  if (cohort_blocker(false).empty()) {
    std::map<size_t, std::vector<size_t>> by_size;
    for (size_t j = 0; j < n; ++j)
      if (owns(clients[j]) && !idx[j].empty()) by_size[idx[j].size()].push_back(j);
    for (auto& [size, members] : by_size) alone_and_groups.push_back(members);
  } else {
    for (size_t j = 0; j < n; ++j)
      if (owns(clients[j]) && !idx[j].empty()) alone_and_groups.push_back({j});
  }
  const int64_t P = model.num_parameters();
  for (const std::vector<size_t>& members : alone_and_groups) {
    if (members.size() == 1) {
      const size_t j = members[0];
      const Tensor loss = step_gradients(model, clients[j], idx[j], gens[j], true);
      if (clients[j] == loss_of) losses[j] = loss.item();  // the one host read of this step
      grads[j] = model.flat_gradients().clone();
      continue;
    }
    std::vector<Tensor> xs, ys;
    for (size_t j : members) {
      auto [x, y] = load_batch(clients[j], idx[j], gens[j], true);
      xs.push_back(x);
      ys.push_back(y);
    }
    std::vector<float> group_losses;
    const Tensor rows = nn::group_gradients(model, concat(xs), concat(ys), (int64_t)members.size(), &group_losses,
                                            nn::GroupPath::grouped, loss_);
    for (size_t m = 0; m < members.size(); ++m) {
      grads[members[m]] = rows.view_range((int64_t)m * P, {P}).clone();
      losses[members[m]] = group_losses[m];
    }
    cohorts_run_ += 1;
    cohort_clients_ += (int64_t)members.size();
  }
  return grads;
}

}  // namespace nanofed::fl
