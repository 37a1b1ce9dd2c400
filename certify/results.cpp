// results.cpp — Cohen's certification TSV (Python's number formats, reading with line-numbered
// errors, a resumable append-only writer) and the certified-accuracy metrics.
#include "certify/results.h"

#include "engine/file_io.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "engine/common.h"
#include "engine/text.h"

namespace nanofed::certify {
namespace {

const char* const kHeader = "idx\tlabel\tpredict\tradius\tcorrect\ttime";  // Cohen's
const char* const kFullRadius = "\tradius_full";  // our trailing column (see results.h)
constexpr int kColumns = 6;

std::string header(bool full_radius) { return std::string(kHeader) + (full_radius ? kFullRadius : ""); }

std::string two_digits(int64_t v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// ---- parsing one field; `where` is "<path>:<line>" (the project's read-error convention) ----

[[noreturn]] void bad_field(const std::string& where, const char* column, const char* expected,
                            const std::string& field) {
  std::ostringstream msg;
  msg << "read_tsv: " << where << ": " << column << " must be " << expected << ", got '" << field
      << "'";
  detail::throw_error(msg.str());
}

int64_t parse_int(const std::string& where, const char* column, const std::string& field) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(field.c_str(), &end, 10);
  if (field.empty() || *end != '\0' || errno == ERANGE)
    bad_field(where, column, "an integer", field);
  return v;
}

double parse_double(const std::string& where, const char* column, const std::string& field) {
  char* end = nullptr;
  const double v = std::strtod(field.c_str(), &end);
  if (field.empty() || *end != '\0') bad_field(where, column, "a number", field);
  return v;
}

// Python's str(timedelta): "[D day[s], ]H:MM:SS[.ffffff]" -> seconds.
double parse_time(const std::string& where, const std::string& field) {
  static const std::regex kTimedelta(
      R"(^(?:(\d+) days?, )?(\d+):([0-5]\d):([0-5]\d)(?:\.(\d{6}))?$)");
  std::smatch m;
  if (!std::regex_match(field, m, kTimedelta))
    bad_field(where, "time", "H:MM:SS[.ffffff] (Python's str(timedelta))", field);
  auto number = [&](int group) { return m[group].matched ? std::stod(m[group].str()) : 0.0; };
  return number(1) * 86400 + number(2) * 3600 + number(3) * 60 + number(4) + number(5) * 1e-6;
}

// One row of a file whose header has the radius_full column iff `full_radius`.
CertifyRow parse_row(const std::string& where, const std::string& line, bool full_radius) {
  const std::vector<std::string> fields = split(line, '\t');
  const int columns = kColumns + full_radius;
  NF_CHECK((int)fields.size() == columns,
           "read_tsv: " << where << ": expected " << columns << " tab-separated columns (idx label predict radius correct time"
                        << (full_radius ? " radius_full" : "") << "), got " << fields.size());
  CertifyRow row;
  row.idx = parse_int(where, "idx", fields[0]);
  row.label = parse_int(where, "label", fields[1]);
  row.predict = parse_int(where, "predict", fields[2]);
  row.radius = parse_double(where, "radius", fields[3]);
  if (fields[4] != "0" && fields[4] != "1") bad_field(where, "correct", "0 or 1", fields[4]);
  row.correct = fields[4] == "1";
  row.seconds = parse_time(where, fields[5]);
  if (full_radius) row.radius = parse_double(where, "radius_full", fields[6]);  // what summaries use
  return row;
}

std::string read_file(const std::string& path, const char* who) {
  const std::vector<uint8_t> bytes = nanofed::read_file_bytes(path, who);
  return std::string(bytes.begin(), bytes.end());
}

// The length of the complete lines of `content` (a last line without '\n' is a torn write).
size_t complete_length(const std::string& content) {
  const size_t last_newline = content.rfind('\n');
  return last_newline == std::string::npos ? 0 : last_newline + 1;
}

}  // namespace

// Python's format(r, ".3") (CPython format_float_short, 'g' with add_dot_0): 3 significant
// digits, correctly rounded (as "%.2e" gives them), trailing zeros dropped; exponent notation
// when the decimal exponent e is < -4 or >= 2 (= precision - 1, because of add_dot_0), else
// fixed notation with at least one digit after the point.
std::string format_radius(double r) {
  if (std::isnan(r)) return "nan";
  if (std::isinf(r)) return r > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2e", r);  // "-1.23e+05"
  std::string s = buf;
  std::string sign;
  if (s[0] == '-') {
    sign = "-";
    s.erase(0, 1);
  }
  const size_t e_at = s.find('e');
  const int exponent = std::atoi(s.c_str() + e_at + 1);
  std::string digits = s.substr(0, 1) + s.substr(2, e_at - 2);  // "123"
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (exponent < -4 || exponent >= 2) {
    std::string mantissa = digits.substr(0, 1);
    if (digits.size() > 1) mantissa += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + mantissa + exp_buf;
  }
  const int point = exponent + 1;  // digits before the decimal point (<= 0: leading zeros)
  if (point <= 0) return sign + "0." + std::string(-point, '0') + digits;
  while ((int)digits.size() < point) digits += '0';
  const std::string fraction = digits.substr(point);
  return sign + digits.substr(0, point) + "." + (fraction.empty() ? "0" : fraction);
}

// Python's str(timedelta(seconds=s)): the fractional second is rounded to microseconds half to
// even (timedelta splits off the whole seconds first, as here), ".ffffff" only when nonzero.
std::string format_time(double seconds) {
  NF_CHECK(std::isfinite(seconds) && seconds >= 0,
           "format_time: seconds must be finite and >= 0, got " << seconds);
  const double whole = std::floor(seconds);
  const int64_t total_us =
      (int64_t)whole * 1000000 + (int64_t)std::nearbyint((seconds - whole) * 1e6);
  const int64_t us = total_us % 1000000, total_s = total_us / 1000000;
  const int64_t days = total_s / 86400, h = total_s % 86400 / 3600, m = total_s % 3600 / 60,
                s = total_s % 60;
  std::string out;
  if (days > 0) out = std::to_string(days) + (days == 1 ? " day, " : " days, ");
  out += std::to_string(h) + ":" + two_digits(m) + ":" + two_digits(s);
  if (us != 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, ".%06lld", (long long)us);
    out += buf;
  }
  return out;
}

std::string format_radius_full(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", r);  // 17 significant digits: strtod gives r back
  return buf;
}

std::string format_row(const CertifyRow& row) {
  return std::to_string(row.idx) + "\t" + std::to_string(row.label) + "\t" +
         std::to_string(row.predict) + "\t" + format_radius(row.radius) + "\t" +
         (row.correct ? "1" : "0") + "\t" + format_time(row.seconds);
}

namespace {

struct ParsedTsv {
  std::vector<CertifyRow> rows;
  bool full_radius = false;  // the header has the radius_full column
};

// The rows of a TSV's complete lines (`content` cut after its last '\n'); errors name path:line.
ParsedTsv parse_tsv(const std::string& content, const std::string& path) {
  NF_CHECK(!content.empty(), "read_tsv: " << path << ":1: expected the header, got an empty "
                                          << "file (or only a torn first line)");
  ParsedTsv parsed;
  size_t begin = 0;
  for (int64_t line_no = 1; begin < content.size(); ++line_no) {
    const size_t end = content.find('\n', begin);
    const std::string line = content.substr(begin, end - begin);
    begin = end + 1;
    const std::string where = path + ":" + std::to_string(line_no);
    if (line_no == 1) {
      NF_CHECK(line == header(false) || line == header(true),
               "read_tsv: " << where << ": expected the header '"
                            << "idx\\tlabel\\tpredict\\tradius\\tcorrect\\ttime[\\tradius_full]"
                            << "', got '" << line << "'");
      parsed.full_radius = line == header(true);
      continue;
    }
    parsed.rows.push_back(parse_row(where, line, parsed.full_radius));
  }
  return parsed;
}

}  // namespace

std::vector<CertifyRow> read_tsv(const std::string& path) {
  const std::string content = read_file(path, "read_tsv");
  return parse_tsv(content.substr(0, complete_length(content)), path).rows;  // drop a torn last line
}

TsvWriter::TsvWriter(const std::string& path, bool resume) : path_(path) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  const uintmax_t size = exists ? std::filesystem::file_size(path, ec) : 0;
  NF_CHECK(!exists || size == 0 || resume,
           "TsvWriter: " << path << " already exists; pass resume to continue it (an existing "
                         << "result is never overwritten)");
  bool has_header = false;
  if (exists && size > 0) {  // resume: check everything before cutting anything
    const std::string content = read_file(path, "TsvWriter");
    const size_t keep = complete_length(content);
    if (keep > 0) {
      ParsedTsv parsed = parse_tsv(content.substr(0, keep), path);  // every complete line (the torn one is dropped)
      done_ = std::move(parsed.rows);
      full_radius_ = parsed.full_radius;  // a file of Cohen's own format stays in it
      has_header = true;
    } else {  // a single torn line: it must be the start of the header
      NF_CHECK(header(true).compare(0, content.size(), content) == 0,
               "TsvWriter: " << path << ":1: expected the header, got '" << content << "'");
    }
    if (keep != content.size()) std::filesystem::resize_file(path, keep);  // cut the torn line
  }
  for (const CertifyRow& row : done_) done_idx_.insert(row.idx);
  file_ = std::fopen(path.c_str(), "a");
  NF_CHECK(file_ != nullptr, "TsvWriter: cannot open " << path << " for appending");
  if (!has_header) {
    const bool ok = std::fprintf(file_, "%s\n", header(full_radius_).c_str()) > 0 && std::fflush(file_) == 0;
    NF_CHECK(ok, "TsvWriter: cannot write to " << path);
  }
}

TsvWriter::~TsvWriter() {
  if (file_) std::fclose(file_);
}

bool TsvWriter::has(int64_t idx) const { return done_idx_.count(idx) > 0; }

void TsvWriter::write(const CertifyRow& row) {
  const std::string line = format_row(row) + (full_radius_ ? "\t" + format_radius_full(row.radius) : "") + "\n";
  const bool ok = std::fwrite(line.data(), 1, line.size(), file_) == line.size() &&
                  std::fflush(file_) == 0;
  NF_CHECK(ok, "TsvWriter: cannot write to " << path_);
  done_.push_back(row);
  done_idx_.insert(row.idx);
}

double certified_accuracy(const std::vector<CertifyRow>& rows, double r) {
  NF_CHECK(!rows.empty(), "certified_accuracy: no rows");
  int64_t certified = 0;
  for (const CertifyRow& row : rows) certified += row.correct && row.radius >= r;
  return (double)certified / (double)rows.size();
}

double average_certified_radius(const std::vector<CertifyRow>& rows) {
  NF_CHECK(!rows.empty(), "average_certified_radius: no rows");
  double total = 0;
  for (const CertifyRow& row : rows)
    if (row.correct) total += row.radius;
  return total / (double)rows.size();  // over ALL rows (MACER): the area under CA(r)
}

std::vector<double> certified_accuracy_curve(const std::vector<CertifyRow>& rows,
                                             const std::vector<double>& radii) {
  std::vector<double> curve;
  for (double r : radii) curve.push_back(certified_accuracy(rows, r));
  return curve;
}

}  // namespace nanofed::certify
