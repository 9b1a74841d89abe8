#!/usr/bin/env bash
# The demo scoreboard: two synthetic clusters (sim/sacct, no SLURM needed) through the whole
# pipeline into a store, then the high scores. Run it again: only what is new is fetched,
# and nothing is counted twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/bin:$PWD/sim:$PATH" TZ=UTC
export SB_ROOT="${SB_ROOT:-$PWD/.demo/store}"
mkdir -p "$SB_ROOT"
# bold only on a terminal, and never under NO_COLOR (https://no-color.org) or TERM=dumb
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
  say() { printf '\033[1m%s\033[0m\n' "$*" >&2; }
else
  say() { printf '%s\n' "$*" >&2; }
fi

for cluster in hammer anvil; do
  say "# $cluster: fetch the last 45 days that the store does not hold yet"
  sb-chunk todo -c "$cluster" -s '45 days ago 00:00' -e now --by day |
    sb-sacct --sacct sim/sacct --rate 0 -j 2 --root "$SB_ROOT" |
    sb-parse |
    sb-dedupe |
    sb-reduce |
    node -e '
      let c = 0, n = 0, d = 0;
      require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
        const r = JSON.parse(l);
        if (r.kind === "commit") { c++; n += r.new_jobs; d += r.duplicates; }
      }).on("close", () => console.error(`  ${c} commits, ${n} new jobs, ${d} already counted`));'
done

say "# the high scores: sb-rank --write, then sb-render"
sb-rank --write >/dev/null
say "# leaderboard files: $SB_ROOT/leaderboards/ (run 'make demo' again: nothing is counted twice)"
if [ -t 0 ] && [ -t 1 ]; then
  say "# sb-render: Tab/m skill, w window, g cluster, Enter a user's page, ? keys, q quit"
  sb-render
else
  # not at a terminal (piped, CI): a snapshot, never a screen waiting for keys
  sb-render --text -w rolling-30d -m clock_hours,overall --top 10 </dev/null
  say "# on a terminal: SB_ROOT=$SB_ROOT bin/sb-render (or --html > scores.html)"
fi
