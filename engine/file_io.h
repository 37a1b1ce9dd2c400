// file_io.h — the project's file I/O: bytes (gzip or not), atomic writes, CSV truncation on resume
// and the one JSON parser, for the data readers, checkpoints, configs and results alike.
//
// Reading goes through ByteReader, for files and memory alike: input that starts with the gzip
// magic 1f 8b is inflated (several concatenated gzip members read as one stream, like
// `gzip -dc`), anything else passes through unchanged — so every reader accepts both `x` and
// `x.gz` with one code path, whatever the name. A truncated or corrupt gzip stream is an error
// naming the file and how many bytes it inflated to.
//
// Size limits. No reader holds more than kMaxInputBytes (4 GiB) of decompressed input: a
// small .gz can inflate to gigabytes, so readers with a header (IDX) read it first and then
// ask only for the bytes it promises; headerless files (CIFAR) are read with read_all, which
// stops at the limit.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include <nlohmann/json_fwd.hpp>

#include "engine/text.h"

namespace nanofed {

constexpr uint64_t kMaxInputBytes = uint64_t(4) << 30;

// The decompressed bytes of a file or a memory buffer, front to back. Errors read
// "<who>: '<name>': <problem>".
class ByteReader {
 public:
  ByteReader(const std::string& path, const char* who);  // a regular file
  ByteReader(const void* data, size_t size, const std::string& name, const char* who);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Appends up to `n` more bytes to `out`; fewer only where the stream ends. Memory grows with
  // the bytes actually read, never with `n` alone.
  void read(std::vector<uint8_t>& out, uint64_t n);
  // Reads on to the end of the stream (so a corrupt or truncated gzip tail is still an error)
  // without keeping anything; returns the bytes skipped, or limit + 1 once there are more.
  uint64_t skip_rest(uint64_t limit);
  uint64_t position() const { return position_; }  // decompressed bytes delivered so far
  std::string where() const;                        // "<who>: '<name>'"

 private:
  size_t next(uint8_t* dst, size_t n);  // up to n bytes; 0 only at the end of the stream
  bool pull_input();                    // more raw (compressed) bytes; false at their end
  size_t inflate_into(uint8_t* dst, size_t n);

  std::string name_;
  const char* who_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_{nullptr, std::fclose};
  std::vector<uint8_t> buffer_;        // raw bytes read from the file
  const uint8_t* memory_ = nullptr;    // or the caller's bytes not yet handed to zlib
  size_t memory_left_ = 0;
  z_stream zs_{};                      // next_in / avail_in: raw bytes not yet consumed
  bool gzip_ = false, inflating_ = false, in_member_ = false;
  uint64_t position_ = 0;
};

// Everything left in `in`; more than `limit` bytes is an error.
std::vector<uint8_t> read_all(ByteReader& in, uint64_t limit = kMaxInputBytes);
// Throws "<who>: '<path>': cannot open (<reason>)", "...: is a directory, expected a file" or
// "...: not a regular file" unless `path` is a regular file; returns its size in bytes.
size_t check_input_file(const std::string& path, const char* who);
// All (decompressed) bytes of `path`. `who` prefixes error messages, e.g. "read_cifar10_batch".
std::vector<uint8_t> read_file_bytes(const std::string& path, const char* who);
// Writes `bytes` to `path`, gzip-compressed when the name ends in ".gz".
void write_file_bytes(const std::string& path, const std::vector<uint8_t>& bytes, const char* who);

// Writes `bytes` to PATH.tmp, flushes it to disk (fsync) and renames it over `path`: a reader
// sees the old file or the new one, never a half-written one. On failure the .tmp is removed
// and the error names `who` and the file. For results, checkpoints and images.
void write_file_atomic(const std::string& path, const void* bytes, size_t size, const char* who);
void write_file_atomic(const std::string& path, const std::string& text, const char* who);

// Rewrites the CSV at `path` (atomically) to its header and the rows whose integer field
// `column` (a round, an epoch) is <= `last`, dropping torn lines (a field count unlike the
// header's, or a last line without its newline): what a resumed run keeps of its results so
// that they agree with the checkpoint it resumes. A missing file throws naming `who`.
void truncate_csv(const std::string& path, int64_t last, size_t column, const char* who);

// The project's one JSON parser (data files, configs): nlohmann's, plus what a file a person
// edits needs: a syntax error names its line, and a key given twice in one object is an error
// (nlohmann keeps the last silently; a file that sets lr twice is a mistake). `where` names the
// text in messages: "WHERE: JSON parse error at line 3: ...", "WHERE: key 'lr' is given twice",
// "WHERE: invalid JSON (...)". Json: nlohmann::json or nlohmann::ordered_json (configs keep
// their key order).
template <class Json>
Json parse_json_strict(const std::string& text, const std::string& where);

// Parses `path` as JSON (parse_json_strict; messages "<who>: '<path>': ..."; a missing file,
// a directory or a device fails as in check_input_file). Json: nlohmann::json, or
// nlohmann::ordered_json where the key order is kept (configs).
template <class Json = nlohmann::json>
Json read_json_file(const std::string& path, const char* who);
// The same for JSON text in memory; `source` stands for the file in messages.
nlohmann::json parse_json_text(const std::string& text, const std::string& source, const char* who);

bool file_exists(const std::string& path);  // a readable regular file

}  // namespace nanofed
