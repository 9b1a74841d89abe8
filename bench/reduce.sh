#!/usr/bin/env bash
# sb-reduce and sb-dedupe on JOBS synthetic job records (default 1,000,000: a year of one cluster,
# one window a day, USERS users), next to baselines over the same NDJSON measured in the same
# run: wc -l, an awk per-user sum (no JSON parser), node's JSON.parse of every line. Prints jobs/s
# committed, peak RSS, and the dedupe state's bytes per job; memory must not grow with the
# number of jobs (peak RSS at JOBS/2 vs JOBS). Set SB_BENCH_DIR to keep the input and stores.
# Rows for bench/table.sh: sb-reduce fresh / all duplicates, sb-dedupe, against the JSON.parse
# loop and awk; BENCH_QUICK=1 makes JOBS 200,000.
# BASELINE=DIR (a built checkout of another version, such as one from before a change) adds its
# sb-reduce on the same input, fresh and again (all duplicates), and its sb-dedupe against the
# store that holds them, REPEAT (3) runs each alternating with this tree's (wall and CPU
# seconds), and the size of both stores' rollups, to compare in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
JOBS=${JOBS:-$([ -n "$BENCH_QUICK" ] && echo 200000 || echo 1000000)} USERS=${USERS:-500}
[ -f dist/tools/reduce.js ] || make -s build

if [ -n "${SB_BENCH_DIR:-}" ]; then
  dir=$SB_BENCH_DIR
  mkdir -p "$dir"
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sb-reduce-bench.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
fi
export TZ=UTC SB_HOME_ROOT=$dir/homes
mkdir -p "$SB_HOME_ROOT"

# A year, one chunk-done a day; ~3% more records from requeued runs.
per=$(( JOBS * 100 / 103 / 365 ))
full=$dir/jobs-$JOBS.ndjson
half=$dir/jobs-$JOBS-half.ndjson
if [ ! -s "$full" ]; then
  node bench/gen-jobs.mjs --cluster bench --start 2023-01-01T00:00:00Z --end 2023-12-31T23:59:59Z \
    --step 86400 --per-window "$per" --users "$USERS" --dup 0 --seed 1 > "$full.part"
  mv "$full.part" "$full"
fi
# SB_BENCH_PREPARE=1: only make the input (bench/table.sh makes them all at once, untimed)
[ -z "${SB_BENCH_PREPARE:-}" ] || exit 0
lines=$(wc -l < "$full")
head -n $(( lines / 2 )) "$full" > "$half"
jobs=$(grep -c '"kind":"job"' "$full")
jobs_half=$(grep -c '"kind":"job"' "$half")

declare -a rows
wc_s=""
awk_s=""
json_s=""
declare -A cpu mem wall
row() {
  local name=$1 n=$2 cmd=$3 s kb
  bench_measure "$cmd"
  s=$B_WALL kb=$(( B_MB * 1024 ))
  wall[$name]=$s cpu[$name]=$B_CPU mem[$name]=$B_MB
  case $name in "baseline: wc -l"*) wc_s=$s ;; "baseline: awk"*) awk_s=$s ;; "baseline: node"*) json_s=$s json_c=$B_CPU ;; esac
  rows+=("$(awk -v name="$name" -v n="$n" -v s="$s" -v c="$B_CPU" -v kb="$kb" -v w="${wc_s:-0}" -v a="${awk_s:-0}" 'BEGIN {
    printf "| %-52s | %9d | %7.2f | %7.2f | %9.0f | %9.0f | %6.0f | %7s | %6s |", name, n, s, c, (s > 0 ? n / s : 0), (c > 0 ? n / c : 0), kb / 1024,
      (w > 0 ? sprintf("%.0f×", s / w) : "-"), (a > 0 ? sprintf("%.1f×", s / a) : "-") }')")
}
# table row: NAME N TARGET (after row NAME ...)
trow() {
  local name=$1 n=$2 target=$3
  bench_row reduce "$name" "$(calc "$n / ${wall[$name]} / 1000" %.0f)k jobs/s (${wall[$name]} s; $(calc "$n / ${cpu[$name]} / 1000" %.0f)k per CPU-s)" \
    "JSON.parse loop: $(calc "$jobs / $json_s / 1000" %.0f)k lines/s (${json_s} s; $(calc "$jobs / $json_c / 1000" %.0f)k per CPU-s)" \
    "$(calc "$json_s * $n / $jobs / ${wall[$name]}")× the loop's rate" "${mem[$name]}" "$target"
}

awk_sum='/"kind":"job"/ { u = substr($0, index($0, "\"user\":\"") + 8); u = substr(u, 1, index(u, "\"") - 1); n[u]++; e[u] += substr($0, index($0, "\"elapsed_s\":") + 12) + 0 } END { for (u in n) print u, n[u], e[u] }'
parse='const rl=require("readline").createInterface({input:require("fs").createReadStream(process.argv[1])});let n=0;rl.on("line",(l)=>{if(JSON.parse(l).kind==="job")n++});rl.on("close",()=>console.log(n))'

s1=$dir/store-half s2=$dir/store-full
rm -rf "$s1" "$s2"
row "baseline: wc -l" "$jobs" "wc -l < '$full'"
row "baseline: awk, jobs and elapsed per user" "$jobs" "LC_ALL=C awk '$awk_sum' '$full'"
command -v mawk >/dev/null && row "baseline: mawk, the same" "$jobs" "LC_ALL=C mawk '$awk_sum' '$full'"
row "baseline: node, JSON.parse of every line" "$jobs" "node -e '$parse' '$full'"
row "sb-reduce, $jobs_half jobs, fresh store" "$jobs_half" "node bin/sb-reduce --root '$s1' '$half'"
row "sb-reduce, $jobs jobs, fresh store" "$jobs" "node bin/sb-reduce --root '$s2' '$full'"
row "sb-reduce, $jobs jobs again (all duplicates)" "$jobs" "node bin/sb-reduce --root '$s2' '$full'"
if [ -n "${BASELINE:-}" ]; then
  # REPEAT runs of each, alternating (a shared machine's load then falls on both alike)
  s3=$dir/store-baseline
  rm -rf "$s3.last"
  declare -a base_s=() mine_s=() base_sc=() mine_sc=()
  declare -a base_d=() mine_d=() base_dc=() mine_dc=()
  declare -a base_u=() mine_u=() base_uc=() mine_uc=()
  for i in $(seq "${REPEAT:-3}"); do
    rm -rf "$s3" "$dir/store-again"
    bench_measure "node '$BASELINE/bin/sb-reduce' --root '$s3' '$full'"; base_s+=("$B_WALL") base_sc+=("$B_CPU")
    bench_measure "node bin/sb-reduce --root '$dir/store-again' '$full'"; mine_s+=("$B_WALL") mine_sc+=("$B_CPU")
    bench_measure "node '$BASELINE/bin/sb-reduce' --root '$s3' '$full'"; base_d+=("$B_WALL") base_dc+=("$B_CPU")
    bench_measure "node bin/sb-reduce --root '$dir/store-again' '$full'"; mine_d+=("$B_WALL") mine_dc+=("$B_CPU")
    # sb-dedupe against the store that holds them all
    bench_measure "node '$BASELINE/bin/sb-dedupe' --root '$s3' '$full'"; base_u+=("$B_WALL") base_uc+=("$B_CPU")
    bench_measure "node bin/sb-dedupe --root '$s3' '$full'"; mine_u+=("$B_WALL") mine_uc+=("$B_CPU")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
  bm=$(median "${base_s[@]}") mm=$(median "${mine_s[@]}")
  bdm=$(median "${base_d[@]}") mdm=$(median "${mine_d[@]}")
  bum=$(median "${base_u[@]}") mum=$(median "${mine_u[@]}")
  bname=$(cd "$BASELINE" && git describe --always 2>/dev/null || basename "$BASELINE")
  bench_row reduce "sb-reduce vs $bname, $jobs jobs, fresh (median of ${REPEAT:-3})" "$mm s" "$bname: $bm s" "$(calc "$bm / $mm")× faster" "" ""
  bench_row reduce "sb-reduce vs $bname, $jobs jobs again, all duplicates (median of ${REPEAT:-3})" "$mdm s" "$bname: $bdm s" "$(calc "$bdm / $mdm")× faster" "" ""
  bench_row reduce "sb-dedupe vs $bname, $jobs jobs against that store (median of ${REPEAT:-3})" "$mum s" "$bname: $bum s" "$(calc "$bum / $mum")× faster" "" ""
  row "baseline sb-reduce ($(cd "$BASELINE" && git describe --always 2>/dev/null || basename "$BASELINE")), $jobs jobs, fresh" "$jobs" "node '$BASELINE/bin/sb-reduce' --root '$s3.last' '$full'"
fi
row "sb-dedupe, $jobs jobs against that store" "$jobs" "node bin/sb-dedupe --root '$s2' '$full'"
row "sb-dedupe, $jobs jobs, empty store" "$jobs" "node bin/sb-dedupe --root '$dir/empty' '$full'"
trow "sb-reduce, $jobs_half jobs, fresh store" "$jobs_half" ""
trow "sb-reduce, $jobs jobs, fresh store" "$jobs" "≥ 300k jobs/s"
trow "sb-reduce, $jobs jobs again (all duplicates)" "$jobs" "≥ 1M jobs/s"
trow "sb-dedupe, $jobs jobs against that store" "$jobs" "≥ 1M jobs/s"
trow "sb-dedupe, $jobs jobs, empty store" "$jobs" "≥ 1M jobs/s"

seen=$(du -cb "$s2"/clusters/bench/state/seen/*.seen | tail -1 | cut -f1)
months=$(ls "$s2"/clusters/bench/state/seen | wc -l)
all=$(du -sb "$s2" | cut -f1)
rss_half=${mem["sb-reduce, $jobs_half jobs, fresh store"]}
rss_full=${mem["sb-reduce, $jobs jobs, fresh store"]}
bench_row reduce "sb-reduce memory, $jobs_half → $jobs jobs" "peak RSS $rss_half → $rss_full MB" "" "$(calc "$rss_full / $rss_half")× (flat = 1)" "$rss_full" "flat"

echo
echo "sb-reduce: $jobs job records ($(du -b "$full" | awk '{printf "%.0f MB", $1 / 1e6}') of NDJSON), $USERS users, 365 windows (a chunk-done each); $(nproc) CPUs, $(df -T "$dir" | awk 'NR == 2 { print $2 }') at $dir"
echo
printf '| %-52s | %9s | %7s | %7s | %9s | %9s | %6s | %7s | %6s |\n' command jobs seconds "cpu s" "jobs/s" "/cpu-s" "RSS MB" "× wc" "× awk"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "-----------" "---------" "---------" "-----------" "-----------" "--------" "---------" "--------"
printf '%s\n' "${rows[@]}"
echo
awk -v seen="$seen" -v all="$all" -v n="$jobs" -v m="$months" -v h="$rss_half" -v f="$rss_full" 'BEGIN {
  printf "dedupe state: %d bytes for %d jobs in %d months = %.2f bytes/job (target <= 8)\n", seen, n, m, seen / n
  printf "whole store:  %.1f MB = %.1f bytes/job (rollups, daily bins, all-time files, state)\n", all / 1e6, all / n
  printf "memory: peak RSS %s MB at %d/2 jobs, %s MB at %d jobs: ratio %.2f (flat = 1)\n", h + 0, n, f + 0, n, f / h
}'
if [ -n "${BASELINE:-}" ]; then
  # wall s and CPU s (user + sys) of each run: on a shared machine the CPU seconds are the figures
  vs() {
    awk -v what="$1" -v n="${REPEAT:-3}" -v bs="$2" -v ms="$3" -v bc="$4" -v mc="$5" -v jobs="$jobs" 'function med(s,   a, k, i, j, t) { k = split(s, a, " "); for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((k + 1) / 2)] } BEGIN {
      printf "%s vs baseline, %d alternating runs each: median %.2f s vs %.2f s wall = %.2f×; %.2f vs %.2f CPU-s = %.2f× (%.0fk vs %.0fk jobs per CPU-s) (this: %s s, %s CPU-s; baseline: %s s, %s CPU-s)\n",
        what, n, med(ms), med(bs), med(bs) / med(ms), med(mc), med(bc), med(bc) / med(mc), jobs / med(mc) / 1000, jobs / med(bc) / 1000, ms, mc, bs, bc }'
  }
  vs "sb-reduce, fresh" "${base_s[*]}" "${mine_s[*]}" "${base_sc[*]}" "${mine_sc[*]}"
  vs "sb-reduce, all duplicates" "${base_d[*]}" "${mine_d[*]}" "${base_dc[*]}" "${mine_dc[*]}"
  vs "sb-dedupe, against that store" "${base_u[*]}" "${mine_u[*]}" "${base_uc[*]}" "${mine_uc[*]}"
  for sub in daily monthly yearly; do
    a=$(du -cb "$s2"/clusters/bench/agg/rollups/$sub/*.json | tail -1 | cut -f1)
    b=$(du -cb "$s3"/clusters/bench/agg/rollups/$sub/*.json | tail -1 | cut -f1)
    awk -v s="$sub" -v a="$a" -v b="$b" 'BEGIN { printf "rollups/%-8s %9d bytes, baseline %9d: %.2f×\n", s ":", a, b, a / b }'
  done
  a=$(du -sb "$s2" | cut -f1)
  b=$(du -sb "$s3" | cut -f1)
  awk -v a="$a" -v b="$b" 'BEGIN { printf "whole store: %d bytes, baseline %d: %.2f×\n", a, b, a / b }'
fi
