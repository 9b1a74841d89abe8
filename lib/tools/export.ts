import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-export [--root DIR] --out DIR [-f FORMAT]... [-c CLUSTER]... [options]
       sb-export [--root DIR] --prometheus FILE [--top N]

Hand the store to the engines users query. With --out, the daily rollups of
every settled month (each of its windows done in the cluster's chunk ledger)
become a long table, one row per cluster, day, user, account and metric:
  cluster, day, user, account, metric, value
in the store's exact base units (metric is a totals field: jobs, failed_jobs,
gpu_jobs, cpu_s, elapsed_s, gpu_s, gpu_elapsed_s, mem_req_byte_s,
mem_used_byte_s; a metric that is 0 has no row). Each cluster-month is one
immutable partition, DIR/cluster=<c>/month=YYYY-MM/rollups.<format> (hive
style), and DIR/manifest.json lists them with each cluster's watermark. A rerun
rewrites nothing unchanged; a partition whose rollups changed (a rebuild, an
opt-out) is replaced atomically. user is null (empty in CSV) for the opted-out
users of a day, summed; account is null for usage counted before the store kept
accounts (the manifest says so per month). Prints one NDJSON record per file
written:
  {"kind":"export","cluster":"hammer","month":"2024-01","format":"parquet",
   "file":"DIR/cluster=hammer/month=2024-01/rollups.parquet","rows":812,
   "bytes":10933,"status":"new"}
and {"kind":"manifest",...} when the manifest changed. Reads no input: standard
input is not read.

With --prometheus, the current leaderboards (<root>/leaderboards/, written by
sb-rank --write) go to FILE in the Prometheus text format for node_exporter's
textfile collector (written to a temporary file in FILE's directory, then
renamed), and a {"kind":"prometheus",...} record is printed when FILE changed.

Options:
  -r, --root DIR        the store (default: $SB_ROOT)
  -o, --out DIR         the export directory (made if missing)
  -f, --format LIST     parquet, csv, ndjson, comma-separated or repeated
                        (default: parquet)
  -c, --cluster LIST    clusters to export (default: every cluster of the store)
      --prometheus FILE write the current leaderboards to FILE (a .prom file in
                        the collector's --collector.textfile.directory)
      --top N           with --prometheus, each board's rows ranked N or better
                        (ties at N all stay; default: 10; 0: every row)
      --wait SECONDS    wait this long for the export directory's lock held by
                        another run, then exit 3 (default: 60)
      --stale SECONDS   a lock holder on another host whose heartbeat is older
                        than this is dead (default: 60)
  -v, --verbose         say on stderr what was exported, kept and left out
      --errors FMT      diagnostics as 'text' (default) or 'json' lines on
                        stderr
  -h, --help            print this help and exit
  -V, --version         print the version and exit

Values are exact: NDJSON carries them as decimal strings, CSV as digits, Parquet
as DECIMAL(38,0) (byte-seconds pass INT64's range). Opted-out users
(<root>/config/optout.txt, ~user/.slurm_scoreboard_optout) are never named.
Exit status: 0 ok, 1 failure (such as a corrupt rollup file, named), 2 usage
error, 3 the export directory's lock is held by another run.

Example: sb-export --root /srv/sb --out /srv/exports -f parquet,csv
  duckdb -c "SELECT user, sum(value)/3600 AS core_hours FROM read_parquet(
    '/srv/exports/*/*/*.parquet', hive_partitioning=true)
    WHERE metric='cpu_s' GROUP BY user ORDER BY 2 DESC LIMIT 10"
`;

export const tool: Tool = {
  name: 'sb-export',
  usage: USAGE,
  options: {
    string: ['root', 'out', 'prometheus', 'top', 'wait', 'stale'],
    list: ['format', 'cluster'],
    boolean: ['verbose'],
    alias: { r: 'root', o: 'out', f: 'format', c: 'cluster', v: 'verbose' },
  },
  main: async (ctx: Context) => (await import('./export/main.js')).main(ctx),
};
