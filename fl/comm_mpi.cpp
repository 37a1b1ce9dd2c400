// comm_mpi.cpp — Comm over Open MPI (MPI_COMM_WORLD), compiled in when MPI=1.
//
// Byte collectives (MPI_BYTE with int counts): one message must stay under 2 GiB per rank,
// checked; ResNet18's 11.2M floats x 100 rows is 4.5 GB, so a larger round would need the
// counts split (MPI 4's _c variants) — docs/scaling.md.
#include "fl/comm.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "engine/common.h"
#include "engine/threads.h"

#if NANOFED_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only: no deprecated C++ bindings (nor their warnings)
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace nanofed::fl {

#if NANOFED_MPI

bool mpi_compiled() { return true; }

namespace {

int count_of(size_t bytes, const char* what) {
  NF_CHECK(bytes <= (size_t)INT_MAX, "fl::Comm (MPI): " << what << " of " << bytes
                                                        << " bytes exceeds MPI's int count (2 GiB per message)");
  return (int)bytes;
}

// Displacements of the concatenation of `sizes`.
std::vector<int> displacements(const std::vector<int>& sizes, const char* what) {
  std::vector<int> at(sizes.size());
  size_t total = 0;
  for (size_t r = 0; r < sizes.size(); ++r) {
    at[r] = count_of(total, what);
    total += (size_t)sizes[r];
  }
  count_of(total, what);
  return at;
}

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  NF_CHECK(false, "fl::Comm (MPI): " << call << " failed: " << std::string(text, length));
}

class MpiComm : public Comm {
 public:
  MpiComm() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as codes (check() turns them into exceptions) rather than killing the job
    // silently inside the library.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
    share_cores();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  double seconds() const override { return seconds_; }

  std::vector<char> allgather(const void* data, size_t bytes, std::vector<size_t>* sizes) override {
    const Timer timer(seconds_);
    const std::vector<int> counts = counts_of(bytes);
    const std::vector<int> at = displacements(counts, "allgather");
    std::vector<char> out((size_t)at.back() + (size_t)counts.back());
    check(MPI_Allgatherv(data, counts[rank_], MPI_BYTE, out.data(), counts.data(), at.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Allgatherv");
    if (sizes) sizes->assign(counts.begin(), counts.end());
    return out;
  }

  std::vector<char> gather(const void* data, size_t bytes, int root, std::vector<size_t>* sizes) override {
    const Timer timer(seconds_);
    const std::vector<int> counts = counts_of(bytes);
    const std::vector<int> at = displacements(counts, "gather");
    std::vector<char> out(rank_ == root ? (size_t)at.back() + (size_t)counts.back() : 0);
    check(MPI_Gatherv(data, counts[rank_], MPI_BYTE, out.data(), counts.data(), at.data(), MPI_BYTE, root, MPI_COMM_WORLD),
          "MPI_Gatherv");
    if (sizes) sizes->assign(counts.begin(), counts.end());
    return out;
  }

  std::vector<char> alltoall(const std::vector<std::vector<char>>& send, std::vector<size_t>* sizes) override {
    NF_CHECK((int)send.size() == size_, "fl::Comm::alltoall: " << send.size() << " destinations for " << size_ << " ranks");
    const Timer timer(seconds_);
    std::vector<int> send_counts(size_), recv_counts(size_);
    std::vector<char> flat;
    for (int r = 0; r < size_; ++r) {
      send_counts[r] = count_of(send[r].size(), "alltoall");
      flat.insert(flat.end(), send[r].begin(), send[r].end());
    }
    check(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Alltoall");
    const std::vector<int> send_at = displacements(send_counts, "alltoall"), recv_at = displacements(recv_counts, "alltoall");
    std::vector<char> out((size_t)recv_at.back() + (size_t)recv_counts.back());
    check(MPI_Alltoallv(flat.data(), send_counts.data(), send_at.data(), MPI_BYTE, out.data(), recv_counts.data(),
                        recv_at.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Alltoallv");
    if (sizes) sizes->assign(recv_counts.begin(), recv_counts.end());
    return out;
  }

  void barrier() override {
    const Timer timer(seconds_);
    check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
  }

  void broadcast(void* data, size_t bytes, int root) override {
    const Timer timer(seconds_);
    check(MPI_Bcast(data, count_of(bytes, "broadcast"), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }

  void abort(int code) override {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
  }

 private:
  std::vector<int> counts_of(size_t bytes) {
    const int mine = count_of(bytes, "gather");
    std::vector<int> counts(size_);
    check(MPI_Allgather(&mine, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    return counts;
  }
  // The ranks on one machine share its cores: without OMP_NUM_THREADS each takes its share of
  // the cores it may run on (mpirun binds a rank to one core for np <= 2, then the share is 1).
  void share_cores() {
    if (std::getenv("OMP_NUM_THREADS")) return;
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
      MPI_Comm_size(node, &local);
      MPI_Comm_free(&node);
    }
    set_num_threads(std::max(1, default_num_threads() / local));
  }
  // Adds the seconds of its scope to `total` (the collectives' share of a run, docs/scaling.md).
  struct Timer {
    double& total;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    explicit Timer(double& t) : total(t) {}
    ~Timer() { total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
  };
  int rank_ = 0, size_ = 1;
  double seconds_ = 0;
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm() { return std::make_unique<MpiComm>(); }

#else

bool mpi_compiled() { return false; }
std::unique_ptr<Comm> make_mpi_comm() { return nullptr; }

#endif

}  // namespace nanofed::fl
