import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { writeDurable } from '../../core/store/atomic.js';
import { isClusterName, localClusterName } from '../../core/records/cluster.js';
import { formatTime } from '../../core/records/time.js';
import { formatDuration } from '../../core/sacct/duration.js';
import { privacyCheck } from '../../core/sacct/private-data.js';
import { describeRate, queueLoad, rateDir, type Rate } from '../../core/sacct/rate-limit.js';
import { currentUser, query, slurmCommand, whichCommand } from '../../core/sacct/slurm-client.js';

// One line of the report. `exit` is the status a failed check gives (the seed's codes: 2 sacct
// missing, 3 the store not writable, 4 anything else).
export interface Check {
  check: string;
  status: 'ok' | 'info' | 'warn' | 'fail';
  message: string;
  exit?: number;
}

export interface ProbeSettings {
  root: string | undefined;
  cluster: string | undefined;
  sacct: string;
  sacctmgr: string | undefined;
  squeue: string | undefined;
  scontrol: string | undefined;
  rate: Rate;
  timeoutMs: number;
  // How long after its end sb-sacct takes a window as settled (for the clock check).
  settleSec: number;
  env: NodeJS.ProcessEnv;
  stdoutTty: boolean;
}

const TERMINAL = 'CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ';

// The checks, in order, each given to `emit` as soon as it is known (a slow slurmdbd shows
// where the probe waits).
export async function runChecks(s: ProbeSettings, emit: (c: Check) => Promise<void>): Promise<void> {
  const node = process.versions.node;
  const major = Number(node.split('.')[0]);
  await emit(major >= 20 ? { check: 'node', status: 'ok', message: `v${node}` } : { check: 'node', status: 'fail', message: `v${node}: sb needs Node.js 20 or later`, exit: 4 });
  const term = s.env['TERM'];
  await emit({
    check: 'term',
    status: 'info',
    message: `TERM=${term === undefined || term === '' ? '(unset)' : term}${s.env['NO_COLOR'] ? ', NO_COLOR set (no colour, no progress line)' : ''}; standard output ${s.stdoutTty ? 'is' : 'is not'} a terminal`,
  });
  await emit({ check: 'host', status: 'info', message: hostname() });
  const me = currentUser();
  await emit({ check: 'user', status: 'info', message: `${me.name} (uid ${me.uid})` });

  let cluster = s.cluster;
  let clusterNote = '';
  const scontrol = slurmCommand('scontrol', s.scontrol, s.env, s.sacct);
  if (cluster === undefined) {
    try {
      cluster = localClusterName({ ...s.env, SB_SCONTROL: scontrol });
      clusterNote = s.env['SB_CLUSTER'] ? ' (SB_CLUSTER)' : ` (ClusterName of '${scontrol} show config')`;
    } catch (err) {
      await emit({ check: 'cluster', status: 'fail', message: (err as Error).message, exit: 4 });
    }
  }
  if (cluster !== undefined) await emit({ check: 'cluster', status: 'ok', message: `${cluster}${clusterNote}` });

  await emit(storeCheck(s.root, cluster));

  const sacctFile = whichCommand(s.sacct, s.env);
  let sacctOk = false;
  if (sacctFile === undefined) {
    await emit({ check: 'sacct', status: 'fail', message: `'${s.sacct}' not found${s.sacct.includes('/') ? '' : ' in PATH'}: install the Slurm client, or give --sacct PATH (SB_SACCT)`, exit: 2 });
  } else {
    const v = await query(s.sacct, ['--version'], s.env, s.timeoutMs);
    sacctOk = v.ok;
    await emit(v.ok ? { check: 'sacct', status: 'ok', message: `${sacctFile}: ${v.stdout.trim().split('\n')[0]}` } : { check: 'sacct', status: 'fail', message: `${sacctFile}: ${v.problem}`, exit: 4 });
  }
  const squeue = whichCommand(slurmCommand('squeue', s.squeue, s.env, s.sacct), s.env);
  await emit(squeue !== undefined ? { check: 'squeue', status: 'ok', message: squeue } : { check: 'squeue', status: 'warn', message: 'squeue not found: the privacy check has only slurmdbd\'s word to go on' });

  await emit(rateCheck(s, me));

  if (!sacctOk || cluster === undefined) return;
  const sacctmgr = slurmCommand('sacctmgr', s.sacctmgr, s.env, s.sacct);
  const known = await query(sacctmgr, ['-n', '-P', 'show', 'cluster', cluster, 'format=Cluster'], s.env, s.timeoutMs);
  if (!known.ok) {
    await emit({ check: 'slurmdbd', status: 'fail', message: `cannot ask slurmdbd about cluster ${cluster}: ${known.problem}`, exit: 4 });
    return;
  }
  const names = known.stdout.split('\n').map((l) => l.trim().toLowerCase());
  await emit(
    names.includes(cluster.toLowerCase())
      ? { check: 'slurmdbd', status: 'ok', message: `answers, and knows cluster ${cluster}` }
      : { check: 'slurmdbd', status: 'fail', message: `does not know cluster ${cluster} ('${path.basename(sacctmgr)} show cluster ${cluster}' prints nothing): sacct -M ${cluster} prints no jobs; give the name slurmdbd knows (-c, SB_CLUSTER)`, exit: 4 },
  );

  const privacy = await privacyCheck({ sacct: s.sacct, sacctmgr, ...(squeue !== undefined ? { squeue } : {}), env: s.env, user: me.name, uid: me.uid, cluster, timeoutMs: s.timeoutMs });
  await emit({
    check: 'privacy',
    status: privacy.state === 'ok' ? 'ok' : privacy.state === 'hidden' ? 'fail' : 'warn',
    message: privacy.message,
    ...(privacy.state === 'hidden' ? { exit: 4 } : {}),
  });

  await emit(await clockCheck(s, cluster));
}


// The store exists (made if not) and takes an atomic write; the layout of the cluster's part.
export function storeCheck(root: string | undefined, cluster: string | undefined): Check {
  if (root === undefined) return { check: 'root', status: 'warn', message: 'no store given (--root DIR or SB_ROOT): its checks are skipped' };
  const made: string[] = [];
  const dirs = ['', 'config', 'leaderboards', ...(cluster !== undefined && isClusterName(cluster) ? [path.join('clusters', cluster, 'state')] : ['clusters'])];
  try {
    for (const d of dirs) {
      const full = path.join(root, d);
      if (existsSync(full)) continue;
      mkdirs(full);
      made.push(d === '' ? root : d);
    }
    // what every commit does: a temporary file, fsync, rename, removal
    const tmp = path.join(root, `.sb-probe.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    writeDurable(tmp, 'probe\n');
    const moved = `${tmp}.renamed`;
    renameSync(tmp, moved);
    unlinkSync(moved);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { check: 'root', status: 'fail', message: `${root}: not writable (${e.code ?? e.message}): sb-reduce and sb-rank cannot write the store`, exit: 3 };
  }
  return { check: 'root', status: 'ok', message: `${root}: writable${made.length > 0 ? `; made ${made.join(', ')}` : '; layout in place'}` };
}

// mkdir -p one level at a time (Node's recursive mkdir spins forever where mkdir(2) says ENOENT
// of a path whose parent exists, as under /proc).
function mkdirs(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !existsSync(parent)) mkdirs(parent);
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

function rateCheck(s: ProbeSettings, me: { name: string; uid: number }): Check {
  const dir = rateDir(s.env, me.uid);
  const load = queueLoad(dir, s.rate.periodMs || 60_000);
  const busy = `${load.recent} started in the last ${formatDuration((s.rate.periodMs || 60_000) / 1000)}, ${load.waiting} waiting`;
  if (s.rate.calls === 0) return { check: 'rate', status: 'warn', message: `no limit (--rate 0): every sb-sacct calls sacct as fast as it can` };
  const perCall = s.rate.periodMs / 1000 / s.rate.calls;
  return {
    check: 'rate',
    status: 'info',
    message: `${describeRate(s.rate)} for all sb-sacct of ${me.name} on this host together (${busy}; ${dir}); a year of daily windows takes about ${formatDuration(365 * perCall)}, or ${formatDuration(730 * perCall)} when each day also asks for the steps of jobs that started before it`,
  };
}

// The newest job's End against this host's clock: a job that ends "in the future" means this
// clock is behind the cluster's; a busy cluster whose newest job ended long ago, that it may be
// ahead (then windows count as settled before slurmdbd has all their jobs).
async function clockCheck(s: ProbeSettings, cluster: string): Promise<Check> {
  const now = Math.floor(Date.now() / 1000);
  const fmt = (sec: number): string => formatTime(sec).slice(0, 19);
  const r = await query(s.sacct, ['-a', '-X', '-n', '-P', '-s', TERMINAL, '-S', fmt(now - 86400), '-E', fmt(now + 86400), '-M', cluster, '-o', 'End'], s.env, s.timeoutMs);
  if (!r.ok) return { check: 'clock', status: 'warn', message: `cannot ask for the newest job: ${r.problem}` };
  let newest = -Infinity;
  let jobs = 0;
  for (const line of r.stdout.split('\n')) {
    const t = line.trim();
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(t)) continue;
    jobs++;
    newest = Math.max(newest, Date.parse(`${t}Z`) / 1000);
  }
  if (jobs === 0) return { check: 'clock', status: 'info', message: 'no job ended in the last day: nothing to compare this host\'s clock with' };
  const ago = now - newest;
  if (ago < -60) {
    return { check: 'clock', status: 'fail', message: `the newest job ended at ${formatTime(newest)}, ${formatDuration(-ago)} after this host's now (${formatTime(now)}): this host's clock is behind the cluster's`, exit: 4 };
  }
  const base = `the newest of ${jobs} job(s) of the last day ended ${ago <= 0 ? 'just now' : `${formatDuration(ago)} ago`} (${formatTime(newest)})`;
  if (jobs >= 100 && ago > s.settleSec) {
    return { check: 'clock', status: 'warn', message: `${base}: on a busy cluster, this host's clock may be ahead, or slurmdbd behind; sb-sacct takes a window as settled ${formatDuration(s.settleSec)} after its end` };
  }
  return { check: 'clock', status: 'ok', message: base };
}
