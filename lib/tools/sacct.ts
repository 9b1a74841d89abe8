import type { Context, Tool } from '../core/cli/run.js';
import { SB_SACCT_FIELDS as SACCT_FIELDS } from '../core/sacct/fields.js';

export const USAGE = `Usage: sb-sacct [options] [FILE]

Run sacct for each 'chunk' record read from FILE or stdin and print the jobs
whose End lies in that window: the window's 'rows' records (its field list and
up to 4096 raw sacct lines each; steps right after their job), then one
'chunk-done' record; or, if the window fails, nothing at all for it. Records of
other kinds pass through in order. A line with a control character in a value
is skipped (reported, and kept in the failure ledger); the window goes on.

Each window runs, with SACCT_* and SLURM_TIME* removed from the environment:
  TZ=UTC sacct -a -n -p --delimiter=$'\\x1f' --duplicates --noconvert
    -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S START-SLACK -E END+SLACK -M CLUSTER
    -o ${SACCT_FIELDS.slice(0, 10).join(',')},
       ${SACCT_FIELDS.slice(10, 16).join(',')},
       ${SACCT_FIELDS.slice(16).join(',')}
then, as sacct leaves out steps that ended before -S, the same with -j ID,...
(at most 1000 ids a call) and an earlier -S for the jobs that started by then.

Options:
      --sacct PATH         the sacct program (default: $SB_SACCT, else sacct)
      --sacctmgr PATH      asked whether a cluster that gave no rows exists
                           (default: $SB_SACCTMGR, else sacctmgr beside sacct,
                           else sacctmgr)
      --slack DURATION     widen the query by this before and after (default:
                           15m); a window that cannot settle yet is asked
                           exactly
      --settle DURATION    windows ending less than this before now are
                           'settled: false' (default: 15m)
      --sacct-timeout SEC  kill sacct and all it started after SEC
                           (default: 120)
      --retries N          retries of a temporary failure (default: 3)
      --backoff SEC        first retry delay, doubling, with jitter (default: 5)
      --failed FILE        append windows that still fail to FILE (NDJSON);
                           with a store and no FILE, its failure ledger
                           <root>/clusters/<cluster>/state/failed.ndjson
  -r, --root DIR           the store (default: $SB_ROOT; empty is unset)
      --rate N[/PERIOD]    at most N sacct calls per PERIOD (default: 1m) by all
                           sb-sacct processes of this user on this host;
                           0 = no limit (default: 30)
  -j, --concurrency N      windows in flight at once (alias --concurrently);
                           0 = as many as --rate allows (default: 1)
      --sleep SEC          pause between one slot's sacct calls (default: 0)
      --row-records        one 'row' record per line, its fields by name (for
                           jq; slower) instead of batched 'rows' records
  -v, --verbose            report retries and a summary on stderr
      --strict             exit 65 at the end if any input line was bad
      --errors FMT         diagnostics as 'text' (default) or 'json' lines
  -h, --help               print this help and exit
  -V, --version            print the version and exit

DURATION is seconds or a number with s, m, h or d (90, 15m, 1h).
Exit status: 0 every window done, 75 some windows failed for now (retry them:
sb-chunk from-file FILE), 1 a window failed for good (no configuration, an
unknown cluster: the run stops there) or another error, 2 usage error, 65 bad
input lines or skipped sacct lines under --strict.
`;

export const tool: Tool = {
  name: 'sb-sacct',
  usage: USAGE,
  options: {
    string: ['sacct', 'sacctmgr', 'slack', 'settle', 'sacct-timeout', 'retries', 'backoff', 'failed', 'root', 'rate', 'concurrency', 'sleep'],
    boolean: ['verbose', 'row-records'],
    alias: { j: 'concurrency', concurrently: 'concurrency', v: 'verbose', r: 'root' },
  },
  reads: true,
  main: async (ctx: Context) => (await import('./sacct/main.js')).main(ctx),
};
