// fuzz_safetensors — a safetensors file from raw bytes (header length, JSON header, offsets).
#include "fuzz/fuzz_common.h"
#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  fuzz::expect_clean([&] { nn::parse_safetensors(fuzz::as_string(data, size), "<fuzz>"); });
  return 0;
}
