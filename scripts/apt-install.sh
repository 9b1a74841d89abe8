#!/usr/bin/env bash
# scripts/apt-install.sh NAME WHY PACKAGE...: what the scripts/ensure-*.sh found missing,
# installed from Debian's packages. Root only; as another user (or without apt-get) it says
# what is missing and what follows (WHY: "the polling tests skip") and exits 0, as it does
# when the install fails: the tests that need them then skip, or fail under CI=true.
set -euo pipefail
name=$1 why=$2
shift 2
(($# == 0)) && exit 0
say() { printf '%s: %s\n' "$name" "$*" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing $*; install them (apt-get install $*) or $why"
  exit 0
fi
say "installing $* (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg may hold the lock (unattended upgrades, a second checkout's make test):
# apt-get waits for it this long instead of failing at once.
apt=(apt-get -o DPkg::Lock::Timeout=600 -q -y)
log=/tmp/$name.$$.log
if ! "${apt[@]}" install --no-install-recommends "$@" >"$log" 2>&1; then
  "${apt[@]}" update >>"$log" 2>&1 || true
  if ! "${apt[@]}" install --no-install-recommends "$@" >>"$log" 2>&1; then
    tail -20 "$log" >&2
    say "could not install $* (log: $log); $why"
    exit 0
  fi
fi
rm -f "$log"
