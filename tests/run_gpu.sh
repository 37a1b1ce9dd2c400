#!/usr/bin/env bash
# Runs the CUDA test suite from a prebuilt build/ on a machine with a GPU, which needs no
# compiler, no Boost (the tests are header-only Boost.Test) and, with `make gpu-bundle`, no
# OpenBLAS either (build/lib is on the binaries' rpath).
#
#   on the build machine:  make && make gpu-bundle        # then copy build/ (or the repo)
#   on the GPU machine:    bash tests/run_gpu.sh          # = make gpu-test
#
# Environment: SANITIZE=0 skips compute-sanitizer; ALL=1 runs every suite, not only @cuda.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=build/nanofed_tests
if [ ! -x "$bin" ]; then
  echo "run_gpu.sh: $bin not found: build it with 'make' (and 'make gpu-bundle' if this machine lacks OpenBLAS), then copy build/ here" >&2
  exit 2
fi
export LD_LIBRARY_PATH="$PWD/build/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
filter="--run_test=@cuda"
[ "${ALL:-0}" = 1 ] && filter=""
status=0
echo "== CUDA suite"
"$bin" $filter --color_output=no --log_level=test_suite 2>&1 | grep -v "^Leaving\|^Entering" || status=1
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ "${SANITIZE:-1}" = 1 ]; then
  if [ -n "$sanitizer" ]; then
    for tool in memcheck racecheck; do
      echo "== compute-sanitizer --tool $tool"
      "$sanitizer" --tool "$tool" --error-exitcode 99 "$bin" --run_test=@cuda --color_output=no || status=1
    done
  else
    echo "== compute-sanitizer not found: skipped"
  fi
fi
echo "run_gpu.sh: $([ $status = 0 ] && echo PASSED || echo FAILED)"
exit $status
