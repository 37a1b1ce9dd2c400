#include "engine/device.h"

#include "engine/common.h"

namespace nanofed {

#if NANOFED_CUDA
namespace cuda {
std::string probe_error();
std::string device_report();
}  // namespace cuda
#endif

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

Device Device::parse(const std::string& s) {
  if (s == "cpu") return cpu();
  if (s == "cuda") return cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    const std::string idx = s.substr(5);
    NF_CHECK(!idx.empty() && idx.find_first_not_of("0123456789") == std::string::npos,
             "device: expected 'cpu', 'cuda' or 'cuda:N', got '" << s << "'");
    return cuda(std::stoi(idx));
  }
  NF_CHECK(false, "device: expected 'cpu', 'cuda' or 'cuda:N', got '" << s << "'");
  return cpu();
}

bool cuda_compiled() { return NANOFED_CUDA != 0; }

std::string cuda_unavailable_reason() {
#if NANOFED_CUDA
  static const std::string reason = cuda::probe_error();  // asked once: the answer cannot change
  return reason;
#else
  return "this build has no CUDA backend (CUDA=0)";
#endif
}

bool cuda_available() { return cuda_unavailable_reason().empty(); }

std::string cuda_device_report() {
#if NANOFED_CUDA
  if (cuda_available()) return cuda::device_report();
#endif
  return "no usable GPU: " + cuda_unavailable_reason();
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::i32: return 4;
    case DType::u8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
  }
  return "?";
}

namespace detail {
void no_cuda_error(const char* fn) {
  throw Error(std::string(fn) + ": a CUDA tensor was given, but this build of nanofed has no CUDA "
              "backend (rebuild with nvcc present, or CUDA=1)");
}
}  // namespace detail

}  // namespace nanofed
