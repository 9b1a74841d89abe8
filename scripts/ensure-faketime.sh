#!/usr/bin/env bash
# make test: the poll tests move the clock with libfaketime (Debian's faketime, which works
# with node), installed from Debian's packages when missing (scripts/apt-install.sh).
set -euo pipefail
command -v faketime >/dev/null 2>&1 && exit 0
exec bash "$(dirname "$0")/apt-install.sh" ensure-faketime "the polling tests skip" faketime
