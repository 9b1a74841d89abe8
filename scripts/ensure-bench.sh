#!/usr/bin/env bash
# make bench: the baselines of its text passes, installed from Debian's packages when missing
# (gawk and mawk; /usr/bin/time for wall time and peak RSS). Root only; as another user it says
# what is missing and exits 0: the benchmarks then leave those baselines out and say so.
set -euo pipefail
need=()
command -v gawk >/dev/null 2>&1 || need+=(gawk)
command -v mawk >/dev/null 2>&1 || need+=(mawk)
[ -x /usr/bin/time ] || need+=(time)
((${#need[@]} == 0)) && exit 0
say() { printf 'ensure-bench: %s\n' "$*" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing ${need[*]}; install them (apt-get install ${need[*]}) or their baselines are left out"
  exit 0
fi
say "installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600 -q -y)
if ! "${apt[@]}" install --no-install-recommends "${need[@]}" >/tmp/ensure-bench.$$.log 2>&1; then
  "${apt[@]}" update >>/tmp/ensure-bench.$$.log 2>&1 || true
  if ! "${apt[@]}" install --no-install-recommends "${need[@]}" >>/tmp/ensure-bench.$$.log 2>&1; then
    tail -20 /tmp/ensure-bench.$$.log >&2
    say "could not install ${need[*]} (log: /tmp/ensure-bench.$$.log)"
    exit 0
  fi
fi
rm -f /tmp/ensure-bench.$$.log
