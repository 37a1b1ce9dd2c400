// nanofed — the command-line program. Subcommands grow with the modules; for now: `demo`.
#include <cstdio>
#include <string>

#include "engine/device.h"

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "help";
  if (cmd == "demo") {
    std::printf("nanofed engine demo: cuda compiled=%d available=%d\n", nanofed::cuda_compiled(),
                nanofed::cuda_available());
    return 0;
  }
  std::fprintf(stderr, "usage: nanofed demo\n");
  return cmd == "help" ? 0 : 2;
}
