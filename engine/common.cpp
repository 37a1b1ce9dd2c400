#include "engine/common.h"

#include <cstdio>
#include <cstdlib>


namespace nanofed {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t normalize_dim(int64_t dim, int64_t rank, const char* op) {
  int64_t r = dim < 0 ? dim + rank : dim;
  NF_CHECK(r >= 0 && r < rank, op << ": dim " << dim << " is out of range for a tensor of rank " << rank);
  return r;
}

std::vector<double> parse_number_list(const std::string& s, const std::string& what) {
  std::vector<double> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    const std::string item = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    NF_CHECK(!item.empty() && end && *end == '\0', what << " expects a comma list of numbers, got '" << s << "'");
    out.push_back(v);
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

std::string format_number_list(const std::vector<double>& values) {
  std::string s;
  char buf[32];
  for (size_t i = 0; i < values.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%.9g", values[i]);
    s += (i ? "," : "") + std::string(buf);
  }
  return s;
}

namespace detail {
void throw_error(const std::string& msg) { throw Error(msg); }
}  // namespace detail

}  // namespace nanofed
