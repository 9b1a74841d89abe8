import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-poll [-c CLUSTER] [--root DIR] [options]

One poll of one cluster, for cron or a systemd timer: fetch what the store does
not hold as done and settled since --since (the span since the previous poll,
a window that can settle now, windows that failed before), add the new jobs,
rewrite the leaderboards and, with --html, the web page. That is one sacct call
a poll, and once an hour one more that settles the hour counted: each finished
job is asked for twice. It runs the toolkit's programs of its own installation:

  sb-chunk todo | sb-sacct | sb-parse | sb-dedupe | sb-reduce
  sb-rank --write --by user,account   (user boards and the account board)
  sb-render --html > FILE          (with --html FILE; replaced atomically)

Silent when all went well, so cron mails nothing; otherwise one line on stderr.
It holds the cluster's poll lock for the whole run (a second poll exits 3) and
records what it did in ROOT/clusters/CLUSTER/state/poll.json, which
'sb-probe --status' shows. When slurmdbd shows this user only her own jobs
(PrivateData=jobs), it says so in one line.

Options:
  -c, --cluster NAME     the cluster (default: $SB_CLUSTER, else ClusterName
                         of 'scontrol show config')
  -r, --root DIR         the store (default: $SB_ROOT; empty is unset)
  -s, --since TIME       the range's start, as 'date -d' reads it
                         (default: "3 days ago")
  -e, --until TIME       the range's end (default: now)
      --by UNIT          windows on UTC hour, day or month boundaries
                         (default: hour)
      --step HOURS       windows of this many hours instead of --by
      --html FILE        also write the web page of the boards to FILE
      --sacct PATH       the sacct program (default: $SB_SACCT, else sacct)
      --sacctmgr PATH    (default: $SB_SACCTMGR, else beside sacct, else
                         sacctmgr)
      --rate N[/PERIOD]  sb-sacct's rate limit, shared by all sb-sacct of
                         this user on this host (default: 30, a minute)
  -j, --concurrency N    sacct calls in flight (default: 1)
      --retries N        retries of a window that failed for now (default: 3)
      --sacct-timeout SEC  kill a sacct call after SEC (default: 120)
      --wait SECONDS     how long sb-reduce and sb-rank wait for a store lock
                         another run holds (default: 60)
      --commits          print sb-reduce's 'commit' records on stdout
  -v, --verbose          the programs' own messages as they come (and
                         sb-sacct's progress line on a terminal)
      --errors FMT       diagnostics as 'text' (default) or 'json' lines
  -h, --help             print this help and exit
  -V, --version          print the version and exit

Exit status: 0 ok; 75 some windows could not be fetched for now (slurmdbd
down, slow or restarting): they stay in the store's failure ledger and the next
poll fetches them; 3 another poll of this cluster holds its lock, or another
run held a store lock past --wait: this poll did nothing, try later; 1 broken
(the message says what: a corrupt store, an unknown cluster, no sacct); 2 usage
error. Run it from cron directly: make turns every failing status into 2.

Example (crontab):
  */15 * * * *  /usr/local/bin/sb-poll -c hammer --root /depot/sb
`;

export const tool: Tool = {
  name: 'sb-poll',
  usage: USAGE,
  options: {
    string: ['cluster', 'root', 'since', 'until', 'by', 'step', 'html', 'sacct', 'sacctmgr', 'rate', 'concurrency', 'retries', 'sacct-timeout', 'wait'],
    boolean: ['commits', 'verbose'],
    alias: { c: 'cluster', r: 'root', s: 'since', e: 'until', j: 'concurrency', v: 'verbose' },
  },
  main: async (ctx: Context) => (await import('./poll/main.js')).main(ctx),
};
