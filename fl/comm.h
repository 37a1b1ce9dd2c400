// comm.h — the processes of one federated run: one (the default), or the ranks of an MPI job.
//
//   mpirun -np 2 build/nanofed fl CONFIG.json     (a build with MPI=1; docs/scaling.md)
//
// A Simulation spreads its clients over the ranks in contiguous blocks by id (ClientBlocks) and
// exchanges what the server step needs through these collectives; every rank then holds the
// same server state, and rank 0 alone writes the files. The single-process Comm is the identity
// (size 1: a gather returns its own bytes), so the code paths are the same with or without MPI.
// Open MPI is the engine underneath (fl/comm_mpi.cpp, compiled when MPI=1); NCCL is the planned
// GPU path (docs/scaling.md).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "nn/module.h"

namespace nanofed::fl {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  // Every rank's bytes concatenated in rank order, on every rank; sizes (when given) gets
  // what each rank gave.
  virtual std::vector<char> allgather(const void* data, size_t bytes, std::vector<size_t>* sizes = nullptr);
  // The same, delivered to `root` only (the other ranks get an empty vector).
  virtual std::vector<char> gather(const void* data, size_t bytes, int root, std::vector<size_t>* sizes = nullptr);
  // send[d] goes to rank d; returns what every rank sent to this one, concatenated in rank order.
  virtual std::vector<char> alltoall(const std::vector<std::vector<char>>& send, std::vector<size_t>* sizes = nullptr);
  // Returns once every rank has called it.
  virtual void barrier() {}
  // root's `bytes` bytes at `data` overwrite the other ranks' (the size must agree).
  virtual void broadcast(void* data, size_t bytes, int root) { (void)data, (void)bytes, (void)root; }
  // Seconds this rank has spent in collectives so far (waiting for slower ranks included).
  virtual double seconds() const { return 0.0; }
  // Whether this process has work to stop the others for: after it printed why, the job ends
  // (MPI_Abort with `code`). The single-process Comm returns and the caller exits as usual.
  virtual void abort(int code) { (void)code; }
};

// The job this process belongs to: MPI's world when launched by mpirun (or another MPI launcher)
// in a build with MPI, else the single-process Comm. Started on the first call; a launch under
// mpirun in a build without MPI throws, naming MPI=1.
Comm& world();
// Whether world() has been asked for an MPI job (its collectives may be running), and whether
// the environment says an MPI launcher started this process (and which rank it is).
bool mpi_started();
bool launched_by_mpi_launcher();
int launcher_rank();  // the rank the launcher gave (0 when none)
bool mpi_compiled();

// Clients 0..N-1 in contiguous blocks by id over R ranks: rank r holds [begin(r), begin(r + 1)),
// begin(r) = floor(r N / R). A gathered list is put back in the caller's order (Simulation::share),
// so every rank sees what one process would.
class ClientBlocks {
 public:
  ClientBlocks(int64_t clients = 1, int ranks = 1);
  int64_t begin(int r) const { return clients_ * r / ranks_; }
  int owner(int64_t client) const;
  int ranks() const { return ranks_; }

 private:
  int64_t clients_;
  int ranks_;
};

// Named tensors as bytes and back (name, dtype, shape, data), for sending state between ranks.
std::vector<char> pack_tensors(const nn::NamedTensors& tensors);
nn::NamedTensors unpack_tensors(const char* data, size_t bytes);

// A trivially copyable value list: bytes of the entries this rank owns, and back.
template <class T>
void append_bytes(std::vector<char>& out, const T& value) {
  const char* p = reinterpret_cast<const char*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}
template <class T>
T read_bytes(const char*& p) {
  T value;
  std::copy(p, p + sizeof(T), reinterpret_cast<char*>(&value));
  p += sizeof(T);
  return value;
}

// Every rank's list, concatenated in rank order (each rank's own first, in one process). A list
// made by walking the clients in ascending id comes out as one process makes it: the blocks are
// contiguous and in rank order.
template <class T>
std::vector<T> concat_ranks(Comm& comm, const std::vector<T>& mine) {
  static_assert(std::is_trivially_copyable_v<T>, "concat_ranks sends plain values");
  if (comm.size() == 1) return mine;
  const std::vector<char> all = comm.allgather(mine.data(), mine.size() * sizeof(T));
  std::vector<T> out(all.size() / sizeof(T));
  std::copy(all.begin(), all.end(), reinterpret_cast<char*>(out.data()));
  return out;
}
std::string concat_ranks(Comm& comm, const std::string& mine);

}  // namespace nanofed::fl
