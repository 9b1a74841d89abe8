#!/bin/sh
# Rows per second of the synthetic sacct (sim/sacct) on the exact query sb-sacct runs, into a
# pipe (| wc -l) and into /dev/null: best of 3 wall times, and the CPU seconds of that run
# (on a busy machine the steadier of the two).
# Usage: bench/sim.sh [DAYS] [RATE]   (defaults: 3 days at 5000 job records/hour ≈ 1.5M rows)
#   SB_BENCH_BASE=DIR  also time the sim of another built checkout, in the same run
# Needs the compiled tree: npx tsc -p sim/tsconfig.json
set -eu
cd "$(dirname "$0")/.."
days=${1:-3}
rate=${2:-5000}
fields=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
end=$(date -u -d "2024-01-01 + $days days - 1 second" +%Y-%m-%dT%H:%M:%S)
us=$(printf '\037')
export TZ=UTC SB_SIM_NOW=2024-06-01T00:00:00Z SB_SIM_RATE="$rate"
unset SACCT_FORMAT SLURM_TIME_FORMAT NODE_OPTIONS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sacct() { # sacct TREE: the query, its CPU time to $tmp/cpu
  /usr/bin/time -f '%U %S' -o "$tmp/cpu" node "$1/sim/sacct" -a -n -p --delimiter="$us" --duplicates --noconvert \
    -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2024-01-01T00:00:00 -E "$end" -M demo -o "$fields"
}
rows=$(sacct . | wc -l)
echo "window: $days days at $rate jobs/hour = $rows rows (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for tree in . ${SB_BENCH_BASE:+"$SB_BENCH_BASE"}; do
  for sink in pipe null; do
    best=
    for try in 1 2 3; do
      t0=$(date +%s.%N)
      if [ "$sink" = pipe ]; then sacct "$tree" | wc -l > /dev/null; else sacct "$tree" > /dev/null; fi
      t1=$(date +%s.%N)
      s=$(echo "$t1 - $t0" | bc)
      if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; cpu=$(awk '{ print $1 + $2 }' "$tmp/cpu"); fi
    done
    label=$sink
    [ "$tree" = . ] || label="$sink [$tree]"
    printf '%-28s best of 3: %6.2f s  %9.0f rows/s  (%.2f s CPU)\n' "$label" "$best" "$(echo "$rows / $best" | bc -l)" "$cpu"
  done
done
