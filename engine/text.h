// text.h — small string helpers for user-facing messages: the "did you mean" suggestion that
// the config keys, the command-line flags and the command names share, nlohmann's exception
// text without its "[json.exception.type_error.302] " prefix, and the formatting helpers
// (fmt, join, pair_str, starts_with / ends_with) that would otherwise be copied per file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nanofed {

// Optimal string alignment distance (a transposition counts as one edit).
size_t edit_distance(const std::string& a, const std::string& b);

// The names of `known` that `name` was probably meant to be, best first (at most 3):
//  - the closest name within 2 edits, and fewer edits than either has characters (so 'x'
//    does not suggest 'f');
//  - otherwise every name with `name` (3+ characters) at the start of one of its words, the
//    words separated by '_' or '-': 'clients' -> num_clients, clients_per_round.
std::vector<std::string> close_names(const std::string& name, const std::vector<std::string>& known);

// "did you mean 'lambda'?" / "did you mean 'a', 'b' or 'c'?", each name between `quote_prefix`
// and the quote ("--" for flags); "" when close_names finds none.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& known,
                         const std::string& quote_prefix = "");

// An exception's message without nlohmann's "[json.exception.<kind>.<id>] " prefix (any
// other message is returned unchanged).
std::string json_error_text(const char* what);

bool starts_with(const std::string& s, const std::string& prefix);
bool ends_with(const std::string& s, const std::string& suffix);

// One number, printf-style: fmt(0.5) = "0.5" (%g, what `stream << v` writes),
// fmt(0.5, "%.6f") = "0.500000", fmt(0.5, "%.0f/255").
std::string fmt(double v, const char* format = "%g");

// The items with `sep` between them: join({"a", "b"}) = "a, b".
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
// The fields of one CSV/TSV line, empty ones kept (a trailing separator ends in an empty
// field): split("a,,b,", ',') = {"a", "", "b", ""}; split("", ',') = {""}. join's inverse.
std::vector<std::string> split(const std::string& line, char separator);

// "(a, b)", as PyTorch prints a kernel size, stride or padding.
std::string pair_str(int64_t a, int64_t b);

}  // namespace nanofed
