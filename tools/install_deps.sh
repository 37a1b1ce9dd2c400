#!/usr/bin/env bash
# Installs the build dependencies that are missing, with apt-get (sudo when not root).
# Idempotent: when everything is present it only checks and prints one line.
set -euo pipefail
pkgs=(g++ make libboost-test-dev libboost-math-dev libopenblas-dev nlohmann-json3-dev libstb-dev zlib1g-dev
      python3-matplotlib)  # nanofed report's figures (tools/plot_figures.py)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all present (${pkgs[*]})"
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! command -v apt-get >/dev/null; then
  echo "deps: apt-get not found; install these by hand: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
