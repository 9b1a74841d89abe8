import { type Context, type Tool } from '../core/cli/run.js';

export const USAGE = `Usage: sb-render [--root DIR] [-w WINDOW] [-m SKILL] [-c CLUSTER] [--user NAME]
                 [MODE]
       sb-rank ... | sb-render [MODE] [-]

Show the high scores: the leaderboard files of the store (sb-rank --write), or
'rank' records on standard input. On a terminal, an interactive screen in the
style of the Old School RuneScape hiscores; otherwise a plain-text snapshot.

Modes (one at most; default --tui on a terminal, else --text):
      --tui             the interactive screen (press ? for its keys)
      --text            plain text, stable, for mail and diffs
      --ansi            the same, coloured (for 'watch --color'; no colour
                        under NO_COLOR)
      --json            the boards as NDJSON 'rank' records
      --html            one self-contained web page of every board
                        (> scores.html)

Options:
  -r, --root DIR        the store (default: $SB_ROOT); '-' or no store reads
                        rank records from standard input
  -w, --window LIST     windows: rolling-30d, month-YYYY-MM, year-YYYY,
                        alltime, ..., month and year (the newest there is);
                        comma-separated or repeated (default: the first,
                        rolling windows first)
  -m, --metric LIST     skills: overall, clock_hours, elapsed_hours,
                        gpu_clock_hours, gpu_elapsed_hours, jobs, gpu_jobs,
                        failed_jobs, mem_req_gb_hours, mem_used_gb_hours
                        (default: overall)
  -c, --cluster LIST    'all' (every cluster summed) or a cluster (default: all)
  -n, --top N           rows ranked N or better (default: 25 in --text and
                        --ansi, every row otherwise)
  -u, --user NAME       that user's page: every skill, and usage per month
  -b, --by WHAT         'user' (default) or 'account': the account boards
                        (sb-rank --by account)
  -a, --account NAME    the boards of one account's users (sb-rank --account;
                        '(none)' for jobs without an account)
      --width COLS      width of --text and --ansi (default: the terminal's,
                        or 80)
      --errors FMT      diagnostics as 'text' (default) or 'json' lines on
                        stderr
  -h, --help            print this help and exit
  -V, --version         print the version and exit

On the screen, -w, -m, -c, -b and -a choose what is shown first (the 'a' key
switches between users, accounts and each account's users); the snapshots show
each board of the lists, window by window, cluster by cluster; the page holds
every group of boards, with a switcher. Names are shown with
control characters escaped. Exit status: 0 ok, 1 failure (a leaderboard file
that is missing or corrupt, named; a store without leaderboards), 2 usage error,
130 Ctrl-C or SIGINT on the screen.

Example: sb-render --root /srv/sb --text -w rolling-30d -m clock_hours --top 10
`;

export const tool: Tool = {
  name: 'sb-render',
  usage: USAGE,
  reads: true,
  options: {
    string: ['root', 'top', 'user', 'width', 'by', 'account'],
    list: ['window', 'metric', 'cluster'],
    boolean: ['tui', 'text', 'ansi', 'json', 'html'],
    alias: { r: 'root', w: 'window', m: 'metric', c: 'cluster', n: 'top', u: 'user', b: 'by', a: 'account' },
  },
  main: async (ctx: Context) => (await import('./render/main.js')).main(ctx),
};
