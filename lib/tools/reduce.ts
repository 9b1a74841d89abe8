import { type Context, type Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-reduce [--root DIR] [options] [FILE]

Add 'job' records to the store's rollups exactly once, and record the windows
that 'chunk-done' records close. Reads NDJSON from FILE or stdin; records of
other kinds pass through to stdout untouched. Prints one 'commit' record per
window (and per --batch of jobs without one):

  {"kind":"commit","cluster":"hammer","processed":N,"new_jobs":N,
   "duplicates":N,"months_changed":[..],"users_changed":[..],
   "chunks_done":N,...}

Every chunk-done closes its window: its jobs and the ledger entry saying it is
done are committed together, all or nothing (windows that come one after
another share one transaction); a long stream also commits every --batch jobs.
A job is added only if its key is not in the store yet.
Kill it at any instant and run it again: the totals are those of one clean run.

Options:
  -r, --root DIR       the store (default: $SB_ROOT)
  -b, --batch N        commit at least every N jobs (default: 50000)
  -w, --wait SECONDS   wait this long for a cluster's lock held by another run,
                       then exit 3 (default: 60)
      --stale SECONDS  a lock holder on another host whose heartbeat is older
                       than this is dead (default: 60); one on this host is dead
                       as soon as its process is gone
      --check          verify the store's cluster directories and exit: dedupe
                       state, daily, monthly, yearly and all-time files agree
      --rebuild        rewrite the derived files (monthly, yearly, all-time per
                       user) from the daily bins and the dedupe state, and exit:
                       the recovery when --check finds them wrong
      --fill-accounts  fill in the account data of days counted before sb-reduce
                       kept accounts, from the same jobs fetched again (sb-chunk
                       todo --refetch | sb-sacct | sb-parse, no sb-dedupe): a
                       day is filled only if the jobs fetched are exactly those
                       counted, and only once; user totals are never changed.
                       Prints a 'fill' record per month
  -v, --verbose        say what each run did on stderr
      --strict         exit 65 at the end if any input line was bad
      --errors FMT     diagnostics as 'text' (default) or 'json' lines on stderr
  -h, --help           print this help and exit
  -V, --version        print the version and exit

Exit status: 0 ok, 1 failure (corrupt store, I/O error), 2 usage error,
3 lock held by another run, 65 bad input under --strict.

Example: sb-chunk todo -s 2024-01-01 -e now | sb-sacct | sb-parse | sb-reduce
`;

export const tool: Tool = {
  name: 'sb-reduce',
  usage: USAGE,
  options: {
    string: ['root', 'batch', 'wait', 'stale'],
    boolean: ['verbose', 'check', 'rebuild', 'fill-accounts'],
    alias: { r: 'root', b: 'batch', w: 'wait', v: 'verbose' },
  },
  reads: true,
  main: async (ctx: Context) => (await import('./reduce/main.js')).main(ctx),
};
