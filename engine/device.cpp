#include "engine/device.h"

#include "engine/common.h"

namespace nanofed {

#if NANOFED_CUDA
namespace cuda { int device_count_nothrow(); }
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

bool cuda_available() {
#if NANOFED_CUDA
  static const bool available = cuda::device_count_nothrow() > 0;
  return available;
#else
  return false;
#endif
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

}  // namespace nanofed
