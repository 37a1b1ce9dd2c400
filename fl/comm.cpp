// comm.cpp — the single-process Comm, the client blocks, tensors as bytes, and world().
#include "fl/comm.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine/common.h"

namespace nanofed::fl {

std::vector<char> Comm::allgather(const void* data, size_t bytes, std::vector<size_t>* sizes) {
  if (sizes) *sizes = {bytes};
  const char* p = static_cast<const char*>(data);
  return std::vector<char>(p, p + bytes);
}

std::vector<char> Comm::gather(const void* data, size_t bytes, int root, std::vector<size_t>* sizes) {
  (void)root;
  return allgather(data, bytes, sizes);
}

std::vector<char> Comm::alltoall(const std::vector<std::vector<char>>& send, std::vector<size_t>* sizes) {
  NF_CHECK(send.size() == 1, "fl::Comm::alltoall: " << send.size() << " destinations for 1 rank");
  if (sizes) *sizes = {send[0].size()};
  return send[0];
}

// ---------------------------------------------------------------- launcher and world

namespace {
// The rank variable of the launchers we know: Open MPI, then MPICH/Hydra and PMIx.
const char* rank_variable() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"})
    if (std::getenv(name)) return name;
  return nullptr;
}
}  // namespace

bool launched_by_mpi_launcher() { return rank_variable() != nullptr; }

int launcher_rank() {
  const char* name = rank_variable();
  return name ? std::atoi(std::getenv(name)) : 0;
}

std::unique_ptr<Comm> make_mpi_comm();  // fl/comm_mpi.cpp: nullptr in a build without MPI

namespace {
std::unique_ptr<Comm>& world_slot() {
  static std::unique_ptr<Comm> comm;
  return comm;
}
}  // namespace

bool mpi_started() { return world_slot() && world_slot()->size() > 1; }

Comm& world() {
  std::unique_ptr<Comm>& comm = world_slot();
  if (comm) return *comm;
  if (launched_by_mpi_launcher()) {
    NF_CHECK(mpi_compiled(), "nanofed: started by an MPI launcher (mpirun), but this build has no MPI; "
                             "rebuild with `make MPI=1` (needs libopenmpi-dev: make deps), or run it without mpirun");
    comm = make_mpi_comm();
  } else {
    comm = std::make_unique<Comm>();
  }
  return *comm;
}

// ---------------------------------------------------------------- client blocks

ClientBlocks::ClientBlocks(int64_t clients, int ranks) : clients_(clients), ranks_(ranks) {
  NF_CHECK(clients >= 1 && ranks >= 1, "fl::ClientBlocks: " << clients << " clients over " << ranks << " ranks");
}

int ClientBlocks::owner(int64_t client) const {
  // The largest r with floor(r N / R) <= k: r = floor(((k + 1) R - 1) / N).
  return (int)(((client + 1) * ranks_ - 1) / clients_);
}

std::string concat_ranks(Comm& comm, const std::string& mine) {
  if (comm.size() == 1) return mine;
  const std::vector<char> all = comm.allgather(mine.data(), mine.size());
  return std::string(all.begin(), all.end());
}

// ---------------------------------------------------------------- tensors as bytes

std::vector<char> pack_tensors(const nn::NamedTensors& tensors) {
  std::vector<char> out;
  append_bytes(out, (uint64_t)tensors.size());
  for (const auto& [name, tensor] : tensors) {
    const Tensor t = tensor.to(Device::cpu());  // views of dim 0 are contiguous
    append_bytes(out, (uint64_t)name.size());
    out.insert(out.end(), name.begin(), name.end());
    append_bytes(out, (int32_t)t.dtype());
    append_bytes(out, (uint64_t)t.dim());
    for (int64_t d : t.shape()) append_bytes(out, d);
    const char* p = static_cast<const char*>(t.raw_data());
    out.insert(out.end(), p, p + t.nbytes());
  }
  return out;
}

nn::NamedTensors unpack_tensors(const char* data, size_t bytes) {
  nn::NamedTensors out;
  const char *p = data, *end = data + bytes;
  if (bytes == 0) return out;
  const uint64_t count = read_bytes<uint64_t>(p);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t length = read_bytes<uint64_t>(p);
    std::string name(p, p + length);
    p += length;
    const DType dtype = (DType)read_bytes<int32_t>(p);
    Shape shape(read_bytes<uint64_t>(p));
    for (int64_t& d : shape) d = read_bytes<int64_t>(p);
    Tensor t = empty(shape, Device::cpu(), dtype);
    std::memcpy(t.raw_data(), p, t.nbytes());
    p += t.nbytes();
    out.push_back({std::move(name), std::move(t)});
  }
  NF_CHECK(p == end, "fl::unpack_tensors: " << (end - p) << " bytes left over");
  return out;
}

}  // namespace nanofed::fl
