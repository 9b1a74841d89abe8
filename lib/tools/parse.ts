import { type Context, type Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-parse [FILE] [options]

Read sacct rows and print one NDJSON 'job' record per job, its steps folded in
(peak MaxRSS over the steps, the number of steps). Input is sb-sacct's 'rows'
records (or its --row-records 'row' records), or plain 'sacct -p' / 'sacct -P'
text with a header line or --fields; which one is told by the first character
('{' is NDJSON). Records of other kinds (chunk-done, ...) pass through
untouched, after the jobs before them.
Running and pending jobs are skipped: they are counted once they end.

Options:
  -f, --fields LIST     the fields of headerless text, comma-separated, in
                        order ('sb' = the list sb-sacct asks for); needs at
                        least JobID or JobIDRaw, State, End, User, and
                        ElapsedRaw or Elapsed
  -d, --delimiter STR   field separator of text (default: '|', or the unit
                        separator if the first line holds one; '\\x1f' works)
  -c, --cluster NAME    cluster of rows that do not name one (text without a
                        Cluster field; default: $SB_CLUSTER, else ClusterName
                        from 'scontrol show config')
      --tz ZONE         zone of sacct's times when they carry none (default:
                        UTC, as sb-sacct runs sacct); for hand-made input
      --strict          exit 65 at the end if any input line was bad
  -v, --verbose         print counts on stderr at the end (rows, jobs, steps,
                        skipped, orphan steps, bad, passed through)
      --errors FMT      diagnostics as 'text' (default) or 'json' lines
  -h, --help            print this help and exit
  -V, --version         print the version and exit

Sizes are bytes (K, M, G, T, P are powers of 1024), durations seconds, times
UTC. Exit status: 0 ok, 1 failure, 2 usage error, 65 bad input under --strict.

Example: TZ=UTC sacct -a -P --noconvert -S 2024-01-01 \\
           -o JobID,User,State,End,ElapsedRaw,AllocCPUS | sb-parse -c hammer
`;

export const tool: Tool = {
  name: 'sb-parse',
  usage: USAGE,
  options: {
    string: ['fields', 'delimiter', 'cluster', 'tz'],
    boolean: ['verbose'],
    alias: { f: 'fields', d: 'delimiter', c: 'cluster', v: 'verbose' },
  },
  reads: true,
  main: async (ctx: Context) => (await import('./parse/main.js')).main(ctx),
};
