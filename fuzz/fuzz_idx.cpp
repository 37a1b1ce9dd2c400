// fuzz_idx — IDX images and labels from raw bytes (plain or gzip: the reader detects the gzip
// magic), mutated byte by byte: headers, truncation, corrupt gzip streams.
#include "fuzz/fuzz_idx_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nanofed::fuzz::parse_idx_both(data, size);
  return 0;
}
