import type { Context, Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-rank [--root DIR] [-w WINDOW]... [-m METRIC]... [-c CLUSTER]...
               [options]

Rank users per window × metric × cluster from the store's rollups (read only,
no cluster lock) and print one NDJSON 'rank' record per row, board after board:
  {"kind":"rank","window":"rolling-30d","metric":"clock_hours","cluster":"all",
   "rank":1,"user":"alice","value":123.4,"level":57,"xp":1234}
Each metric is an OSRS skill: its value earns XP, XP a level 1-99 on the Old
School RuneScape table; the 'overall' board ranks by total level, then total XP.
With --by account, Slurm accounts are ranked by the sum of their users' usage
(the same XP table), rows {"kind":"rank","by":"account",...,"account":"chem",
"users":N,...}; --account NAME ranks one account's users by what they charged
to it (rows {"kind":"rank","account":"chem",...,"user":"alice",...}). Where a
window holds jobs counted before the store kept accounts, account rows carry
"accounts_since":"YYYY-MM-DD", the first day whose account data are complete.
An 'all' board summing a cluster counted only to a time more than an hour before
another's carries "counted_to":{"CLUSTER":"TIME",...}: the clusters behind.
Reads the whole store before printing.

Options:
  -r, --root DIR        the store (default: $SB_ROOT)
  -w, --window LIST     windows, comma-separated or repeated: alltime,
                        rolling-30d, rolling-365d (any rolling-Nd),
                        month-YYYY-MM, year-YYYY, month, year (the month/year
                        holding now).
                        Default: alltime, rolling-30d, rolling-365d, month, year
  -m, --metric LIST     clock_hours, elapsed_hours, gpu_clock_hours,
                        gpu_elapsed_hours, jobs, gpu_jobs, failed_jobs,
                        mem_req_gb_hours, mem_used_gb_hours, overall
                        (default: all)
  -c, --cluster LIST    a cluster's name, or 'all' for every cluster summed
                        (default: each cluster alone, and all)
  -b, --by LIST         what the boards rank: user (default), account, or
                        user,account for both
  -a, --account LIST    also rank the users of these accounts ('(none)': jobs
                        without an account); '*' for every account
  -n, --top N           keep rows ranked N or better (ties at N all stay)
      --min-jobs N      hide users, and accounts, with fewer than N finished
                        jobs in that window and cluster (default: 3; 0 shows
                        everyone)
      --now TIME        the time windows are counted back from (ISO-8601 or
                        anything 'date -d' reads; default: now)
      --write           write leaderboards/<window>_<metric>.json (cluster
                        'all') and leaderboards/by-cluster/<cluster>/...
                        instead, atomically, under the leaderboard lock; print
                        one 'leaderboard' record per file written. Account
                        boards go to leaderboards/accounts/ and one account's
                        users' to leaderboards/account/<account>/ (and the
                        same under by-cluster/<cluster>/)
      --wait SECONDS    with --write, wait this long for the leaderboard lock
                        held by another run, then exit 3 (default: 60)
      --stale SECONDS   a lock holder on another host whose heartbeat is older
                        than this is dead (default: 60); one on this host is
                        dead as soon as its process is gone
  -v, --verbose         say on stderr how many rollup files were read
      --errors FMT      diagnostics as 'text' (default) or 'json' lines on
                        stderr
  -h, --help            print this help and exit
  -V, --version         print the version and exit

Rolling windows are exact to the UTC day: rolling-30d is the 30 days ending with
the day of --now, that day included. Opted-out users (<root>/config/optout.txt,
~user/.slurm_scoreboard_optout) never appear; their usage still counts in their
accounts' totals. Exit status: 0 ok, 1 failure (such
as a corrupt rollup file, named), 2 usage error, 3 leaderboard lock held.

Example: sb-rank --root /srv/sb -w rolling-30d -m clock_hours -c all --top 10
`;

export const tool: Tool = {
  name: 'sb-rank',
  usage: USAGE,
  options: {
    string: ['root', 'top', 'min-jobs', 'now', 'wait', 'stale'],
    list: ['window', 'metric', 'cluster', 'by', 'account'],
    boolean: ['write', 'verbose'],
    alias: { r: 'root', w: 'window', m: 'metric', c: 'cluster', n: 'top', v: 'verbose', b: 'by', a: 'account' },
  },
  main: async (ctx: Context) => (await import('./rank/main.js')).main(ctx),
};
