#include "engine/threads.h"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/common.h"

namespace nanofed {
namespace {

// Work per range handed to a thread: small enough to balance, large enough that taking a
// range (one atomic add) is noise.
constexpr int64_t kRangeWork = kParallelMinWork / 8;

// One parallel_ranges call: ranges are taken with an atomic counter by whoever is free.
struct Job {
  const std::function<void(int64_t, int64_t)>* body = nullptr;
  int64_t n = 0, range = 0, ranges = 0;
  std::atomic<int64_t> next{0}, done{0};
  std::exception_ptr error;  // the first body exception; guarded by Pool::mutex_
};

thread_local bool t_in_job = false;  // nested parallel_ranges run on the caller

// num_threads - 1 workers that sleep on a condition variable between jobs (passive: an idle
// worker costs no CPU, so a loaded machine loses nothing to it). The caller works too.
class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  void run(const std::shared_ptr<Job>& job) {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      job_ = job;
      ++generation_;
    }
    wake_.notify_all();
    help(*job);
    std::unique_lock<std::mutex> lk(mutex_);
    finished_.wait(lk, [&] { return job->done.load() == job->ranges; });
    job_.reset();  // a worker waking late finds no job (or this one, with no range left)
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  void work() {
    uint64_t seen = 0;
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lk(mutex_);
        wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      if (job) help(*job);
    }
  }

  void help(Job& job) {
    t_in_job = true;
    for (int64_t r; (r = job.next.fetch_add(1)) < job.ranges;) {
      const int64_t begin = r * job.range, end = std::min(job.n, begin + job.range);
      try {
        (*job.body)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mutex_);
        if (!job.error) job.error = std::current_exception();
      }
      if (job.done.fetch_add(1) + 1 == job.ranges) {
        std::lock_guard<std::mutex> lk(mutex_);
        finished_.notify_all();
      }
    }
    t_in_job = false;
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::shared_ptr<Job> job_;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

struct State {
  std::mutex mutex;  // held while a job runs or the pool is resized
  int threads = default_num_threads();
  std::unique_ptr<Pool> pool;  // created on first use with threads > 1
};

// Never destroyed: sleeping workers need no joining at exit, and an op run from another
// static's destructor still finds the pool.
State& state() {
  static State* s = [] {
    // One pool of threads at a time: OpenBLAS's own (which spins between calls) stays unused;
    // matmul_cpu.cpp splits large GEMMs into blocks and runs them here.
    openblas_set_num_threads(1);
    return new State;
  }();
  return *s;
}

int cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

int default_num_threads() {
  // OMP_NUM_THREADS=N keeps working as the knob it was before the pool existed.
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && n >= 1) return (int)std::min<long>(n, kMaxThreads);
  }
  return std::min(cores(), kMaxDefaultThreads);
}

int num_threads() { return state().threads; }

void set_num_threads(int n) {
  NF_CHECK(n >= 1 && n <= kMaxThreads,
           "set_num_threads: the thread count must be in [1, " << kMaxThreads << "], got " << n);
  State& s = state();
  std::lock_guard<std::mutex> lk(s.mutex);
  if (n == s.threads) return;
  s.pool.reset();
  s.threads = n;
}

void parallel_ranges(int64_t n, int64_t work_per_item, const std::function<void(int64_t, int64_t)>& body) {
  if (n <= 0) return;
  const int64_t per_item = std::max<int64_t>(work_per_item, 1);
  State& s = state();
  if (t_in_job || !worth_parallel(n * per_item)) return body(0, n);
  // Another thread's job running (ops called from two threads at once): run here.
  std::unique_lock<std::mutex> lk(s.mutex, std::try_to_lock);
  if (!lk.owns_lock() || s.threads == 1) return body(0, n);
  auto job = std::make_shared<Job>();
  job->body = &body;
  job->n = n;
  job->range = std::max<int64_t>(1, kRangeWork / per_item);
  job->ranges = NF_CEIL_DIV(n, job->range);
  if (job->ranges == 1) return body(0, n);
  if (!s.pool) s.pool = std::make_unique<Pool>(s.threads - 1);
  s.pool->run(job);
}

}  // namespace nanofed
