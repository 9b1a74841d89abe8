#!/usr/bin/env bash
# bench/parse.sh — sb-parse's throughput on sacct rows from the synthetic cluster (sim/sacct),
# as plain sacct text, as sb-sacct's rows NDJSON (its default: raw lines in batches) and as its
# row NDJSON (--row-records: one object a row), next to baselines timed in the same run on
# the same rows: gawk -F and mawk -F summing ElapsedRaw × AllocCPUS (what any script would do
# at least; a baseline not installed is named as such, not timed), and for NDJSON a node loop
# that only JSON.parses each line. At about 1M and 2M rows, so the peak RSS column shows
# whether memory stays flat as the input grows.
#
#   bash bench/parse.sh            (after make build; about a minute on a quiet machine)
#   SB_BENCH_RUNS=5 bash bench/parse.sh
#   SB_BENCH_BEFORE=/tmp/sb-old bash bench/parse.sh    also time the sb-parse of another built
#                                  tree (an older commit) on the same rows, for before/after
#
# Every program runs on one core (taskset -c 0 when there is taskset); the best wall time of
# SB_BENCH_RUNS runs (default 3) is kept, with the CPU seconds (user + sys) of that run.
# Rows for bench/table.sh: sb-parse on text and on rows records, against gawk/mawk and the
# JSON.parse loop.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. bench/lib.sh
say() { printf 'bench/parse.sh: %s\n' "$*" >&2; }
[[ -f dist/tools/parse.js && -f sim/dist/sacct.js ]] || { say "build first: make build"; exit 1; }
[[ -x /usr/bin/time ]] || { say "needs /usr/bin/time (Debian package 'time') for wall time and peak RSS"; exit 1; }
RUNS=${SB_BENCH_RUNS:-3}
BEFORE=${SB_BENCH_BEFORE:-}
[[ -z $BEFORE || -f $BEFORE/bin/sb-parse ]] || { say "SB_BENCH_BEFORE=$BEFORE: no bin/sb-parse there (a built sb tree)"; exit 1; }
AWKS=()
for a in gawk mawk; do
	if command -v "$a" >/dev/null; then AWKS+=("$a"); else say "$a is not installed: no $a baseline (Debian: apt-get install $a)"; fi
done
ONE=()
command -v taskset >/dev/null && ONE=(taskset -c 0)
tmp=$(mktemp -d)
trap 'status=$?; if ((status == 0)); then rm -rf "$tmp"; else say "inputs kept in $tmp"; fi' EXIT

FIELDS=DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES
# sacct text as sb-sacct asks for it: RATE jobs/hour on cluster demo, START .. END
gen() {
	TZ=UTC SB_SIM_SEED=1 SB_SIM_RATE=60000 node sim/sacct -a -n -p --delimiter=$'\x1f' --duplicates --noconvert \
		-s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2024-01-01T00:00:00 -E "$1" -M demo -o "$FIELDS"
}

# run NAME INPUT CMD...: best of RUNS; writes "wall cpu peak_kb" to $tmp/result.NAME
run() {
	local name=$1 input=$2 best='' line
	shift 2
	for ((i = 0; i < RUNS; i++)); do
		/usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "${ONE[@]}" "$@" <"$input" >/dev/null
		line=$(awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }' "$tmp/t")
		if [[ -z $best ]] || awk -v a="${line%% *}" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then best=$line; fi
	done
	echo "$best" >"$tmp/result.$name"
}

AWK_SUM='{ s += $15 * $17 } END { print s }'
JSON_LOOP='import("./dist/core/cli/lines.js").then(async ({ readLineBatches }) => {
  let n = 0;
  for await (const b of readLineBatches(process.stdin)) for (const l of b) if (JSON.parse(l).kind === "row") n++;
  console.log(n);
})'
# headerless sacct text → sb-sacct's rows records (4096 lines each, DEL between fields), with a
# chunk-done after every window of 1000 jobs, as bench/sacct-rows.mjs does for row records
TO_ROWS='const FIELDS = "'"$FIELDS"'".split(",");
import("./dist/core/cli/lines.js").then(async ({ readLineBatches }) => {
  let window = 0, jobs = 0, rows = 0, lines = [], out = [];
  const head = () => `{"kind":"rows","cluster":"demo","chunk":"2024-01-01T00:00:00Z/window-${window}","fields":${JSON.stringify(FIELDS)},"delimiter":"\\u007f","lines":[`;
  const close = () => { if (lines.length > 0) out.push(head() + lines.join(",") + "]}"); lines = []; };
  const flush = async () => { if (out.length > 0 && !process.stdout.write(out.join("\n") + "\n")) await new Promise((r) => process.stdout.once("drain", r)); out = []; };
  for await (const b of readLineBatches(process.stdin)) {
    for (const l of b) {
      if (!l.split("\x1f", 3)[2].includes(".")) {
        if (jobs > 0 && jobs % 1000 === 0) { close(); out.push(`{"kind":"chunk-done","cluster":"demo","start":"2024-01-01T00:00:00Z","end":"window-${window}","rows":${rows},"settled":true}`); window++; rows = 0; }
        jobs++;
      }
      lines.push(JSON.stringify(l.slice(0, -1).replaceAll("\x1f", "\x7f")));
      rows++;
      if (lines.length >= 4096) close();
    }
    await flush();
  }
  close();
  if (jobs > 0) out.push(`{"kind":"chunk-done","cluster":"demo","start":"2024-01-01T00:00:00Z","end":"window-${window}","rows":${rows},"settled":true}`);
  await flush();
})'

rows=()
for size in 1M:2024-01-01T06:30:00 2M:2024-01-01T11:00:00; do
	label=${size%%:*}
	say "generating $label rows"
	gen "${size#*:}" >"$tmp/$label.txt"
	node bench/sacct-rows.mjs demo <"$tmp/$label.txt" >"$tmp/$label.ndjson"
	node -e "$TO_ROWS" <"$tmp/$label.txt" >"$tmp/$label.rows"
	rows+=("$label:$(wc -l <"$tmp/$label.txt")")
	say "timing $label rows"
	for a in "${AWKS[@]}"; do run "$label.$a" "$tmp/$label.txt" "$a" -F $'\x1f' "$AWK_SUM"; done
	run "$label.text" "$tmp/$label.txt" node bin/sb-parse --fields sb
	if [[ -n $BEFORE ]]; then
		run "$label.btext" "$tmp/$label.txt" node "$BEFORE/bin/sb-parse" --fields sb
		run "$label.brows" "$tmp/$label.rows" node "$BEFORE/bin/sb-parse"
	fi
	run "$label.json" "$tmp/$label.ndjson" node -e "$JSON_LOOP"
	run "$label.ndjson" "$tmp/$label.ndjson" node bin/sb-parse
	run "$label.rows" "$tmp/$label.rows" node bin/sb-parse
	# the same jobs from either form, and as many CPU-seconds as awk counts on the job rows
	node bin/sb-parse --fields sb <"$tmp/$label.txt" >"$tmp/jobs"
	node bin/sb-parse <"$tmp/$label.ndjson" | grep -v '"kind":"chunk-done"' | cmp -s - "$tmp/jobs" ||
		{ say "sb-parse gives other jobs from NDJSON than from text"; exit 1; }
	node bin/sb-parse <"$tmp/$label.rows" | grep -v '"kind":"chunk-done"' | cmp -s - "$tmp/jobs" ||
		{ say "sb-parse gives other jobs from rows NDJSON than from text"; exit 1; }
	a=$(awk -F'"(elapsed_s|cpus)":' '{ split($2, e, ","); split($3, c, ","); s += e[1] * c[1] } END { printf "%.0f", s }' "$tmp/jobs")
	b=$(awk -F $'\x1f' '$2 !~ /\./ { s += $15 * $17 } END { printf "%.0f", s }' "$tmp/$label.txt")
	[[ $a == "$b" ]] || { say "sb-parse counts $a CPU-seconds, awk $b"; exit 1; }
	if [[ -n $BEFORE ]]; then
		node "$BEFORE/bin/sb-parse" --fields sb <"$tmp/$label.txt" | cmp -s - "$tmp/jobs" || say "note: $BEFORE's sb-parse gives other jobs from the $label text"
	fi
done

# the baseline of the "vs" column: gawk where there is one, else mawk
ref=${AWKS[0]:-}
gawk_version=$(gawk --version 2>/dev/null | head -1 | cut -d, -f1 || true)
mawk_version=$(mawk -W version 2>/dev/null | head -1 | cut -d' ' -f1-2 || true)
printf '\nsb-parse throughput: node %s, %s, best of %d runs%s; load average %s\n\n' "$(node --version)" \
	"$(nproc) CPUs" "$RUNS" "${ONE:+, one core (taskset -c 0)}" "$(cut -d' ' -f1-3 /proc/loadavg)"
[[ -n $BEFORE ]] && printf '"before" is the sb-parse of %s\n\n' "$BEFORE"
printf '%-6s %9s  %-30s %6s %6s %9s %8s %11s %8s\n' input rows program 'wall s' 'cpu s' 'rows/s' "vs ${ref:-awk}" 'rows/cpu-s' 'peak RSS'
for r in "${rows[@]}"; do
	label=${r%%:*} n=${r#*:}
	ref_wall=0
	[[ -n $ref ]] && read -r ref_wall _ _ <"$tmp/result.$label.$ref"
	for p in gawk:"gawk -F ($gawk_version)" mawk:"mawk -F ($mawk_version)" text:"sb-parse --fields sb" btext:"  the same, before" \
		rows:"sb-parse (rows records)" brows:"  the same, before" json:"node: JSON.parse each line" ndjson:"sb-parse (row records)"; do
		key=${p%%:*} name=${p#*:}
		[[ -f $tmp/result.$label.$key ]] || continue
		read -r wall cpu kb <"$tmp/result.$label.$key"
		form=text
		[[ $key == json || $key == ndjson ]] && form=row
		[[ $key == *rows ]] && form=rows
		case $key in
		text | rows | ndjson)
			bench_row parse "$name, $n rows" "$(calc "$n / $wall / 1000" %.0f)k rows/s ($wall s; $(calc "$n / $cpu / 1000" %.0f)k per CPU-s)" \
				"${ref:-no awk}${ref:+ -F: $(calc "$n / $ref_wall / 1000" %.0f)k rows/s}" "${ref:+$(calc "$ref_wall / $wall")× $ref}" "$(( kb / 1024 ))" "≥ 700k rows/s on one core" ;;
		esac
		awk -v f="$form" -v n="$n" -v p="$name" -v w="$wall" -v c="$cpu" -v kb="$kb" -v aw="$ref_wall" 'BEGIN {
			printf "%-6s %9d  %-30s %6.2f %6.2f %9d %8s %11d %5.0f MB\n", f, n, p, w, c, (w > 0 ? n / w : 0), (w > 0 && aw > 0 ? sprintf("%.2f", aw / w) : "-"), (c > 0 ? n / c : 0), kb / 1024 }'
	done
done
printf '\nrows/s = rows / wall seconds; "vs %s" = its wall time / this wall time on the same rows (above 1 is\n' "${ref:-awk}"
printf 'faster); rows/cpu-s = rows / (user + sys) seconds, steadier on a busy machine. sb-parse writes to\n'
printf '/dev/null; text and NDJSON give the same jobs, and their CPU-seconds match awk'"'"'s.\n'
for a in gawk mawk; do command -v "$a" >/dev/null || printf '%s: not installed, not timed.\n' "$a"; done
printf 'Floor: 700,000 rows/s on one core, plain text and rows records.\n'
