#!/usr/bin/env bash
# Installs the build dependencies that are missing, with apt-get (sudo when not root).
# Idempotent: when everything is present it only checks and prints one line.
# Optional: python3-matplotlib (nanofed report's figures, tools/plot_figures.py) and Open MPI
# (openmpi-bin, libopenmpi-dev: mpirun -np N build/nanofed fl, docs/scaling.md). When they
# cannot be installed the build and the tests go on (report pages without figures, a build
# without MPI; their tests are skipped, naming the package).
set -euo pipefail
required=(g++ make libboost-test-dev libboost-math-dev libopenblas-dev nlohmann-json3-dev libstb-dev zlib1g-dev)
optional=(python3-matplotlib openmpi-bin libopenmpi-dev)
missing_of() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}
mapfile -t missing < <(missing_of "${required[@]}")
mapfile -t missing_optional < <(missing_of "${optional[@]}")
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_optional[@]} -eq 0 ]; then
  echo "deps: all present (${required[*]} ${optional[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v apt-get >/dev/null; then
  [ ${#missing[@]} -eq 0 ] && { echo "deps: apt-get not found; optional, not installed: ${missing_optional[*]}" >&2; exit 0; }
  echo "deps: apt-get not found; install these by hand: ${missing[*]} ${missing_optional[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${missing[*]}${missing[*]:+ }${missing_optional[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#missing_optional[@]} -gt 0 ]; then
  { [ ${#missing[@]} -gt 0 ] || $sudo apt-get update -qq; } &&
    $sudo apt-get install -y -qq --no-install-recommends "${missing_optional[@]}" ||
    echo "deps: could not install ${missing_optional[*]} (optional: report pages without figures, a build without MPI)" >&2
fi
