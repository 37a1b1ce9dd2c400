#include "datasets/file_io.h"

#include <unistd.h>

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/text.h"

namespace nanofed::datasets {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

size_t check_input_file(const std::string& path, const char* who) {
  struct stat st;
  NF_CHECK(::stat(path.c_str(), &st) == 0, who << ": '" << path << "': cannot open (" << std::strerror(errno) << ")");
  NF_CHECK(!S_ISDIR(st.st_mode), who << ": '" << path << "': is a directory, expected a file");
  NF_CHECK(S_ISREG(st.st_mode), who << ": '" << path << "': not a regular file");
  return (size_t)st.st_size;
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who) {
  const size_t size = check_input_file(path, who);
  gzFile f = gzopen(path.c_str(), "rb");
  NF_CHECK(f != nullptr, who << ": '" << path << "': cannot open (" << std::strerror(errno) << ")");
  std::vector<uint8_t> out;
  out.reserve(size);
  const unsigned chunk = 1u << 20;
  for (;;) {
    const size_t at = out.size();
    out.resize(at + chunk);
    const int got = gzread(f, out.data() + at, chunk);
    if (got < 0) {
      int errnum = 0;
      const std::string msg = gzerror(f, &errnum);
      gzclose(f);
      NF_CHECK(false, who << ": '" << path << "': corrupt gzip data after " << at << " decompressed bytes (" << msg << ")");
    }
    out.resize(at + (size_t)got);
    if (got == 0) break;
  }
  // gzclose reports a gzip stream that ended early (Z_BUF_ERROR): a truncated .gz download.
  const int rc = gzclose(f);
  NF_CHECK(rc == Z_OK, who << ": '" << path << "': truncated or corrupt gzip stream (ends after " << out.size()
                           << " decompressed bytes)");
  return out;
}

nlohmann::json read_json_file(const std::string& path, const char* who) {
  NF_CHECK(file_exists(path), who << ": '" << path << "': no such file");
  std::ifstream in(path, std::ios::binary);
  NF_CHECK(in.good(), who << ": '" << path << "': cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    NF_CHECK(false, who << ": '" << path << "': malformed JSON at byte " << e.byte << " (" << json_error_text(e.what()) << ")");
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    NF_CHECK(false, who << ": '" << path << "': invalid JSON (" << json_error_text(e.what()) << ")");
  }
  return {};
}

void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, const char* who) {
  if (ends_with(path, ".gz")) {
    gzFile f = gzopen(path.c_str(), "wb6");
    NF_CHECK(f != nullptr, who << ": '" << path << "': cannot create (" << std::strerror(errno) << ")");
    size_t done = 0;
    while (done < bytes.size()) {
      const unsigned n = (unsigned)std::min<size_t>(bytes.size() - done, 1u << 20);
      const int put = gzwrite(f, bytes.data() + done, n);
      if (put <= 0) {
        gzclose(f);
        NF_CHECK(false, who << ": '" << path << "': write failed after " << done << " bytes");
      }
      done += (size_t)put;
    }
    NF_CHECK(gzclose(f) == Z_OK, who << ": '" << path << "': write failed at close");
    return;
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  NF_CHECK(f != nullptr, who << ": '" << path << "': cannot create (" << std::strerror(errno) << ")");
  const size_t put = bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  const bool ok = put == bytes.size() && std::fclose(f) == 0;
  NF_CHECK(ok, who << ": '" << path << "': write failed after " << put << " of " << bytes.size() << " bytes");
}

void write_file_atomic(const std::string& path, const void* bytes, size_t size, const char* who) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  NF_CHECK(f, who << ": '" << tmp << "': cannot open for writing (" << std::strerror(errno) << ")");
  const bool ok = (size == 0 || std::fwrite(bytes, 1, size, f) == size) && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    NF_CHECK(false, who << ": '" << tmp << "': write failed (" << std::strerror(ok ? errno : err) << ")");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rerr = errno;
    std::remove(tmp.c_str());
    NF_CHECK(false, who << ": cannot rename '" << tmp << "' to '" << path << "' (" << std::strerror(rerr) << ")");
  }
}

void write_file_atomic(const std::string& path, const std::string& text, const char* who) {
  write_file_atomic(path, text.data(), text.size(), who);
}

void truncate_csv(const std::string& path, int64_t last, size_t column, const char* who) {
  std::ifstream in(path);
  NF_CHECK(in.good(), who << ": '" << path << "' is missing (the run directory is incomplete)");
  std::string line, out;
  size_t fields = 0;
  bool header = true;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    if (header) {
      out += line + "\n";
      fields = cells.size();
      header = false;
      continue;
    }
    if (cells.size() != fields || in.eof()) continue;  // a torn (partial) line
    char* end = nullptr;
    const long long r = std::strtoll(cells[column].c_str(), &end, 10);
    if (*end != '\0' || cells[column].empty()) continue;
    if (r <= last) out += line + "\n";
  }
  write_file_atomic(path, out, who);
}

}  // namespace nanofed::datasets
