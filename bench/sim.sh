#!/bin/sh
# Rows per second of the synthetic sacct (sim/sacct) on the exact query sb-sacct runs, into a
# pipe (| wc -l) and into /dev/null, single-threaded and with its worker thread.
# Usage: bench/sim.sh [DAYS] [RATE]   (defaults: 3 days at 5000 job records/hour ≈ 1.5M rows)
# Needs the compiled tree: npx tsc -p tsconfig.json
set -eu
cd "$(dirname "$0")/.."
days=${1:-3}
rate=${2:-5000}
fields=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
end=$(date -u -d "2024-01-01 + $days days - 1 second" +%Y-%m-%dT%H:%M:%S)
us=$(printf '\037')
export TZ=UTC SB_SIM_NOW=2024-06-01T00:00:00Z SB_SIM_RATE="$rate"
unset SACCT_FORMAT SLURM_TIME_FORMAT NODE_OPTIONS
sacct() {
  node sim/sacct -a -n -p --delimiter="$us" --duplicates --noconvert -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ \
    -S 2024-01-01T00:00:00 -E "$end" -M demo -o "$fields"
}
rows=$(SB_SIM_THREADS=1 sacct | wc -l)
echo "window: $days days at $rate jobs/hour = $rows rows (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
for threads in 1 2; do
  for sink in pipe null; do
    best=
    for try in 1 2 3; do
      t0=$(date +%s.%N)
      if [ "$sink" = pipe ]; then SB_SIM_THREADS=$threads sacct | wc -l > /dev/null; else SB_SIM_THREADS=$threads sacct > /dev/null; fi
      t1=$(date +%s.%N)
      s=$(echo "$t1 - $t0" | bc)
      if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; fi
    done
    printf 'threads=%s %-4s best of 3: %6.2f s  %9.0f rows/s\n' "$threads" "$sink" "$best" "$(echo "$rows / $best" | bc -l)"
  done
done
