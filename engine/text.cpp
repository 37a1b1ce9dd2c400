#include "engine/text.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace nanofed {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

namespace {

// `name` begins one of the '_'/'-' separated words of `key` (for a missing prefix such as
// num_ in num_clients, or a missing suffix such as -size in batch-size).
bool starts_a_word(const std::string& name, const std::string& key) {
  if (name.size() < 3 || name.size() >= key.size()) return false;
  for (size_t at = key.find(name); at != std::string::npos; at = key.find(name, at + 1))
    if (at == 0 || key[at - 1] == '_' || key[at - 1] == '-') return true;
  return false;
}

}  // namespace

std::vector<std::string> close_names(const std::string& name, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;
  for (const std::string& k : known) {
    const size_t d = edit_distance(name, k);
    if (d < best_d && d < std::min(name.size(), k.size())) best = k, best_d = d;
  }
  if (!best.empty()) return {best};
  std::vector<std::string> out;
  for (const std::string& k : known)
    if (out.size() < 3 && starts_a_word(name, k)) out.push_back(k);
  return out;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& known,
                         const std::string& quote_prefix) {
  const std::vector<std::string> names = close_names(name, known);
  if (names.empty()) return "";
  std::string s = "did you mean ";
  for (size_t i = 0; i < names.size(); ++i)
    s += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + "'" + quote_prefix + names[i] + "'";
  return s + "?";
}

std::string json_error_text(const char* what) {
  const char* prefix = "[json.exception.";
  if (std::strncmp(what, prefix, std::strlen(prefix)) != 0) return what;
  const char* end = std::strstr(what, "] ");
  return end ? end + 2 : what;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string fmt(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> fields(1);
  for (char c : line) {
    if (c == separator) fields.emplace_back();
    else fields.back().push_back(c);
  }
  return fields;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

std::string pair_str(int64_t a, int64_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

}  // namespace nanofed
