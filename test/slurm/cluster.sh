#!/usr/bin/env bash
# cluster.sh — a real single-node SLURM cluster with accounting, for sb's integration tests.
#
#   cluster.sh up|down|status|env [STATE_DIR]
#
# STATE_DIR defaults to ${SB_SLURM_STATE:-/tmp/sb-slurm}. Every file the cluster uses (configs,
# munge key and socket, MariaDB datadir and socket, spool, logs, PIDs, fake GPU devices) lives
# there; nothing under /etc is written except Unix users (sbalice, sbbob, sbcarol) and the
# Debian packages installed when missing. Daemons run in the foreground of a background job, so
# no systemd or init scripts are needed; `down` stops exactly the PIDs that `up` recorded.
#
#   up      install missing packages (apt-get), write configs, start munged, mariadbd,
#           slurmdbd, register cluster/accounts/users with sacctmgr, start slurmctld and
#           slurmd, wait until the node is idle and sacct answers. Idempotent.
#   down    cancel jobs still queued or running, then TERM the recorded daemons (KILL after a
#           timeout). Safe to run twice.
#   status  tell which recorded daemons run; exit 0 if all do, 3 otherwise.
#   env     print the `export ...` lines a client needs (eval "$(cluster.sh env)").
#
# Exit 77 (with a message on stderr) when it cannot run here: not root, not Debian with apt,
# packages not installable, a port already taken. Exit 1 when a daemon fails to come up.
#
# Environment: SB_SLURM_STATE (state dir), SB_SLURM_PORT_BASE (default 6817: slurmctld uses it,
# slurmd +1, slurmdbd +2, mariadbd +3), SB_SLURM_TIMEOUT (seconds to wait for readiness, 90).
set -euo pipefail

CMD=${1:-}
STATE=${2:-${SB_SLURM_STATE:-/tmp/sb-slurm}}
PORT_BASE=${SB_SLURM_PORT_BASE:-6817}
READY_TIMEOUT=${SB_SLURM_TIMEOUT:-90}

CLUSTER=sbtest
ACCOUNTS=(physics chem)
# user:default account[:other accounts...]
USERS=(sbalice:physics:chem sbbob:physics sbcarol:chem)
GPU_TYPES=(a100 a100 v100 v100) # one fake GPU device per entry
NODE_CPUS=8                     # more than the machine has (config_overrides) so jobs overlap
NODE_MEM_MB=8192
DEF_MEM_PER_CPU=256
PACKAGES=(slurm-wlm slurmdbd slurm-client mariadb-server munge)
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd) # start order; stopped in reverse

CTLD_PORT=$PORT_BASE
SLURMD_PORT=$((PORT_BASE + 1))
DBD_PORT=$((PORT_BASE + 2))
DB_PORT=$((PORT_BASE + 3))
DB_USER=slurm
DB_PASS=sbtest-slurm-db # loopback only, throwaway cluster

prog=cluster.sh
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { say "error: $*"; exit 1; }
cannot() { say "cannot run: $*"; exit 77; }

usage() {
	echo "usage: $prog up|down|status|env [STATE_DIR]   (default \${SB_SLURM_STATE:-/tmp/sb-slurm})" >&2
	exit 2
}

case $CMD in up | down | status | env) ;; *) usage ;; esac
case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac

ETC=$STATE/etc
RUN=$STATE/run
LOG=$STATE/log
PIDS=$STATE/pids
SPOOL=$STATE/spool
MUNGE_SOCKET=$RUN/munge/munge.socket.2
DB_SOCKET=$RUN/mysqld.sock
NODE=$(hostname -s)

# ---------------------------------------------------------------------------------- helpers

# pid_of NAME: the recorded PID of daemon NAME if that process still runs it, else nothing.
pid_of() {
	local f=$PIDS/$1.pid pid
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	# the PID must still be our daemon (PIDs are recycled): its argv[0] is the daemon's name
	local argv0
	argv0=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1)
	[[ ${argv0##*/} == "$1" ]] || return 1
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
	echo "$pid"
}

port_busy() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_for() {
	local secs=$1 what=$2 i
	shift 2
	for ((i = 0; i < secs * 4; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.25
	done
	return 1
}

# start NAME LOGFILE COMMAND...: run COMMAND in the background, record its PID.
start() {
	local name=$1 out=$2 pid
	shift 2
	if pid=$(pid_of "$name"); then
		say "$name already runs (pid $pid)"
		return 0
	fi
	# setsid: own session, so a Ctrl-C in the caller's terminal does not hit the daemons; and
	# no inherited descriptors, so a caller reading our output (a pipe, make, $(...)) sees EOF.
	# The subshell execs setsid, which execs the daemon: $! is the daemon's PID.
	(
		for fd in /proc/self/fd/*; do
			fd=${fd##*/}
			((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
		done
		exec setsid "$@"
	) </dev/null >>"$out" 2>&1 &
	pid=$!
	echo "$pid" >"$PIDS/$name.pid"
	say "started $name (pid $pid)"
}

check_alive() { # NAME LOGFILE: fail with the log tail if NAME died
	pid_of "$1" >/dev/null && return 0
	say "$1 is not running; last lines of $2:"
	tail -n 20 "$2" >&2 || true
	exit 1
}

client_env() {
	export SLURM_CONF=$ETC/slurm.conf
	unset SACCT_FORMAT SLURM_TIME_FORMAT SQUEUE_FORMAT SINFO_FORMAT SLURM_CLUSTERS
}

# ---------------------------------------------------------------------------------- checks

preflight() {
	[[ $(id -u) -eq 0 ]] || cannot "must run as root (it installs packages, creates users and runs slurmd)"
	[[ -r /etc/debian_version ]] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null ||
		cannot "needs Debian with apt-get (found: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -s))"
	[[ -d /sys/fs/cgroup/memory ]] ||
		cannot "needs cgroup v1 with the memory controller at /sys/fs/cgroup/memory (for OOM and MaxRSS)"
	command -v setsid >/dev/null || cannot "needs setsid (util-linux)"
}

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || echo "$p"
	done
}

install_packages() {
	local missing made_policy=
	missing=$(missing_packages)
	[[ -z $missing ]] && return 0
	say "installing: $(echo $missing)"
	# keep the packages' init scripts from starting system-wide daemons
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	local rc=0 aptlog=$LOG/apt.log
	# another apt or dpkg (unattended-upgrades, a second suite) may hold the lock: wait for it
	local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends
		-o DPkg::Lock::Timeout=900 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	"${apt[@]}" $missing >"$aptlog" 2>&1 || {
		say "apt-get install failed; running apt-get update and trying again"
		apt-get update -q -o DPkg::Lock::Timeout=900 >>"$aptlog" 2>&1 || true
		"${apt[@]}" $missing >>"$aptlog" 2>&1 || rc=$?
	}
	[[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
	if [[ $rc -ne 0 ]]; then
		tail -n 15 "$aptlog" >&2
		cannot "could not install $(echo $missing) with apt-get (log: $aptlog)"
	fi
	missing=$(missing_packages)
	[[ -z $missing ]] || cannot "packages still missing after apt-get: $(echo $missing)"
	# a package's maintainer script may have started a daemon despite policy-rc.d; we leave it
	# alone (it is not ours) but it must not hold our ports, which is checked in up().
}

# ---------------------------------------------------------------------------------- configs

write_configs() {
	mkdir -p "$ETC" "$RUN/munge" "$LOG" "$PIDS" "$SPOOL/ctld" "$SPOOL/d" "$STATE/dev" \
		"$STATE/mysql" "$STATE/jobs"
	chmod 755 "$STATE" "$ETC" "$RUN" "$STATE/dev"
	chmod 1777 "$STATE/jobs" # job output files, written by the test users
	chmod 700 "$STATE/mysql"
	# munged insists its socket dir is not writable by others and its key is private
	chmod 755 "$RUN/munge"
	mkdir -p "$STATE/munge"
	chmod 700 "$STATE/munge"
	if [[ ! -s $STATE/munge/munge.key ]]; then
		dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
	fi
	chmod 400 "$STATE/munge/munge.key"

	# fake GPUs: character devices (major 195 as NVIDIA's, never opened)
	local i gres_lines='' t
	declare -A count=()
	for i in "${!GPU_TYPES[@]}"; do
		t=${GPU_TYPES[$i]}
		[[ -c $STATE/dev/gpu$i ]] || mknod -m 666 "$STATE/dev/gpu$i" c 195 "$i"
		gres_lines+="NodeName=$NODE Name=gpu Type=$t File=$STATE/dev/gpu$i"$'\n'
		count[$t]=$((${count[$t]:-0} + 1))
	done
	local node_gres='' tres='gres/gpu'
	for t in $(printf '%s\n' "${!count[@]}" | sort); do
		node_gres+="${node_gres:+,}gpu:$t:${count[$t]}"
		tres+=",gres/gpu:$t"
	done

	cat >"$ETC/slurm.conf" <<EOF
# written by test/slurm/cluster.sh — every path is under $STATE
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup
JobAcctGatherType=jobacct_gather/cgroup
JobAcctGatherFrequency=task=1
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=socket=$MUNGE_SOCKET
AccountingStorageEnforce=associations
AccountingStorageTRES=$tres
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
GresTypes=gpu
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEF_MEM_PER_CPU
MaxArraySize=1000
ReturnToService=2
MinJobAge=30
KillWait=5
InactiveLimit=0
Waittime=0
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=60
JobRequeue=1
PrologFlags=Contain
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$NODE_CPUS RealMemory=$NODE_MEM_MB Gres=$node_gres State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
	printf '# written by test/slurm/cluster.sh\n%s' "$gres_lines" >"$ETC/gres.conf"
	cat >"$ETC/cgroup.conf" <<EOF
# written by test/slurm/cluster.sh — cgroup v1: real memory limits, so OOM kills are real
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
ConstrainCores=no
ConstrainDevices=no
EOF
	cat >"$ETC/slurmdbd.conf" <<EOF
# written by test/slurm/cluster.sh
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/slurmdbd.pid
LogFile=$LOG/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
	chmod 600 "$ETC/slurmdbd.conf" # slurmdbd refuses a readable one
	chmod 644 "$ETC/slurm.conf" "$ETC/gres.conf" "$ETC/cgroup.conf"
}

ensure_users() {
	local spec u
	for spec in "${USERS[@]}"; do
		u=${spec%%:*}
		id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u" || die "useradd $u failed"
	done
}

# ---------------------------------------------------------------------------------- daemons

start_munge() {
	start munged "$LOG/munged.out" /usr/sbin/munged --foreground --force \
		--key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
		--pid-file="$RUN/munged.pid" --seed-file="$STATE/munge/munge.seed" \
		--log-file="$LOG/munged.log" --num-threads=4
	wait_for 15 munge bash -c "echo ok | munge --socket='$MUNGE_SOCKET' | unmunge --socket='$MUNGE_SOCKET'" ||
		check_alive munged "$LOG/munged.log"
	check_alive munged "$LOG/munged.log"
}

db_sql() { mariadb --no-defaults --socket="$DB_SOCKET" -uroot -N -B "$@"; }

start_mariadb() {
	local datadir=$STATE/mysql/data
	if [[ ! -d $datadir/mysql ]]; then
		say "initialising MariaDB in $datadir"
		mariadb-install-db --no-defaults --user=root --datadir="$datadir" \
			--auth-root-authentication-method=socket --skip-test-db \
			>"$LOG/mariadb-install.log" 2>&1 || {
			tail -n 20 "$LOG/mariadb-install.log" >&2
			die "mariadb-install-db failed"
		}
	fi
	start mariadbd "$LOG/mariadbd.out" /usr/sbin/mariadbd --no-defaults --user=root \
		--datadir="$datadir" --socket="$DB_SOCKET" --port="$DB_PORT" --bind-address=127.0.0.1 \
		--pid-file="$RUN/mariadbd.pid" --log-error="$LOG/mariadbd.log" \
		--innodb-buffer-pool-size=256M --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 \
		--skip-name-resolve
	wait_for 30 mariadb db_sql -e 'select 1' || check_alive mariadbd "$LOG/mariadbd.log"
	check_alive mariadbd "$LOG/mariadbd.log"
	db_sql <<EOF || die "could not create the slurm database user"
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'localhost';
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
EOF
}

sacct_answers() { sacct -n -X -S now-1minutes -o JobID >/dev/null 2>&1; }

start_slurmdbd() {
	start slurmdbd "$LOG/slurmdbd.out" /usr/sbin/slurmdbd -D
	wait_for 45 slurmdbd sacctmgr -n -P show cluster format=Cluster || {
		check_alive slurmdbd "$LOG/slurmdbd.log"
		tail -n 20 "$LOG/slurmdbd.log" >&2
		die "slurmdbd runs but sacctmgr cannot reach it"
	}
}

register() {
	local have spec u acct rest a
	have=$(sacctmgr -n -P show cluster format=Cluster)
	grep -qx "$CLUSTER" <<<"$have" || sacctmgr -i add cluster "$CLUSTER" >/dev/null ||
		die "sacctmgr add cluster $CLUSTER failed"
	have=$(sacctmgr -n -P show account format=Account)
	for a in "${ACCOUNTS[@]}"; do
		grep -qx "$a" <<<"$have" ||
			sacctmgr -i add account "$a" Cluster="$CLUSTER" Description="sb test $a" Organization=sbtest >/dev/null ||
			die "sacctmgr add account $a failed"
	done
	have=$(sacctmgr -n -P show assoc cluster="$CLUSTER" format=User,Account)
	for spec in "${USERS[@]}"; do
		u=${spec%%:*}
		rest=${spec#*:}
		acct=${rest%%:*}
		IFS=: read -r -a accts <<<"$rest"
		for a in "${accts[@]}"; do
			grep -qx "$u|$a" <<<"$have" && continue
			sacctmgr -i add user "$u" Account="$a" DefaultAccount="$acct" Cluster="$CLUSTER" >/dev/null ||
				die "sacctmgr add user $u account $a failed"
		done
	done
}

# ready: idle on a first start; mix/alloc when `up` runs again while jobs run
node_idle() { [[ $(sinfo -h -n "$NODE" -o %t 2>/dev/null | sort -u) =~ ^(idle|mix|alloc)$ ]]; }

start_slurm() {
	start slurmctld "$LOG/slurmctld.out" /usr/sbin/slurmctld -D -i
	wait_for 30 slurmctld scontrol ping || {
		check_alive slurmctld "$LOG/slurmctld.log"
		die "slurmctld does not answer scontrol ping (log: $LOG/slurmctld.log)"
	}
	start slurmd "$LOG/slurmd.out" /usr/sbin/slurmd -D -N "$NODE"
	if ! wait_for 30 node sinfo -h -n "$NODE" -o %t; then
		check_alive slurmd "$LOG/slurmd.log"
	fi
	# a node left down/drained by an earlier run (e.g. killed slurmd) is brought back
	local st
	st=$(sinfo -h -n "$NODE" -o %t 2>/dev/null | sort -u)
	case $st in
	idle | mix | alloc) ;;
	*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
	esac
	if ! wait_for "$READY_TIMEOUT" idle node_idle; then
		check_alive slurmd "$LOG/slurmd.log"
		say "node $NODE state: $(sinfo -h -n "$NODE" -o '%t %E' 2>&1)"
		tail -n 10 "$LOG/slurmd.log" >&2 || true
		die "node $NODE did not become idle within ${READY_TIMEOUT}s"
	fi
	wait_for 30 sacct sacct_answers || die "sacct does not answer"
}

# ---------------------------------------------------------------------------------- commands

cmd_up() {
	preflight
	local t0=$SECONDS
	mkdir -p "$LOG" "$PIDS"
	install_packages
	local d p running=0
	for d in "${DAEMONS[@]}"; do pid_of "$d" >/dev/null && running=$((running + 1)); done
	if ((running == 0)); then
		for p in "$CTLD_PORT" "$SLURMD_PORT" "$DBD_PORT" "$DB_PORT"; do
			port_busy "$p" && cannot "port $p on 127.0.0.1 is taken by another process" \
				"(another cluster? set SB_SLURM_PORT_BASE, or run '$prog down' with its state dir)"
		done
	fi
	write_configs
	ensure_users
	client_env
	start_munge
	start_mariadb
	start_slurmdbd
	register
	start_slurm
	say "up in $((SECONDS - t0))s: cluster $CLUSTER, node $NODE, state in $STATE"
	say "use it with: eval \"\$(bash $0 env $STATE)\""
}

stop_one() { # NAME
	local name=$1 pid i
	pid=$(pid_of "$name") || {
		rm -f "$PIDS/$name.pid"
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 80; i++)); do # 20 s
		[[ -e /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
		sleep 0.25
	done
	if pid_of "$name" >/dev/null; then
		say "$name (pid $pid) ignored TERM; sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.5
	fi
	rm -f "$PIDS/$name.pid"
	say "stopped $name (pid $pid)"
}

# jobs still queued or running (an interrupted workload) are cancelled while slurmctld and
# slurmd still run: stopping slurmd alone would leave their slurmstepd and processes behind
cancel_jobs() {
	pid_of slurmctld >/dev/null && pid_of slurmd >/dev/null || return 0
	client_env
	local ids i
	ids=$(squeue -h -o %i 2>/dev/null) || return 0
	[[ -n $ids ]] || return 0
	say "cancelling jobs still queued or running: $(echo $ids)"
	scancel $ids >/dev/null 2>&1 || true
	for ((i = 0; i < 120; i++)); do # 30 s: KillWait=5, then SIGKILL and the epilog
		[[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
		sleep 0.25
	done
	say "jobs still there after 30 s: $(squeue -h -o '%i %T' 2>&1 | tr '\n' ' ')"
}

cmd_down() {
	[[ -d $PIDS ]] || {
		say "nothing recorded in $STATE; nothing to stop"
		return 0
	}
	cancel_jobs
	local i
	for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do stop_one "${DAEMONS[$i]}"; done
}

cmd_status() {
	local d pid bad=0
	for d in "${DAEMONS[@]}"; do
		if pid=$(pid_of "$d"); then
			echo "$d running pid $pid"
		else
			echo "$d stopped"
			bad=1
		fi
	done
	if ((bad == 0)); then
		client_env
		echo "node $(sinfo -h -n "$NODE" -o '%N %t' 2>&1 | head -n 1)"
		if sacct_answers; then echo "sacct answers"; else echo "sacct does not answer"; bad=1; fi
	fi
	echo "state $STATE"
	return $((bad ? 3 : 0))
}

cmd_env() {
	printf 'export SLURM_CONF=%q\n' "$ETC/slurm.conf"
	printf 'export SB_SLURM_STATE=%q\n' "$STATE"
	printf 'export SB_SLURM_CLUSTER=%q\n' "$CLUSTER"
	printf 'unset SACCT_FORMAT SLURM_TIME_FORMAT SLURM_CLUSTERS\n'
}

"cmd_$CMD"
