#include "bench/protocol.h"

#include <cstdlib>
#include <sstream>

#include "engine/common.h"

namespace nanofed::bench {

namespace {
[[noreturn]] void unexpected(const std::string& line) {
  detail::throw_error("torch_ref.py: unexpected reply '" + line + "'");
}
}  // namespace

Reply parse_reply(const std::string& raw) {
  std::string line = raw;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  Reply r;
  if (line.rfind("err ", 0) == 0) {
    r.error = line.substr(4);
    return r;
  }
  if (line != "ok" && line.rfind("ok ", 0) != 0) unexpected(line);
  r.ok = true;
  std::istringstream in(line.substr(2));
  std::string token;
  while (in >> token) {
    const size_t eq = token.find('=');
    if (eq == std::string::npos || eq == 0) unexpected(line);
    r.fields[token.substr(0, eq)] = token.substr(eq + 1);
  }
  return r;
}

std::string reply_field(const Reply& reply, const std::string& key) {
  auto it = reply.fields.find(key);
  NF_CHECK(it != reply.fields.end(), "torch_ref.py: reply has no '" << key << "='");
  return it->second;
}

double reply_number(const Reply& reply, const std::string& key) {
  const std::string text = reply_field(reply, key);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  NF_CHECK(!text.empty() && end == text.c_str() + text.size(),
           "torch_ref.py: reply field " << key << "='" << text << "' is not a number");
  return v;
}

}  // namespace nanofed::bench
