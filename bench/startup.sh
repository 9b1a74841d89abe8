#!/usr/bin/env bash
# bench/startup.sh — start-up of every tool against bare `node -e ''`: `sb-X --version` (node,
# the CLI frame, the tool's usage text and options: also what --help and a bad option cost),
# and a real run of the tools that can run on nothing (`sb-dedupe --root EMPTY </dev/null`:
# the tool's main and what it imports loaded, no records), what a stage of a pipeline pays
# before its first record. Measured in turns (bare node, then each row, RUNS times: default 10,
# 2 with BENCH_QUICK=1) so that all see the same load; each measure is K starts in a row
# (default 10, 3 with BENCH_QUICK=1: /usr/bin/time counts in 10 ms, about a sixth of one
# start), divided by K; the best wall time and the best CPU time (user + sys, steadier on a
# busy machine) of each.
# Target: each `--version` ≤ 1.6× bare node (the real runs have no target).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
[ -f dist/core/cli/run.js ] || make -s build
RUNS=${RUNS:-$([ -n "${BENCH_QUICK:-}" ] && echo 2 || echo 10)}
K=${K:-$([ -n "${BENCH_QUICK:-}" ] && echo 3 || echo 10)}
unset NODE_OPTIONS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/store"
# each row: its name in the table, the command it times (node's arguments), its target
names=()
declare -A cmd target
row() { names+=("$1"); cmd["$1"]=$2; target["$1"]=$3; }
row "node -e ''" "-e ''" ''
for b in bin/sb-*; do row "${b#bin/} --version" "$b --version" '≤ 1.6×'; done
# the real runs on nothing, the stages of sb-poll's pipeline and sb-rank: an empty store, no
# input; each exits 0 having loaded its main
row 'sb-parse </dev/null' 'bin/sb-parse </dev/null' ''
row 'sb-dedupe </dev/null' "bin/sb-dedupe --root $tmp/store </dev/null" ''
row 'sb-reduce </dev/null' "bin/sb-reduce --root $tmp/store </dev/null" ''
row 'sb-sacct </dev/null' 'bin/sb-sacct </dev/null' ''
row 'sb-rank, empty store' "bin/sb-rank --root $tmp/store" ''
declare -A wall cpu mb
for ((i = 0; i < RUNS; i++)); do
  for p in "${names[@]}"; do
    bench_measure "for k in \$(seq $K); do node ${cmd[$p]}; done"
    B_WALL=$(calc "$B_WALL / $K" %.4f) B_CPU=$(calc "$B_CPU / $K" %.4f)
    if [ -z "${wall[$p]:-}" ] || awk -v a="$B_WALL" -v b="${wall[$p]}" 'BEGIN { exit !(a < b) }'; then wall[$p]=$B_WALL; fi
    if [ -z "${cpu[$p]:-}" ] || awk -v a="$B_CPU" -v b="${cpu[$p]}" 'BEGIN { exit !(a < b) }'; then cpu[$p]=$B_CPU; fi
    mb[$p]=$B_MB
  done
done
node=${names[0]}
bw=${wall[$node]} bc=${cpu[$node]}
printf '\nstart-up: best of %s turns of %s starts each; %s CPUs, load %s\n\n| %-30s | %7s | %7s | %7s | %7s |\n|---|---|---|---|---|\n' "$RUNS" "$K" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" program 'wall s' '÷ node' 'cpu s' '÷ node'
for p in "${names[@]}"; do
  rw=$(calc "${wall[$p]} / ($bw > 0 ? $bw : 0.001)") rc=$(calc "${cpu[$p]} / ($bc > 0 ? $bc : 0.001)")
  printf '| %-30s | %7.3f | %6s× | %7.3f | %6s× |\n' "$p" "${wall[$p]}" "$rw" "${cpu[$p]}" "$rc"
  [ "$p" = "$node" ] && continue
  bench_row start-up "$p" "$(calc "${wall[$p]} * 1000" %.0f) ms wall, $(calc "${cpu[$p]} * 1000" %.0f) ms CPU" \
    "node -e '': $(calc "$bw * 1000" %.0f) ms wall, $(calc "$bc * 1000" %.0f) ms CPU" "${rw}× wall, ${rc}× CPU" "${mb[$p]}" "${target[$p]}"
done
