#include "engine/common.h"

#include "engine/dispatch.h"

namespace nanofed {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t normalize_dim(int64_t dim, int64_t rank, const char* op) {
  int64_t r = dim < 0 ? dim + rank : dim;
  NF_CHECK(r >= 0 && r < rank, op << ": dim " << dim << " is out of range for a tensor of rank " << rank);
  return r;
}

namespace detail {
void throw_error(const std::string& msg) { throw Error(msg); }
void no_cuda_error(const char* fn) {
  throw Error(std::string(fn) + ": a CUDA tensor was given, but this build of nanofed has no CUDA "
              "backend (rebuild with nvcc present, or CUDA=1)");
}
}  // namespace detail

}  // namespace nanofed
