#include "bench/torch_peer.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "engine/common.h"
#include "engine/file_io.h"

namespace nanofed::bench {

namespace {

std::vector<std::string> interpreters() {
  if (const char* p = std::getenv("NANOFED_PYTHON"); p && *p) return {p};
  return {"python3", "/usr/bin/python3"};
}

}  // namespace

std::string torch_ref_path() {
  if (const char* p = std::getenv("NANOFED_TORCH_REF"); p && *p) return p;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::string beside = (exe.parent_path().parent_path() / "bench" / "torch_ref.py").string();
    if (file_exists(beside)) return beside;
  }
  return "bench/torch_ref.py";
}

std::unique_ptr<TorchPeer> TorchPeer::start(const std::string& script, int threads, std::string* why) {
  if (!file_exists(script)) {
    *why = "no " + script + " (set NANOFED_TORCH_REF)";
    return nullptr;
  }
  signal(SIGPIPE, SIG_IGN);  // a child that died shows as a failed write, not a killed benchmark
  std::string reasons;  // one per interpreter tried
  for (const std::string& python : interpreters()) {
    std::unique_ptr<TorchPeer> peer(new TorchPeer());
    std::string reason;
    if (peer->launch(python, script, threads, &reason)) return peer;
    reasons += (reasons.empty() ? "" : "; ") + reason;
  }
  *why = reasons;
  return nullptr;
}

bool TorchPeer::launch(const std::string& python, const std::string& script, int threads, std::string* why) {
  int down[2], up[2];  // down: we write, child reads; up: child writes, we read
  if (pipe(down) != 0 || pipe(up) != 0) {
    *why = "pipe() failed";
    return false;
  }
  const std::string nthreads = std::to_string(threads);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(down[0], 0);
    dup2(up[1], 1);
    for (int fd : {down[0], down[1], up[0], up[1]}) close(fd);
    execlp(python.c_str(), python.c_str(), script.c_str(), "--serve", "--threads", nthreads.c_str(), (char*)nullptr);
    _exit(127);  // exec failed: the parent reads EOF
  }
  close(down[0]);
  close(up[1]);
  to_ = fdopen(down[1], "w");
  from_ = fdopen(up[0], "r");
  python_ = python;
  try {
    hello_ = read_reply();
  } catch (const Error&) {
    *why = python + ": did not start " + script;
    return false;
  }
  if (!hello_.ok) *why = python + ": " + hello_.error;
  return hello_.ok;
}

TorchPeer::~TorchPeer() {
  if (to_) {
    std::fputs("quit\n", to_);
    std::fclose(to_);
  }
  if (from_) std::fclose(from_);
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

Reply TorchPeer::request(const std::string& line) {
  NF_CHECK(std::fputs((line + "\n").c_str(), to_) >= 0 && std::fflush(to_) == 0,
           "torch_ref.py: cannot send '" << line << "' (the process has exited; see its messages above)");
  return read_reply();
}

Reply TorchPeer::read_reply() {
  char* buf = nullptr;
  size_t cap = 0;
  const ssize_t n = getline(&buf, &cap, from_);
  const std::string line = n > 0 ? std::string(buf, (size_t)n) : "";
  std::free(buf);
  NF_CHECK(n > 0, "torch_ref.py: exited without a reply (see its messages above)");
  return parse_reply(line);
}

}  // namespace nanofed::bench
