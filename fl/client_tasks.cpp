// client_tasks.cpp — Simulation's working modules and for_each_client: the clients of a round
// train at once on the CPU pool, one client per task, each task on modules of its own.
#include <algorithm>

#include "engine/threads.h"
#include "fl/simulation.h"

namespace nanofed::fl {

namespace {
thread_local size_t t_worker_slot = 0;  // the Workers pair of the task running on this thread
}

Simulation::Workers Simulation::make_workers() const {
  Workers w{make_model_(), make_model_()};
  for (nn::Module* m : {w.global.get(), w.personal.get()}) {
    m->to(device_);
    m->flat_parameters();
    m->flat_gradients();
    m->flat_buffers();
    m->train();
  }
  return w;
}

Simulation::Workers& Simulation::task_workers() { return workers_.at(t_worker_slot); }

// Slot 0 serves the caller; tasks borrow slots 1.. (one per range running at a time).
void Simulation::for_each_client(const std::vector<int64_t>& clients, const std::function<void(int64_t)>& work) {
  std::vector<int64_t> mine;  // indices into `clients` of this rank's clients
  for (size_t i = 0; i < clients.size(); ++i)
    if (owns(clients[i])) mine.push_back((int64_t)i);
  const int64_t n = (int64_t)mine.size();
  const int64_t tasks = std::min<int64_t>(n, num_threads());
  if (!device_.is_cpu() || tasks <= 1 || t_worker_slot != 0) {
    for (int64_t i : mine) work(i);
    return;
  }
  while ((int64_t)workers_.size() < tasks + 1) workers_.push_back(make_workers());
  free_slots_.clear();
  for (size_t slot = 1; slot < workers_.size(); ++slot) free_slots_.push_back(slot);
  auto take_slot = [&] {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    const size_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  };
  auto give_back = [&](size_t slot) {
    t_worker_slot = 0;
    std::lock_guard<std::mutex> lock(slots_mutex_);
    free_slots_.push_back(slot);
  };
  // One client per range (an item's work exceeds a range's): threads take clients as they free up.
  parallel_ranges(n, int64_t(1) << 40, [&](int64_t begin, int64_t end) {
    const size_t slot = take_slot();
    t_worker_slot = slot;
    pooled_tasks_ += end - begin;
    try {
      for (int64_t i = begin; i < end; ++i) work(mine[i]);
    } catch (...) {
      give_back(slot);
      throw;
    }
    give_back(slot);
  });
}

}  // namespace nanofed::fl
