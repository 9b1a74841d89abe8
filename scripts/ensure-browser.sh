#!/usr/bin/env bash
# make test: what sb-render's tests drive, installed from Debian's packages when missing
# (scripts/apt-install.sh): tmux (the TUI tests) and Chromium with colour-emoji and CJK fonts
# (the HTML page's browser test, through playwright-core; no browser download).
set -euo pipefail
need=()
command -v tmux >/dev/null 2>&1 || need+=(tmux)
[ -x /usr/bin/chromium ] || need+=(chromium)
for font in fonts-noto-color-emoji fonts-noto-cjk; do
  dpkg-query -W -f='${Status}' "$font" 2>/dev/null | grep -q 'ok installed' || need+=("$font")
done
exec bash "$(dirname "$0")/apt-install.sh" ensure-browser "the TUI/browser tests skip" "${need[@]}"
