// fuzz_leaf — LEAF JSON text, read as users of 2-number samples in 3 classes.
#include "datasets/leaf.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  fuzz::expect_clean([&] { datasets::parse_leaf_json(fuzz::as_string(data, size), "<fuzz>", {2}, 3); });
  return 0;
}
