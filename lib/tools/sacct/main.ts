// sb-sacct's work, loaded only once the command line asks for more than --help or --version:
// sacct's process groups, the spool, the window filter, the rate limit and the failure ledgers.
import { accessSync, constants, fstatSync } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { type Args, type Context, maxOperands, optInt, optString } from '../../core/cli/run.js';
import { tool } from '../sacct.js';
import { type Chunk, chunkFromRecord, chunkId, tileFields } from '../../core/records/chunk.js';
import { durationOption, formatDuration } from '../../core/sacct/duration.js';
import { EXIT, SbError, UsageError } from '../../core/cli/errors.js';
import { AppendLog } from './append-log.js';
import { readLineBatches } from '../../core/cli/lines.js';
import { type Rec, forEachRecord } from '../../core/cli/input.js';
import type { Reporter, Where } from '../../core/cli/report.js';
import { type GroupResult, SpawnError, killAllGroups, runGroup } from './process-group.js';
import { ProgressLine, progressWanted } from './progress.js';
import { readAhead } from './read-ahead.js';
import { type Rate, ensureRateDir, parseRate, rateDir, takeTicket } from '../../core/sacct/rate-limit.js';
import { type DeferredJob, GarbledOutput, ROWS_DELIMITER, WindowFilter, type WindowRows } from './window-filter.js';
import {
  SACCT_DELIMITER,
  STEP_QUERY_BYTES,
  STEP_QUERY_IDS,
  isDatabaseError,
  isPermanentError,
  lastLine,
  sacctArgs,
  sacctEnv,
  sacctStepArgs,
  sacctmgrClusterArgs,
} from './command.js';
import { formatTime } from '../../core/records/time.js';
import { failedPath } from '../../core/store/chunk-ledger.js';
import { storeRoot } from '../../core/store/store.js';

// The delay before retry number `retry` (1-based): base × 2^(retry-1), times a random factor
// in [0.5, 1) so that processes that failed together do not retry together; at most 10 min.
export function backoffSeconds(base: number, retry: number, random: () => number = Math.random): number {
  return Math.min(600, base * 2 ** (retry - 1)) * (0.5 + random() / 2);
}

// Why one sacct call did not give a usable window.
export interface Failure {
  permanent: boolean;
  // timeout, signal, exit, garbled, truncated, unknown-cluster, cluster-check
  reason: string;
  message: string;
  status?: number;
  signal?: string;
  stderr?: string;
}

// A sacct call's outcome → the failure it is, if any (exit status, signal, timeout, stderr).
export function classifyExit(r: GroupResult, timeoutSec: number): Failure | undefined {
  const line = lastLine(r.stderr);
  const extra = {
    ...(r.status !== null ? { status: r.status } : {}),
    ...(r.signal !== null ? { signal: r.signal } : {}),
    ...(line !== '' ? { stderr: line } : {}),
  };
  if (r.timedOut) return { permanent: false, reason: 'timeout', message: `sacct timed out after ${formatDuration(timeoutSec)} and was killed`, ...extra };
  if (r.signal !== null) return { permanent: false, reason: 'signal', message: `sacct was killed by ${r.signal}${line ? `: ${line}` : ''}`, ...extra };
  if (r.status !== 0) {
    return { permanent: isPermanentError(r.stderr), reason: 'exit', message: `sacct exited ${r.status}${line ? `: ${line}` : ''}`, ...extra };
  }
  if (isDatabaseError(r.stderr)) return { permanent: false, reason: 'exit', message: `sacct exited 0 but said: ${line}`, ...extra };
  return undefined;
}

interface Settings {
  sacct: string;
  sacctmgr: string;
  slack: number;
  settle: number;
  timeout: number;
  retries: number;
  backoff: number;
  rate: Rate;
  concurrency: number;
  sleep: number;
  verbose: boolean;
}

type Outcome =
  | { ok: true; chunk: Chunk; rows: WindowRows; settled: boolean; attempts: number }
  | { ok: false; chunk: Chunk; failure: Failure; attempts: number }
  | { ok: false; chunk: Chunk; notTried: true; attempts: number };

// Aborted: the run is stopping (the reader went away, a signal); not a window failure.
class Stopped extends Error {}

// A window failed for good: the run stops there (the message says how and where).
class Halted extends Error {}

// A window not fetched because another failed for good.
class NotTried extends Error {}

// The deferred jobs of a window in the -j lists of the queries for their steps: earliest Start
// first, at most STEP_QUERY_IDS ids and STEP_QUERY_BYTES of list a query.
export function stepQueries(jobs: readonly DeferredJob[]): DeferredJob[][] {
  const out: DeferredJob[][] = [];
  let batch: DeferredJob[] = [];
  let ids = new Set<number>();
  let bytes = 0;
  for (const j of jobs) {
    const more = ids.has(j.id) ? 0 : String(j.id).length + 1;
    if (batch.length > 0 && more > 0 && (ids.size >= STEP_QUERY_IDS || bytes + more > STEP_QUERY_BYTES)) {
      out.push(batch);
      batch = [];
      ids = new Set();
      bytes = 0;
    }
    batch.push(j);
    if (!ids.has(j.id)) {
      ids.add(j.id);
      bytes += String(j.id).length + 1;
    }
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

// A concurrency slot: when its last sacct call ended (for --sleep).
interface Slot {
  lastEnd: number;
}

// Concurrency slots, each remembering when its last sacct call ended (for --sleep).
class Slots {
  private free: Array<{ lastEnd: number }> = [];
  private waiters: Array<(s: { lastEnd: number } | undefined) => void> = [];
  private made = 0;

  constructor(
    private readonly max: number,
    private readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => {
      for (const w of this.waiters.splice(0)) w(undefined);
    }, { once: true });
  }

  // A slot, or Stopped once the run is aborted.
  async acquire(): Promise<{ lastEnd: number }> {
    if (this.signal.aborted) throw new Stopped('aborted');
    const s = this.free.pop();
    if (s) return s;
    if (this.max === 0 || this.made < this.max) {
      this.made++;
      return { lastEnd: 0 };
    }
    const got = await new Promise<{ lastEnd: number } | undefined>((resolve) => this.waiters.push(resolve));
    if (got === undefined) throw new Stopped('aborted');
    return got;
  }

  release(s: { lastEnd: number }): void {
    const w = this.waiters.shift();
    if (w) w(s);
    else this.free.push(s);
  }
}

function defaultSacctmgr(sacct: string): string {
  if (sacct.includes('/')) {
    const beside = path.join(path.dirname(sacct), 'sacctmgr');
    try {
      accessSync(beside, constants.X_OK);
      return beside;
    } catch {
      // not there
    }
  }
  return 'sacctmgr';
}

function settingsFrom(args: Args, env: NodeJS.ProcessEnv): Settings {
  const sacct = optString(args, 'sacct') ?? (env['SB_SACCT'] || 'sacct');
  const timeout = durationOption('sacct-timeout', optString(args, 'sacct-timeout'), 120);
  if (timeout <= 0) throw new UsageError(`option '--sacct-timeout': must be above 0`);
  return {
    sacct,
    sacctmgr: optString(args, 'sacctmgr') ?? (env['SB_SACCTMGR'] || defaultSacctmgr(sacct)),
    slack: durationOption('slack', optString(args, 'slack'), 900),
    settle: durationOption('settle', optString(args, 'settle'), 900),
    timeout,
    retries: optInt(args, 'retries', 3, 0, 100),
    backoff: durationOption('backoff', optString(args, 'backoff'), 5),
    rate: parseRate(optString(args, 'rate') ?? '30'),
    concurrency: optInt(args, 'concurrency', 1, 0, 10_000),
    sleep: durationOption('sleep', optString(args, 'sleep'), 0),
    verbose: args['verbose'] === true,
  };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PASSING_BYTES = 256 * 1024;
const SIGNAL_STATUS: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export async function main({ args, io, report, out, input: open }: Context): Promise<number> {
  maxOperands(args, 1);
  const set = settingsFrom(args, io.env);
  const rowRecords = args['row-records'] === true;
  const progress = new ProgressLine(io.stderr, tool.name, progressWanted(io.stderr, io.env));
  const ledgers = new FailureLedgers(optString(args, 'failed'), storeRoot(optString(args, 'root'), io.env));
  const uid = process.getuid?.() ?? 0;
  const tickets = rateDir(io.env, uid);
  if (set.rate.calls > 0) ensureRateDir(tickets, uid);
  const stats = { done: 0, total: undefined as number | undefined, rows: 0, jobs: 0, failed: 0, permanent: 0, windows: 0 };
  const opened = await open(args._[0]);
  // asked now: a file read to its end (by the read-ahead, say) has closed its descriptor
  const fromFile = isFile(opened.stream);
  const input = progress.enabled ? readAhead(opened, (n, ended) => {
    if (!ended || stats.total !== undefined) return;
    stats.total = n;
    progress.update(stats, true);
  }) : opened;
  const env = sacctEnv(io.env);

  const ac = new AbortController();
  const signal = ac.signal;
  let stopError: unknown;
  let roomWaiter: (() => void) | undefined;
  const wake = (): void => {
    const w = roomWaiter;
    roomWaiter = undefined;
    w?.();
  };
  let caught: NodeJS.Signals | undefined;
  const stop = (err: unknown): void => {
    stopError ??= err;
    if (!signal.aborted) ac.abort();
    killAllGroups();
    // After a window failed for good, a file is read on to count the windows left undone; a
    // pipe is not (its writer may wait for this run, as sb-rendezvous gate does).
    if (!(stopError instanceof Halted && fromFile)) input.stream.destroy();
    wake();
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    caught ??= sig;
    stop(new Stopped(sig));
  };
  for (const s of SIGNALS) process.on(s, onSignal);

  const say = (fn: () => void): void => {
    progress.clear();
    fn();
  };
  // A bad input line is reported on a line of its own, not after the progress text.
  const lineReport: Reporter = Object.create(report) as Reporter;
  lineReport.badLine = (w: Where, message: string): void => say(() => report.badLine(w, message));
  const knownClusters = new Set<string>();
  const clusterChecks = new Map<string, Promise<boolean>>();
  const slots = new Slots(set.concurrency, signal);

  const pause = async (ms: number): Promise<void> => {
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, { signal });
    } catch {
      throw new Stopped('aborted');
    }
  };
  const gate = async (): Promise<void> => {
    if (set.rate.calls === 0) return;
    await pause(takeTicket(tickets, set.rate) - Date.now());
  };
  const checkStop = (): void => {
    if (signal.aborted) throw new Stopped('aborted');
  };

  // Set once a window has failed for good: no more sacct calls are started.
  let halted = false;
  const counts = { calls: 0, stepCalls: 0, stepJobs: 0, skipped: 0 };

  // One sacct call read into a window's filter, in a slot's turn and at the rate limit; why it
  // failed, if it did.
  const readCall = async (args: string[], filter: WindowFilter, slot: Slot, steps: boolean): Promise<Failure | undefined> => {
    await pause(slot.lastEnd + set.sleep * 1000 - Date.now());
    await gate();
    checkStop();
    if (halted) throw new NotTried();
    counts.calls++;
    if (steps) counts.stepCalls++;
    let garbled: GarbledOutput | undefined;
    let endsWithNewline = true;
    let consumed: Promise<void> = Promise.resolve();
    const r = await runGroup(set.sacct, args, {
      env,
      timeoutMs: set.timeout * 1000,
      signal,
      onStdout: (stdout: Readable) => {
        consumed = (async () => {
          let n = 0;
          for await (const batch of readLineBatches(sacctText(stdout, (b) => (endsWithNewline = b === 10)))) {
            if (garbled) continue;
            try {
              for (const line of batch) filter.feed(line, ++n);
            } catch (err) {
              if (!(err instanceof GarbledOutput)) throw err;
              garbled = err;
            }
          }
        })();
        consumed.catch(() => undefined);
      },
    });
    slot.lastEnd = Date.now();
    await consumed;
    checkStop();
    return classifyExit(r, set.timeout) ??
      (garbled ? { permanent: false, reason: 'garbled', message: `sacct printed garbled output: ${garbled.message}` } : undefined) ??
      (endsWithNewline ? undefined : { permanent: false, reason: 'truncated', message: 'sacct output ends in the middle of a line (truncated)' });
  };

  // One try at a window: its query, then, for its jobs that started before the query's -S, the
  // queries by job id that show all their steps. Its kept rows, or why not.
  const tryWindow = async (chunk: Chunk, slot: Slot): Promise<{ rows: WindowRows; fetchedAt: number } | { failure: Failure }> => {
    // A window that cannot settle yet is asked for exactly, without the slack: it is fetched
    // again when it settles (sb-chunk todo), and that fetch has the slack.
    // A tile (sb-chunk todo) names its query: exactly that span, the slack already inside the window.
    const fetchedAt = Date.now() / 1000;
    const slack = fetchedAt - chunk.end >= set.settle ? set.slack : 0;
    const from = chunk.tile?.query[0] ?? chunk.start - slack;
    const to = chunk.tile?.query[1] ?? chunk.end + slack;
    const filter = new WindowFilter(chunk.cluster, chunk.start, chunk.end, { rowRecords, stepsFrom: from });
    let done = false;
    try {
      const failure = await readCall(sacctArgs(chunk.cluster, from, to, 0, 0), filter, slot, false);
      if (failure) return { failure };
      const jobs = filter.deferred();
      for (const batch of stepQueries(jobs)) {
        const since = (batch[0] as DeferredJob).start - Math.max(set.slack, 1);
        filter.steps(since);
        const ids = [...new Set(batch.map((j) => j.id))];
        // up to the last End it keeps: a tile keeps jobs that ended after its query
        const f = await readCall(sacctStepArgs(chunk.cluster, ids, since, Math.max(to, chunk.end)), filter, slot, true);
        if (f) return { failure: { ...f, message: `${f.message} (the query for the steps of ${batch.length} job(s) that started before -S)` } };
      }
      const missing = filter.missing();
      if (missing.length > 0) {
        const first = missing[0] as DeferredJob;
        const which = `job ${first.id}${first.db >= 0 ? ` (DBIndex ${first.db})` : ''}${missing.length > 1 ? ` and ${missing.length - 1} more` : ''}`;
        return { failure: { permanent: false, reason: 'missing-job', message: `sacct -j did not show ${which} again, asked for the steps` } };
      }
      counts.stepJobs += jobs.length;
      done = true;
      return { rows: filter.finish(), fetchedAt };
    } finally {
      if (!done) filter.rows.close();
    }
  };

  // Does slurmdbd know this cluster? Asked once per process, only when a window gave no rows.
  const clusterKnown = (cluster: string): Promise<boolean> => {
    let p = clusterChecks.get(cluster);
    if (!p) {
      p = (async () => {
        await gate();
        const answer: string[] = [];
        const r = await runGroup(set.sacctmgr, sacctmgrClusterArgs(cluster), {
          env,
          timeoutMs: set.timeout * 1000,
          signal,
          onStdout: (s) => s.setEncoding('utf8').on('data', (d: string) => answer.push(d)),
        });
        checkStop();
        const f = classifyExit(r, set.timeout);
        if (f) throw new ClusterCheckFailed({ ...f, permanent: false, reason: 'cluster-check', message: f.message.replace(/^sacct/, `'${set.sacctmgr}'`) });
        const names = answer.join('').split('\n').map((l) => l.trim().toLowerCase());
        return names.includes(cluster.toLowerCase());
      })();
      clusterChecks.set(cluster, p);
      p.catch(() => clusterChecks.delete(cluster));
    }
    return p;
  };

  const fetchWindow = async (chunk: Chunk): Promise<Outcome> => {
    const slot = await slots.acquire();
    let attempt = 0;
    try {
      let failure: Failure = { permanent: false, reason: 'exit', message: 'not run' };
      while (attempt <= set.retries) {
        attempt++;
        if (attempt > 1) {
          const wait = backoffSeconds(set.backoff, attempt - 1);
          if (set.verbose) say(() => report.info(`${where(chunk)}: attempt ${attempt - 1} failed (${failure.message}); retrying in ${formatDuration(wait)}`));
          await pause(wait * 1000);
        }
        const res = await tryWindow(chunk, slot);
        if ('failure' in res) {
          failure = res.failure;
          if (failure.permanent) break;
          continue;
        }
        if (res.rows.seen > 0) {
          knownClusters.add(chunk.cluster);
        } else if (!knownClusters.has(chunk.cluster)) {
          let known: boolean;
          try {
            known = await clusterKnown(chunk.cluster);
          } catch (err) {
            if (err instanceof ClusterCheckFailed) {
              failure = err.failure;
              continue;
            }
            if (err instanceof SpawnError) {
              failure = { permanent: true, reason: 'cluster-check', message: `sacct gave no rows, and whether slurmdbd knows cluster '${chunk.cluster}' cannot be checked: ${err.message} (give --sacctmgr PATH)` };
              break;
            }
            throw err;
          }
          if (!known) {
            failure = { permanent: true, reason: 'unknown-cluster', message: `cluster '${chunk.cluster}' is not known to slurmdbd (sacct printed no rows, and '${path.basename(set.sacctmgr)} show cluster ${chunk.cluster}' nothing)` };
            break;
          }
          knownClusters.add(chunk.cluster);
        }
        return { ok: true, chunk, rows: res.rows, settled: res.fetchedAt - chunk.end >= set.settle, attempts: attempt };
      }
      // no more sacct calls once a window fails for good
      if (failure.permanent) halted = true;
      return { ok: false, chunk, failure, attempts: attempt };
    } catch (err) {
      if (err instanceof NotTried) return { ok: false, chunk, notTried: true, attempts: attempt };
      throw err;
    } finally {
      slots.release(slot);
    }
  };

  // Output in input order: each window's rows together, then its chunk-done.
  const emit = async (o: Outcome): Promise<void> => {
    const c = o.chunk;
    if (o.ok) {
      const w = o.rows;
      try {
        // The spool holds the window's records as they are printed: its bytes go out as they are.
        await out.flush();
        for (const block of w.rows.buffers()) {
          await writeBytes(io.stdout, block);
          await out.drain();
        }
      } finally {
        w.rows.close();
      }
      out.record({ kind: 'chunk-done', cluster: c.cluster, start: formatTime(c.start), end: formatTime(c.end), ...tileFields(c), rows: w.count, settled: o.settled });
      // Out at once: sb-reduce commits on it, and a gate downstream may wait for that commit.
      await out.flush();
      stats.rows += w.count;
      stats.jobs += w.jobs;
      if (w.orphans > 0) say(() => report.warn(`${where(c)}: ${w.orphans} step line(s) without their job line dropped`));
      if (w.skippedCount > 0) skippedLines(c, w);
    } else if ('notTried' in o) {
      return;
    } else {
      stats.failed++;
      if (o.failure.permanent) stats.permanent++;
      const f = o.failure;
      const ledger = ledgers.of(c.cluster);
      ledger?.append({
        kind: 'failed',
        cluster: c.cluster,
        start: formatTime(c.start),
        end: formatTime(c.end),
        attempts: o.attempts,
        ...(f.status !== undefined ? { status: f.status } : {}),
        ...(f.signal !== undefined ? { signal: f.signal } : {}),
        reason: f.reason,
        permanent: f.permanent,
        error: f.message,
        ...(f.stderr !== undefined ? { stderr: f.stderr } : {}),
        time: formatTime(Math.floor(Date.now() / 1000)),
      });
      const tries = `${o.attempts} attempt${o.attempts === 1 ? '' : 's'}`;
      const told = `${where(c)}: failed ${f.permanent ? 'for good ' : ''}after ${tries}: ${f.message}${ledger ? ` (recorded in ${ledger.path})` : ''}`;
      if (f.permanent) {
        stats.done++;
        // said once the windows left undone are counted
        throw new Halted(told);
      }
      say(() => report.error(told));
    }
    stats.done++;
    progress.update(stats);
  };

  // A window's lines skipped for a control character: each reported, counted as a bad line,
  // and kept in the ledger (at most SKIPPED_KEPT of them a window).
  const skippedLines = (c: Chunk, w: WindowRows): void => {
    counts.skipped += w.skippedCount;
    report.bad += w.skippedCount;
    const time = formatTime(Math.floor(Date.now() / 1000));
    const ledger = ledgers.of(c.cluster);
    for (const s of w.skipped) {
      ledger?.append({ kind: 'skipped-line', cluster: c.cluster, chunk: chunkId(c), query: s.call, line: s.line, job: s.job, fields: s.fields, text: s.text, time });
      const place = s.call === 0 ? `sacct line ${s.line}` : `line ${s.line} of sacct query ${s.call} for steps`;
      say(() => report.error(`${where(c)}: ${place}: ${s.job.includes('.') ? 'step' : 'job'} ${s.job} has a control character in ${s.fields.join(', ')}; line skipped${ledger ? ` (recorded in ${ledger.path})` : ''}: ${s.text}`));
    }
    const more = w.skippedCount - w.skipped.length;
    if (more > 0) say(() => report.error(`${where(c)}: ${more} more line(s) skipped for control characters, not recorded one by one`));
  };

  let tail: Promise<void> = Promise.resolve();
  let windowsOpen = 0;
  const lookahead = set.concurrency === 0 ? Number.POSITIVE_INFINITY : Math.max(4, set.concurrency * 4);
  const chain = (fn: () => void | Promise<void>): void => {
    tail = tail.then(async () => {
      if (stopError === undefined) await fn();
    }).catch(stop);
  };

  // Lines of other kinds join the queue of the windows' output as they are read, so they keep
  // their place in it; consecutive ones go as one entry. Behind a slow window, at most
  // PASSING_BYTES of them wait: the input is read on once they are out.
  let passing: string[] | undefined;
  let passingBytes = 0;
  const passOn = (_rec: Rec, _where: Where, text: string): Promise<void> | undefined => {
    if (stopError !== undefined) return undefined;
    if (passing === undefined) {
      const lines: string[] = [];
      passing = lines;
      chain(async () => {
        if (passing === lines) {
          passing = undefined;
          passingBytes = 0;
        }
        for (const l of lines) out.line(l);
        await out.drain();
      });
    }
    passing.push(text);
    passingBytes += text.length;
    if (passingBytes < PASSING_BYTES) return undefined;
    passing = undefined;
    passingBytes = 0;
    return tail;
  };
  // Windows read after a window failed for good: never tried.
  let unread = 0;
  const stopped = (): boolean => {
    if (stopError instanceof Halted) unread++;
    return stopError !== undefined;
  };
  const window = async (rec: Rec): Promise<void> => {
    if (stopped()) return;
    const chunk = chunkFromRecord(rec);
    while (windowsOpen >= lookahead && stopError === undefined) {
      await new Promise<void>((resolve) => (roomWaiter = resolve));
    }
    if (stopped()) return;
    windowsOpen++;
    stats.windows++;
    passing = undefined;
    passingBytes = 0;
    const result = fetchWindow(chunk).catch((err: unknown) => {
      stop(err);
      throw err;
    });
    result.catch(() => undefined);
    chain(async () => {
      const o = await result;
      windowsOpen--;
      wake();
      await emit(o);
    });
  };

  let inputEnded = false;
  let halt: string | undefined;
  try {
    try {
      await forEachRecord(input, out, lineReport, { chunk: window, '*': passOn });
    } catch (err) {
      if (stopError === undefined) throw err;
    }
    inputEnded = input.stream.readableEnded;
    stats.total = stats.windows;
    await tail;
    if (stopError !== undefined) throw stopError;
    await out.flush();
  } catch (err) {
    stop(err);
    const first = stopError ?? err;
    if (first instanceof Stopped) return caught ? (SIGNAL_STATUS[caught] ?? EXIT.failure) : EXIT.failure;
    if (first instanceof Halted) {
      const left = stats.windows - stats.done + unread;
      halt = `${first.message}; stopping: ${left} window${left === 1 ? '' : 's'} left undone${inputEnded ? '' : ' (and any after them in the input)'}`;
    } else {
      if (first instanceof SpawnError) {
        throw new SbError(`cannot run sacct: ${first.message}; install the Slurm client or give --sacct PATH (or set SB_SACCT)`);
      }
      throw first;
    }
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    killAllGroups();
    progress.clear();
    ledgers.close();
  }
  if (halt !== undefined) report.error(halt);
  if (set.verbose) {
    const steps = counts.stepCalls > 0 ? `, ${counts.stepCalls} of them for the steps of ${counts.stepJobs} job(s) that started before their window's -S` : '';
    const skipped = counts.skipped > 0 ? `, ${counts.skipped} line(s) skipped` : '';
    report.info(`${stats.done} window(s), ${stats.rows} row(s)${skipped}, ${stats.failed} failed${stats.permanent ? ` (${stats.permanent} for good)` : ''}; ${counts.calls} sacct call(s)${steps}`);
  } else {
    stats.total = stats.done;
    progress.finish(stats);
  }
  if (stats.permanent > 0) return EXIT.failure;
  if (stats.failed > 0) return EXIT.tempFail;
  return EXIT.ok;
}

// Where failed windows go: the --failed file, else the store's ledger of each window's cluster
// (opened when first needed), else nowhere.
class FailureLedgers {
  private readonly single: AppendLog | undefined;
  private readonly perCluster = new Map<string, AppendLog>();

  constructor(file: string | undefined, private readonly root: string | undefined) {
    this.single = file === undefined ? undefined : new AppendLog(file);
    // a path that cannot be written is an error before any work is done
    this.single?.open();
  }

  of(cluster: string): AppendLog | undefined {
    if (this.single !== undefined || this.root === undefined) return this.single;
    let log = this.perCluster.get(cluster);
    if (log === undefined) this.perCluster.set(cluster, (log = new AppendLog(failedPath(this.root, cluster))));
    return log;
  }

  close(): void {
    this.single?.close();
    for (const log of this.perCluster.values()) log.close();
  }
}

class ClusterCheckFailed extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

// Writes bytes, waiting while the reader is slow; a closed or failed stream is left to Output
// (its next flush throws PipeClosed or the error).
async function writeBytes(stream: Writable, bytes: Buffer): Promise<void> {
  if (stream.destroyed || stream.write(bytes)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

const US = SACCT_DELIMITER.charCodeAt(0);
const DEL = ROWS_DELIMITER.charCodeAt(0);

// sacct's output as it comes, its delimiter made DEL in place: one pass over the bytes, where
// replacing it in each line's string costs several times as much. A DEL sacct printed itself
// becomes the unit separator, so that it is a control character in its value (the line is
// skipped), not one field too many. `last` is told each chunk's last byte (a last line without
// a newline was cut short).
async function* sacctText(stdout: Readable, last: (byte: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of stdout as AsyncIterable<Buffer>) {
    if (chunk.length === 0) continue;
    delimitByDel(chunk);
    last(chunk[chunk.length - 1] as number);
    yield chunk;
  }
}

function delimitByDel(b: Buffer): void {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === US) b[i] = DEL;
    else if (c === DEL) b[i] = US;
  }
}

// Whether a stream reads a regular file (which ends, and never waits for us).
function isFile(stream: Readable): boolean {
  const fd = (stream as Readable & { fd?: unknown }).fd;
  try {
    return typeof fd === 'number' && fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function where(c: Chunk): string {
  return `${c.cluster} ${chunkId(c)}`;
}
