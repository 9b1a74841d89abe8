import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-probe [--root DIR] [-c CLUSTER] [options]
       sb-probe --status [--root DIR] [-c LIST] [--json]

Can sb work here? Checks, one line each, what a poll needs and what bites in
practice: Node.js, the terminal, host and user; the store exists and takes an
atomic write (its directories are made); the cluster's name; sacct and squeue
are there, and sacct's version; the rate limit every sb-sacct of this user on
this host shares; slurmdbd answers and knows the cluster; slurmdbd shows this
user every user's jobs (PrivateData=jobs in slurmdbd.conf makes sacct -a show
an ordinary user her own alone, exit 0, no warning); this host's clock against
the newest job's end. About six short Slurm queries in all.

With --status, how each cluster's part of the store is doing: its last poll
and the last successful one (state/poll.json, written by sb-poll), how much
the chunk ledger holds and how far behind now, failed windows and why, who
holds its locks (alive or dead), the newest day with jobs counted.

Options:
  -r, --root DIR          the store (default: $SB_ROOT; empty is unset)
  -c, --cluster NAME      the cluster (default: $SB_CLUSTER, else ClusterName
                          of 'scontrol show config'); with --status a list
                          (default: every cluster in the store)
      --sacct PATH        the sacct program (default: $SB_SACCT, else sacct)
      --sacctmgr PATH     (default: $SB_SACCTMGR, else beside sacct, else
                          sacctmgr); --squeue, --scontrol the same way
      --squeue PATH
      --scontrol PATH
      --rate N[/PERIOD]   the sb-sacct rate to report (default: 30, a minute)
      --settle DURATION   sb-sacct's settle time, for the clock (default: 15m)
      --timeout SEC       each Slurm query's time limit (default: 20)
      --status            the store's state per cluster, not the checks
      --max-age DURATION  --status: a last successful poll older than this
                          needs attention (default: 1h)
      --stale SECONDS     a lock holder on another host is dead when its
                          heartbeat is older than this (default: 60)
      --json              NDJSON records ('probe' per check, 'status' per
                          cluster) instead of text
      --errors FMT        diagnostics as 'text' (default) or 'json' lines
  -h, --help              print this help and exit
  -V, --version           print the version and exit

Exit status: 0 ok (warnings included), 2 sacct not found (or a usage error),
3 the store is not writable, 4 any other failed check; with --status, 0 every
cluster is ok, 4 some cluster needs attention, 1 no store.

Example: sb-probe --root /depot/sb -c hammer
         sb-probe --status --root /depot/sb
`;

export const tool: Tool = {
  name: 'sb-probe',
  usage: USAGE,
  options: {
    string: ['root', 'sacct', 'sacctmgr', 'squeue', 'scontrol', 'rate', 'settle', 'timeout', 'max-age', 'stale'],
    list: ['cluster'],
    boolean: ['status', 'json'],
    alias: { r: 'root', c: 'cluster' },
  },
  main: async (ctx: Context) => (await import('./probe/main.js')).main(ctx),
};
