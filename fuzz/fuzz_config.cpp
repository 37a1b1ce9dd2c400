// fuzz_config — an fl config as `nanofed fl` reads it: JSON text (duplicate keys refused),
// expanded into its grid points, each parsed and validated.
#include "engine/file_io.h"
#include "fl/config.h"
#include "fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nanofed;
  fuzz::expect_clean([&] {
    const fl::json raw = parse_json_strict<fl::json>(fuzz::as_string(data, size), "<fuzz>");
    for (const fl::GridPoint& p : fl::expand_grid(raw, "<fuzz>")) fl::parse_config(p.config, "<fuzz>");
  });
  return 0;
}
