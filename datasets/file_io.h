// file_io.h — whole-file byte I/O shared by the binary readers and writers (IDX, CIFAR).
//
// Reading goes through zlib's gzopen/gzread, which reads gzip files and passes plain files
// through unchanged, so every reader accepts both `x` and `x.gz` with one code path. A
// truncated or corrupt gzip stream is an error (zlib reports it at gzread/gzclose).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace nanofed::datasets {

// Throws "<who>: '<path>': cannot open (<reason>)", "...: is a directory, expected a file" or
// "...: not a regular file" unless `path` is a regular file; returns its size in bytes.
size_t check_input_file(const std::string& path, const char* who);
// All (decompressed) bytes of `path`. `who` prefixes error messages, e.g. "read_idx_images".
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

// Parses `path` as JSON; a parse error names the file and nlohmann's byte position.
nlohmann::json read_json_file(const std::string& path, const char* who);

bool file_exists(const std::string& path);  // a readable regular file
bool ends_with(const std::string& s, const std::string& suffix);

}  // namespace nanofed::datasets
