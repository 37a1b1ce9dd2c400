#include "engine/file_io.h"

#include <unistd.h>

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "engine/common.h"
#include "engine/text.h"

namespace nanofed {

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

ByteReader::ByteReader(const std::string& path, const char* who) : name_(path), who_(who) {
  check_input_file(path, who);
  file_.reset(std::fopen(path.c_str(), "rb"));
  NF_CHECK(file_, where() << ": cannot open (" << std::strerror(errno) << ")");
  buffer_.resize(1 << 16);
  pull_input();
  gzip_ = zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b;
}

ByteReader::ByteReader(const void* data, size_t size, const std::string& name, const char* who)
    : name_(name), who_(who), memory_((const uint8_t*)data), memory_left_(size) {
  pull_input();
  gzip_ = zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b;
}

ByteReader::~ByteReader() {
  if (inflating_) inflateEnd(&zs_);
}

std::string ByteReader::where() const { return std::string(who_) + ": '" + name_ + "'"; }

bool ByteReader::pull_input() {
  if (zs_.avail_in > 0) return true;
  if (!file_) {
    if (memory_left_ == 0) return false;
    const size_t n = std::min<size_t>(memory_left_, 1u << 30);  // zlib counts in 32 bits
    zs_.next_in = const_cast<Bytef*>(memory_);
    zs_.avail_in = (uInt)n;
    memory_ += n;
    memory_left_ -= n;
    return true;
  }
  const size_t got = std::fread(buffer_.data(), 1, buffer_.size(), file_.get());
  NF_CHECK(!std::ferror(file_.get()), where() << ": read failed after " << position_ << " bytes");
  zs_.next_in = buffer_.data();
  zs_.avail_in = (uInt)got;
  return got > 0;
}

// One inflate step into dst; a new gzip member starts where the previous one ended.
size_t ByteReader::inflate_into(uint8_t* dst, size_t n) {
  if (!inflating_) {
    NF_CHECK(inflateInit2(&zs_, 15 + 16) == Z_OK, where() << ": cannot start gzip decompression");
    inflating_ = true;
  } else if (!in_member_) {
    inflateReset(&zs_);
  }
  in_member_ = true;
  zs_.next_out = dst;
  zs_.avail_out = (uInt)std::min<size_t>(n, 1u << 30);
  const uInt before = zs_.avail_out;
  const int rc = inflate(&zs_, Z_NO_FLUSH);
  NF_CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR,
           where() << ": corrupt gzip data after " << position_ << " decompressed bytes ("
                   << (zs_.msg ? zs_.msg : "zlib error " + std::to_string(rc)) << ")");
  if (rc == Z_STREAM_END) in_member_ = false;
  return before - zs_.avail_out;
}

size_t ByteReader::next(uint8_t* dst, size_t n) {
  size_t got = 0;
  while (got == 0 && n > 0) {
    if (!pull_input()) {
      NF_CHECK(!in_member_, where() << ": truncated or corrupt gzip stream (ends after " << position_
                                    << " decompressed bytes)");
      return 0;
    }
    if (gzip_) {
      got = inflate_into(dst, n);
    } else {
      got = std::min<size_t>(n, zs_.avail_in);
      std::memcpy(dst, zs_.next_in, got);
      zs_.next_in += got;
      zs_.avail_in -= (uInt)got;
    }
  }
  position_ += got;
  return got;
}

void ByteReader::read(std::vector<uint8_t>& out, uint64_t n) {
  const size_t chunk = 1 << 20;
  while (n > 0) {
    const size_t at = out.size(), want = (size_t)std::min<uint64_t>(n, chunk);
    out.resize(at + want);
    const size_t got = next(out.data() + at, want);
    out.resize(at + got);
    if (got == 0) return;
    n -= got;
  }
}

uint64_t ByteReader::skip_rest(uint64_t limit) {
  std::vector<uint8_t> scratch(1 << 16);
  uint64_t skipped = 0;
  while (skipped <= limit) {
    const size_t got = next(scratch.data(), scratch.size());
    if (got == 0) return skipped;
    skipped += got;
  }
  return limit + 1;
}

std::vector<uint8_t> read_all(ByteReader& in, uint64_t limit) {
  std::vector<uint8_t> out;
  in.read(out, limit);
  NF_CHECK(in.skip_rest(0) == 0, in.where() << ": more than " << limit
                                             << " bytes after decompression, the most a reader accepts");
  return out;
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who) {
  ByteReader in(path, who);
  return read_all(in);
}

template <class Json>
Json read_json_file(const std::string& path, const char* who) {
  check_input_file(path, who);
  std::ifstream in(path, std::ios::binary);
  NF_CHECK(in.good(), who << ": '" << path << "': cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  NF_CHECK(!in.bad(), who << ": '" << path << "': read failed");
  return parse_json_strict<Json>(text.str(), std::string(who) + ": '" + path + "'");
}
template nlohmann::json read_json_file<nlohmann::json>(const std::string&, const char*);
template nlohmann::ordered_json read_json_file<nlohmann::ordered_json>(const std::string&, const char*);

template <class Json>
Json parse_json_strict(const std::string& text, const std::string& where) {
  std::vector<std::set<std::string>> open_objects;  // the keys seen so far in each open object
  std::string duplicate;
  typename Json::parser_callback_t note_keys = [&](int, nlohmann::detail::parse_event_t event, Json& parsed) {
    using Event = nlohmann::detail::parse_event_t;
    if (event == Event::object_start) open_objects.emplace_back();
    else if (event == Event::object_end && !open_objects.empty()) open_objects.pop_back();
    else if (event == Event::key && !open_objects.empty() && duplicate.empty() &&
             !open_objects.back().insert(parsed.template get<std::string>()).second)
      duplicate = parsed.template get<std::string>();
    return true;
  };
  Json j;
  try {
    j = Json::parse(text, note_keys);
  } catch (const nlohmann::json::parse_error& e) {
    const size_t upto = std::min<size_t>(e.byte > 0 ? e.byte - 1 : 0, text.size());
    const int64_t line = 1 + std::count(text.begin(), text.begin() + upto, '\n');
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at line 3, column 7: syntax ..."
    const size_t colon = what.find(": ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    NF_CHECK(false, where << ": JSON parse error at line " << line << ": " << what);
  } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
    NF_CHECK(false, where << ": invalid JSON (" << json_error_text(e.what()) << ")");
  }
  NF_CHECK(duplicate.empty(), where << ": key '" << duplicate << "' is given twice");
  return j;
}
template nlohmann::json parse_json_strict<nlohmann::json>(const std::string&, const std::string&);
template nlohmann::ordered_json parse_json_strict<nlohmann::ordered_json>(const std::string&, const std::string&);

nlohmann::json parse_json_text(const std::string& text, const std::string& source, const char* who) {
  return parse_json_strict<nlohmann::json>(text, std::string(who) + ": '" + source + "'");
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
    const std::vector<std::string> cells = split(line, ',');
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

}  // namespace nanofed
