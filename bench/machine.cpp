#include "bench/machine.h"

#include <sched.h>

#include <ctime>
#include <fstream>
#include <sstream>

extern "C" char* openblas_get_corename(void);  // OpenBLAS' own API (not in the reference cblas.h)

namespace nanofed::bench {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size()) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

int cpu_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return 1;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "?";
  return a + " " + b + " " + c;
}

std::string blas_core() {
  const char* name = openblas_get_corename();
  return name ? name : "?";
}

std::string gpu_name(Device device) {
  if (!device.is_cuda()) return "";
  std::istringstream report(cuda_device_report());
  std::string line;
  std::getline(report, line);
  return line;
}

}  // namespace nanofed::bench
