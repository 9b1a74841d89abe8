// sb-poll's work, loaded only once the command line asks for more than --help or --version:
// the stages of the poll, the heartbeat and the poll lock.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { type Args, type Context, maxOperands, optInt, optNumber, optString } from '../../core/cli/run.js';
import { EXIT, PipeClosed, SbError, UsageError } from '../../core/cli/errors.js';
import { isClusterName, localClusterName, notClusterName } from '../../core/records/cluster.js';
import { formatTime, parseDateExpr } from '../../core/records/time.js';
import { durationOption } from '../../core/sacct/duration.js';
import { privacyCheck } from '../../core/sacct/private-data.js';
import { parseRate } from '../../core/sacct/rate-limit.js';
import { currentUser, slurmCommand } from '../../core/sacct/slurm-client.js';
import { fsyncDir } from '../../core/store/atomic.js';
import { heartbeatPath, pollLockPath, readHeartbeat, writeHeartbeat, type PollResult } from '../../core/store/heartbeat.js';
import { acquireLock, LockHeld, type Lock } from '../../core/store/lock.js';
import { storeRoot } from '../../core/store/store.js';
import { runOne, runPipeline, type Stage, type StageResult } from './stages.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNAL_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

interface Plan {
  cluster: string;
  root: string;
  sacct: string;
  since: number;
  until: number;
  stages: Stage[];
  rank: Stage;
  html: string | undefined;
  render: Stage;
}

function plan(args: Args, env: NodeJS.ProcessEnv): Plan {
  maxOperands(args, 0);
  const root = storeRoot(optString(args, 'root'), env);
  if (root === undefined) throw new UsageError('sb-poll needs the store: give --root DIR or set SB_ROOT');
  const sacct = optString(args, 'sacct') ?? (env['SB_SACCT'] || 'sacct');
  const given = optString(args, 'cluster');
  if (given !== undefined && !isClusterName(given)) throw new UsageError(`'${given}' ${notClusterName(given)}`);
  const cluster = given ?? localClusterName({ ...env, SB_SCONTROL: slurmCommand('scontrol', undefined, env, sacct) });
  const sinceExpr = optString(args, 'since') ?? '3 days ago';
  const untilExpr = optString(args, 'until') ?? 'now';
  const since = parseDateExpr(sinceExpr, env);
  const until = parseDateExpr(untilExpr, env);
  if (since > until) throw new UsageError(`--since '${sinceExpr}' (${formatTime(since)}) is after --until '${untilExpr}' (${formatTime(until)})`);
  const step = optString(args, 'step');
  const by = optString(args, 'by');
  if (step !== undefined && by !== undefined) throw new UsageError('give --step or --by, not both');
  // checked here, so a mistake is this program's usage error, not a stage's
  parseRate(optString(args, 'rate') ?? '30');
  optInt(args, 'concurrency', 1, 0, 10_000);
  optInt(args, 'retries', 3, 0, 100);
  durationOption('sacct-timeout', optString(args, 'sacct-timeout'), 120);
  const wait = String(optNumber(args, 'wait', 60));
  const pass = (name: string): string[] => {
    const v = optString(args, name);
    return v === undefined ? [] : [`--${name}`, v];
  };
  const html = optString(args, 'html');
  return {
    cluster,
    root,
    sacct,
    since,
    until,
    stages: [
      { name: 'sb-chunk', args: ['todo', '-c', cluster, '--root', root, '-s', formatTime(since), '-e', formatTime(until), ...(step !== undefined ? ['--step', step] : ['--by', by ?? 'hour'])] },
      { name: 'sb-sacct', args: ['--root', root, '--sacct', sacct, ...pass('sacctmgr'), ...pass('rate'), ...pass('concurrency'), ...pass('retries'), ...pass('sacct-timeout')] },
      { name: 'sb-parse', args: [] },
      { name: 'sb-dedupe', args: ['--root', root] },
      { name: 'sb-reduce', args: ['--root', root, '--wait', wait] },
    ],
    rank: { name: 'sb-rank', args: ['--root', root, '--write', '--by', 'user,account', '--wait', wait] },
    html: html === undefined ? undefined : path.resolve(html),
    render: { name: 'sb-render', args: ['--root', root, '--html'] },
  };
}

interface Tally {
  commits: number;
  newJobs: number;
  chunksDone: number;
  users: Set<string>;
}

export async function main({ args, io, out, report }: Context): Promise<number> {
  const p = plan(args, io.env);
  const verbose = args['verbose'] === true;
  const started = formatTime(Math.floor(Date.now() / 1000));
  const me = currentUser();
  const env: NodeJS.ProcessEnv = { ...io.env, SB_ROOT: p.root };

  let lock: Lock;
  try {
    lock = await acquireLock(pollLockPath(p.root, p.cluster), { tool: 'sb-poll', what: `the poll lock of cluster ${p.cluster}`, waitMs: 0, staleMs: 60_000 });
  } catch (err) {
    if (!(err instanceof LockHeld)) throw err;
    report.error(`${p.cluster}: another poll is running: ${err.message.replace(/; gave up after .*$/, '')}; this one did nothing`);
    return EXIT.locked;
  }

  let stdoutGone = false;
  const printCommits = args['commits'] === true;
  const tally: Tally = { commits: 0, newJobs: 0, chunksDone: 0, users: new Set() };
  let status: number = EXIT.ok;
  let line: string | undefined;
  let warnings = 0;
  let failedWindows = 0;
  let caught: NodeJS.Signals | undefined;
  let running: { kill: (s: NodeJS.Signals) => void } | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    caught ??= sig;
    running?.kill(sig);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    // slurmdbd's PrivateData, asked before any window is taken as done (two short queries;
    // root sees everything and is not asked)
    let privacyLine: string | undefined;
    if (me.uid !== 0) {
      const sacctmgr = slurmCommand('sacctmgr', optString(args, 'sacctmgr'), io.env, p.sacct);
      const v = await privacyCheck({ sacct: p.sacct, sacctmgr, env: io.env, user: me.name, uid: me.uid, cluster: p.cluster, timeoutMs: 20_000 });
      if (v.state === 'hidden') privacyLine = `${p.cluster}: ${v.message}`;
    }

    const pipe = runPipeline(p.stages, {
      env,
      verbose,
      onLine: (text) => {
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(text) as Record<string, unknown>;
        } catch {
          return;
        }
        if (rec['kind'] !== 'commit') return;
        tally.commits++;
        tally.newJobs += typeof rec['new_jobs'] === 'number' ? rec['new_jobs'] : 0;
        tally.chunksDone += typeof rec['chunks_done'] === 'number' ? rec['chunks_done'] : 0;
        if (Array.isArray(rec['users_changed'])) for (const u of rec['users_changed']) if (typeof u === 'string') tally.users.add(u);
        if (printCommits && !stdoutGone) out.line(text);
      },
    });
    running = pipe;
    const results = await pipe.done;
    running = undefined;
    if (printCommits) stdoutGone = !(await flushed(out)) || stdoutGone;
    failedWindows = results.find((r) => r.name === 'sb-sacct')?.said.filter((d) => d.level === 'error' && FAILED_WINDOW.test(d.message)).length ?? 0;
    ({ status, line } = judge(p, results, failedWindows, tally));

    if (caught === undefined && (status === EXIT.ok || status === EXIT.tempFail)) {
      const rank = await runOne(p.rank, { env, verbose });
      const r = stageStatus(rank);
      if (r !== EXIT.ok && status === EXIT.ok) ({ status, line } = r === EXIT.locked ? { status: r, line: `${p.cluster}: sb-rank: ${firstError(rank)}` } : { status: EXIT.failure, line: `${p.cluster}: sb-rank failed (${exitText(rank)}): ${firstError(rank)}` });
    }
    if (caught === undefined && p.html !== undefined && (status === EXIT.ok || status === EXIT.tempFail)) {
      const bad = await writePage(p, env, verbose);
      if (bad !== undefined && status === EXIT.ok) ({ status, line } = { status: EXIT.failure, line: bad });
    }
    if (caught !== undefined) ({ status, line } = { status: SIGNAL_STATUS[caught] ?? EXIT.failure, line: `${p.cluster}: stopped by ${caught}; what was committed stays, the next poll goes on from there` });

    if (privacyLine === undefined && me.uid !== 0 && tally.newJobs > 0 && tally.users.size === 1 && tally.users.has(me.name)) {
      privacyLine = `${p.cluster}: every new job of this poll is ${me.name}'s own: slurmdbd may show ${me.name} no one else's (PrivateData=jobs); 'sb-probe -c ${p.cluster}' checks`;
    }
    for (const r of results) warnings += r.said.filter((d) => d.level === 'warning').length;
    if (privacyLine !== undefined) {
      warnings++;
      report.warn(privacyLine);
    }
    if (line !== undefined) report.error(line);

    const result: PollResult = {
      started,
      finished: formatTime(Math.floor(Date.now() / 1000)),
      status,
      result: status === EXIT.ok ? 'ok' : status === EXIT.tempFail ? 'tempfail' : status === EXIT.locked ? 'locked' : 'failed',
      since: formatTime(p.since),
      until: formatTime(p.until),
      windows: tally.chunksDone + failedWindows,
      failed_windows: failedWindows,
      commits: tally.commits,
      new_jobs: tally.newJobs,
      warnings,
      ...(line !== undefined ? { message: line } : privacyLine !== undefined ? { message: privacyLine } : {}),
    };
    await recordHeartbeat(p, me, result);
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    lock.release();
  }
  return status;
}

// Flushes stdout; false when its reader has gone (| head): the poll goes on without it.
async function flushed(out: Context['out']): Promise<boolean> {
  try {
    await out.flush();
    return true;
  } catch (err) {
    if (err instanceof PipeClosed) return false;
    throw err;
  }
}

function stageStatus(r: StageResult): number {
  return r.signal !== null ? EXIT.failure : (r.status ?? EXIT.failure);
}

function exitText(r: StageResult): string {
  return r.signal !== null ? `killed by ${r.signal}` : `exit ${r.status}`;
}

function firstError(r: StageResult): string {
  const e = r.said.find((d) => d.level === 'error') ?? r.said[0];
  return e === undefined ? 'no message' : e.message;
}

// sb-sacct's line for a window it gave up: `CLUSTER START/END: failed [for good ]after N attempts: ...`.
const FAILED_WINDOW = / failed (?:for good )?after \d+ attempts?: /;

// The poll's exit status and its one line, from the pipeline's statuses: broken beats a lock
// held, which beats windows failed for now.
function judge(p: Plan, results: StageResult[], failedWindows: number, tally: Tally): { status: number; line: string | undefined } {
  const by = new Map(results.map((r) => [r.name, r]));
  for (const r of results) {
    const s = stageStatus(r);
    if (s === EXIT.ok) continue;
    if (r.name === 'sb-sacct' && s === EXIT.tempFail) continue;
    if (r.name === 'sb-reduce' && s === EXIT.locked) continue;
    if (r.name === 'sb-chunk' && s === EXIT.usage) return { status: EXIT.usage, line: `${p.cluster}: ${firstError(r)}` };
    return { status: EXIT.failure, line: `${p.cluster}: ${r.name} failed (${exitText(r)}): ${firstError(r)}` };
  }
  const reduce = by.get('sb-reduce');
  if (reduce !== undefined && stageStatus(reduce) === EXIT.locked) return { status: EXIT.locked, line: `${p.cluster}: ${firstError(reduce)}` };
  const sacct = by.get('sb-sacct');
  if (sacct !== undefined && stageStatus(sacct) === EXIT.tempFail) {
    // its windows' failures, not the lines it skipped
    const errors = sacct.said.filter((d) => d.level === 'error' && FAILED_WINDOW.test(d.message));
    const last = (errors[errors.length - 1]?.message ?? '').replace(/^.*?: failed after \d+ attempts?(?: \([^)]*\))?: /, '').replace(/ \(recorded in [^)]*\)$/, '');
    return {
      status: EXIT.tempFail,
      line: `${p.cluster}: ${failedWindows} of ${failedWindows + tally.chunksDone} window(s) could not be fetched for now (${last}); they are in the store's failure ledger and the next poll fetches them`,
    };
  }
  return { status: EXIT.ok, line: undefined };
}

// sb-render --html into a temporary file beside FILE, renamed over it: readers of the page
// see the old one or the new one, whole. Returns the one line when it failed.
async function writePage(p: Plan, env: NodeJS.ProcessEnv, verbose: boolean): Promise<string | undefined> {
  const file = p.html as string;
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  let r: StageResult;
  try {
    r = await runOne(p.render, { env, verbose, stdoutFile: tmp });
  } catch (err) {
    return `${p.cluster}: cannot write the page '${file}': ${(err as Error).message}`;
  }
  if (stageStatus(r) !== EXIT.ok) {
    rmSync(tmp, { force: true });
    return `${p.cluster}: sb-render --html failed (${exitText(r)}): ${firstError(r)}`;
  }
  try {
    renameSync(tmp, file);
    fsyncDir(path.dirname(file));
  } catch (err) {
    rmSync(tmp, { force: true });
    return `${p.cluster}: cannot replace the page '${file}': ${(err as Error).message}`;
  }
  return undefined;
}

async function recordHeartbeat(p: Plan, me: { name: string }, last: PollResult): Promise<void> {
  const file = heartbeatPath(p.root, p.cluster);
  let before;
  try {
    before = readHeartbeat(file);
  } catch {
    before = undefined;
  }
  const lastOk = last.status === EXIT.ok ? last : before?.last_ok;
  try {
    await writeHeartbeat(file, { schema_version: 1, cluster: p.cluster, host: hostname(), user: me.name, pid: process.pid, last, ...(lastOk !== undefined ? { last_ok: lastOk } : {}) });
  } catch (err) {
    throw new SbError(`${p.cluster}: cannot write the heartbeat '${file}': ${(err as Error).message}`);
  }
}
