#!/usr/bin/env bash
# make bench: the baselines of its text passes, installed from Debian's packages when missing
# (scripts/apt-install.sh): gawk and mawk, and /usr/bin/time for wall time and peak RSS.
set -euo pipefail
need=()
command -v gawk >/dev/null 2>&1 || need+=(gawk)
command -v mawk >/dev/null 2>&1 || need+=(mawk)
[ -x /usr/bin/time ] || need+=(time)
exec bash "$(dirname "$0")/apt-install.sh" ensure-bench "their baselines are left out" "${need[@]}"
