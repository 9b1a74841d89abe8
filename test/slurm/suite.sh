#!/usr/bin/env bash
# suite.sh — sb against a real SLURM cluster: the integration suite (`make test-slurm`).
#
#   bash test/slurm/suite.sh
#
# Brings up its own cluster (cluster.sh, in a fresh state dir), runs workload.sh, then drives
# the whole pipeline over the workload's window with the real sacct and sacctmgr, and holds the
# store against a truth computed without sb: an SQL query on slurmdbd's MariaDB tables
# (truth.sh db), cross-checked against sacct's own output summed by truth.awk (truth.sh sacct).
#
#   1  full pipeline into a fresh store: sb-chunk new (touching windows) | sb-sacct | sb-parse |
#      sb-dedupe | sb-reduce; every base field of every user's totals (summed over the monthly
#      rollups) equals the truth; sb-reduce --check; sb-rank --write boards exist and agree
#   2  idempotency: the same pipeline again on the same store: new_jobs 0 in every commit
#   3  the steps of a long job (an early 400 MB step, then 100 s of sleep): small windows without
#      slack, two windows cut through the job (as --by day cuts one across midnight), --by day,
#      a poll; each job's peak RSS and steps = truth
#   4  permanent failures: a misspelled cluster, no configuration: one sacct call, exit 1
#   5  fault run into a second store: slurmdbd killed during the backfill -> sb-sacct exits 75
#      and the failed windows are in its ledger; slurmdbd restarted; sb-chunk from-file LEDGER |
#      ... -> totals exact; a poll (sb-chunk todo | ...) -> new_jobs 0 in every commit
#
# Prints one PASS/FAIL line per check on stdout, progress on stderr, and last a line
# "N passed, M failed". Exit 0 if all passed, 1 if any failed, 77 if it cannot run here (not
# root, not Debian, no cgroup v1, ports taken: see cluster.sh): then it says why. With CI=true
# "cannot run" is a failure (a FAIL line, counted), still exit 77.
# The cluster is always left down and the stores removed (trap); the work dir (cluster state,
# logs) is removed after a pass and kept after a failure (its path is printed).
#
# Environment:
#   SB_SUITE_TIMEOUT  seconds the whole suite may take (default 500; then TERM, KILL 60 s later)
#   SB_SUITE_STEP     window length in hours for sb-chunk --step (default 0.005 = 18 s, so the
#                     workload's ~12 min range is ~40 touching windows and its jobs fall in
#                     several; 0.25 gives one window for this range)
#   SB_SUITE_KEEP     1: keep the work dir even after a pass
#   SB_SUITE_WORK     the work dir (default: a new mktemp -d)
#   SB_SLURM_PORT_BASE  as cluster.sh (if 6817-6820 are taken by another cluster)
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LIMIT=${SB_SUITE_TIMEOUT:-500}
say() { printf 'suite: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- time limit (re-exec)
# The suite runs itself under timeout(1): on expiry every process of the suite gets TERM (the
# cluster's daemons run in their own sessions and are stopped by the trap), the trap stops the
# cluster and prints the summary. If even that hangs, KILL follows and this outer part cleans up.
if [[ -z ${SB_SUITE_INNER:-} ]] && command -v timeout >/dev/null 2>&1; then
	made=
	if [[ -n ${SB_SUITE_WORK:-} ]]; then work=$SB_SUITE_WORK; else
		work=$(mktemp -d "${TMPDIR:-/tmp}/sb-slurm-suite.XXXXXX") || exit 1
		made=1
	fi
	SB_SUITE_INNER=1 SB_SUITE_WORK=$work SB_SUITE_MADE_WORK=$made timeout -k 60 "$LIMIT" bash "${BASH_SOURCE[0]}" "$@" &
	tpid=$!
	# timeout(1) runs in its own process group, out of a terminal's reach: pass Ctrl-C on as TERM
	trap 'kill -TERM "$tpid" 2>/dev/null' INT TERM HUP
	while :; do
		wait "$tpid"
		rc=$?
		kill -0 "$tpid" 2>/dev/null || break
	done
	if ((rc == 124)); then
		say "time limit of ${LIMIT}s reached (SB_SUITE_TIMEOUT)"
		rc=1
	elif ((rc == 137)); then # the inner suite did not stop on TERM: clean up for it
		if [[ -d $work/state/pids ]]; then bash "$HERE/cluster.sh" down "$work/state" >&2 || true; fi
		rm -rf "$work/store1" "$work/store2" "$work/store3" "$work/store4" "$work/store5" "$work/store6"
		echo "FAIL: the suite was killed after its time limit of ${LIMIT}s; logs in $work"
		echo "0 passed, 1 failed"
		rc=1
	fi
	# a skip before the inner suite used its work dir leaves it empty
	[[ -n $made && -d $work ]] && rmdir "$work" 2>/dev/null
	exit "$rc"
fi

# ---------------------------------------------------------------- checks and the summary
PASSED=0 FAILED=0 SUMMARIZED= CLEANED= STARTED= W=
pass() { PASSED=$((PASSED + 1)); printf 'PASS: %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL: %s\n' "$*"; }
# detail FILE...: the last lines of each non-empty FILE, indented, on stdout under a FAIL
detail() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		echo "      --- ${f#"$W"/} (last lines)"
		tail -n 12 "$f" | sed 's/^/      /'
	done
}
summary() { SUMMARIZED=1; echo "$PASSED passed, $FAILED failed"; }

# cleanup: the cluster down (if this run started it), the stores removed; before the summary
cleanup() {
	[[ -n $CLEANED || -z $W ]] && return 0
	CLEANED=1
	if [[ -n $STARTED && -d $STATE/pids ]]; then
		say "stopping the cluster"
		bash "$HERE/cluster.sh" down "$STATE" >"$W/cluster-down.log" 2>&1 || true
		local d left=
		for d in "$STATE"/pids/*.pid; do [[ -e $d ]] && left+=" ${d##*/}"; done
		if [[ -n $left ]]; then fail "cluster down: still recorded:$left"; else pass "cluster stopped (cluster.sh down)"; fi
	fi
	rm -rf "$R1" "$R2" "$R3" "$R4" "$R5" "$R6"
}
on_exit() {
	local rc=$?
	if [[ -z $SUMMARIZED ]]; then # an unexpected exit
		fail "the suite stopped unexpectedly (exit $rc)"
		cleanup
		summary
		rc=1
	fi
	[[ -n $W && -d $W ]] || return 0
	if ((FAILED == 0 && (rc == 0 || rc == 77))) && [[ ${SB_SUITE_KEEP:-} != 1 && ${SB_SUITE_MADE_WORK:-} == 1 ]]; then
		rm -rf "$W"
	elif ((FAILED > 0)) || [[ ${SB_SUITE_KEEP:-} == 1 ]]; then
		say "work dir kept: $W (cluster state, daemon logs in state/log, each step's stderr)"
	fi
}
on_signal() {
	trap - TERM INT HUP
	fail "stopped by SIG$1 (time limit ${LIMIT}s, or interrupted)"
	cleanup
	summary
	exit 1
}
finish() { cleanup; summary; ((FAILED == 0)) && exit 0; exit 1; }
fatal() { fail "$@"; say "cannot go on"; finish; }

cannot() { # WHY: exit 77, a failure under CI
	if [[ ${CI:-} == true ]]; then
		fail "the SLURM suite cannot run here, and CI must run it: $*"
	else
		echo "SKIP: the SLURM suite cannot run here: $*"
		echo "      (it needs root on Debian 12 with cgroup v1; run 'sudo make test-slurm' on such a machine)"
	fi
	cleanup
	summary
	exit 77
}
trap on_exit EXIT
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP

[[ $(id -u) -eq 0 ]] || cannot "must run as root (it installs packages, adds users, runs slurmd)"
[[ -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1 ||
	cannot "needs Debian with apt-get (found: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s))"
command -v node >/dev/null 2>&1 || cannot "node is not installed"

if [[ -n ${SB_SUITE_WORK:-} ]]; then W=$SB_SUITE_WORK; else
	W=$(mktemp -d "${TMPDIR:-/tmp}/sb-slurm-suite.XXXXXX")
	SB_SUITE_MADE_WORK=1
fi
mkdir -p "$W"
chmod 755 "$W" # the test users' jobs read slurm.conf and write output under it
STATE=$W/state
R1=$W/store1
R2=$W/store2
R3=$W/store3
R4=$W/store4
R5=$W/store5
R6=$W/store6
SB=$ROOT/bin
STEP=${SB_SUITE_STEP:-0.005}
CLUSTER=sbtest

# a clean client environment: the state dir's slurm.conf, sb's defaults not taken from outside
unset SB_ROOT SB_CLUSTER SB_SACCT SB_SACCTMGR SB_SCONTROL SACCT_FORMAT SLURM_TIME_FORMAT SLURM_CLUSTERS
export NO_COLOR=1 SB_NO_PROGRESS=1 TZ=UTC LC_ALL=C

# node helpers: read the store's JSON (monthly totals, commits, boards); no sb code
js() { node -e "$JS" "$@"; }
JS='
const fs = require("fs"), path = require("path");
const [cmd, ...a] = process.argv.slice(1);
const F = ["jobs","failed_jobs","gpu_jobs","cpu_s","elapsed_s","gpu_s","gpu_elapsed_s","mem_req_byte_s","mem_used_byte_s"];
const lines = (f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
if (cmd === "totals") {            // MONTHLY_DIR: per-user sums of `totals` over YYYY-MM.json
  const sum = new Map();
  const files = fs.readdirSync(a[0]).filter((f) => /^\d{4}-\d{2}\.json$/.test(f)).sort();
  if (!files.length) throw new Error("no monthly rollup in " + a[0]);
  for (const f of files) {
    const j = JSON.parse(fs.readFileSync(path.join(a[0], f), "utf8"));
    for (const u of j.users) {
      if (!u.totals) throw new Error(f + ": " + u.username + " has no totals");
      const s = sum.get(u.username) ?? F.map(() => 0n);
      F.forEach((k, i) => {
        if (u.totals[k] === undefined) throw new Error(f + ": " + u.username + ": no totals." + k);
        s[i] += BigInt(u.totals[k]);
      });
      sum.set(u.username, s);
    }
  }
  console.log(["user", ...F].join("\t"));
  for (const u of [...sum.keys()].sort()) console.log([u, ...sum.get(u)].join("\t"));
} else if (cmd === "commits") {    // FILE: commits, chunks_done, new_jobs, windows with new jobs, commits with new jobs
  const c = lines(a[0]).filter((r) => r.kind === "commit");
  const n = (k) => c.reduce((s, r) => s + (r[k] ?? 0), 0);
  console.log([c.length, n("chunks_done"), n("new_jobs"), c.filter((r) => r.new_jobs > 0 && r.chunks_done > 0).length,
    c.filter((r) => r.new_jobs !== 0).length].join(" "));
} else if (cmd === "unsettled") {  // CHUNKS EPOCH: how many windows end less than 15 minutes before EPOCH
  console.log(lines(a[0]).filter((w) => Date.parse(w.end) / 1000 + 900 > Number(a[1])).length);
} else if (cmd === "ledger") {     // FILE: records, temporary ones, distinct windows, last reason
  const l = lines(a[0]);
  const w = new Set(l.map((r) => r.start + "/" + r.end));
  console.log([l.length, l.filter((r) => r.kind === "failed" && r.permanent === false).length, w.size,
    JSON.stringify(String((l.at(-1) ?? {}).error ?? "").slice(0, 120))].join(" "));
} else if (cmd === "killpoint") {  // COMMITS CHUNKS SLACK: sacct -S of the window after the first with jobs
  const c = lines(a[0]).filter((r) => r.kind === "commit" && r.chunks_done > 0);
  const ch = lines(a[1]);
  const first = c.find((r) => r.new_jobs > 0);
  const i = first ? ch.findIndex((w) => w.start + "/" + w.end === first.chunk) : -1;
  const next = ch[i >= 0 && i + 1 < ch.length ? i + 1 : 1];
  console.log(new Date(Date.parse(next.start) - a[2] * 1000).toISOString().slice(0, 19));
} else if (cmd === "jobs") {      // FILE: sb-parse output -> "db_index job_id max_rss steps" per job record, by db_index
  const j = lines(a[0]).filter((r) => r.kind === "job").sort((x, y) => x.db_index - y.db_index);
  for (const r of j) console.log([r.db_index, r.job_id_raw, r.max_rss_bytes ?? 0, r.steps].join("\t"));
} else if (cmd === "calls") {     // FILE: sb-sacct -v stderr -> "windows calls step_calls step_jobs"
  const m = /(\d+) window\(s\).*; (\d+) sacct call\(s\)(?:, (\d+) of them for the steps of (\d+) job)?/.exec(fs.readFileSync(a[0], "utf8"));
  console.log(m ? [m[1], m[2], m[3] ?? 0, m[4] ?? 0].join(" ") : "0 0 0 0");
} else if (cmd === "board") {      // FILE: "rank-1 users (sorted, comma)" and "user=value,..." sorted by user
  const b = JSON.parse(fs.readFileSync(a[0], "utf8"));
  const top = b.rows.filter((r) => r.rank === 1).map((r) => r.user).sort();
  const vals = b.rows.map((r) => r.user + "=" + r.value).sort();
  console.log(top.join(",") + " " + vals.join(","));
}
'

# ---------------------------------------------------------------- the cluster and the workload
cd "$ROOT"
for b in sb-chunk sb-sacct sb-parse sb-dedupe sb-reduce sb-rank; do
	"$SB/$b" --version >/dev/null 2>&1 || fatal "$b does not run (built? make build): $("$SB/$b" --version 2>&1 | tail -n 1)"
done

say "work dir $W; bringing the cluster up in $STATE"
t0=$SECONDS
STARTED=1
bash "$HERE/cluster.sh" up "$STATE" >"$W/cluster-up.log" 2>&1
rc=$?
if ((rc == 77)); then
	STARTED= # it started nothing
	cannot "$(grep -h 'cannot run' "$W/cluster-up.log" | tail -n 1 | sed 's/^cluster.sh: cannot run: //')"
elif ((rc != 0)); then
	fail "cluster up: cluster.sh up exited $rc"
	detail "$W/cluster-up.log"
	finish
fi
pass "cluster up in $((SECONDS - t0))s (state $STATE)"
eval "$(bash "$HERE/cluster.sh" env "$STATE")"
SACCT=$(command -v sacct) SACCTMGR=$(command -v sacctmgr)
[[ -x $SACCT && -x $SACCTMGR ]] || fatal "sacct or sacctmgr not found after cluster up"

say "running the workload (~90 s)"
t0=$SECONDS
bash "$HERE/workload.sh" "$STATE" >"$W/workload.out" 2>"$W/workload.err"
rc=$?
if ((rc != 0)); then
	fail "workload: workload.sh exited $rc"
	detail "$W/workload.err"
	finish
fi
read -r WSTART WEND <"$W/workload.out"
pass "workload: every job ended as expected, $WSTART .. $WEND, in $((SECONDS - t0))s"

# the pipeline's range: the workload's window widened by 5 minutes each side
epoch() { date -u -d "$1" +%s; }
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
RSTART=$(iso $(($(epoch "$WSTART") - 300)))
REND=$(iso $(($(epoch "$WEND") + 300)))
say "pipeline range $RSTART .. $REND, --step $STEP"

# ---------------------------------------------------------------- the truth
bash "$HERE/truth.sh" db "$STATE" "$RSTART" "$REND" >"$W/truth-db.tsv" 2>"$W/truth-db.err" ||
	{ detail "$W/truth-db.err"; fatal "truth: the database query failed"; }
bash "$HERE/truth.sh" sacct "$STATE" "$RSTART" "$REND" >"$W/truth-sacct.tsv" 2>"$W/truth-sacct.err" ||
	{ detail "$W/truth-sacct.err"; fatal "truth: sacct | truth.awk failed"; }
# every workload job is in it: one record per label, +3 array tasks, +1 requeued run
want=$(($(tail -n +2 "$STATE/workload.tsv" | grep -c .) + 3 + 1))
got=$(awk -F '\t' 'NR > 1 { n += $2 } END { print n + 0 }' "$W/truth-db.tsv")
users=$(awk -F '\t' 'NR > 1 { printf "%s%s", sep, $1; sep = "," }' "$W/truth-db.tsv")
if ((got == want)) && [[ $users == sbalice,sbbob,sbcarol ]]; then
	pass "truth (database): $got job records of users $users, as the workload made them"
else
	fail "truth (database): $got job records of users '$users'; the workload made $want of sbalice,sbbob,sbcarol"
	detail "$W/truth-db.tsv"
fi
if diff "$W/truth-db.tsv" "$W/truth-sacct.tsv" >"$W/truth.diff"; then
	pass "truth: the database query and sacct summed by truth.awk agree on all 9 fields"
else
	fail "truth: the database query and sacct | truth.awk disagree (< db, > sacct)"
	detail "$W/truth.diff"
fi

bash "$HERE/truth.sh" jobs "$STATE" "$RSTART" "$REND" >"$W/truth-jobs.tsv" 2>"$W/truth-jobs.err" ||
	{ detail "$W/truth-jobs.err"; fatal "truth: the per-job query failed"; }
LONG_ID=$(awk -F '\t' '$1 == "long-steps" { print $2 }' "$STATE/workload.tsv")
LONG=$(awk -F '\t' -v id="$LONG_ID" '$2 == id' "$W/truth-jobs.tsv")
read -r LONG_DB _ LONG_RSS LONG_STEPS <<<"$LONG"
# the long job's peak is its early srun step, which ends ~100 s before the job
if [[ -n $LONG && $LONG_STEPS -ge 3 && ${LONG_RSS:-0} -ge $((300 * 1024 * 1024)) ]]; then
	pass "truth (database): the long job $LONG_ID (DBIndex $LONG_DB) peaks at $((LONG_RSS / 1048576)) MiB over $LONG_STEPS steps"
else
	fail "truth (database): the long job '$LONG_ID': '$LONG' (db_index job_id max_rss steps); expected at least 3 steps, 300 MiB"
	detail "$W/truth-jobs.tsv"
fi

# check_jobs LABEL NAME: every job record sb-parse printed in pipeline NAME has the truth's peak
# RSS and steps, and every record of the truth is there
check_jobs() {
	local label=$1 out=$W/$2.jobs.tsv
	js jobs "$W/$2.jobs" >"$out" 2>"$W/$2.jobs.err" || { fail "$label: cannot read sb-parse's output"; detail "$W/$2.jobs.err"; return; }
	if diff "$W/truth-jobs.tsv" "$out" >"$W/$2.jobs.diff"; then
		local long
		long=$(awk -F '\t' -v db="$LONG_DB" '$1 == db { printf "%d MiB over %d steps", $3 / 1048576, $4 }' "$out")
		pass "$label: every job's peak RSS and steps = truth ($(grep -c . "$out") job records; the long job: $long)"
	else
		fail "$label: job records differ from the truth (< truth: db_index job_id max_rss steps, > sb)"
		detail "$W/$2.jobs.diff"
	fi
}
# calls_text NAME: how many sacct calls sb-sacct -v made in pipeline NAME
calls_text() {
	local n c k j
	read -r n c k j < <(js calls "$W/$1.sacct.err")
	echo "$c sacct calls for $n windows, $k of them for the steps of $j jobs that started before their window's -S"
}

FIELDS_SB="jobs failed_jobs gpu_jobs cpu_s elapsed_s gpu_s gpu_elapsed_s mem_req_byte_s mem_used_byte_s"
# check_totals LABEL ROOT: the store's per-user totals (sum of monthly rollups) = the truth
# check_store LABEL ROOT NAME: sb-reduce --check on a store (its output kept in $W/NAME.check.out)
check_store() {
	if "$SB/sb-reduce" --root "$2" --check >"$W/$3.check.out" 2>&1; then
		pass "$1: sb-reduce --check: the store's files agree"
	else
		fail "$1: sb-reduce --check failed"
		detail "$W/$3.check.out"
	fi
}

check_totals() {
	local label=$1 root=$2 out=$W/$1.totals.tsv
	if ! js totals "$root/clusters/$CLUSTER/agg/rollups/monthly" >"$out" 2>"$W/$label.totals.err"; then
		fail "$label: cannot read the store's monthly rollups"
		detail "$W/$label.totals.err"
		return
	fi
	# same column order as the truth; compare field by field
	local diffs
	diffs=$(awk -F '\t' -v fields="$FIELDS_SB" '
		BEGIN { nf = split(fields, name, " ") }
		FNR == 1 { next }
		NR == FNR { for (i = 2; i <= nf + 1; i++) truth[$1, i] = $i; tu[$1] = 1; next }
		{ su[$1] = 1; for (i = 2; i <= nf + 1; i++) if ($i != truth[$1, i]) printf "%s %s: store %s, truth %s\n", $1, name[i - 1], $i, truth[$1, i] }
		END {
			for (u in tu) if (!(u in su)) printf "%s: in the truth, not in the store\n", u
			for (u in su) if (!(u in tu)) printf "%s: in the store, not in the truth\n", u
		}' "$W/truth-db.tsv" "$out")
	if [[ -z $diffs ]]; then
		pass "$label: store totals = truth, every user, all 9 fields ($(awk -F '\t' 'NR > 1 { n += $2 } END { print n + 0 }' "$out") jobs)"
	else
		fail "$label: store totals differ from the truth:"
		sed 's/^/      /' <<<"$diffs"
	fi
}

# pipeline NAME ROOT LEDGER [SB-SACCT OPTIONS... --] SB-CHUNK ARGS...
# sb-chunk ARGS | sb-sacct | sb-parse | sb-dedupe | sb-reduce; commits in $W/NAME.commits,
# sb-parse's job records in $W/NAME.jobs, exit statuses in $W/NAME.rc (chunk tee sacct parse
# tee dedupe reduce), stderr in $W/NAME.*.err
pipeline() {
	local name=$1 root=$2 ledger=$3
	shift 3
	local -a sopt=()
	if [[ " $* " == *" -- "* ]]; then
		while [[ $1 != -- ]]; do sopt+=("$1"); shift; done
		shift
	fi
	"$SB/sb-chunk" "$@" 2>"$W/$name.chunk.err" | tee "$W/$name.chunks" |
		"$SB/sb-sacct" --sacct "$SACCT" --sacctmgr "$SACCTMGR" --rate 0 --failed "$ledger" "${sopt[@]}" 2>"$W/$name.sacct.err" |
		"$SB/sb-parse" 2>"$W/$name.parse.err" | tee "$W/$name.jobs" |
		"$SB/sb-dedupe" --root "$root" 2>"$W/$name.dedupe.err" |
		"$SB/sb-reduce" --root "$root" >"$W/$name.commits" 2>"$W/$name.reduce.err"
	echo "${PIPESTATUS[*]}" >"$W/$name.rc"
}
# rc_ok NAME [SACCT-STATUS]: every stage exited 0 (sb-sacct: SACCT-STATUS)
rc_ok() {
	local -a rc
	read -r -a rc <"$W/$1.rc"
	[[ ${rc[0]} == 0 && ${rc[1]} == 0 && ${rc[2]} == "${2:-0}" && ${rc[3]} == 0 && ${rc[4]} == 0 && ${rc[5]} == 0 && ${rc[6]} == 0 ]]
}
rc_text() { local -a rc; read -r -a rc <"$W/$1.rc"; echo "sb-chunk ${rc[0]}, sb-sacct ${rc[2]}, sb-parse ${rc[3]}, sb-dedupe ${rc[5]}, sb-reduce ${rc[6]}"; }
nlines() { if [[ -e $1 ]]; then grep -c . "$1"; else echo 0; fi; }
stage_logs() { echo "$W/$1.chunk.err" "$W/$1.sacct.err" "$W/$1.parse.err" "$W/$1.dedupe.err" "$W/$1.reduce.err"; }

NEW=(new -c "$CLUSTER" -s "$RSTART" -e "$REND" --step "$STEP")

# ---------------------------------------------------------------- 1. the full pipeline
say "1. full pipeline into a fresh store"
L1=$W/run1.failed.ndjson
t0=$SECONDS
pipeline run1 "$R1" "$L1" "${NEW[@]}"
windows=$(nlines "$W/run1.chunks")
read -r ncommit ndone nnew nwin _ < <(js commits "$W/run1.commits")
if rc_ok run1 && [[ ! -s $L1 ]] && ((windows > 1 && ndone == windows)); then
	pass "run 1: sb-chunk new | sb-sacct | sb-parse | sb-dedupe | sb-reduce: all exit 0, $windows touching windows all done, no failure in the ledger ($((SECONDS - t0))s)"
else
	fail "run 1: $(rc_text run1); $windows windows, $ndone done, $(nlines "$L1") failed"
	detail $(stage_logs run1) "$L1"
fi
if ((nwin >= 2)); then
	pass "run 1: the workload's $nnew jobs came in through $nwin different windows"
else
	fail "run 1: the jobs came in through $nwin window(s); expected at least 2 (the TIMEOUT job ends ~80 s after the rest)"
fi
check_totals "run 1" "$R1"
check_jobs "run 1" run1
check_store "run 1" "$R1" run1

# sb-rank: boards exist, rank 1 of jobs is the truth's top user, every user's job count on it
if "$SB/sb-rank" --root "$R1" --write --min-jobs 0 >"$W/rank.out" 2>"$W/rank.err"; then
	missing=
	for m in clock_hours elapsed_hours gpu_clock_hours gpu_elapsed_hours jobs gpu_jobs failed_jobs \
		mem_req_gb_hours mem_used_gb_hours overall; do
		for win in alltime rolling-30d; do
			[[ -s $R1/leaderboards/${win}_$m.json ]] || missing+=" ${win}_$m.json"
		done
	done
	[[ -s $R1/leaderboards/by-cluster/$CLUSTER/alltime_jobs.json ]] || missing+=" by-cluster/$CLUSTER/alltime_jobs.json"
	if [[ -z $missing ]]; then
		pass "sb-rank --write: $(grep -c '"kind":"leaderboard"' "$W/rank.out") leaderboard files, every metric's alltime and rolling-30d board among them"
	else
		fail "sb-rank --write: missing:$missing"
	fi
	top_truth=$(awk -F '\t' 'NR > 1 { if ($2 > m) { m = $2; t = $1 } else if ($2 == m) t = t "," $1 } END { print t }' "$W/truth-db.tsv" | tr , '\n' | sort | paste -sd,)
	vals_truth=$(awk -F '\t' 'NR > 1 { print $1 "=" $2 }' "$W/truth-db.tsv" | sort | paste -sd,)
	for board in alltime_jobs.json by-cluster/$CLUSTER/alltime_jobs.json; do
		if [[ -s $R1/leaderboards/$board ]] && read -r top vals < <(js board "$R1/leaderboards/$board"); then
			if [[ $top == "$top_truth" && $vals == "$vals_truth" ]]; then
				pass "sb-rank $board: rank 1 is $top as in the truth; jobs $vals"
			else
				fail "sb-rank $board: rank 1 '$top', jobs '$vals'; truth: rank 1 '$top_truth', jobs '$vals_truth'"
			fi
		else
			fail "sb-rank $board: missing or unreadable"
		fi
	done
else
	fail "sb-rank --root R --write --min-jobs 0 failed"
	detail "$W/rank.err"
fi

# ---------------------------------------------------------------- 2. idempotency
say "2. the same pipeline again on the same store"
t0=$SECONDS
pipeline run2 "$R1" "$W/run2.failed.ndjson" "${NEW[@]}"
read -r ncommit ndone nnew _ nonzero < <(js commits "$W/run2.commits")
if rc_ok run2 && ((ncommit >= windows && nonzero == 0 && nnew == 0)); then
	pass "run 2 (same pipeline, same store): $ncommit commits, new_jobs 0 in every one ($((SECONDS - t0))s)"
else
	fail "run 2: $(rc_text run2); $ncommit commits, $nonzero with new_jobs != 0 ($nnew new jobs)"
	detail $(stage_logs run2)
fi
check_totals "run 2" "$R1"

# ---------------------------------------------------------------- 3. the steps of long jobs
# Slurm filters steps by -S/-E too: with little slack, the long job's early step is outside the
# query of the window its job ends in. sb-sacct fetches such jobs' steps again by job id.
say "3. the steps of a long job: small windows without slack, a cut through the job, a poll"
t0=$SECONDS
pipeline steps "$R3" "$W/steps.failed.ndjson" -v --slack 0 -- "${NEW[@]}"
if rc_ok steps && [[ ! -s $W/steps.failed.ndjson ]]; then
	pass "steps, ${STEP} h windows, --slack 0: all exit 0; $(calls_text steps) ($((SECONDS - t0))s)"
else
	fail "steps, --slack 0: $(rc_text steps)"
	detail $(stage_logs steps) "$W/steps.failed.ndjson"
fi
check_totals "steps, --slack 0" "$R3"
check_jobs "steps, --slack 0" steps

# two windows, as --by day cuts a job running across midnight: the cut 30 s after the long
# job started, so its early step ends in the first window and the job in the second
long_start=$(TZ=UTC sacct -n -P -X -j "$LONG_ID" -o Start | head -n 1)
cut=$(($(epoch "${long_start}Z") + 30))
printf '%s,%s\n%s,%s\n' "$RSTART" "$(iso "$cut")" "$(iso $((cut + 1)))" "$REND" >"$W/cut.csv"
t0=$SECONDS
pipeline cut "$R4" "$W/cut.failed.ndjson" -v --slack 0 -- from-file -c "$CLUSTER" "$W/cut.csv"
if rc_ok cut && [[ ! -s $W/cut.failed.ndjson ]] && [[ $(nlines "$W/cut.chunks") == 2 ]]; then
	pass "cut at $(iso "$cut") (the long job started $long_start), --slack 0: all exit 0; $(calls_text cut) ($((SECONDS - t0))s)"
else
	fail "cut: $(rc_text cut); $(nlines "$W/cut.chunks") windows"
	detail $(stage_logs cut) "$W/cut.failed.ndjson"
fi
check_totals "cut" "$R4"
check_jobs "cut" cut

# --by day as a backfill runs it (a day's window, --slack 0): the long job crosses midnight only
# if the suite runs then, so the cut above stands in for that; this checks the day's run itself
t0=$SECONDS
pipeline byday "$R6" "$W/byday.failed.ndjson" -v --slack 0 -- new -c "$CLUSTER" -s "$RSTART" -e "$REND" --by day
if rc_ok byday && [[ ! -s $W/byday.failed.ndjson ]]; then
	pass "--by day, --slack 0: $(nlines "$W/byday.chunks") window(s), all exit 0; $(calls_text byday) ($((SECONDS - t0))s)"
else
	fail "--by day: $(rc_text byday)"
	detail $(stage_logs byday) "$W/byday.failed.ndjson"
fi
check_totals "--by day" "$R6"
check_jobs "--by day" byday

# a poll: what the store does not hold as done, in one-minute windows, a little slack
POLL=(todo --root "$R5" -c "$CLUSTER" -s "$RSTART" -e "$REND" --step 0.0167)
t0=$SECONDS
pipeline steps-poll "$R5" "$W/steps-poll.failed.ndjson" -v --slack 10s -j 2 -- "${POLL[@]}"
if rc_ok steps-poll && [[ ! -s $W/steps-poll.failed.ndjson ]]; then
	pass "poll, 1-minute windows, --slack 10s -j 2: all exit 0; $(calls_text steps-poll) ($((SECONDS - t0))s)"
else
	fail "poll: $(rc_text steps-poll)"
	detail $(stage_logs steps-poll) "$W/steps-poll.failed.ndjson"
fi
check_totals "poll" "$R5"
check_jobs "poll" steps-poll
pipeline steps-poll2 "$R5" "$W/steps-poll2.failed.ndjson" -v --slack 10s -j 2 -- "${POLL[@]}"
read -r ncommit _ nnew _ nonzero < <(js commits "$W/steps-poll2.commits")
if rc_ok steps-poll2 && ((nonzero == 0 && nnew == 0)); then
	pass "poll again: $ncommit commits, new_jobs 0 in every one"
else
	fail "poll again: $(rc_text steps-poll2); $nonzero commits with new_jobs != 0"
	detail $(stage_logs steps-poll2)
fi
check_totals "poll again" "$R5"

# ---------------------------------------------------------------- 4. permanent failures
say "4. permanent failures: a misspelled cluster, no configuration"
"$SB/sb-chunk" "${NEW[@]}" >"$W/perm.chunks"
pwindows=$(nlines "$W/perm.chunks")
sed "s/\"cluster\":\"$CLUSTER\"/\"cluster\":\"sbtset\"/" "$W/perm.chunks" >"$W/perm-typo.chunks"
# what the real sacct says for a cluster slurmdbd does not know: nothing, exit 0
TZ=UTC sacct -a -n -p -S "${RSTART%Z}" -E "${REND%Z}" -M sbtset -o JobIDRaw >"$W/typo.sacct.out" 2>"$W/typo.sacct.err"
typo_rc=$?
"$SB/sb-sacct" --sacct "$SACCT" --sacctmgr "$SACCTMGR" --rate 0 -v --failed "$W/typo.failed.ndjson" "$W/perm-typo.chunks" >"$W/typo.out" 2>"$W/typo.err"
rc=$?
read -r _ ncalls _ _ < <(js calls "$W/typo.err")
if ((rc == 1 && ncalls == 1)) && [[ ! -s $W/typo.out ]] && grep -q "failed for good after 1 attempt: cluster 'sbtset' is not known to slurmdbd.*; stopping: $((pwindows - 1)) windows left undone$" "$W/typo.err"; then
	pass "misspelled cluster (sacct -M sbtset: exit $typo_rc, $(wc -c <"$W/typo.sacct.out") bytes out, $(wc -c <"$W/typo.sacct.err") bytes err): sb-sacct exit 1 after 1 sacct call for $pwindows windows, $((pwindows - 1)) left undone"
else
	fail "misspelled cluster: sb-sacct exited $rc after $ncalls sacct calls for $pwindows windows"
	detail "$W/typo.err"
fi
if [[ -e /etc/slurm/slurm.conf ]]; then
	pass "no configuration: not tried, /etc/slurm/slurm.conf exists on this machine"
else
	env -u SLURM_CONF "$SB/sb-sacct" --sacct "$SACCT" --sacctmgr "$SACCTMGR" --rate 0 -v "$W/perm.chunks" >"$W/noconf.out" 2>"$W/noconf.err"
	rc=$?
	read -r _ ncalls _ _ < <(js calls "$W/noconf.err")
	if ((rc == 1 && ncalls == 1)) && grep -q "failed for good after 1 attempt: sacct exited 1: sacct: fatal: Could not establish a configuration source.*; stopping: $((pwindows - 1)) windows left undone$" "$W/noconf.err"; then
		pass "no configuration (no SLURM_CONF, no /etc/slurm/slurm.conf): sb-sacct exit 1 after 1 sacct call for $pwindows windows"
	else
		fail "no configuration: sb-sacct exited $rc after $ncalls sacct calls for $pwindows windows"
		detail "$W/noconf.err"
	fi
fi

# ---------------------------------------------------------------- 5. fault run
say "5. fault run: slurmdbd stopped during a backfill into a second store"
L2=$W/fault.failed.ndjson
dbd_pid=$(cat "$STATE/pids/slurmdbd.pid" 2>/dev/null)
t0=$SECONDS
# Paced (a pause between calls) so that windows are still to come when slurmdbd stops; one quick
# retry so that the failed windows fail fast. slurmdbd is stopped once the first window that
# holds jobs (known from run 1) is done, so the store holds some jobs, not all, when it fails.
# sb-sacct's output does not show that moment (it prints a window's chunk-done with the next
# window's records), so it is seen from sb-sacct's sacct children: windows are fetched in order
# (-j 1), each with -S START, without the slack: every window here ended less than the settle
# time ago, and such a window is asked for exactly (sb-sacct(1)); a call for a later window
# means it is done (the queries by job id for a window's steps start earlier).
next_s=$(js killpoint "$W/run1.commits" "$W/run1.chunks" 0)
pipeline fault "$R2" "$L2" -j 1 --slack 15m --sleep 0.3 --retries 1 --backoff 0.1 --sacct-timeout 60 -v -- "${NEW[@]}" &
ppid=$!
killed= sbpid=
for ((i = 0; i < 1200; i++)); do # up to 60 s
	kill -0 "$ppid" 2>/dev/null || break
	[[ -n $sbpid ]] || sbpid=$(pgrep -f -- "sb-sacct .*--failed $L2" | head -n 1)
	at=
	if [[ -n $sbpid ]]; then
		for c in $(pgrep -P "$sbpid" -x sacct); do # the -S of a running call
			sarg=$(tr '\0' '\n' 2>/dev/null <"/proc/$c/cmdline" | sed -n '/^-S$/{n;p;q}')
			[[ -n $sarg && ! $sarg < $next_s ]] && at=$sarg
		done
	fi
	if [[ -n $at ]]; then
		if [[ $dbd_pid =~ ^[0-9]+$ ]] && kill -TERM "$dbd_pid" 2>/dev/null; then
			killed=1
			say "stopped slurmdbd (pid $dbd_pid) while sb-sacct fetched the window after the first with jobs (sacct -S $at)"
		fi
		break
	fi
	sleep 0.05
done
wait "$ppid"
while [[ $dbd_pid =~ ^[0-9]+$ && -e /proc/$dbd_pid ]]; do sleep 0.2; done
fwindows=$(nlines "$W/fault.chunks")
read -r ncommit ndone nnew _ _ < <(js commits "$W/fault.commits")
read -r nfail ntemp nfailw lasterr < <(js ledger "$L2" 2>/dev/null || echo "0 0 0 \"\"")
read -r -a frc <"$W/fault.rc"
if [[ -z $killed ]]; then
	fail "fault run: slurmdbd (pid '$dbd_pid') was not stopped during the backfill ($(rc_text fault))"
	detail $(stage_logs fault)
else
	if [[ ${frc[2]} == 75 ]]; then
		pass "fault run: sb-sacct exited 75 after slurmdbd stopped"
	else
		fail "fault run: sb-sacct exited ${frc[2]}, expected 75"
		detail "$W/fault.sacct.err"
	fi
	if ((nfail > 0 && ntemp == nfail && ndone > 0 && ndone + nfailw == fwindows)); then
		pass "fault run: $nfailw windows in the failure ledger (temporary: $lasterr), $ndone done before; together all $fwindows"
	else
		fail "fault run: ledger $nfail records ($ntemp temporary, $nfailw windows), $ndone windows done, of $fwindows"
		detail "$L2" "$W/fault.sacct.err"
	fi
	if [[ ${frc[0]} == 0 && ${frc[3]} == 0 && ${frc[5]} == 0 && ${frc[6]} == 0 ]]; then
		pass "fault run: the rest of the pipeline exited 0 ($(rc_text fault))"
	else
		fail "fault run: $(rc_text fault)"
		detail $(stage_logs fault)
	fi
fi
partial=$(js totals "$R2/clusters/$CLUSTER/agg/rollups/monthly" 2>/dev/null | awk -F '\t' 'NR > 1 { n += $2 } END { print n + 0 }')
total=$(awk -F '\t' 'NR > 1 { n += $2 } END { print n + 0 }' "$W/truth-db.tsv")
if ((partial > 0 && partial < total)); then
	pass "fault run: the store held $partial of the $total jobs when slurmdbd stopped"
else
	fail "fault run: the store held $partial of the $total jobs when slurmdbd stopped; expected some, not all"
fi
say "fault run took $((SECONDS - t0))s; restarting slurmdbd"

t0=$SECONDS
if bash "$HERE/cluster.sh" up "$STATE" >"$W/cluster-restart.log" 2>&1 &&
	new_pid=$(cat "$STATE/pids/slurmdbd.pid") && [[ $new_pid != "$dbd_pid" ]]; then
	pass "slurmdbd restarted by cluster.sh up (pid $new_pid) in $((SECONDS - t0))s"
else
	fail "cluster.sh up did not restart slurmdbd"
	detail "$W/cluster-restart.log"
	finish
fi

# retry exactly the ledger's windows
say "retrying the failed windows: sb-chunk from-file LEDGER | ..."
t0=$SECONDS
L3=$W/retry.failed.ndjson
pipeline retry "$R2" "$L3" from-file "$L2"
rwindows=$(nlines "$W/retry.chunks")
read -r ncommit ndone nnew _ _ < <(js commits "$W/retry.commits")
if rc_ok retry && [[ ! -s $L3 ]] && ((rwindows == nfailw && ndone == rwindows)); then
	pass "retry: sb-chunk from-file LEDGER | ...: all exit 0, the $rwindows failed windows done, $nnew new jobs ($((SECONDS - t0))s)"
else
	fail "retry: $(rc_text retry); $rwindows windows retried of $nfailw failed, $ndone done, $(nlines "$L3") failed again"
	detail $(stage_logs retry) "$L3"
fi
check_totals "retry" "$R2"

# the poll: what is not done and settled. Every window here is counted, and one that ended less
# than the settle time ago is fetched again only once it can settle: none of those is asked for
# (on a slow machine the earliest may have settled meanwhile: fetched again, nothing new).
say "polling: sb-chunk todo | ..."
t0=$SECONDS
polled_at=$(date +%s)
pipeline poll "$R2" "$W/poll.failed.ndjson" todo --root "$R2" -c "$CLUSTER" -s "$RSTART" -e "$REND" --step "$STEP"
read -r ncommit ndone nnew _ nonzero < <(js commits "$W/poll.commits")
early=$(js unsettled "$W/poll.chunks" "$polled_at")
if rc_ok poll && ((early == 0 && nonzero == 0 && nnew == 0)); then
	pass "poll: sb-chunk todo | ...: no window asked for again before it can settle ($(nlines "$W/poll.chunks") that could), new_jobs 0 ($((SECONDS - t0))s)"
else
	fail "poll: $(rc_text poll); $early windows asked for before they can settle; $ncommit commits, $nonzero with new_jobs != 0 ($nnew new jobs)"
	detail $(stage_logs poll)
fi
check_totals "poll" "$R2"
check_store "fault store" "$R2" fault

. "$HERE/privatedata.sh"
finish
