// fuzz_cifar — one CIFAR-10 batch from raw bytes (record size, labels).
#include "datasets/cifar.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  fuzz::expect_clean([&] { datasets::parse_cifar10_batch(fuzz::as_string(data, size), "<fuzz>"); });
  return 0;
}
