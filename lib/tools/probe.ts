import { type Context, type Tool, maxOperands, optList, optNumber, optString } from '../core/cli/run.js';
import { UsageError } from '../core/cli/errors.js';
import { isClusterName, notClusterName } from '../core/records/cluster.js';
import { durationOption } from '../core/sacct/duration.js';
import { parseRate } from '../core/sacct/rate-limit.js';
import { storeRoot } from '../core/store/store.js';
import { runChecks, type Check } from './probe/checks.js';
import { clusterStatus, statusText, storeClusters } from './probe/status.js';

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
  main,
};

const STATUS_PRIORITY = [2, 3, 4];

export async function main({ args, io, out, report }: Context): Promise<number> {
  maxOperands(args, 0);
  const clusters = optList(args, 'cluster');
  for (const c of clusters ?? []) if (!isClusterName(c)) throw new UsageError(`'${c}' ${notClusterName(c)}`);
  const root = storeRoot(optString(args, 'root'), io.env);
  const json = args['json'] === true;
  const staleMs = optNumber(args, 'stale', 60) * 1000;

  if (args['status'] === true) {
    if (root === undefined) {
      report.error('--status reads a store: give --root DIR or set SB_ROOT');
      return 1;
    }
    const now = Math.floor(Date.now() / 1000);
    const maxAgeSec = durationOption('max-age', optString(args, 'max-age'), 3600);
    const names = clusters ?? storeClusters(root).filter(isClusterName);
    if (names.length === 0) {
      report.error(`${root}: no cluster in the store yet (nothing under clusters/)`);
      return 4;
    }
    let attention = false;
    for (const c of names) {
      const st = clusterStatus(c, { root, now, maxAgeSec, staleMs });
      if (st.state !== 'ok') attention = true;
      if (json) out.record(st);
      else for (const l of statusText(st, now)) out.line(l);
      await out.drain();
    }
    return attention ? 4 : 0;
  }

  if ((clusters?.length ?? 0) > 1) throw new UsageError('give one cluster (-c NAME); a list is for --status');
  const timeout = optNumber(args, 'timeout', 20);
  if (timeout <= 0) throw new UsageError(`option '--timeout': must be above 0`);
  const failed: number[] = [];
  const emit = async (c: Check): Promise<void> => {
    if (c.status === 'fail') failed.push(c.exit ?? 4);
    if (json) out.record({ kind: 'probe', check: c.check, status: c.status, message: c.message });
    else out.line(`${c.status.padEnd(5)} ${c.check.padEnd(9)} ${c.message}`);
    // each line as it is known: a slow slurmdbd shows where the probe waits
    await out.flush();
  };
  await runChecks(
    {
      root,
      cluster: clusters?.[0],
      sacct: optString(args, 'sacct') ?? (io.env['SB_SACCT'] || 'sacct'),
      sacctmgr: optString(args, 'sacctmgr'),
      squeue: optString(args, 'squeue'),
      scontrol: optString(args, 'scontrol'),
      rate: parseRate(optString(args, 'rate') ?? '30'),
      timeoutMs: timeout * 1000,
      settleSec: durationOption('settle', optString(args, 'settle'), 900),
      env: io.env,
      stdoutTty: (io.stdout as { isTTY?: boolean }).isTTY === true,
    },
    emit,
  );
  return STATUS_PRIORITY.find((s) => failed.includes(s)) ?? 0;
}
