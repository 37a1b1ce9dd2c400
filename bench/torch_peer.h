// torch_peer.h — PyTorch's side of the benchmark: `python3 torch_ref.py --serve` as a child
// process, spoken to over two pipes with the line protocol of protocol.h.
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <sys/types.h>

#include "bench/protocol.h"

namespace nanofed::bench {

class TorchPeer {
 public:
  // Starts `<python> <script> --serve --threads <threads>` with the first interpreter that
  // imports torch: $NANOFED_PYTHON alone when set, else python3 from PATH, then /usr/bin/python3
  // (Debian's python3-torch lives there, beside a pyenv or venv python3 that may lack it).
  // Returns nullptr and sets *why (one line) when the script is missing or no interpreter works.
  static std::unique_ptr<TorchPeer> start(const std::string& script, int threads, std::string* why);
  ~TorchPeer();  // sends quit and reaps the child
  TorchPeer(const TorchPeer&) = delete;
  TorchPeer& operator=(const TorchPeer&) = delete;

  // Sends one request line and returns the reply; throws when the child has gone away.
  Reply request(const std::string& line);
  const Reply& hello() const { return hello_; }
  const std::string& python() const { return python_; }

 private:
  TorchPeer() = default;
  bool launch(const std::string& python, const std::string& script, int threads, std::string* why);
  Reply read_reply();
  pid_t pid_ = -1;
  FILE* to_ = nullptr;    // the child's stdin
  FILE* from_ = nullptr;  // the child's stdout
  std::string python_;
  Reply hello_;
};

// Where torch_ref.py is: $NANOFED_TORCH_REF when set, else bench/torch_ref.py of the repository
// this binary was built in (<dir of the executable>/../bench/torch_ref.py), else
// bench/torch_ref.py under the current directory.
std::string torch_ref_path();

}  // namespace nanofed::bench
