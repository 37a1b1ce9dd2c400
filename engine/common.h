// common.h — error type, the check macro every op uses, shapes.
//
// Every misuse throws nanofed::Error with one line that names the op (or file, key,
// argument) and what was expected, e.g.
//   "add: shapes [3, 4] and [5] cannot be broadcast (dim -1: 4 vs 5)".
#pragma once
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace nanofed {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);     // "[2, 3, 4]"
int64_t shape_numel(const Shape& shape);       // product of dims (1 for a scalar [])
// Resolves a possibly negative dim against `rank`; throws naming `op` if out of range.
int64_t normalize_dim(int64_t dim, int64_t rank, const char* op);

// Comma lists of numbers, for flags (--eps 0.01,0.03) and checkpoint metadata: "0.5,0.25" <->
// {0.5, 0.25}. "" is the empty list; anything else but numbers separated by single commas
// throws "<what> expects a comma list of numbers, got '<s>'". Formatting uses %.9g, so f32
// values read back bit-exact.
std::vector<double> parse_number_list(const std::string& s, const std::string& what);
std::string format_number_list(const std::vector<double>& values);

namespace detail {
[[noreturn]] void throw_error(const std::string& msg);
}

}  // namespace nanofed

// NF_CHECK(cond, "op: " << stuff) — throws nanofed::Error with the streamed message.
#define NF_CHECK(cond, msg)                                   \
  do {                                                        \
    if (!(cond)) {                                            \
      std::ostringstream nf_check_os_;                        \
      nf_check_os_ << msg;                                    \
      ::nanofed::detail::throw_error(nf_check_os_.str());     \
    }                                                         \
  } while (0)

#define NF_CEIL_DIV(a, b) (((a) + (b)-1) / (b))
