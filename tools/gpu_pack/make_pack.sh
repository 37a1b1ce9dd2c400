#!/usr/bin/env bash
# make_pack.sh PACK ARCH — the second half of `make gpu-pack` (the Makefile has linked and
# stripped PACK/nanofed_tests and PACK/nanofed_bench): packs the host libraries a GPU machine may
# lack (OpenBLAS, gfortran, quadmath, gomp, zlib; CUDA's own come from the machine) into
# PACK/lib.tar.gz, adds run.sh and the memcheck case list, records what was packed, and refuses a
# pack of 40 MB or more (the limit on what travels to a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
pack=$1 arch=$2
# The libraries travel compressed (OpenBLAS alone is 36 MB); run.sh unpacks them into a
# temporary folder on LD_LIBRARY_PATH.
rm -rf "$pack/lib" "$pack/results"  # left by an older pack or a run here
libs=$(mktemp -d)
trap 'rm -rf "$libs"' EXIT
ldd "$pack/nanofed_tests" | awk '/=> \// {print $3}' | grep -E 'openblas|gfortran|quadmath|gomp|libz\.' |
  while read -r lib; do cp -L "$lib" "$libs/"; done
tar czf "$pack/lib.tar.gz" -C "$libs" .
cp tools/gpu_pack/run.sh tools/gpu_pack/memcheck_cases.txt "$pack/"
# The benchmark (run.sh step 3): the Makefile has linked and stripped PACK/nanofed_bench for this
# one architecture; PyTorch's side travels beside it.
cp bench/torch_ref.py "$pack/"
echo "nanofed $(git describe --always --dirty 2>/dev/null || echo unknown), sm_$arch, packed $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$pack/PACK"
size_kb=$(du -sk "$pack" --exclude=results | cut -f1)
if [ "$size_kb" -ge $((40 * 1024)) ]; then
  echo "gpu-pack: $pack is $((size_kb / 1024)) MB, over the 40 MB that may travel to a GPU machine" >&2
  exit 1
fi
echo "gpu-pack: $pack ($((size_kb / 1024)) MB): $(ls "$pack" | tr '\n' ' ')"
echo "gpu-pack: run it on a GPU machine with: bash $pack/run.sh   (results in \$OUT or $pack/results)"
