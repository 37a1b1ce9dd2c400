// device.h — where a tensor lives. The choice is made at run time; a CPU-only build
// (NANOFED_CUDA=0) compiles no CUDA code and reports cuda_available() == false.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace nanofed {

struct Device {
  enum class Kind { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu" or "cuda:0"
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"; throws otherwise
};

bool cuda_compiled();    // this binary carries the CUDA backend
bool cuda_available();   // compiled in and at least one GPU answers (never throws)
// Why cuda_available() is false, in one line: "" when a GPU answers; "this build has no CUDA
// backend (CUDA=0)"; or the CUDA runtime's own error, e.g. "cudaGetDeviceCount:
// cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version".
// A driver problem is reported as such, never as "0 GPUs".
std::string cuda_unavailable_reason();
// One line per GPU (name, compute capability, memory, SMs) and the driver and runtime
// versions; the reason above instead when no GPU answers. For logs and `nanofed_tests --gpu-info`.
std::string cuda_device_report();

namespace detail {
// Thrown where a CUDA tensor reaches an op in a CPU-only build (NF_DISPATCH, copies).
[[noreturn]] void no_cuda_error(const char* fn);
}

enum class DType { f32, i32, u8 };
size_t dtype_size(DType t);
const char* dtype_name(DType t);

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };

}  // namespace nanofed
