#!/usr/bin/env bash
# bench/startup.sh — start-up of every tool (`sb-X --version`: node, the tool's modules, its
# argument parsing) against bare `node -e ''` in the same run; best wall time of RUNS (default
# 10; 5 with BENCH_QUICK=1). Target: each ≤ 1.6× bare node.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ -f dist/core/cli/run.js ] || make -s build
RUNS=${RUNS:-$([ -n "$BENCH_QUICK" ] && echo 5 || echo 10)}
unset NODE_OPTIONS
bench_best "$RUNS" "node -e ''"
base=$B_WALL base_mb=$B_MB
printf '\nstart-up: best wall of %s runs; %s CPUs, load %s\n\n| %-26s | %7s | %7s |\n|---|---|---|\n' "$RUNS" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" program 'wall s' '÷ node'
printf '| %-26s | %7.3f | %7s |\n' "node -e ''" "$base" 1
for b in bin/sb-*; do
  t=${b#bin/}
  bench_best "$RUNS" "node $b --version"
  r=$(calc "$B_WALL / ($base > 0 ? $base : 0.001)")
  printf '| %-26s | %7.3f | %6s× |\n' "$t --version" "$B_WALL" "$r"
  bench_row start-up "$t --version" "$(calc "$B_WALL * 1000" %.0f) ms" "node -e '': $(calc "$base * 1000" %.0f) ms" "${r}×" "$B_MB" "≤ 1.6×"
done
