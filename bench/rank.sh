#!/usr/bin/env bash
# sb-rank on a synthetic store of CLUSTERS clusters × YEARS years × USERS users (default
# 5 × 10 × 2,000: ~900 MB of rollups), next to baselines measured in the same run: node's
# start-up, cat of every rollup file, cat and JSON.parse of the files the default windows
# need. Target (issue 6): sb-rank in ≤ 2 s. Prints a table of the best wall and CPU time of
# RUNS runs each (on a shared machine, CPU time is the steadier figure).
# Set SB_BENCH_DIR to keep (and reuse) the generated store.
set -euo pipefail
cd "$(dirname "$0")/.."
CLUSTERS=${CLUSTERS:-5} YEARS=${YEARS:-10} USERS=${USERS:-2000} RUNS=${RUNS:-3}
NOW=2025-06-15T12:00:00Z
[ -f dist/tools/rank.js ] || make -s build

if [ -n "${SB_BENCH_DIR:-}" ]; then
  dir=$SB_BENCH_DIR
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sb-rank-bench.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
root=$dir/store-$CLUSTERS-$YEARS-$USERS
if [ ! -d "$root/clusters" ]; then
  start=$(date +%s)
  node bench/rank-store.mjs "$root" "$CLUSTERS" "$YEARS" "$USERS" "$NOW"
  echo "generated in $(( $(date +%s) - start )) s" >&2
fi
rm -rf "$root/leaderboards"
mkdir -p "$dir/homes"
export SB_HOME_ROOT=$dir/homes TZ=UTC

# What the default windows at NOW need (sb-rank -v says how many it read): every yearly file
# (alltime, year-2025), monthly 2024-07..2025-06 (rolling-365d's whole months, month-2025-06),
# daily 2024-06, 2025-05, 2025-06 (the rolling windows' edge months).
needed=()
for c in "$root"/clusters/*; do
  r=$c/agg/rollups
  needed+=("$r"/yearly/*.json "$r"/monthly/2024-0[7-9].json "$r"/monthly/2024-1?.json "$r"/monthly/2025-0[1-6].json)
  needed+=("$r"/daily/2024-06.json "$r"/daily/2025-0[56].json)
done
all=$(find "$root/clusters" -name '*.json' | wc -l)
mb() { du -cb "$@" | tail -1 | awk '{printf "%.0f MB", $1 / 1e6}'; }
parse='const fs=require("fs");for(const f of process.argv.slice(1))JSON.parse(fs.readFileSync(f,"utf8"))'

# Best wall and best CPU (user + sys) seconds of RUNS runs of a shell command.
best() {
  local out
  out=$(for _ in $(seq "$RUNS"); do /usr/bin/time -f '%e %U %S' bash -c "$1" 2>&1 >/dev/null | tail -1; done)
  awk '{ w = $1; c = $2 + $3; if (NR == 1 || w < bw) bw = w; if (NR == 1 || c < bc) bc = c } END { printf "%8.2f | %8.2f", bw, bc }' <<<"$out"
}

rank="node bin/sb-rank --root '$root' --now $NOW"
row() { printf '| %-62s | %s |\n' "$1" "$(best "$2")"; }
echo
echo "sb-rank: $CLUSTERS clusters × $YEARS years × $USERS users; $all rollup files, $(mb "$root/clusters"); best of $RUNS, warm cache; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
bash -c "$rank -v" 2>&1 >/dev/null | sed 's/^/  /'
echo
printf '| %-62s | %8s | %8s |\n' "command" "wall s" "cpu s"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..64})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})"
row "baseline: node -e 0 (start-up)" "node -e 0"
row "baseline: cat every rollup file ($all files)" "find '$root/clusters' -name '*.json' -exec cat {} + >/dev/null"
row "baseline: cat the ${#needed[@]} files the default windows need ($(mb "${needed[@]}"))" "cat ${needed[*]} >/dev/null"
row "baseline: JSON.parse of those ${#needed[@]} files" "node -e '$parse' ${needed[*]}"
row "sb-rank: 5 windows × 10 boards × (all + $CLUSTERS clusters) > /dev/null" "$rank"
row "sb-rank --write: the same as $(( 5 * 10 * (CLUSTERS + 1) + 3 )) files" "$rank --write"
row "sb-rank -w rolling-30d -m clock_hours -c all --top 10" "$rank -w rolling-30d -m clock_hours -c all --top 10"
row "sb-rank -w alltime -c all" "$rank -w alltime -c all"
