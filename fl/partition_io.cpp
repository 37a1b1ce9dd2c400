// partition_io.cpp — the partition and split files (formats in fl/partition.h): writers, and
// readers whose every error names "<path>:<line>:".
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/common.h"
#include "fl/partition.h"

namespace nanofed::fl {

namespace {

// Reads an index file line by line; every error names "<path>:<line>:".
class IndexFileReader {
 public:
  IndexFileReader(const std::string& path, const char* who) : path_(path), f_(path) {
    NF_CHECK(f_.good(), who << ": cannot open " << path);
  }
  std::string where() const { return path_ + ":" + std::to_string(lineno_) + ": "; }

  void next(const std::string& expected) {
    ++lineno_;
    NF_CHECK((bool)std::getline(f_, line_), where()
                                                << "unexpected end of file, expected " << expected);
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  }

  // Parses a non-negative decimal integer token fully, or throws naming the line.
  int64_t parse_int(const std::string& tok, const char* what) const {
    NF_CHECK(
        !tok.empty() && tok.size() <= 18 &&
            std::all_of(tok.begin(), tok.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
        where() << "expected " << what << " (a non-negative integer), got '" << tok << "'");
    return std::stoll(tok);
  }

  // "<magic>" then "clients <K>"; returns K.
  int64_t header(const std::string& magic) {
    next("header '" + magic + "'");
    NF_CHECK(line_ == magic, where() << "expected header '" << magic << "', got '" << line_ << "'");
    next("'clients <K>'");
    std::istringstream hs(line_);
    std::string word, count, rest;
    hs >> word >> count;
    NF_CHECK(word == "clients" && !(hs >> rest),
             where() << "expected 'clients <K>', got '" << line_ << "'");
    return parse_int(count, "the number of clients");
  }

  // The next line as "<k><tag>: <indices>" (tag "" or " train"/" test"); returns the indices.
  std::vector<int64_t> client_line(int64_t k, const std::string& tag) {
    const std::string form = std::to_string(k) + tag + ": <indices>";
    next("a client line '" + form + "'");
    const size_t colon = line_.find(':');
    NF_CHECK(colon != std::string::npos, where()
                                             << "expected '" << form << "', got '" << line_ << "'");
    const std::string head = line_.substr(0, colon);
    std::string id_tok = head;
    if (!tag.empty()) {  // "<k> train": the id, one space, the tag
      const size_t space = head.find(' ');
      NF_CHECK(space != std::string::npos && head.substr(space) == tag,
               where() << "expected '" << form << "', got '" << line_ << "'");
      id_tok = head.substr(0, space);
    }
    const int64_t id = parse_int(id_tok, "the client id");
    NF_CHECK(id == k, where() << "expected client " << k << ", got " << id);
    std::istringstream ls(line_.substr(colon + 1));
    std::vector<int64_t> indices;
    std::string tok;
    while (ls >> tok) indices.push_back(parse_int(tok, "a sample index"));
    return indices;
  }

  // Only blank lines may follow the K clients.
  void expect_end(int64_t K) {
    while (std::getline(f_, line_)) {
      ++lineno_;
      NF_CHECK(line_.find_first_not_of(" \t\r") == std::string::npos,
               where() << "unexpected content after " << K << " clients: '" << line_ << "'");
    }
  }

 private:
  std::string path_;
  std::ifstream f_;
  std::string line_;
  int64_t lineno_ = 0;
};

// The indices of one client line, each after a space, then the line's end.
void write_indices(std::ostream& f, const std::vector<int64_t>& indices) {
  for (int64_t i : indices) f << " " << i;
  f << "\n";
}

// Writes `header`, "clients N" and then body(f) to path; `who` names the writer in errors.
template <class Body>
void write_index_file(const std::string& path, const char* who, const char* header, size_t clients,
                      Body body) {
  std::ofstream f(path);
  NF_CHECK(f.good(), who << ": cannot open " << path << " for writing");
  f << header << "\n" << "clients " << clients << "\n";
  body(f);
  f.flush();
  NF_CHECK(f.good(), who << ": error writing " << path);
}

}  // namespace

void write_partition(const std::string& path, const Partition& parts) {
  write_index_file(path, "write_partition", "nanofed-partition v1", parts.size(), [&](std::ostream& f) {
    for (size_t k = 0; k < parts.size(); ++k) {
      f << k << ":";
      write_indices(f, parts[k]);
    }
  });
}

Partition read_partition(const std::string& path) {
  IndexFileReader r(path, "read_partition");
  const int64_t K = r.header("nanofed-partition v1");
  Partition parts(K);
  for (int64_t k = 0; k < K; ++k) parts[k] = r.client_line(k, "");
  r.expect_end(K);
  return parts;
}

void write_split(const std::string& path, const FederatedSplit& split) {
  write_index_file(path, "write_split", "nanofed-split v1", split.size(), [&](std::ostream& f) {
    for (size_t k = 0; k < split.size(); ++k) {
      f << k << " train:";
      write_indices(f, split[k].train);
      f << k << " test:";
      write_indices(f, split[k].test);
    }
  });
}

FederatedSplit read_split(const std::string& path) {
  IndexFileReader r(path, "read_split");
  const int64_t K = r.header("nanofed-split v1");
  FederatedSplit split(K);
  for (int64_t k = 0; k < K; ++k) {
    split[k].train = r.client_line(k, " train");
    split[k].test = r.client_line(k, " test");
  }
  r.expect_end(K);
  return split;
}

}  // namespace nanofed::fl
