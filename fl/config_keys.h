// config_keys.h — the config's key table and the helpers that read values and write messages,
// shared by fl/config_keys.cpp (table, reading, to_json), fl/config_validate.cpp (parse_config's
// checks) and fl/config_grid.cpp (overrides, grid expansion). Internal to fl/config*.cpp: other
// code uses fl/config.h.
#pragma once
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fl/config.h"

namespace nanofed::fl::config_detail {

using Member = std::variant<std::string FlConfig::*, int64_t FlConfig::*, uint64_t FlConfig::*,
                            double FlConfig::*, bool FlConfig::*, std::vector<int64_t> FlConfig::*,
                            std::vector<double> FlConfig::*, std::vector<std::string> FlConfig::*>;

struct Key {
  std::string name;
  Member member;                     // getter and setter
  std::vector<std::string> choices;  // string key: accepted values; string list: accepted entries
  // Choices read when a value is checked (the strategy registry may grow after the table is built).
  std::vector<std::string> (*live_choices)() = nullptr;
  std::vector<std::string> accepted() const { return live_choices ? live_choices() : choices; }
  bool is_list() const {
    return std::holds_alternative<std::vector<int64_t> FlConfig::*>(member) ||
           std::holds_alternative<std::vector<double> FlConfig::*>(member) ||
           std::holds_alternative<std::vector<std::string> FlConfig::*>(member);
  }
  bool is_string() const { return std::holds_alternative<std::string FlConfig::*>(member); }
};

// Every key, in the order of FlConfig (docs and to_json follow it).
const std::vector<Key>& table();
// Other spellings of table keys, and the key only expand_grid understands.
extern const std::vector<std::pair<std::string, std::string>> kAliases;
extern const char* const kSeeds;
// Keys that replace each other (an override of one removes the other).
extern const std::vector<std::pair<std::string, std::string>> kExclusive;

const Key* find_key(const std::string& name);  // nullptr when unknown
std::string canonical(const std::string& name);  // the table name of an alias

// ---- messages
[[noreturn]] void fail(const std::string& msg);
bool contains(const std::vector<std::string>& v, const std::string& x);
// A double as short as it round-trips, integral values without ".0": 0.1, 5, 2.5, 1e-05.
std::string num(double d);
std::string num(int64_t i);
// A JSON value in compact text: numbers as num() does, strings unquoted when `bare`.
std::string text(const json& v, bool bare);
// A value inside a message (JSON text, cut at 80 characters).
std::string show(const json& v);
// "unknown key 'lamda' (did you mean 'lambda'?)"
std::string unknown_key(const std::string& name);

// ---- reading
bool as_uint(const json& v, uint64_t& out);
// Throws unless `config` is an object of known keys with no key given under two names.
void check_names(const json& config, const std::string& src);
// The fields of a scalar config over the defaults, each value type- and choice-checked;
// `given` receives the table names that were present. No cross-key validation.
FlConfig read_fields(const json& config, const std::string& source, std::set<std::string>& given);

}  // namespace nanofed::fl::config_detail
