#!/usr/bin/env bash
# make test: the poll tests move the clock with libfaketime (Debian's faketime, which works
# with node), installed from Debian's packages when missing. Root only; as another user it
# says what is missing and exits 0: the tests then skip, or fail under CI=true.
set -euo pipefail
command -v faketime >/dev/null 2>&1 && exit 0
say() { printf 'ensure-faketime: %s\n' "$*" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing faketime; install it (apt-get install faketime) or the polling tests skip"
  exit 0
fi
say "installing faketime (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg may hold the lock (unattended upgrades, a second checkout's make test):
# apt-get waits for it this long instead of failing at once.
apt=(apt-get -o DPkg::Lock::Timeout=600 -q -y)
log=/tmp/ensure-faketime.$$.log
if ! "${apt[@]}" install --no-install-recommends faketime >"$log" 2>&1; then
  "${apt[@]}" update >>"$log" 2>&1 || true
  if ! "${apt[@]}" install --no-install-recommends faketime >>"$log" 2>&1; then
    tail -20 "$log" >&2
    say "could not install faketime (log: $log)"
    exit 0
  fi
fi
rm -f "$log"
