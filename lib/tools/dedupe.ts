import { type Context, type Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-dedupe [--root DIR] [-v] [FILE]

Drop 'job' records the store has already counted, and repeats of a job record
within the stream; print the rest. Reads NDJSON from FILE or stdin; records of
other kinds pass through untouched and in order. The store is only read (no
lock), so sb-dedupe runs beside sb-reduce. A job record is the same when its
'key' is (cluster + DBIndex, else cluster + JobIDRaw + Submit; see sb(7)):
requeued runs and recycled job ids are different records and all pass.

sb-reduce is exact without sb-dedupe; it shows early what is new, and keeps
known jobs out of the rest of the pipeline.

Options:
  -r, --root DIR     the store (default: $SB_ROOT)
  -v, --verbose      print counts on stderr at the end
      --strict       exit 65 at the end if any input line was bad
      --errors FMT   diagnostics as 'text' (default) or 'json' lines on stderr
  -h, --help         print this help and exit
  -V, --version      print the version and exit

Exit status: 0 ok, 1 failure (corrupt dedupe state), 2 usage error,
65 bad input under --strict.

Example: sb-sacct < chunks | sb-parse | sb-dedupe -v | sb-reduce
`;

export const tool: Tool = {
  name: 'sb-dedupe',
  usage: USAGE,
  options: { string: ['root'], boolean: ['verbose'], alias: { r: 'root', v: 'verbose' } },
  reads: true,
  main: async (ctx: Context) => (await import('./dedupe/main.js')).main(ctx),
};
