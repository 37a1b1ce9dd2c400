// threads.h — the CPU thread policy, in one place: how many threads, which ops are worth
// them, and the pool that runs them.
//
// - num_threads(): the default is one per core the process may run on, at most
//   kMaxDefaultThreads (OMP_NUM_THREADS, when set to a positive integer, replaces that default);
//   set_num_threads(n) (nanofed --threads N, the fl config key `threads`) changes it.
// - Passive waiting: the pool's idle workers block on a condition variable; nothing spins
//   between ops (OpenMP's default spin-wait cannot be turned off from inside a program once
//   libgomp has loaded, so the kernels use this pool instead of `#pragma omp`).
// - One pool: OpenBLAS is kept single-threaded; large GEMMs are split into blocks here.
// - Work size decides: a loop whose total work is below kParallelMinWork runs on the calling
//   thread (a small model's ops gain nothing from a second thread, and lose a lot on a loaded
//   machine).
// - Results never depend on the thread count: parallel loops only write independent outputs,
//   and any split that changes arithmetic (GEMM blocks) depends only on the sizes.
#pragma once
#include <cstdint>
#include <functional>

namespace nanofed {

constexpr int kMaxDefaultThreads = 8;
constexpr int kMaxThreads = 256;  // what set_num_threads accepts
// In element operations (one load/compute/store); a GEMM counts M*N*K / kMacsPerWork, since
// its vectorised multiply-adds are far cheaper than a generic element op. About 0.2 ms of
// single-threaded work: below that, waking a second thread costs more than it saves.
constexpr int64_t kParallelMinWork = int64_t(1) << 19;
constexpr int64_t kMacsPerWork = 8;

int num_threads();
// n in [1, kMaxThreads]; throws "set_num_threads: ..." otherwise. Call it between ops.
void set_num_threads(int n);
// What num_threads() is before any set_num_threads.
int default_num_threads();

// True when `work` is large enough to be split: depends on the size only, never on the
// thread count (GEMM uses it to choose its blocks).
inline bool worth_parallel(int64_t work) { return work >= kParallelMinWork; }

// Calls body(begin, end) on consecutive ranges covering [0, n), on the pool when
// n * work_per_item is worth it and more than one thread is set, else once on the caller.
// Ranges may run in any order and at once: body must only write outputs of its own range.
// Nested calls (from inside a body) run on the caller.
void parallel_ranges(int64_t n, int64_t work_per_item, const std::function<void(int64_t, int64_t)>& body);

// parallel_ranges with a per-index body f(i): the loop every CPU kernel uses.
// Each range runs a private copy of f: a body that captures its scalars by value ([=]) then
// holds them in an object no output pointer can reach, so the compiler keeps them in registers
// and vectorizes the loop (through a reference, a float store to y[i] might have changed a
// captured float, which forces a reload per element and a scalar loop).
template <class F>
void parallel_for(int64_t n, int64_t work_per_item, F&& f) {
  parallel_ranges(n, work_per_item, [&f](int64_t begin, int64_t end) {
    auto body = f;
    for (int64_t i = begin; i < end; ++i) body(i);
  });
}

}  // namespace nanofed
