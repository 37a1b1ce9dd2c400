#!/usr/bin/env bash
# run.sh BUILD SECONDS TARGET... — what `make fuzz` runs after building: writes the seeds, then
# runs each libFuzzer target for SECONDS on its corpus (BUILD/fuzz/corpus/<target>, grown
# across runs, seeded from BUILD/fuzz/seeds/<target>). A finding leaves its input in
# BUILD/fuzz/findings/<target>-crash-... (rerun: BUILD/fuzz/<target> FILE). Exits non-zero when
# any target found something.
set -u
build=$1 seconds=$2
shift 2
"$build/fuzz/make_seeds" "$build/fuzz/seeds" || exit 1
mkdir -p "$build/fuzz/findings"
failed=()
for t in "$@"; do
  mkdir -p "$build/fuzz/corpus/$t"
  echo "== $t: ${seconds}s"
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz/findings/$t-" "$build/fuzz/corpus/$t" "$build/fuzz/seeds/$t" \
      > "$build/fuzz/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 30 "$build/fuzz/$t.log"
  fi
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$build/fuzz/$t.log" | tr '\n' ' '
  echo
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs under $build/fuzz/findings/)"
  exit 1
fi
echo "fuzz: $# targets, ${seconds}s each, nothing found"
