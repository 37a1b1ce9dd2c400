#!/usr/bin/env bash
# Wall time per round of the quickstart-sized run (examples/quickstart/config.json: 50 FMNIST
# clients, MLP 784-200-10, 10 clients a round, 10 local steps of batch 16) in one process and on
# 2 MPI ranks, interleaved, with rank 0's share of time in collectives (docs/scaling.md).
#   bash bench/mpi_scaling.sh [ROUNDS] [REPEATS]      (needs make MPI=1 build/nanofed, make data)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-40}
repeats=${2:-3}
nanofed=${NANOFED:-build/nanofed}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mpirun="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" -eq 0 ] && mpirun="$mpirun --allow-run-as-root"
cases=("fedavg mean" "ditto median" "fedavg krum")
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() {  # ranks strategy aggregator repeat -> prints "seconds_per_round collective_share"
  local ranks=$1 strategy=$2 aggregator=$3 rep=$4 dir="$out/$1_$2_$3_$4"
  local args=(fl examples/quickstart/config.json "out=$dir" "strategy=$strategy" "aggregator=$aggregator"
              "rounds=$rounds" "eval_every=$rounds" finetune_epochs=0 progress=false resume=false)
  if [ "$ranks" = 1 ]; then "$nanofed" "${args[@]}" >/dev/null; else $mpirun -np "$ranks" "$nanofed" "${args[@]}" >/dev/null; fi
  python3 - "$dir/quickstart/seed_0/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
secs = s["seconds_this_session"]
share = s.get("mpi", {}).get("collective_seconds", 0.0) / secs
print(f"{secs / s['rounds_completed']:.4f} {share:.3f}")
PY
}
printf "| strategy + aggregator | ranks | s / round (median of %s) | rank 0 in collectives |\n|---|---|---|---|\n" "$repeats"
for c in "${cases[@]}"; do
  read -r strategy aggregator <<<"$c"
  declare -A times=() shares=()
  for rep in $(seq "$repeats"); do
    for ranks in 1 2; do  # interleaved: load changes hit both alike
      read -r t s < <(run "$ranks" "$strategy" "$aggregator" "$rep")
      times[$ranks]+="$t "; shares[$ranks]+="$s "
    done
  done
  for ranks in 1 2; do
    median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    t=$(echo "${times[$ranks]}" | median); s=$(echo "${shares[$ranks]}" | median)
    share=$([ "$ranks" = 1 ] && echo "-" || awk -v s="$s" 'BEGIN {printf "%.0f%%", 100 * s}')
    echo "| $strategy + $aggregator | $ranks | $t | $share |"
  done
  unset times shares
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
