// fuzz_idx — IDX images and labels from raw bytes (plain or gzip: the reader detects the gzip
// magic), mutated byte by byte: headers, truncation, corrupt gzip streams.
#include "datasets/idx.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  const std::string bytes = fuzz::as_string(data, size);
  fuzz::expect_clean([&] { datasets::parse_idx_images(bytes, "<fuzz>"); });
  fuzz::expect_clean([&] { datasets::parse_idx_labels(bytes, "<fuzz>", 10); });
  return 0;
}
