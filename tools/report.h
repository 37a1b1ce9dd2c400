// report.h — `nanofed report DIR`: figures and one HTML page for the output folder of any
// nanofed command (docs/report.md).
//
// The C++ side reads the run's own files and decides what each figure shows; every figure goes
// to DIR/figures/<name>.json as data + spec (title, axis labels, series with x / y and an
// optional lo / hi band), and ONE process of tools/plot_figures.py (matplotlib, Agg) renders
// them all to DIR/figures/<name>.png, so the whole project has one figure style. Then
// DIR/report.html is written here: the tables (resolved config, summary), the figures, the list
// of the files it was made from; relative links only, no script, nothing from the network.
// Nothing but DIR/figures/ and DIR/report.html is written: the plotting step never changes results.
//
//   report_sources.cpp  what a folder holds: the Report (sections per output kind)
//   report_fl.cpp       the fl sections (one run, a grid of runs)
//   report_plot.cpp     figure specs + the python process
//   report_html.cpp     the page
//   report_command.cpp  build_report (the three steps) and the `nanofed report` command
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace nanofed::report {

// One line (kind "line": x / y, band lo / hi when not empty), one box (kind "box": y holds
// the values, one per client) or one method's bars (kind "bar": y[i] is the bar's height in
// Figure::categories[i], NaN = no bar; lo[i] / hi[i], when not empty, are the absolute ends of
// its whisker, as a line's band; x is unused) of a figure.
struct Series {
  std::string label;
  std::vector<double> x, y, lo, hi;
  bool dashed = false;
};

struct Figure {
  std::string name;  // file stem under figures/
  std::string kind = "line";  // line | box | bar | image (an existing PNG of the run: `image`)
  std::string title, xlabel, ylabel, caption;
  std::vector<Series> series;
  std::string image;  // kind image: its path relative to DIR
  std::vector<std::string> categories = {};  // kind bar: the groups' tick labels, e.g. "clean", "A1 50%"
};

// A table of the page: header + rows, or preformatted text (results.md) when `text` is set.
struct Table {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::string text;
};

struct Report {
  std::string dir;
  std::vector<std::string> kinds;    // "train", "fl", "fl grid", "attack", "certify"
  std::vector<Figure> figures;
  std::vector<Table> tables;
  std::vector<std::string> sources;  // the files read, relative to dir
};

// A CSV (or TSV) file's header and rows; column() parses one column as numbers (an empty
// field is NaN) and throws naming the file and the column when the header lacks it.
struct CsvFile {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t index(const std::string& column) const;
  std::vector<double> column(const std::string& column) const;
};
CsvFile read_csv(const std::string& path, char separator = ',');
double to_number(const std::string& field);  // NaN when empty or not a number

// What DIR holds, read (nothing written). Throws one line naming DIR and what was expected
// when it is not a directory or holds no nanofed output.
Report collect(const std::string& dir);
// The fl sections: one run (DIR has rounds.csv) or every run below DIR (a grid, the quickstart).
void add_fl_run(Report& r, const std::string& run_dir);
void add_fl_grid(Report& r, const std::vector<std::string>& run_dirs);
// Certified accuracy against radius from Cohen TSVs in `folder`; files <g>_client<k>.tsv form
// one line per g (mean over clients, min-max band). `prefix` labels the lines.
void add_certify(Report& r, const std::string& folder, const std::string& prefix);
// One line from several certified-accuracy curves on a common radius grid: the mean, band the
// pointwise min and max (no band for one curve).
Series mean_band(const std::string& label, const std::vector<double>& radii,
                 const std::vector<std::vector<double>>& curves);
// Key = value rows of a JSON object, nested keys joined with '.'.
Table json_table(const std::string& title, const std::string& json_path);
std::string relative_to(const std::string& path, const std::string& dir);

// The interpreters tried in turn: $NANOFED_PYTHON alone when set, else python3, /usr/bin/python3.
std::vector<std::string> python_candidates();

// Writes DIR/figures/*.json and runs the plotting script on them. Returns "" when every
// figure was rendered, else the one line that says why not (python3-matplotlib missing, ...).
std::string render_figures(const Report& r, bool& missing_package);
void write_html(const Report& r, const std::string& plot_problem);

// The whole command: collect, render, write the page; prints where it is. Returns the exit
// status: 0, or 2 when the figures could not be rendered (the page is written without them).
int build_report(const std::string& dir);

}  // namespace nanofed::report
