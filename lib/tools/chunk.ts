import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-chunk new [-s START] [-e END] [--step HOURS | --by UNIT] [options]
       sb-chunk todo [-s START] [-e END] [--step HOURS | --by UNIT] --root DIR
                     [--settle DURATION] [--slack DURATION] [--refetch]
                     [options]
       sb-chunk from-file [FILE] [--root DIR] [options]

Cut a time range of one cluster into closed, touching windows and print them as
NDJSON 'chunk' records, one a line, ordered by start (a window is [start, end],
both inclusive; the next one starts one second after).

Commands:
  new              windows covering START..END (both inclusive)
  todo             the windows of 'new' minus what the store's chunk ledger
                   holds as done and settled, asking slurmdbd no more than
                   exactness needs: a window never fetched that can settle
                   (it ended --settle ago) comes whole; of one that cannot,
                   only the span never fetched, in as few windows as --step
                   allows. What a poll counted so settles in tiles: a --step
                   at a time, each asked for exactly from where the last one
                   ended, keeping the jobs that ended within --slack of it.
                   So a poll every few minutes asks for each finished job
                   twice: soon after it ends, and when its tile settles.
                   Backfill, resume and poll in one.
                   With --refetch: instead, the windows of the days whose jobs
                   were counted before the store kept accounts (whole UTC
                   days), to fetch again for 'sb-reduce --fill-accounts'
  from-file [FILE] windows to retry, read from FILE or stdin: a headerless
                   'start,end' CSV, chunk NDJSON, or sb-sacct's failure ledger
                   (any record with start/end/cluster; its skipped-line
                   records are not windows and are passed over); duplicates
                   collapse.
                   With a store (--root or $SB_ROOT), only what it does not
                   hold as done: a retry never fetches a done window again

Options:
  -s, --start TIME   range start, anything 'date -d' reads
                     (default: "3 hours ago")
  -e, --end TIME     range end, inclusive; the last window ends exactly here
                     (default: "now")
      --step HOURS   window length in hours, fractions allowed (default: 1)
      --by UNIT      windows on UTC calendar boundaries: hour, day or month
  -c, --cluster NAME cluster the windows belong to (default: $SB_CLUSTER, else
                     ClusterName from 'scontrol show config')
      --settle DURATION  for todo: how long after its end a window can settle,
                     as sb-sacct's --settle (default: 15m); 0 prints every
                     unsettled window again
      --slack DURATION   for todo: sb-sacct's --slack, how far from its End
                     sacct may show a job (default: 15m); give both the same
  -n, --limit N      print at most N windows (the earliest)
  -r, --root DIR     the store, for todo and from-file (default: $SB_ROOT)
      --refetch      todo: the days without complete account data (see above)
      --strict       exit 65 at the end if any input line was bad
      --errors FMT   diagnostics as 'text' (default) or 'json' lines on stderr
  -h, --help         print this help and exit
  -V, --version      print the version and exit

Times are read in the local time zone (TZ) exactly as GNU date reads them and
printed in UTC, so a range across a daylight-saving change has no gap and no
overlap. Exit status: 0 ok, 1 failure, 2 usage error, 65 bad input under
--strict.

Example: sb-chunk new -s "2024-01-01" -e "2024-12-31 23:59:59" --by month
         sb-chunk todo -s 2024-01-01 -e now --by day --root /srv/sb -c hammer
`;

export const tool: Tool = {
  name: 'sb-chunk',
  usage: USAGE,
  options: {
    string: ['start', 'end', 'step', 'by', 'cluster', 'limit', 'root', 'settle', 'slack'],
    boolean: ['refetch'],
    alias: { s: 'start', e: 'end', c: 'cluster', n: 'limit', r: 'root' },
  },
  reads: true,
  main: async (ctx: Context) => (await import('./chunk/main.js')).main(ctx),
};
