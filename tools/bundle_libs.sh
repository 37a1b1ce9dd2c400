#!/usr/bin/env bash
# Copies the non-CUDA shared libraries the binaries need beyond glibc/libstdc++ (OpenBLAS,
# gfortran, gomp, zlib) into build/lib, which is on the binaries' rpath ($ORIGIN/lib), so
# build/ runs on a GPU machine that has CUDA but not these packages.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/lib
for bin in build/nanofed build/nanofed_tests; do
  [ -x "$bin" ] || continue
  ldd "$bin" | awk '/=> \// {print $3}' | grep -E 'openblas|gfortran|quadmath|gomp|libz\.' | while read -r lib; do
    cp -L "$lib" build/lib/ && echo "bundled $(basename "$lib")"
  done
done
