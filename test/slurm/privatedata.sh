#!/usr/bin/env bash
# privatedata.sh — PrivateData=jobs in slurmdbd.conf, on the suite's real cluster: sacct -a run by
# an ordinary user then shows her own jobs alone (exit 0, nothing on stderr). sb-probe must fail
# its privacy check and exit 4, sb-poll must warn in one line; root and an operator see every
# job and are not warned. slurmdbd is restarted with the line, then without it.
#
# Sourced by suite.sh at its end (it uses the suite's pass/fail/detail, $W, $STATE, $SB,
# $CLUSTER, $RSTART, $REND, $HERE); not run on its own.

privatedata_checks() {
	local conf=$STATE/etc/slurmdbd.conf dbd_log=$STATE/log/slurmdbd.out user=sbalice
	local store=$W/private-store xdg=$W/private-xdg uid gid pid i
	uid=$(id -u "$user") gid=$(id -g "$user") || { fail "privatedata: no user $user"; return; }
	say "PrivateData=jobs: slurmdbd restarted with it; sb-probe and sb-poll run as $user"

	# slurmdbd again, with the line (cluster.sh rewrites slurmdbd.conf on its next up)
	restart_dbd() {
		pid=$(cat "$STATE/pids/slurmdbd.pid" 2>/dev/null)
		if [[ $pid =~ ^[0-9]+$ ]]; then
			kill -TERM "$pid" 2>/dev/null
			for ((i = 0; i < 80; i++)); do
				[[ -e /proc/$pid && $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || break
				sleep 0.25
			done
		fi
		(
			for fd in /proc/self/fd/*; do
				fd=${fd##*/}
				((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
			done
			exec setsid /usr/sbin/slurmdbd -D
		) </dev/null >>"$dbd_log" 2>&1 &
		echo $! >"$STATE/pids/slurmdbd.pid"
		for ((i = 0; i < 180; i++)); do sacctmgr -n -P show cluster format=Cluster >/dev/null 2>&1 && return 0; sleep 0.25; done
		return 1
	}
	grep -v '^PrivateData=' "$conf" >"$conf.new" && echo 'PrivateData=jobs' >>"$conf.new" && cat "$conf.new" >"$conf" && rm -f "$conf.new"
	if ! restart_dbd; then
		fail "privatedata: slurmdbd did not come back with PrivateData=jobs"
		detail "$dbd_log"
		return
	fi
	mkdir -p "$store" "$xdg"
	chown "$uid:$gid" "$store" "$xdg"
	chmod 700 "$xdg"
	as_user() { setpriv --reuid="$uid" --regid="$gid" --init-groups env XDG_RUNTIME_DIR="$xdg" HOME="$store" "$@"; }

	# the bite itself: sacct -a shows her own jobs only, and says nothing about it
	local users
	users=$(as_user sacct -a -X -n -P -S "${RSTART%Z}" -E "${REND%Z}" -M "$CLUSTER" -o User 2>"$W/private.sacct.err" | sort -u | paste -sd,)
	if [[ $users == "$user" && ! -s $W/private.sacct.err ]]; then
		pass "privatedata: sacct -a as $user shows $user's jobs alone, silently (users: $users)"
	else
		fail "privatedata: sacct -a as $user shows users '$users' (expected $user alone)"
		detail "$W/private.sacct.err"
	fi

	as_user "$SB/sb-probe" --root "$store" -c "$CLUSTER" >"$W/private.probe.out" 2>"$W/private.probe.err"
	local rc=$?
	if ((rc == 4)) && grep -q "^fail  privacy   slurmdbd has PrivateData=jobs: sacct -a shows $user only $user's own jobs" "$W/private.probe.out"; then
		pass "privatedata: sb-probe as $user fails its privacy check and exits 4"
	else
		fail "privatedata: sb-probe as $user exited $rc, privacy: $(grep ' privacy ' "$W/private.probe.out")"
		detail "$W/private.probe.out" "$W/private.probe.err"
	fi

	as_user "$SB/sb-poll" -c "$CLUSTER" --root "$store" -s "$RSTART" -e "$REND" >"$W/private.poll.out" 2>"$W/private.poll.err"
	rc=$?
	if ((rc == 0)) && [[ $(grep -c . "$W/private.poll.err") == 1 ]] &&
		grep -q "^sb-poll: warning: $CLUSTER: slurmdbd has PrivateData=jobs" "$W/private.poll.err"; then
		pass "privatedata: sb-poll as $user warns in one line (and exits 0)"
	else
		fail "privatedata: sb-poll as $user exited $rc; stderr: $(head -c 300 "$W/private.poll.err")"
		detail "$W/private.poll.err"
	fi

	"$SB/sb-probe" --root "$W/private-root-store" -c "$CLUSTER" >"$W/private.root.out" 2>&1
	rc=$?
	if ((rc == 0)) && grep -q "^ok    privacy   root sees every user's jobs" "$W/private.root.out"; then
		pass "privatedata: sb-probe as root passes (root sees every job)"
	else
		fail "privatedata: sb-probe as root exited $rc"
		detail "$W/private.root.out"
	fi

	sacctmgr -i modify user "$user" set adminlevel=operator >/dev/null 2>&1
	as_user "$SB/sb-probe" --root "$store" -c "$CLUSTER" >"$W/private.operator.out" 2>&1
	rc=$?
	sacctmgr -i modify user "$user" set adminlevel=none >/dev/null 2>&1
	if ((rc == 0)) && grep -q "^ok    privacy   slurmdbd has PrivateData=jobs, but $user is an Operator" "$W/private.operator.out"; then
		pass "privatedata: sb-probe as $user made an operator passes"
	else
		fail "privatedata: sb-probe as operator $user exited $rc"
		detail "$W/private.operator.out"
	fi

	# slurmdbd as it was
	grep -v '^PrivateData=' "$conf" >"$conf.new" && cat "$conf.new" >"$conf" && rm -f "$conf.new"
	if restart_dbd; then
		pass "privatedata: slurmdbd restarted without PrivateData"
	else
		fail "privatedata: slurmdbd did not come back without PrivateData"
		detail "$dbd_log"
	fi
	rm -rf "$store" "$W/private-root-store" "$xdg"
}

privatedata_checks
