// report_html.cpp — DIR/report.html: one self-contained page (inline CSS, no script, nothing
// from the network) with the figures (relative links to figures/*.png), the tables and the list
// of the files it was made from. Every piece of text is escaped.
#include <sstream>

#include "engine/file_io.h"
#include "engine/text.h"
#include "tools/report.h"

namespace nanofed::report {

namespace {

const char* const kStyle =
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}"
    "figure{display:inline-block;vertical-align:top;width:48%;margin:0.5%}figure img{width:100%}"
    "figcaption{font-size:0.85em;color:#444}table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}pre{font-size:0.8em;overflow-x:auto}"
    ".problem{color:#a00;font-weight:bold}";

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A relative link: every path segment percent-escaped where a URL needs it.
std::string href(const std::string& path) {
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::string("/._-~").find(c) != std::string::npos) out += (char)c;
    else out += "%" + std::string(1, "0123456789ABCDEF"[c >> 4]) + "0123456789ABCDEF"[c & 15];
  }
  return out;
}

void figure_html(std::ostream& o, const Report& r, const Figure& f) {
  const std::string src = f.kind == "image" ? f.image : "figures/" + f.name + ".png";
  o << "<figure>";
  if (f.kind == "image" || file_exists(r.dir + "/" + src))
    o << "<img src=\"" << href(src) << "\" alt=\"" << escape(f.title) << "\">";
  else
    o << "<p class=\"problem\">" << escape(f.title) << ": not rendered</p>";
  o << "<figcaption><b>" << escape(f.title) << ".</b> " << escape(f.caption) << "</figcaption></figure>\n";
}

void table_html(std::ostream& o, const Table& t) {
  o << "<h3>" << escape(t.title) << "</h3>\n";
  if (!t.text.empty()) {
    o << "<pre>" << escape(t.text) << "</pre>\n";
    return;
  }
  o << "<table><tr>";
  for (const std::string& h : t.header) o << "<th>" << escape(h) << "</th>";
  o << "</tr>\n";
  for (const auto& row : t.rows) {
    o << "<tr>";
    for (const std::string& cell : row) o << "<td>" << escape(cell) << "</td>";
    o << "</tr>\n";
  }
  o << "</table>\n";
}

}  // namespace

void write_html(const Report& r, const std::string& plot_problem) {
  std::ostringstream o;
  const std::string title = "nanofed report: " + r.dir;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << escape(title)
    << "</title><style>" << kStyle << "</style></head><body>\n<h1>" << escape(title) << "</h1>\n<p>Output of: "
    << escape(join(r.kinds)) << ". Made by <code>nanofed report " << escape(r.dir)
    << "</code> from the files listed at the end; figures rendered by tools/plot_figures.py (matplotlib).</p>\n";
  if (!plot_problem.empty()) o << "<p class=\"problem\">" << escape(plot_problem) << "</p>\n";
  o << "<h2>Figures</h2>\n";
  for (const Figure& f : r.figures)
    if (f.kind == "image" || !f.series.empty()) figure_html(o, r, f);
  o << "<h2>Tables</h2>\n";
  for (const Table& t : r.tables) table_html(o, t);
  o << "<h2>Made from</h2>\n<ul>\n";
  for (const std::string& s : r.sources) o << "<li><a href=\"" << href(s) << "\">" << escape(s) << "</a></li>\n";
  o << "</ul>\n</body></html>\n";
  write_file_atomic(r.dir + "/report.html", o.str(), "nanofed report");
}

}  // namespace nanofed::report
