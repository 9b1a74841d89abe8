# bench/lib.sh — sourced by the bench/*.sh that feed the one table of bench/table.sh (make
# bench): how they time a command and how they hand over a row. The row format is at the top
# of bench/table.sh.
BENCH_QUICK=${BENCH_QUICK:-}

# bench_measure 'SHELL COMMAND': runs it once, its stdout thrown away; sets B_WALL (s),
# B_CPU (user + sys s) and B_MB (peak RSS of the largest process, MB). With `a | b` the
# figure is that of the biggest process of the pipeline (wait4 gives the largest of a child
# and the children it waited for).
bench_measure() {
  local t
  t=$(mktemp)
  /usr/bin/time -f '%e %U %S %M' -o "$t" bash -c "$1" >/dev/null
  read -r B_WALL B_U B_S B_KB <"$t"
  rm -f "$t"
  B_CPU=$(awk -v u="$B_U" -v s="$B_S" 'BEGIN { printf "%.2f", u + s }')
  B_MB=$(( B_KB / 1024 ))
}

# bench_best N 'SHELL COMMAND': the run of N with the least wall time (B_WALL, B_CPU, B_MB).
bench_best() {
  local n=$1 w c m
  shift
  for ((i = 0; i < n; i++)); do
    bench_measure "$1"
    if [[ -z ${w:-} ]] || awk -v a="$B_WALL" -v b="$w" 'BEGIN { exit !(a < b) }'; then w=$B_WALL c=$B_CPU m=$B_MB; fi
  done
  B_WALL=$w B_CPU=$c B_MB=$m
}

# bench_row AREA WHAT FIGURE BASELINE RATIO PEAK_MB TARGET: one row of the table (see
# bench/table.sh); a no-op when the script runs alone (no $SB_BENCH_ROWS).
bench_row() {
  [[ -n ${SB_BENCH_ROWS:-} ]] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" >>"$SB_BENCH_ROWS"
}

# calc EXPR: awk arithmetic, printed with the format FMT (default %.2f)
calc() { awk "BEGIN { printf \"${2:-%.2f}\", $1 }"; }

# awks: the awk implementations installed (gawk, mawk), for text baselines
bench_awks() {
  local a
  for a in gawk mawk; do command -v "$a" >/dev/null && printf '%s\n' "$a"; done
  return 0
}
