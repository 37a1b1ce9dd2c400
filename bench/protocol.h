// protocol.h — the line protocol between nanofed_bench and `torch_ref.py --serve` (its child
// process, over a pipe each way). One request per line, one reply per line:
//
//   (on start)            <- ok torch=<version> threads=<n> python=<version>
//   setup <name> <device> <- ok items=<per iteration> unit=<unit>      builds the workload,
//                                                                      resets the peak memory
//   run <k>               <- ok seconds=<time of k iterations>         device synchronised
//   peak                  <- ok peak=<bytes> base=<bytes> measure=<rss|cuda>
//   quit                  (the child exits)
// Any request may be answered `err <one line>` instead (an unknown workload, an exception).
// Values contain no spaces; the error text may.
#pragma once
#include <map>
#include <string>

namespace nanofed::bench {

struct Reply {
  bool ok = false;
  std::map<std::string, std::string> fields;  // ok: key=value pairs
  std::string error;                          // err: the text after "err "
};

// Parses one reply line (a trailing '\r' or '\n' is ignored). Throws nanofed::Error
// "torch_ref.py: unexpected reply '<line>'" for anything but "ok [k=v ...]" or "err <text>",
// and for an ok field without '=' or with an empty key.
Reply parse_reply(const std::string& line);

// The field `key` of an ok reply: as text, or as a number (throws naming the key when it is
// missing or not a number).
std::string reply_field(const Reply& reply, const std::string& key);
double reply_number(const Reply& reply, const std::string& key);

}  // namespace nanofed::bench
