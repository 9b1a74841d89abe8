#!/usr/bin/env bash
# bench/instructions.sh — how many machine instructions sb-parse spends on a row, and sb-dedupe
# and sb-reduce on a job the store holds, counted by valgrind's callgrind next to gawk and mawk
# on the same rows.
# Wall and CPU seconds on this shared machine move by 15–40% from one hour to the next, and by
# 2× from one day to the next; an instruction count does not: with node's --single-threaded
# (no compiler or GC threads) two runs of the same program on the same input agree within
# ~0.2%, whatever the other core does. So this is the figure for a before/after of a few per cent;
# seconds (bench/parse.sh, bench/reduce.sh) say what a user waits, instructions say what changed.
# Instructions are not time: a program that stalls on memory runs fewer of them a second.
# sb-reduce into a fresh store is left out: its commits' writes and fsyncs run in the thread
# pool while it reads on, so how much it reads between two waits, and its instructions, depend
# on the disk (two counts of one tree differed by 19%).
#
#   bash bench/instructions.sh                   (after make build; ~5 minutes a tree: callgrind runs
#                                                 programs ~50× slower)
#   SB_BENCH_BEFORE=/tmp/sb-old bash bench/instructions.sh   also count another built tree
#
# Each program runs on two inputs, small and large (the rows or jobs of a shorter and a longer
# span); "a row" is (count(large) − count(small)) / (rows(large) − rows(small)): the steady
# cost, start-up and the compiler's warm-up taken out. Start-up is counted apart, on no input.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
say() { printf 'bench/instructions.sh: %s\n' "$*" >&2; }
[[ -f dist/tools/parse.js && -f sim/dist/sacct.js ]] || { say "build first: make build"; exit 1; }
command -v valgrind >/dev/null || { say "needs valgrind (Debian package 'valgrind')"; exit 1; }
BEFORE=${SB_BENCH_BEFORE:-}
[[ -z $BEFORE || -f $BEFORE/bin/sb-parse ]] || { say "SB_BENCH_BEFORE=$BEFORE: no bin/sb-parse there (a built sb tree)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TZ=UTC SB_HOME_ROOT=$tmp/homes
mkdir -p "$SB_HOME_ROOT"

# count OUT CMD... < stdin: the instructions callgrind counts for CMD (its stdout thrown away)
count() {
	local out=$1
	shift
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.%p" "$@" 2>"$tmp/vg" >/dev/null ||
		{ say "failed under valgrind: $*"; tail -5 "$tmp/vg" >&2; exit 1; }
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp/vg" | awk '{ s += $1 } END { print s }' >"$out"
	rm -f "$tmp"/cg.*
}

FIELDS=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
say "making the inputs"
# sacct text as sb-sacct asks for it (bench/parse.sh's rows), cut at 40k and 120k rows
TZ=UTC SB_SIM_SEED=1 SB_SIM_RATE=60000 node sim/sacct -a -n -p --delimiter=$'\x1f' --duplicates --noconvert \
	-s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2024-01-01T00:00:00 -E 2024-01-01T01:00:00 -M demo -o "$FIELDS" | head -120000 >"$tmp/large.txt"
head -40000 "$tmp/large.txt" >"$tmp/small.txt"
# job records for sb-dedupe and sb-reduce: one window a day, 10 and 30 days
for s in small:2023-01-10T23:59:59Z large:2023-01-30T23:59:59Z; do
	node bench/gen-jobs.mjs --cluster bench --start 2023-01-01T00:00:00Z --end "${s#*:}" --step 86400 --per-window 1000 \
		--users 500 --dup 0 --seed 1 >"$tmp/${s%%:*}.ndjson"
done
rows_small=$(wc -l <"$tmp/small.txt") rows_large=$(wc -l <"$tmp/large.txt")
jobs_small=$(grep -c '"kind":"job"' "$tmp/small.ndjson") jobs_large=$(grep -c '"kind":"job"' "$tmp/large.ndjson")

NODE=(node --single-threaded)
AWK_SUM='{ s += $15 * $17 } END { print s }'
# tree LABEL DIR: count its sb-parse, and its sb-reduce and sb-dedupe on jobs its store holds
tree() {
	local label=$1 dir=$2 size
	say "counting $label ($dir)"
	count "$tmp/$label.start" "${NODE[@]}" "$dir/bin/sb-parse" --fields sb </dev/null
	for size in small large; do
		count "$tmp/$label.parse.$size" "${NODE[@]}" "$dir/bin/sb-parse" --fields sb <"$tmp/$size.txt"
		rm -rf "$tmp/store"
		node "$dir/bin/sb-reduce" --root "$tmp/store" "$tmp/$size.ndjson" </dev/null >/dev/null
		count "$tmp/$label.again.$size" "${NODE[@]}" "$dir/bin/sb-reduce" --root "$tmp/store" "$tmp/$size.ndjson" </dev/null
		count "$tmp/$label.dedupe.$size" "${NODE[@]}" "$dir/bin/sb-dedupe" --root "$tmp/store" "$tmp/$size.ndjson" </dev/null
	done
}
awks=()
for a in gawk mawk; do
	command -v "$a" >/dev/null || { say "$a is not installed: not counted"; continue; }
	awks+=("$a")
	for size in small large; do count "$tmp/$a.parse.$size" "$a" -F $'\x1f' "$AWK_SUM" "$tmp/$size.txt" </dev/null; done
done
tree this .
[[ -z $BEFORE ]] || tree before "$BEFORE"

# per LABEL WHAT UNITS_SMALL UNITS_LARGE: steady instructions a unit
per() {
	local a b
	read -r a <"$tmp/$1.$2.small"
	read -r b <"$tmp/$1.$2.large"
	awk -v a="$a" -v b="$b" -v n="$3" -v m="$4" 'BEGIN { printf "%.0f", (b - a) / (m - n) }'
}
printf '\nInstructions (callgrind), node %s%s; %d and %d text rows, %d and %d jobs\n\n' "$(node --version)" \
	"${BEFORE:+; before = $BEFORE}" "$rows_small" "$rows_large" "$jobs_small" "$jobs_large"
printf '| what | this tree | before | gawk | mawk |\n|---|---|---|---|---|\n'
line() {
	local what=$1 key=$2 n=$3 m=$4 cells=() l a
	for l in this before; do
		if [[ -f $tmp/$l.$key.large ]]; then cells+=("$(per "$l" "$key" "$n" "$m")"); else cells+=(''); fi
	done
	for a in gawk mawk; do
		if [[ -f $tmp/$a.$key.large ]]; then cells+=("$(per "$a" "$key" "$n" "$m")"); else cells+=(''); fi
	done
	printf '| %s | %s | %s | %s | %s |\n' "$what" "${cells[@]}"
}
line 'sb-parse --fields sb, a text row' parse "$rows_small" "$rows_large"
line 'sb-reduce, a job again (a duplicate)' again "$jobs_small" "$jobs_large"
line 'sb-dedupe, a job the store holds' dedupe "$jobs_small" "$jobs_large"
start() { [[ -f $tmp/$1.start ]] && awk '{ printf "%.0fM", $1 / 1e6 }' "$tmp/$1.start" || true; }
printf '| sb-parse start-up (no input), all of it | %s | %s | | |\n' "$(start this)" "$(start before)"
if ((${#awks[@]} > 0)); then
	ref=${awks[-1]}
	printf '\nsb-parse spends %s× the instructions %s does on a row.\n' \
		"$(awk -v a="$(per this parse "$rows_small" "$rows_large")" -v b="$(per "$ref" parse "$rows_small" "$rows_large")" 'BEGIN { printf "%.2f", a / b }')" "$ref"
fi
