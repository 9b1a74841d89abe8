#!/bin/sh
# sb-sacct throughput and overhead against the synthetic sacct (sim/sacct): one wide window
# (rows per second, peak memory: its rows spill to an unlinked file past 16 MiB), then many
# small windows (the cost per sacct call: spawn, rate ticket, filter, chunk-done).
# Last, the pipeline sb-sacct | sb-parse on one window of over 1M rows, and the same with
# --row-records (one record a row): sacct there is a stand-in that prints a capture of sim/sacct's
# answer (cat), and for the queries by job id (-j, the steps of jobs that started before -S) the
# capture's lines of those jobs, so the figures are sb-sacct's own, not the sim's; sim/sacct
# alone and awk on its output are the baselines. Each part says how many sacct calls a window
# cost (sb-sacct -v): the window's own, and the extra ones for the steps of long jobs.
# Usage: bench/sacct.sh [DAYS] [RATE] [WINDOWS]  (defaults: 1 day at 5000 jobs/hour, 50 windows)
#   SB_BENCH_BASE=DIR  also time the pipeline of another built checkout (git worktree add DIR
#                      REV; npx tsc -p tsconfig.json there): before and after in the same run
#   SB_BENCH_PIPE=0    skip the pipeline
# Needs the compiled tree: npx tsc -p tsconfig.json. Timing only; no pass/fail.
set -eu
cd "$(dirname "$0")/.."
days=${1:-1}
rate=${2:-5000}
windows=${3:-50}
export TZ=UTC SB_SIM_NOW=2024-06-01T00:00:00Z SB_SIM_RATE="$rate"
unset SACCT_FORMAT SLURM_TIME_FORMAT NODE_OPTIONS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_RUNTIME_DIR="$tmp"
end=$(date -u -d "2024-01-01 + $days days - 1 second" +%Y-%m-%dT%H:%M:%SZ)
printf '{"kind":"chunk","cluster":"demo","start":"2024-01-01T00:00:00Z","end":"%s"}\n' "$end" > "$tmp/wide"
secs() { echo "$2 - $1" | bc; }
# calls FILE WINDOWS: sb-sacct -v's count of sacct calls, per window
calls() {
  node -e 'const m = /; (\d+) sacct call\(s\)(?:, (\d+) of them for the steps of (\d+) job)?/.exec(require("fs").readFileSync(process.argv[1], "utf8")); const w = +process.argv[2];
    if (!m) { console.log("no -v summary"); process.exit(0); }
    console.log(`${m[1]} sacct calls for ${w} window(s): ${(m[1] / w).toFixed(2)} a window, ${((m[2] ?? 0) / w).toFixed(2)} of them for the steps of ${m[3] ?? 0} jobs that started before -S`);' "$1" "$2"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. One wide window: sacct alone (the same argv, logged by the sim), then through sb-sacct.
t0=$(date +%s.%N)
SB_SIM_LOG="$tmp/log" /usr/bin/time -f '%M' -o "$tmp/mem" bin/sb-sacct --sacct sim/sacct --rate 0 -v < "$tmp/wide" > "$tmp/out" 2> "$tmp/err"
t1=$(date +%s.%N)
rows=$(tail -n 1 "$tmp/out" | sed 's/.*"rows":\([0-9]*\).*/\1/')
argv=$(node -e 'const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n")[0]; console.log(JSON.parse(l).argv.map(a=>JSON.stringify(a)).join(" "))' "$tmp/log")
t2=$(date +%s.%N)
eval "node sim/sacct $argv" | wc -l > "$tmp/raw"
t3=$(date +%s.%N)
all=$(secs "$t0" "$t1")
raw=$(secs "$t2" "$t3")
printf 'wide window (%s days, %s jobs/hour): %s rows kept of %s printed\n' "$days" "$rate" "$rows" "$(cat "$tmp/raw")"
printf '  sim/sacct alone      %7.2f s  %9.0f lines/s\n' "$raw" "$(echo "$(cat "$tmp/raw") / $raw" | bc -l)"
printf '  sb-sacct end to end  %7.2f s  %9.0f rows/s, peak RSS %s MiB\n' "$all" "$(echo "$rows / $all" | bc -l)" "$(( $(cat "$tmp/mem") / 1024 ))"
printf '  %s\n' "$(calls "$tmp/err" 1)"

# 2. Many small windows: per-call overhead, -j 1 and -j 4, no rate limit and a shared one.
node -e 'for (let i = 0; i < +process.argv[1]; i++) { const s = new Date(Date.UTC(2024, 0, 1) + i * 60e3); const e = new Date(+s + 59e3); console.log(JSON.stringify({ kind: "chunk", cluster: "demo", start: s.toISOString().slice(0, 19) + "Z", end: e.toISOString().slice(0, 19) + "Z" })); }' "$windows" > "$tmp/small"
n=$(wc -l < "$tmp/small")
for args in "--rate 0 -j 1" "--rate 0 -j 4" "--rate 100000 -j 4"; do
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  bin/sb-sacct --sacct sim/sacct $args -v < "$tmp/small" > /dev/null 2> "$tmp/err"
  t1=$(date +%s.%N)
  s=$(secs "$t0" "$t1")
  printf '%s one-minute windows, %-18s %6.2f s  %6.1f ms a window\n' "$n" "$args" "$s" "$(echo "$s * 1000 / $n" | bc -l)"
done
printf '  %s\n' "$(calls "$tmp/err" "$n")"

# 3. The pipeline on one window of over 1M rows (7 h at 60000 jobs/hour): rows/s end to end.
[ "${SB_BENCH_PIPE:-1}" = 0 ] && exit 0
US=$(printf '\037')
fields=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
export SB_SIM_RATE=60000 SB_SIM_SEED=1
printf '{"kind":"chunk","cluster":"demo","start":"2024-01-01T00:00:00Z","end":"2024-01-01T06:59:59Z"}\n' > "$tmp/big"
sim() { node sim/sacct -a -n -p "--delimiter=$US" --duplicates --noconvert -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2023-12-31T23:45:00 -E 2024-01-01T07:14:59 -M demo -o "$fields"; }
# sim/sacct's answer, captured once; the stand-in prints it to the window's query, and to a
# query by job id (-j) the capture's lines of those jobs (cut out once, then kept).
sim > "$tmp/big.txt"
cat > "$tmp/sacct" <<EOS
#!/bin/sh
ids= prev=
for a; do [ "\$prev" = -j ] && ids=\$a; prev=\$a; done
[ -z "\$ids" ] && exec cat '$tmp/big.txt'
f='$tmp/j-'\$(printf %s "\$ids" | md5sum | cut -c1-16)
[ -e "\$f" ] || awk -F '$US' -v ids="\$ids" 'BEGIN { n = split(ids, a, ","); for (i = 1; i <= n; i++) w[a[i]] = 1 } { id = \$3; sub(/\\..*/, "", id) } id in w' '$tmp/big.txt' > "\$f"
exec cat "\$f"
EOS
chmod +x "$tmp/sacct"
# The window's kept rows (jobs whose End is inside, and their steps), as chunk-done counts them
# (this run also cuts out the answers to the queries by job id).
kept=$(bin/sb-sacct --sacct "$tmp/sacct" --rate 0 -v < "$tmp/big" 2> "$tmp/err" | tail -n 1 | sed 's/.*"rows":\([0-9]*\).*/\1/')
printed=$(wc -l < "$tmp/big.txt")
best() { # best wall seconds of 3 runs of the shell command $1
  b=''
  for _ in 1 2 3; do
    t0=$(date +%s.%N); sh -c "$1" > /dev/null; t1=$(date +%s.%N)
    s=$(secs "$t0" "$t1")
    if [ -z "$b" ] || [ "$(echo "$s < $b" | bc)" = 1 ]; then b=$s; fi
  done
  echo "$b"
}
row() { printf '  %-44s %7.2f s  %9.0f rows/s\n' "$1" "$2" "$(echo "$3 / $2" | bc -l)"; }
echo
printf 'pipeline, one window (7 h at 60000 jobs/hour): %s rows kept of %s printed; best of 3, wall time\n' "$kept" "$printed"
printf '  %s\n' "$(calls "$tmp/err" 1)"
SIMCMD="node sim/sacct -a -n -p --delimiter=$US --duplicates --noconvert -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2023-12-31T23:45:00 -E 2024-01-01T07:14:59 -M demo -o $fields"
row 'sim/sacct alone (lines printed)' "$(best "$SIMCMD")" "$printed"
row "sim/sacct | awk -F sum ElapsedRaw x AllocCPUS" "$(best "$SIMCMD | awk -F '$US' '{ s += \$15 * \$17 } END { print s }'")" "$printed"
for tree in . ${SB_BENCH_BASE:+"$SB_BENCH_BASE"}; do
  label=''
  [ "$tree" = . ] || label=" [$tree]"
  row "sb-sacct > /dev/null$label" "$(best "$tree/bin/sb-sacct --sacct '$tmp/sacct' --rate 0 < '$tmp/big'")" "$kept"
  row "sb-sacct | sb-parse$label" "$(best "$tree/bin/sb-sacct --sacct '$tmp/sacct' --rate 0 < '$tmp/big' | $tree/bin/sb-parse")" "$kept"
  if [ "$tree" = . ]; then
    row "sb-sacct --row-records | sb-parse" "$(best "bin/sb-sacct --sacct '$tmp/sacct' --rate 0 --row-records < '$tmp/big' | bin/sb-parse")" "$kept"
  fi
done
echo '  (rows/s: kept rows / wall seconds; sim and awk: printed lines / wall seconds. sacct in the'
echo '  sb-sacct rows is cat of a capture. sb-sacct holds a window back until sacct has exited 0, so'
echo '  sb-parse starts only when the whole answer is read.)'
