// fuzz_common.h — the property every fuzz target checks (`make fuzz`; README.md, "Fuzzing").
//
// A reader given arbitrary bytes must either return or throw nanofed::Error whose message is
// one non-empty line (what the CLI prints). Anything else is a finding: a sanitizer report
// (ASan/UBSan), a crash, an out-of-memory, another exception type escaping (libFuzzer reports
// the abort), or a message spanning several lines.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/common.h"

namespace nanofed::fuzz {

template <class Parse>
void expect_clean(Parse&& parse) {
  try {
    parse();
  } catch (const nanofed::Error& e) {
    const std::string msg = e.what();
    if (msg.empty() || msg.find('\n') != std::string::npos) {
      std::fprintf(stderr, "fuzz: error message is not one line: [%s]\n", msg.c_str());
      std::abort();
    }
  }
}

inline std::string as_string(const uint8_t* data, size_t size) { return std::string((const char*)data, size); }

}  // namespace nanofed::fuzz
