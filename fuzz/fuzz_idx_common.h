// fuzz_idx_common.h — what both IDX targets (plain and gzip-aware mutation) run on an input:
// the bytes read as an images file and as a labels file.
#pragma once
#include "datasets/idx.h"
#include "fuzz/fuzz_common.h"

namespace nanofed::fuzz {

inline void parse_idx_both(const uint8_t* data, size_t size) {
  const std::string bytes = as_string(data, size);
  expect_clean([&] { datasets::parse_idx_images(bytes, "<fuzz>"); });
  expect_clean([&] { datasets::parse_idx_labels(bytes, "<fuzz>", 10); });
}

}  // namespace nanofed::fuzz
