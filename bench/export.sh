#!/usr/bin/env bash
# sb-export on a synthetic store (bench/rank-store.mjs) of CLUSTERS clusters × YEARS years ×
# USERS users, every month before NOW's settled in the chunk ledger: rows a second for each
# format, the size of the store's daily rollups and of each export, and a rerun that finds
# nothing to do. Baselines from the same run: node's start-up, and JSON.parse of the daily
# files the export reads. BENCH_QUICK=1: a small store, one run each.
# Set SB_BENCH_DIR to keep (and reuse) the generated store.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${BENCH_QUICK:-}" = 1 ]; then
  CLUSTERS=${CLUSTERS:-1} YEARS=${YEARS:-1} USERS=${USERS:-300} RUNS=${RUNS:-1}
else
  CLUSTERS=${CLUSTERS:-1} YEARS=${YEARS:-1} USERS=${USERS:-2000} RUNS=${RUNS:-3}
fi
NOW=2025-06-15T12:00:00Z
[ -f dist/tools/export.js ] || make -s build

if [ -n "${SB_BENCH_DIR:-}" ]; then
  dir=$SB_BENCH_DIR
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sb-export-bench.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
root=$dir/store-$CLUSTERS-$YEARS-$USERS
if [ ! -d "$root/clusters" ]; then
  node bench/rank-store.mjs "$root" "$CLUSTERS" "$YEARS" "$USERS" "$NOW" >/dev/null 2>&1
fi
# Every month before NOW's is done (rank-store writes YEARS × 12 months ending with NOW's).
first=$(node -e "const d=new Date('$NOW');d.setUTCDate(1);d.setUTCMonth(d.getUTCMonth()-($YEARS*12-1));console.log(d.toISOString().slice(0,10))")
for c in "$root"/clusters/*; do
  mkdir -p "$c/state/chunks"
  printf '{"schema_version":1,"cluster":"%s","done":[["%sT00:00:00Z","2025-05-31T23:59:59Z"]],"unsettled":[]}\n' "$(basename "$c")" "$first" > "$c/state/chunks/ledger.json"
done
mkdir -p "$dir/homes"
export SB_HOME_ROOT=$dir/homes TZ=UTC

daily=("$root"/clusters/*/agg/rollups/daily/*.json)
settled=()
for f in "${daily[@]}"; do [[ $f == */2025-06.json ]] || settled+=("$f"); done
bytes() { du -cb "$@" | tail -1 | cut -f1; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'; }
parse='const fs=require("fs");for(const f of process.argv.slice(1))JSON.parse(fs.readFileSync(f,"utf8"))'

# Best wall seconds of RUNS runs of a shell command, each into a fresh export directory.
best() {
  local w min=
  for _ in $(seq "$RUNS"); do
    rm -rf "$dir/out"
    /usr/bin/time -f '%e' -o "$dir/time" bash -c "$1" >/dev/null 2>&1
    w=$(tail -1 "$dir/time")
    if [ -z "$min" ] || awk -v a="$w" -v b="$min" 'BEGIN { exit !(a < b) }'; then min=$w; fi
  done
  echo "$min"
}
exp="node bin/sb-export --root '$root' --out '$dir/out'"
rm -rf "$dir/out"
bash -c "$exp -f ndjson" >/dev/null
rows=$(node -e "const m=require('$dir/out/manifest.json');let n=0;for(const c of Object.values(m.clusters))for(const x of Object.values(c.months))n+=x.files.ndjson.rows;console.log(n)")

echo
echo "sb-export: $CLUSTERS cluster(s) × $YEARS year(s) × $USERS users, ${#settled[@]} settled months, $(printf "%'d" "$rows") rows; best of $RUNS; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo
printf '| %-48s | %8s | %12s | %9s | %10s |\n' "command" "wall s" "rows/s" "× parse" "size"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..50})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..12})"
line() { # label seconds size [rows: the rows it exported]
  awk -v l="$1" -v s="$2" -v r="${4:-0}" -v p="$base" -v z="$3" 'BEGIN { printf "| %-48s | %8.2f | %12s | %9.1f | %10s |\n", l, s, (s > 0 && r > 0 ? sprintf("%\047d", r / s) : "-"), s / p, z }'
}
start=$(best "node -e 0")
base=$(best "node -e '$parse' ${settled[*]}")
line "baseline: node -e 0 (start-up)" "$start" ""
line "baseline: JSON.parse of the settled daily files" "$base" "$(mb "$(bytes "${settled[@]}")")"
for f in ndjson csv parquet; do
  s=$(best "$exp -f $f")
  bash -c "$exp -f $f" >/dev/null
  line "sb-export -f $f (a fresh directory)" "$s" "$(mb "$(bytes "$dir"/out/cluster=*/month=*/rollups.$f)")" "$rows"
done
s=$(best "$exp -f parquet,csv,ndjson")
line "sb-export -f parquet,csv,ndjson" "$s" "" "$(( rows * 3 ))"
bash -c "$exp -f parquet,csv,ndjson" >/dev/null
rerun=
for _ in $(seq "$RUNS"); do
  /usr/bin/time -f '%e' -o "$dir/time" bash -c "$exp -f parquet,csv,ndjson" >/dev/null 2>&1
  w=$(tail -1 "$dir/time")
  if [ -z "$rerun" ] || awk -v a="$w" -v b="$rerun" 'BEGIN { exit !(a < b) }'; then rerun=$w; fi
done
line "sb-export rerun, nothing changed (3 formats)" "$rerun" ""
echo
echo "rows/s: rows exported / wall time; × parse: wall time / the JSON.parse baseline; store: $(mb "$(bytes "${daily[@]}")") of daily rollups"
