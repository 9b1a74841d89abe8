#!/usr/bin/env bash
# workload.sh — run a known mix of jobs on the test cluster from cluster.sh, as several users,
# and wait until every one of them is finished and stored by slurmdbd.
#
#   workload.sh [STATE_DIR]          (default ${SB_SLURM_STATE:-/tmp/sb-slurm})
#
# stdout: one line "START END", the UTC range (ISO-8601, Z) that holds every job's submit, start
# and end. Note that sacct's -S/-E reject the trailing Z: strip it and run sacct with TZ=UTC.
# stderr: progress, and a table (label, job id, user, account, expected state) of what it ran.
# Also writes that table to STATE_DIR/workload.tsv for tests that want to check states.
#
# The mix: successes; exit 1; killed by a signal; scancel of a running job; a pending job
# cancelled before it started; out of memory (cgroup); a TIMEOUT (--time=1, ~80 s); a job array
# with one failing task; a multi-step job (srun steps, one killed by a signal); GPU jobs
# (--gres=gpu:1, --gres=gpu:a100:2, --gpus=v100:1); a job name with '|'; a job in a non-default
# account; a job requeued while running (so sacct --duplicates shows two records); memory asked
# per CPU and per job; time limits of minutes and of days; a long job whose peak memory is an
# srun step of its first seconds (400 MB for 5 s, then 100 s of sleep: with small windows and
# little slack the step ends many windows before the job). It ends in about 2 min (the long job
# sets the pace).
#
# Exit 77 when the cluster is not up, 1 when a job does not end as expected in time.
set -euo pipefail

STATE=${1:-${SB_SLURM_STATE:-/tmp/sb-slurm}}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WAIT_MAX=${SB_WORKLOAD_TIMEOUT:-240}
prog=workload.sh
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || { say "cannot run: must run as root (submits as test users)"; exit 77; }
eval "$(bash "$HERE/cluster.sh" env "$STATE")"
bash "$HERE/cluster.sh" status "$STATE" >/dev/null 2>&1 || {
	say "cannot run: the test cluster in $STATE is not up (bash $HERE/cluster.sh up $STATE)"
	exit 77
}

JOBS=$STATE/jobs
TSV=$STATE/workload.tsv
cd "$JOBS" # world-writable (1777): the users' working directory and output files

utc() { date -u +%Y-%m-%dT%H:%M:%SZ; }
declare -a LABELS=() IDS=()
declare -A EXPECT=() WHO=() ACCT=()

# sub LABEL USER EXPECTED-STATE [sbatch args...] -- SCRIPT
sub() {
	local label=$1 user=$2 expect=$3 id
	shift 3
	local -a args=()
	while [[ $1 != -- ]]; do args+=("$1"); shift; done
	shift
	id=$(printf '#!/bin/bash\n%s\n' "$1" |
		runuser -u "$user" -- sbatch --parsable --output="$JOBS/%j.out" "${args[@]}") ||
		die "sbatch for $label as $user failed"
	id=${id%%;*}
	LABELS+=("$label")
	IDS+=("$id")
	EXPECT[$label]=$expect
	WHO[$label]=$user
	ACCT[$label]=$(sacctmgr -n -P show user "$user" format=DefaultAccount 2>/dev/null)
	local a
	for a in "${args[@]}"; do [[ $a == --account=* ]] && ACCT[$label]=${a#--account=}; done
	eval "ID_${label//-/_}=$id"
}

job_state() { squeue -h -j "$1" -o %T 2>/dev/null | head -n 1; }
wait_running() { # ID: until it runs
	local i
	for ((i = 0; i < 240; i++)); do
		[[ $(job_state "$1") == RUNNING ]] && return 0
		sleep 0.25
	done
	die "job $1 did not start (state: $(job_state "$1"))"
}

START=$(date -u +%s)
START_ISO=$(date -u -d "@$((START - 1))" +%Y-%m-%dT%H:%M:%SZ)
say "submitting at $START_ISO"

# the slow ones first: TIMEOUT takes about 80 s with --time=1, the long job about 110 s
sub timeout sbcarol TIMEOUT --time=1 --job-name=sleepy -- 'sleep 600'
sub long-steps sbcarol COMPLETED --mem=1G --time=10 --job-name=longsteps -- '
srun -n 1 perl -e '\''$x = "z" x (400*1024*1024); sleep 5'\''
sleep 100'
sub ok-alice sbalice COMPLETED --job-name=ok -- 'sleep 3; echo ok'
sub ok-bob-2cpu sbbob COMPLETED -n 2 --mem-per-cpu=300M --time=5 --job-name=ok2 -- 'sleep 4'
sub exit1 sbbob FAILED --job-name=fails -- 'sleep 1; exit 1'
sub signal sbcarol FAILED --job-name=killed -- 'sleep 1; kill -KILL $$'
sub oom sbbob OUT_OF_MEMORY --mem=64M --job-name=hog -- \
	'perl -e '\''$x = "x" x (400*1024*1024); sleep 5'\'''
sub array sbcarol "COMPLETED/FAILED" --array=0-3 --job-name=arr -- \
	'sleep $((2 + SLURM_ARRAY_TASK_ID)); [ "$SLURM_ARRAY_TASK_ID" != 3 ] || exit 3'
sub steps sbalice COMPLETED -n 2 --mem=1G --job-name=steps -- '
srun -n 2 hostname
srun -n 1 perl -e '\''$x = "y" x (80*1024*1024); sleep 4'\''
srun -n 1 bash -c '\''sleep 1; kill -SEGV $$'\'' || true
srun -n 1 sleep 2'
sub gpu1 sbbob COMPLETED -p gpu --gres=gpu:1 --job-name=gpu1 -- 'srun sleep 3'
sub gpu-a100 sbalice COMPLETED -p gpu --gres=gpu:a100:2 --job-name=gpu2 -- \
	'echo "CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"; sleep 4'
sub gpus-v100 sbcarol COMPLETED -p gpu --gpus=v100:1 -c 2 --job-name=gpu3 -- 'sleep 3'
sub pipe-name sbcarol COMPLETED '--job-name=pipe|in name' -- 'sleep 2'
sub other-acct sbalice COMPLETED --account=chem --time=1-12:00:00 --job-name=chemrun -- 'sleep 3'
sub scancel sbbob CANCELLED --job-name=cancelme -- 'sleep 600'
sub never-ran sbalice CANCELLED --begin=now+3600 --job-name=later -- 'sleep 1'
sub requeue sbbob "REQUEUED+COMPLETED" --requeue --job-name=again -- \
	'if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then sleep 2; exit 0; fi; sleep 600'

# cancel a running job, a pending one, and requeue a running one
wait_running "$ID_scancel"
sleep 2
runuser -u sbbob -- scancel "$ID_scancel"
runuser -u sbalice -- scancel "$ID_never_ran"
wait_running "$ID_requeue"
sleep 2
scontrol requeue "$ID_requeue"
# a requeued job waits for its old credential to expire (about 2 min); let it go now. Not in
# the second of the requeue: slurmd refuses a credential made in the second its job's old one
# was revoked ("Killing non-startable batch JobId=N: Job credential revoked", the job FAILED).
for ((i = 0; i < 40; i++)); do
	[[ $(job_state "$ID_requeue") == PENDING ]] && break
	sleep 0.25
done
sleep 2
scontrol update JobId="$ID_requeue" StartTime=now >/dev/null 2>&1 || true

# wait until nothing of ours is queued, then until slurmdbd has every record with an End
ids=$(IFS=,; echo "${IDS[*]}")
deadline=$((SECONDS + WAIT_MAX))
while [[ -n $(squeue -h -j "$ids" -o %i 2>/dev/null) ]]; do
	((SECONDS < deadline)) || die "jobs still queued after ${WAIT_MAX}s: $(squeue -h -j "$ids" -o '%i %T %r' | tr '\n' ';')"
	# the requeued job may be held back again by the credential wait; keep nudging it
	if [[ $(job_state "$ID_requeue") == PENDING ]]; then
		scontrol update JobId="$ID_requeue" StartTime=now >/dev/null 2>&1 || true
	fi
	sleep 1
done
stored() {
	local out
	out=$(TZ=UTC sacct -n -P -X --duplicates -j "$ids" -o JobID,State,End 2>/dev/null) || return 1
	# every allocation has a terminal state and an End; the requeued job has its two records
	grep -Eq '\|(PENDING|RUNNING|SUSPENDED|REQUEUE_HOLD|REQUEUE_FED|RESIZING)\||\|Unknown$' <<<"$out" && return 1
	[[ $(grep -c "^$ID_requeue|" <<<"$out") -ge 2 ]] || return 1
	local id
	for id in "${IDS[@]}"; do grep -Eq "^$id[|_]" <<<"$out" || return 1; done
	[[ $(grep -c "|" <<<"$out") -ge $((${#IDS[@]} + 3 + 1)) ]] # array: 4 tasks for 1 id; requeue: 2
}
until stored; do
	((SECONDS < deadline)) || die "slurmdbd does not have all records after ${WAIT_MAX}s"
	sleep 1
done
END=$(date -u +%s)
END_ISO=$(date -u -d "@$((END + 1))" +%Y-%m-%dT%H:%M:%SZ)

{
	printf 'label\tjob_id\tuser\taccount\texpected_state\n'
	for i in "${!LABELS[@]}"; do
		l=${LABELS[$i]}
		printf '%s\t%s\t%s\t%s\t%s\n' "$l" "${IDS[$i]}" "${WHO[$l]}" "${ACCT[$l]}" "${EXPECT[$l]}"
	done
} >"$TSV"
column -t -s $'\t' "$TSV" >&2 2>/dev/null || cat "$TSV" >&2

# check that each job ended as meant ('+': records in order, '/': the set of array task states)
bad=0
for i in "${!LABELS[@]}"; do
	l=${LABELS[$i]}
	want=${EXPECT[$l]}
	states=$(sacct -n -P -X --duplicates -j "${IDS[$i]}" -o State | awk '{print $1}')
	case $want in
	*+*) got=$(paste -sd+ <<<"$states") ;;
	*) got=$(sort -u <<<"$states" | paste -sd/) ;;
	esac
	if [[ $got != "$want" ]]; then
		say "job $l (${IDS[$i]}) ended $got, expected $want"
		bad=1
	fi
done
((bad == 0)) || die "some jobs did not end as expected (see $STATE/jobs/*.out and $STATE/log/)"
say "done in $((END - START))s; every job ended as expected; table in $TSV"
echo "$START_ISO $END_ISO"
