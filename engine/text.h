// text.h — small string helpers for user-facing messages: the "did you mean" suggestion that
// the config keys, the command-line flags and the command names share, and nlohmann's
// exception text without its "[json.exception.type_error.302] " prefix.
#pragma once
#include <cstddef>
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

}  // namespace nanofed
