#!/usr/bin/env bash
# run.sh — nanofed's GPU check, shipped inside the folder `make gpu-pack` builds (docs/gpu.md).
# Needs nothing on the GPU machine but the NVIDIA driver and the CUDA runtime libraries
# (cuBLAS, cuRAND); OpenBLAS, gfortran and zlib travel in lib.tar.gz.
#
#   bash run.sh            every step; results in $OUT (the device tool's folder) or ./results
#
# Steps, each timed, all written to the results folder (log.txt, device.txt, junit-cuda.xml,
# memcheck.txt, bench.txt, summary.json):
#   1. device: GPUs, driver and runtime versions and one kernel launch; no usable GPU ->
#      "no usable GPU: <CUDA error>" and exit 3, before anything else.
#   2. the @cuda suite with NANOFED_REQUIRE_GPU=1: a skipped CUDA case is a failure.
#   3. the benchmark's GPU workloads, when this pack carries one (and PyTorch's beside it).
#   4. compute-sanitizer memcheck on one case per kernel family, time-capped; a sanitizer that
#      cannot attach to the device is reported as "sanitizer unavailable", not as a failure.
# Exit: 0 all passed; 1 a test, the bench or memcheck failed; 3 no usable GPU.
# Environment: SUITE_TIMEOUT (s, default 360), MEMCHECK_TIMEOUT (s, default 150), MEMCHECK=0 skips step 4.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/results}
mkdir -p "$out"
# The host libraries the binaries were linked with (OpenBLAS & co.), unpacked outside the pack.
libdir=$(mktemp -d)
trap 'rm -rf "$libdir"' EXIT
tar xzf "$here/lib.tar.gz" -C "$libdir"
cuda_lib=${CUDA_HOME:-/usr/local/cuda}/lib64
export LD_LIBRARY_PATH="$libdir:$cuda_lib:${LD_LIBRARY_PATH:-}"
tests=$here/nanofed_tests
log=$out/log.txt
: > "$log"
say() { echo "$*" | tee -a "$log"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | awk 'BEGIN { ORS = "\\n" } { print }' | sed 's/\\n$//'; }

declare -A result timing
status=0
write_summary() {
  {
    echo "{"
    echo "  \"pack\": \"$(json_str "$(cat "$here/PACK" 2>/dev/null)")\","
    echo "  \"gpu\": \"$(json_str "$(cat "$out/device.txt" 2>/dev/null)")\","
    for key in device suite bench memcheck; do
      echo "  \"$key\": {\"result\": \"$(json_str "${result[$key]:-not run}")\", \"seconds\": ${timing[$key]:-0}},"
    done
    echo "  \"status\": \"$([ $status = 0 ] && echo passed || echo failed)\""
    echo "}"
  } > "$out/summary.json"
}

# ---- 1. device
say "== 1. device"
t=$(now)
if ! "$tests" --gpu-info > "$out/device.txt" 2> "$out/device.err"; then
  reason=$(grep -m1 "no usable GPU" "$out/device.err" || tail -n1 "$out/device.err")
  [ -n "$reason" ] || reason="no usable GPU: nanofed_tests --gpu-info failed without a message"
  result[device]=$reason; timing[device]=$(since "$t"); status=3
  write_summary
  echo "$reason" | tee -a "$log" >&2
  exit 3
fi
command -v nvidia-smi > /dev/null &&
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader >> "$out/device.txt" 2>&1
tee -a "$log" < "$out/device.txt"
result[device]="ok"; timing[device]=$(since "$t")

# ---- 2. the @cuda suite; the test binary's last line is "N passed, N failed, N skipped"
say "== 2. CUDA suite (NANOFED_REQUIRE_GPU=1: skipped = failed)"
t=$(now)
NANOFED_REQUIRE_GPU=1 timeout "${SUITE_TIMEOUT:-360}" "$tests" --run_test=@cuda --color_output=no \
  "--logger=HRF,test_suite,stdout:JUNIT,all,$out/junit-cuda.xml" --report_level=short > "$out/suite.txt" 2>&1
rc=$?
grep -v "^Leaving\|^Entering" "$out/suite.txt" | tee -a "$log" > /dev/null
counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/suite.txt" | tail -n1)
read -r passed failed skipped <<< "$(echo "$counts" | awk '{print $1, $3, $5}')"
timing[suite]=$(since "$t")
if [ -z "$counts" ]; then
  result[suite]="FAILED: no result line (exit $rc$([ $rc = 124 ] && echo ", timed out after ${SUITE_TIMEOUT:-360} s"))"; status=1
elif [ "$rc" != 0 ] || [ "$failed" != 0 ] || [ "$skipped" != 0 ] || [ "$passed" = 0 ]; then
  result[suite]="FAILED: $counts (exit $rc)"; status=1
else
  result[suite]="passed: $counts"
fi
say "suite: ${result[suite]} in ${timing[suite]} s"
grep -E "error: in|fatal error|failure" "$out/suite.txt" | head -n 40 | tee -a "$log" > /dev/null

# ---- 3. benchmark (GPU workloads), PyTorch beside it when importable
say "== 3. benchmark"
t=$(now)
if [ -x "$here/nanofed_bench" ]; then
  # The benchmark runs PyTorch's side itself (interleaved) when torch_ref.py and torch are there.
  if NANOFED_TORCH_REF="$here/torch_ref.py" timeout 240 "$here/nanofed_bench" --device cuda \
       --json "$out/bench.json" > "$out/bench.txt" 2>&1; then
    result[bench]="ran (see bench.txt)"
  else
    result[bench]="FAILED (exit $?, see bench.txt)"; status=1
  fi
  tee -a "$log" < "$out/bench.txt" > /dev/null
else
  result[bench]="not in this pack (no benchmark program was built)"
fi
timing[bench]=$(since "$t")
say "bench: ${result[bench]}"

# ---- 4. memcheck on one case per kernel family
say "== 4. compute-sanitizer memcheck (subset)"
t=$(now)
sanitizer=$(command -v compute-sanitizer || ls "${CUDA_HOME:-/usr/local/cuda}/bin/compute-sanitizer" 2>/dev/null || true)
subset=$(grep -v '^#' "$here/memcheck_cases.txt" | paste -sd: -)
if [ "${MEMCHECK:-1}" = 0 ]; then
  result[memcheck]="skipped (MEMCHECK=0)"
elif [ -z "$sanitizer" ]; then
  result[memcheck]="sanitizer unavailable: compute-sanitizer not found"
else
  NANOFED_REQUIRE_GPU=1 timeout "${MEMCHECK_TIMEOUT:-150}" "$sanitizer" --tool memcheck --error-exitcode 99 \
    "$tests" "--run_test=$subset" --color_output=no > "$out/memcheck.txt" 2>&1
  rc=$?
  ran=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out/memcheck.txt" | tail -n1)
  if [ $rc = 0 ]; then
    result[memcheck]="clean: $ran"
  elif [ $rc = 99 ]; then
    result[memcheck]="FAILED: memcheck reported errors ($(grep -c '^========= Invalid\|^========= Program hit' "$out/memcheck.txt") findings)"; status=1
  elif [ $rc = 124 ]; then
    result[memcheck]="timed out after ${MEMCHECK_TIMEOUT:-150} s (inconclusive; ${ran:-no result line})"
  elif [ -z "$ran" ]; then  # the tests never reported: the sanitizer itself could not run them
    result[memcheck]="sanitizer unavailable: $(grep -m1 -i 'error' "$out/memcheck.txt" || tail -n1 "$out/memcheck.txt")"
  else
    result[memcheck]="FAILED under memcheck: $ran (exit $rc)"; status=1
  fi
fi
timing[memcheck]=$(since "$t")
say "memcheck: ${result[memcheck]}"

write_summary
say "== run.sh: $([ $status = 0 ] && echo PASSED || echo FAILED) (results in $out)"
exit $status
