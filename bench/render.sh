#!/usr/bin/env bash
# sb-render on a synthetic store of about USERS users (default 10,000) on 2 clusters, one year
# of rollups (bench/rank-store.mjs), its leaderboards by the real sb-rank --write (every user,
# --min-jobs 0). Prints a Markdown table, each figure also as a ratio to a baseline measured
# in the same run:
#   - first frame of the screen (tmux, 100x30; the program's own trace, from process start)
#     and keypresses (from the key's arrival to its frame written), against bare `node -e ''`
#     start-up. Targets: first frame <= 300 ms, a keypress <= 30 ms.
#   - the HTML page: its size against the leaderboard files it holds; the time to write it
#     against node start-up; its load in chromium against a bare page's (bench/render-page.mjs).
#     Not with BENCH_QUICK=1: the page is in this table only, not in bench/table.sh's.
# Set SB_BENCH_DIR to keep (and reuse) the generated store; RUNS (default 5, 1 with BENCH_QUICK=1) repeats.
# Rows for bench/table.sh: the first frame and each keypress (median), against node's start-up.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
USERS=${USERS:-10000} RUNS=${RUNS:-$([ -n "$BENCH_QUICK" ] && echo 1 || echo 5)}
# keys pressed again and again in a run (their medians); BENCH_QUICK=1: fewer, and no chromium
REPEAT_J=$([ -n "$BENCH_QUICK" ] && echo 3 || echo 6) REPEAT_TAB=$([ -n "$BENCH_QUICK" ] && echo 4 || echo 9)
NOW=2026-06-15T12:00:00Z
[ -f dist/tools/render.js ] || make -s build
command -v tmux >/dev/null || { echo "bench/render.sh: needs tmux (scripts/ensure-browser.sh)" >&2; exit 1; }

if [ -n "${SB_BENCH_DIR:-}" ]; then
  dir=$SB_BENCH_DIR
  mkdir -p "$dir"
  trap 'tmux -L "sb-render-bench-$$" kill-server 2>/dev/null || true' EXIT
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/sb-render-bench.XXXXXX")
  trap 'tmux -L "sb-render-bench-$$" kill-server 2>/dev/null || true; rm -rf "$dir"' EXIT
fi
root=$dir/store-$USERS
export TZ=UTC SB_HOME_ROOT=$dir/homes LC_ALL=C.UTF-8
if [ ! -d "$root/leaderboards" ]; then
  # two clusters of N users each from a pool of 1.25 N, overlapping: N = USERS / 1.15625 in all
  node bench/rank-store.mjs "$root" 2 1 $(( USERS * 100000 / 115625 )) "$NOW"
  node bin/sb-rank --root "$root" --now "$NOW" --min-jobs 0 --write >/dev/null
fi
# SB_BENCH_PREPARE=1: only make the store (bench/table.sh makes every input at once, untimed)
[ -z "${SB_BENCH_PREPARE:-}" ] || exit 0
users=$(node -e 'const b=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(b.rows.length)' "$root/leaderboards/alltime_overall.json")
boards=$(find "$root/leaderboards" -name '*_*.json' | wc -l)
lbbytes=$(find "$root/leaderboards" -name '*_*.json' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
best() { sort -n | head -1; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

# node start-up, the baseline: best wall time of RUNS
base=$(for _ in $(seq "$RUNS"); do /usr/bin/time -f '%e' node -e '' 2>&1 >/dev/null; done | best)
base_ms=$(ms "$base")
[ "$base_ms" = 0.0 ] && base_ms=10

# The screen, RUNS times: its first frame, then keys one at a time (a pause between them,
# as a person types), then q.
sock=sb-render-bench-$$
trace=$dir/trace
: >"$trace.all"
for run in $(seq "$RUNS"); do
  rm -f "$trace"
  tmux -L "$sock" new-session -d -s "r$run" -x 100 -y 30 \
    "env -u NODE_OPTIONS SB_RENDER_TRACE='$trace' SB_ROOT='$root' node bin/sb-render --tui"
  for _ in $(seq 600); do grep -q first-frame "$trace" 2>/dev/null && break; sleep 0.05; done
  # Cold, before the screen has read ahead in its idle time (it waits 150 ms for that):
  # m, the next skill's board not read yet; Right, the user page's boards and months (drawn as
  # loading, read in the background).
  quick() { tmux -L "$sock" send-keys -t "r$run" "$@"; sleep 0.05; }
  quick m; quick Right; quick Left
  sleep 1
  press() { tmux -L "$sock" send-keys -t "r$run" "$@"; sleep 0.3; }
  for _ in $(seq "$REPEAT_J"); do press j; done
  press k; press NPage; press End; press Home
  for _ in $(seq "$REPEAT_TAB"); do press Tab; done
  press w; press w; press g; press g
  sleep 1; press Enter; press Escape
  press /; for c in u s e r 1; do press "$c"; done; press Enter; press Escape
  press q
  for _ in $(seq 100); do tmux -L "$sock" has-session -t "r$run" 2>/dev/null || break; sleep 0.05; done
  cat "$trace" >>"$trace.all"
done
tmux -L "$sock" kill-server 2>/dev/null || true

# trace lines: 'first-frame MS' and 'keys "K" MS'
pick() { K=$1 awk '{ k = ENVIRON["K"] } $1 == "first-frame" && k == "first-frame" { print $2 } $1 == "keys" && $2 == k { print $3 }' "$trace.all"; }
pickmany() { for k in "$@"; do pick "$k"; done; }
row() {
  local name=$1 target=$2
  shift 2
  local vals
  vals=$(pickmany "$@")
  [ -n "$vals" ] || { printf '| %-44s | %10s | %10s | %8s | %6s |\n' "$name" n/a n/a n/a "$target"; return; }
  local b m
  b=$(best <<<"$vals")
  m=$(median <<<"$vals")
  printf '| %-44s | %10.1f | %10.1f | %7.2f× | %6s |\n' "$name" "$b" "$m" "$(awk -v a="$m" -v b="$base_ms" 'BEGIN { print a / b }')" "$target"
  # the first frame includes node's start-up, its baseline; a keypress has none to compare with
  case $name in
  key:*) bench_row render "sb-render --tui, $users users: $name" "$m ms median (best $b)" "" "" "" "$target ms" ;;
  *) bench_row render "sb-render --tui, $users users: $name" "$m ms median (best $b)" "node -e '': $base_ms ms" "$(calc "$m / $base_ms")× node start-up" "" "$target ms" ;;
  esac
}

# the page (only in this script's own table: BENCH_QUICK=1 leaves it out)
html=$dir/scores.html gen='' size='' page=''
if [ -z "$BENCH_QUICK" ]; then
  gen=$( { /usr/bin/time -f '%e' node bin/sb-render --root "$root" --html >"$html"; } 2>&1 | tail -1)
  size=$(stat -c %s "$html")
  printf '<!doctype html><title>bare</title><p>bare page</p>\n' >"$dir/bare.html"
  if [ -x /usr/bin/chromium ]; then page=$(node bench/render-page.mjs "$html" "$dir/bare.html" "$RUNS" 2>/dev/null || true); fi
fi
field() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' <<<"$page"; }

echo
echo "sb-render: $users users on $boards boards ($(awk -v b="$lbbytes" 'BEGIN { printf "%.0f MB", b / 1e6 }') of leaderboard files), 2 clusters; $RUNS runs; $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo
printf '| %-44s | %10s | %10s | %8s | %6s |\n' "what" "best ms" "median ms" "÷ base" "target"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..8})"
printf '| %-44s | %10.1f | %10s | %7.2f× | %6s |\n' "baseline: node -e '' (start-up, wall)" "$base_ms" "" 1 ""
row "screen: first frame (from process start)" '≤ 300' first-frame
row "key: j, k (move a row)" '≤ 30' '"j"' '"k"'
row "key: PgDn, End, Home" '≤ 30' '"\u001b[6~"' '"\u001b[4~"' '"\u001b[1~"'
row "key: m at once (next skill, not read yet)" '≤ 30' '"m"'
row "key: Right at once (user page, not read yet)" '≤ 30' '"\u001b[C"'
row "key: Tab (next skill, read ahead)" '≤ 30' '"\t"'
row "key: w (next window)" '≤ 30' '"w"'
row "key: g (next cluster)" '≤ 30' '"g"'
row "key: Enter (user page, read ahead)" '≤ 30' '"\r"'
row "key: a letter of the filter (10,000 names)" '≤ 30' '"u"' '"s"' '"e"' '"r"' '"1"'
printf '| %-44s | %10s | %10s | %8s | %6s |\n' "" "" "" "" ""
if [ -n "$BENCH_QUICK" ]; then
  printf '| %-44s | %10s | %10s | %8s | %6s |\n' "page: not with BENCH_QUICK=1" n/a n/a n/a ""
  exit 0
fi
printf '| %-44s | %10s | %10s | %7.2f× | %6s |\n' "page: size ($(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'); ÷ the leaderboard files)" "" "" "$(awk -v a="$size" -v b="$lbbytes" 'BEGIN { print a / b }')" ""
printf '| %-44s | %10.1f | %10s | %7.2f× | %6s |\n' "page: sb-render --html (wall, one run)" "$(ms "$gen")" "" "$(awk -v a="$(ms "$gen")" -v b="$base_ms" 'BEGIN { print a / b }')" ""
if [ -n "$page" ]; then
  bare_ms=$(field bare 3)
  printf '| %-44s | %10.1f | %10.1f | %7.2f× | %6s |\n' "chromium: a bare page (baseline)" "$(field bare 2)" "$bare_ms" 1 ""
  printf '| %-44s | %10.1f | %10.1f | %7.2f× | %6s |\n' "chromium: the page loaded, first board drawn" "$(field page 2)" "$(field page 3)" "$(awk -v a="$(field page 3)" -v b="$bare_ms" 'BEGIN { print a / b }')" ""
  printf '| %-44s | %10.1f | %10.1f | %7.2f× | %6s |\n' "chromium: a skill clicked (decode + draw)" "$(field click 2)" "$(field click 3)" "$(awk -v a="$(field click 3)" -v b="$bare_ms" 'BEGIN { print a / b }')" ""
else
  printf '| %-44s | %10s | %10s | %8s | %6s |\n' 'chromium: not installed (scripts/ensure-browser.sh)' n/a n/a n/a ""
fi
