#!/usr/bin/env bash
# bench/table.sh — `make bench`: runs the benchmarks below, prints ONE Markdown table of every
# figure next to its baseline from the same run, and writes it to bench/results.md.
# BENCH_QUICK=1 (`BENCH_QUICK=1 make bench`): the same columns from smaller inputs, in under a
# minute on a quiet machine (sb-parse's 1M/2M-row rows, the year and the HTML page are left out).
# The inputs are made first, all at once, with the slurmdbd count beside them (nothing is timed
# then); each timed benchmark then runs alone.
# Each benchmark's own, longer table goes to stderr.
#
# THE ROW FORMAT. A benchmark contributes rows by appending lines to the file named by
# $SB_BENCH_ROWS (set by this script; unset when a benchmark runs alone), one row a line, seven
# fields separated by TABs, each free text without a TAB or newline:
#
#   area  what  figure  baseline  ratio  peak-RSS-MB  target
#
#   area         the group the row sorts under: start-up, pipeline, stage, reduce, parse, render, slurmdbd
#   what         what was run, with its input size ("sb-reduce, 1M jobs, fresh store")
#   figure       the measured figure with its unit ("412k jobs/s (2.43 s)")
#   baseline     the baseline measured in the same run, named, with its figure ("JSON.parse loop: 1.9 s")
#   ratio        figure against baseline, with its sense ("0.8× JSON.parse", "1.12×")
#   peak-RSS-MB  peak resident memory of the largest process, MB (a number, or empty)
#   target       the issue's target for this figure, or empty
#
# From bash, `. bench/lib.sh` and call `bench_row AREA WHAT FIGURE BASELINE RATIO MB TARGET`
# (bench_measure / bench_best time a command and give B_WALL, B_CPU, B_MB). To add a
# benchmark, append its script to BENCHES below; it must exit 0 and write its rows itself.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/tools/reduce.js ] && [ -f sim/dist/sacct.js ] || make -s build
export BENCH_QUICK=${BENCH_QUICK:-}
# gawk and mawk, the baselines of the text passes, and /usr/bin/time, when missing (root only)
bash scripts/ensure-bench.sh
[ -x /usr/bin/time ] || { echo "bench/table.sh: needs /usr/bin/time (Debian package 'time')" >&2; exit 1; }
# Timed, one at a time, in this order:
BENCHES=(bench/startup.sh bench/month.sh bench/reduce.sh bench/render.sh)
[ -n "$BENCH_QUICK" ] || BENCHES+=(bench/parse.sh)
# Those that make their inputs before timing anything, and with SB_BENCH_PREPARE=1 only that,
# into SB_BENCH_DIR: all of them are made first, at once, while nothing is timed.
PREPARED=(bench/month.sh bench/reduce.sh bench/render.sh)
# Counted, not timed (the slurmdbd load: sacct calls and rows per job, each run with its own
# store and faked clock): run while the inputs are made, its rows last in the table.
COUNTED=()
[ -f bench/poll.sh ] && COUNTED+=(bench/poll.sh)

work=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
name() { basename "$1" .sh; }
started=$(date +%s)
failed=()

# 1. Untimed: the inputs and the counted benchmarks, all at once.
declare -A pid
for b in "${COUNTED[@]}"; do
  SB_BENCH_ROWS=$work/rows.$(name "$b") bash "$b" >"$work/log.$(name "$b")" 2>&1 &
  pid[$b]=$!
done
for b in "${PREPARED[@]}"; do
  SB_BENCH_PREPARE=1 SB_BENCH_DIR=$work/$(name "$b") bash "$b" >"$work/prepare.$(name "$b")" 2>&1 &
  pid[prepare:$b]=$!
done
for b in "${PREPARED[@]}"; do
  # a failure here shows again when the benchmark runs (it makes what is missing)
  wait "${pid[prepare:$b]}" || { echo "bench/table.sh: making the inputs of $b failed:" >&2; cat "$work/prepare.$(name "$b")" >&2; }
done
for b in "${COUNTED[@]}"; do
  wait "${pid[$b]}" || failed+=("$b")
done

# 2. Timed, alone.
for b in "${BENCHES[@]}"; do
  echo "== $b" >&2
  dir=()
  [[ " ${PREPARED[*]} " == *" $b "* ]] && dir=(env SB_BENCH_DIR="$work/$(name "$b")")
  if ! SB_BENCH_ROWS=$work/rows.$(name "$b") "${dir[@]}" bash "$b" >&2; then failed+=("$b"); echo "bench/table.sh: $b failed; its rows are missing" >&2; fi
done
for b in "${COUNTED[@]}"; do
  echo "== $b (run while the inputs were made)" >&2
  cat "$work/log.$(name "$b")" >&2
  [[ " ${failed[*]} " != *" $b "* ]] || echo "bench/table.sh: $b failed; its rows are missing" >&2
done
rows=$work/rows
for b in "${BENCHES[@]}" "${COUNTED[@]}"; do cat "$work/rows.$(name "$b")" 2>/dev/null || true; done >"$rows"

{
  echo "# sb benchmarks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), node $(node --version), $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)${BENCH_QUICK:+, BENCH_QUICK=1 (small inputs)}; $(( $(date +%s) - started )) s in all."
  echo "Every figure next to its baseline measured in the same run. Wall times on a shared machine vary"
  echo "with its load; the CPU seconds beside them vary less."
  echo
  echo "| area | what | figure | baseline (same run) | ratio | peak RSS MB | target |"
  echo "|---|---|---|---|---|---|---|"
  awk -F'\t' 'NF >= 7 { gsub(/\|/, "\\|"); printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
  echo
  echo "SlurmScoreboard, the Python tool sb replaces, is not on this machine: its 2.22 s for the month is"
  echo "the one figure measured before (issue 16), quoted, never re-measured here."
  [ "${#failed[@]}" -eq 0 ] || echo "Failed, rows missing: ${failed[*]}."
} | tee bench/results.md
