// machine.h — what the benchmark's header line says about where it ran: date, CPU, cores,
// load (the machine may be shared: every table carries its `uptime` load), GPU.
#pragma once
#include <string>

#include "engine/device.h"

namespace nanofed::bench {

std::string utc_now();       // "2026-12-06 10:12 UTC"
std::string cpu_model();     // /proc/cpuinfo's model name, "unknown CPU" if absent
int cpu_cores();             // cores this process may run on
std::string load_average();  // "0.51 1.27 1.62" (1, 5, 15 min, as `uptime` prints), "?" if unknown
// The kernel family OpenBLAS chose for this CPU ("SkylakeX", "Prescott" when it did not know the
// model and fell back to SSE3): both engines' GEMMs run on it on the CPU.
std::string blas_core();
// The GPU's line of cuda_device_report() for a CUDA device; "" on the CPU.
std::string gpu_name(Device device);

}  // namespace nanofed::bench
