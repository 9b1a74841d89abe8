#!/bin/sh
# What polling asks of slurmdbd: a day (BENCH_QUICK=1: an hour) of the README's poll every
# 10 minutes on the synthetic cluster (60 jobs an hour, records reaching slurmdbd up to 5 minutes
# late, jobs shown up to 10 minutes outside -S/-E; then again with an exact -S/-E), the clock moved with libfaketime; every sacct
# call and answer kept (bench/poll-sim.mjs). Per finished job: the windows that handed it down,
# the sacct answers it was in, the rows fetched; sacct calls per poll; totals checked against the
# truth. SB_BENCH_BASE=DIR also runs another built checkout's programs (git worktree add DIR REV;
# make build there) in the same run: before and after.
# Needs faketime (scripts/ensure-faketime.sh) and the compiled tree (make build). No pass/fail.
set -eu
cd "$(dirname "$0")/.."
hours=24
[ -n "${BENCH_QUICK:-}" ] && hours=1
command -v faketime >/dev/null 2>&1 || { echo "bench/poll.sh: faketime is missing (scripts/ensure-faketime.sh)"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
row() {
  node -e '
    const [name, file] = process.argv.slice(1);
    const s = JSON.parse(require("fs").readFileSync(file, "utf8").trim().split("\n").pop());
    if (s.error) { console.log(`| ${name} | error: ${s.error} |`); process.exit(0); }
    const f = (x) => x.toFixed(2);
    const steps = s.step_calls === undefined ? "-" : `${s.step_calls} (${f(s.step_fetches.mean)} / ${s.step_fetches.max} a job, ${f(s.step_rows_per_job)} rows)`;
    // make bench (bench/table.sh): the slurmdbd rows of its one table
    if (process.env.SB_BENCH_ROWS && name.startsWith("after")) {
      const base = process.env.SB_POLL_BASE_ROW ?? "";
      const rows = [
        ["slurmdbd", `a poll every 10 min, ${process.env.SB_POLL_HOURS} h, ${s.jobs} jobs: sacct answers per finished job (mean / max)`, `${f(s.fetches.mean)} / ${s.fetches.max} (kept by ${f(s.kept.mean)} / ${s.kept.max} windows)`, base ? `before: ${base.split(" ")[0]}` : "no SB_BENCH_BASE given: no before", "", "", "≤ 2 a job"],
        ["slurmdbd", "the same: sacct calls per poll (mean / max), rows fetched per job", `${f(s.calls_per_poll.mean)} / ${s.calls_per_poll.max}, ${f(s.rows_per_job)} rows, plus ${s.step_calls} queries by job id for the steps of long jobs`, base ? `before: ${base.split(" ")[1]}` : "", "", "", ""],
      ];
      require("fs").appendFileSync(process.env.SB_BENCH_ROWS, rows.map((r) => r.join("\t")).join("\n") + "\n");
    }
    if (process.env.SB_BENCH_ROWS && name.startsWith("exact")) {
      const r = ["slurmdbd", `the same, an sacct that shows no job outside -S/-E (SB_SIM_DRIFT=0): sacct answers per finished job (mean / max)`, `${f(s.fetches.mean)} / ${s.fetches.max} (kept by ${f(s.kept.mean)} / ${s.kept.max} windows)`, "", "", "", "≤ 2 a job"];
      require("fs").appendFileSync(process.env.SB_BENCH_ROWS, r.join("\t") + "\n");
    }
    if (name.startsWith("before")) console.error(`SB_POLL_BASE_ROW=${f(s.fetches.mean)}/${s.fetches.max} ${f(s.calls_per_poll.mean)}/${s.calls_per_poll.max}`);
    console.log(`| ${name} | ${s.jobs} | ${f(s.kept.mean)} / ${s.kept.max} | ${f(s.fetches.mean)} / ${s.fetches.max} | ${f(s.rows_per_job)} | ${s.calls} | ${f(s.calls_per_poll.mean)} / ${s.calls_per_poll.max} | ${steps} | ${s.exact ? "yes" : "NO"} |`);
  ' "$1" "$2"
}
echo "polling every 10 minutes for ${hours} h (then until the last window settles), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo '| policy | finished jobs | windows per job (mean / max) | sacct answers per job (mean / max) | rows fetched per job | sacct calls | calls per poll (mean / max) | queries for steps by job id | exact |'
echo '|---|---|---|---|---|---|---|---|---|'
if [ -n "${SB_BENCH_BASE:-}" ]; then
  node bench/poll-sim.mjs --dir "$tmp/before" --hours "$hours" --bin "$SB_BENCH_BASE/bin" > "$tmp/before.json" || true
  row "before ($(git -C "$SB_BENCH_BASE" rev-parse --short HEAD 2>/dev/null || echo "$SB_BENCH_BASE"))" "$tmp/before.json" 2>"$tmp/base"
  SB_POLL_BASE_ROW=$(sed -n 's/^SB_POLL_BASE_ROW=//p' "$tmp/base")
  export SB_POLL_BASE_ROW
fi
export SB_POLL_HOURS=$hours
# Both at once: what they measure is counted (calls, answers, rows), not timed, and each has its
# own directory and faked clock; on two cores that halves the bench's time.
node bench/poll-sim.mjs --dir "$tmp/after" --hours "$hours" > "$tmp/after.json" & after=$!
# the same against an sacct whose -S/-E are exact: what is left above two answers a job is the
# jobs the real sacct shows minutes outside the span asked for
SB_SIM_DRIFT=0 node bench/poll-sim.mjs --dir "$tmp/exact" --hours "$hours" > "$tmp/exact.json" & exact=$!
wait "$after" || true
wait "$exact" || true
row "after ($(git rev-parse --short HEAD 2>/dev/null || echo this))" "$tmp/after.json"
row "exact sacct, after ($(git rev-parse --short HEAD 2>/dev/null || echo this))" "$tmp/exact.json"
