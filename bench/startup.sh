#!/usr/bin/env bash
# bench/startup.sh — start-up of every tool (`sb-X --version`: node, the tool's modules, its
# argument parsing) against bare `node -e ''`, measured in turns (bare node, then each tool,
# RUNS times: default 10, 3 with BENCH_QUICK=1) so that all see the same load; each measure is
# K starts in a row (default 10, 4 with BENCH_QUICK=1: /usr/bin/time counts in 10 ms, about a
# fifth of one start), divided by K; the best wall time and the best CPU time (user + sys,
# steadier on a busy machine) of each.
# Target: each ≤ 1.6× bare node.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ -f dist/core/cli/run.js ] || make -s build
RUNS=${RUNS:-$([ -n "${BENCH_QUICK:-}" ] && echo 3 || echo 10)}
K=${K:-$([ -n "${BENCH_QUICK:-}" ] && echo 4 || echo 10)}
unset NODE_OPTIONS
progs=(node)
for b in bin/sb-*; do progs+=("${b#bin/}"); done
declare -A wall cpu mb
for ((i = 0; i < RUNS; i++)); do
  for p in "${progs[@]}"; do
    if [ "$p" = node ]; then bench_measure "for k in \$(seq $K); do node -e ''; done"; else bench_measure "for k in \$(seq $K); do node bin/$p --version; done"; fi
    B_WALL=$(calc "$B_WALL / $K" %.4f) B_CPU=$(calc "$B_CPU / $K" %.4f)
    if [ -z "${wall[$p]:-}" ] || awk -v a="$B_WALL" -v b="${wall[$p]}" 'BEGIN { exit !(a < b) }'; then wall[$p]=$B_WALL; fi
    if [ -z "${cpu[$p]:-}" ] || awk -v a="$B_CPU" -v b="${cpu[$p]}" 'BEGIN { exit !(a < b) }'; then cpu[$p]=$B_CPU; fi
    mb[$p]=$B_MB
  done
done
bw=${wall[node]} bc=${cpu[node]}
printf '\nstart-up: best of %s turns of %s starts each; %s CPUs, load %s\n\n| %-26s | %7s | %7s | %7s | %7s |\n|---|---|---|---|---|\n' "$RUNS" "$K" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" program 'wall s' '÷ node' 'cpu s' '÷ node'
for p in "${progs[@]}"; do
  rw=$(calc "${wall[$p]} / ($bw > 0 ? $bw : 0.001)") rc=$(calc "${cpu[$p]} / ($bc > 0 ? $bc : 0.001)")
  name="$p --version"
  [ "$p" = node ] && name="node -e ''"
  printf '| %-26s | %7.3f | %6s× | %7.3f | %6s× |\n' "$name" "${wall[$p]}" "$rw" "${cpu[$p]}" "$rc"
  [ "$p" = node ] && continue
  bench_row start-up "$name" "$(calc "${wall[$p]} * 1000" %.0f) ms wall, $(calc "${cpu[$p]} * 1000" %.0f) ms CPU" \
    "node -e '': $(calc "$bw * 1000" %.0f) ms wall, $(calc "$bc * 1000" %.0f) ms CPU" "${rw}× wall, ${rc}× CPU" "${mb[$p]}" "≤ 1.6×"
done
