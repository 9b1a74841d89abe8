// sb-probe's work, loaded only once the command line asks for more than --help or --version:
// the checks of a cluster's sacct and the store's status.
import { type Context, maxOperands, optList, optNumber, optString } from '../../core/cli/run.js';
import { UsageError } from '../../core/cli/errors.js';
import { isClusterName, notClusterName } from '../../core/records/cluster.js';
import { durationOption } from '../../core/sacct/duration.js';
import { parseRate } from '../../core/sacct/rate-limit.js';
import { storeRoot } from '../../core/store/store.js';
import { runChecks, type Check } from './checks.js';
import { clusterStatus, statusText, storeClusters } from './status.js';

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
