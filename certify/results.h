// results.h — Cohen's certification TSV, written as it goes and resumable, and what is computed
// from it: the certified-accuracy curve and the average certified radius (ACR).
//
// File format (Cohen's certify.py columns byte for byte, which users' plotting scripts parse,
// plus one trailing column of ours):
//   idx\tlabel\tpredict\tradius\tcorrect\ttime\tradius_full
//   0\t7\t7\t0.523\t1\t0:00:03.412345\t0.52345312345678901
// radius is printed like Python's "{:.3}" (3 significant digits, the shortest of fixed and
// exponent notation, fixed keeps at least one digit after the point: 0.0, 1.5, 0.000273, 1e-05);
// time like Python's str(datetime.timedelta) H:MM:SS.ffffff (".ffffff" omitted when the
// microseconds are 0). predict is -1 on abstain; correct is 1 iff predict == label.
// radius_full is the same radius with 17 significant digits (it reads back as the very double
// that was written): the metrics below are computed from it, so a resumed run's ACR equals an
// uninterrupted run's exactly (3 digits would move it in the 4th decimal). Cohen's own 6-column
// files are read too (their radius is the 3-digit one) and are continued in their format.
// Every row is flushed to disk as soon as it is written, so a killed run loses at most the image
// being certified.
//
// Metrics (004_certified_fl.md §3):
//   CA(r) = (1/|S|) * #{rows : correct and radius >= r}     (abstains are wrong at every r)
//   ACR   = (1/|S|) * sum over correct rows of radius  = integral_0^inf CA(r) dr
//   (divided by ALL rows, not by the correct ones: MACER's definition).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <unordered_set>
#include <vector>

namespace nanofed::certify {

struct CertifyRow {
  int64_t idx = 0;
  int64_t label = 0;
  int64_t predict = -1;
  double radius = 0;
  bool correct = false;
  double seconds = 0;
};

std::string format_radius(double r);      // Python "{:.3}"
std::string format_radius_full(double r);  // "%.17g": strtod returns r exactly
std::string format_time(double seconds);  // Python str(timedelta(seconds=...))
std::string format_row(const CertifyRow& row);  // Cohen's 6 columns, without radius_full or the newline

// Reads a certification TSV (row.radius from radius_full when the file has it); a bad header or row throws "read_tsv: <path>:<line>: <what was
// expected>, got '<field>'". A last line without its newline (a torn write) is dropped, not an
// error.
std::vector<CertifyRow> read_tsv(const std::string& path);

// Appends rows to a TSV. With resume = false the file must not exist or be empty (an existing
// result is never overwritten: the error names the file and says to pass resume). With
// resume = true an existing file is read (read_tsv), a torn last line is cut off, and
// done() holds its rows, so the caller skips those idx (has(idx)); rows written later are
// added to done() too. The header is written once. A new file gets the radius_full column; a
// resumed one keeps the columns its header has.
class TsvWriter {
 public:
  TsvWriter(const std::string& path, bool resume);
  ~TsvWriter();
  TsvWriter(const TsvWriter&) = delete;
  TsvWriter& operator=(const TsvWriter&) = delete;
  const std::vector<CertifyRow>& done() const { return done_; }
  bool has(int64_t idx) const;
  void write(const CertifyRow& row);  // appends and flushes
 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::vector<CertifyRow> done_;
  bool full_radius_ = true;  // rows end with radius_full
  std::unordered_set<int64_t> done_idx_;  // the idx of done_, for has()
};

// Both divide by rows.size() and throw on an empty list.
double certified_accuracy(const std::vector<CertifyRow>& rows, double r);
double average_certified_radius(const std::vector<CertifyRow>& rows);
// CA at each radius of `radii` (Cohen's plots: a 0.01 grid; tables: 0.25 steps).
std::vector<double> certified_accuracy_curve(const std::vector<CertifyRow>& rows,
                                             const std::vector<double>& radii);

}  // namespace nanofed::certify
