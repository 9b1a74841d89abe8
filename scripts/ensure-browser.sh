#!/usr/bin/env bash
# make test: what sb-render's tests drive, installed from Debian's packages when missing:
# tmux (the TUI tests) and Chromium with colour-emoji and CJK fonts (the HTML page's browser
# test, through playwright-core; no browser download). Root only; as another user it says
# what is missing and exits 0: the tests then skip, or fail under CI=true.
set -euo pipefail
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg-query -W -f='${Status}' fonts-noto-color-emoji 2>/dev/null | grep -q 'ok installed' || need+=(fonts-noto-color-emoji)
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || need+=(fonts-noto-cjk)
((${#need[@]} == 0)) && exit 0
say() { printf 'ensure-browser: %s\n' "$*" >&2; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing ${need[*]}; install them (apt-get install ${need[*]}) or the TUI/browser tests skip"
  exit 0
fi
say "installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# Another apt or dpkg may hold the lock (unattended upgrades, a second checkout's make test):
# apt-get waits for it this long instead of failing at once.
apt=(apt-get -o DPkg::Lock::Timeout=600 -q -y)
if ! "${apt[@]}" install --no-install-recommends "${need[@]}" >/tmp/ensure-browser.$$.log 2>&1; then
  "${apt[@]}" update >>/tmp/ensure-browser.$$.log 2>&1 || true
  if ! "${apt[@]}" install --no-install-recommends "${need[@]}" >>/tmp/ensure-browser.$$.log 2>&1; then
    tail -20 /tmp/ensure-browser.$$.log >&2
    # the tests that need them say so: they skip, or fail under CI=true
    say "could not install ${need[*]} (log: /tmp/ensure-browser.$$.log)"
    exit 0
  fi
fi
rm -f /tmp/ensure-browser.$$.log
