import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { type Args, type Context, type Tool, maxOperands, optInt, optString } from '../core/cli/run.js';
import { type Chunk, chunkFromRecord, chunkId } from '../core/records/chunk.js';
import { durationOption, formatDuration } from '../core/sacct/duration.js';
import { EXIT, PipeClosed, SbError, UsageError } from '../core/cli/errors.js';
import { AppendLog } from './sacct/append-log.js';
import { readLineBatches } from '../core/cli/lines.js';
import { type Rec, forEachRecord } from '../core/cli/input.js';
import { Output } from '../core/cli/output.js';
import { SacctClock } from '../core/sacct/time.js';
import { type GroupResult, SpawnError, killAllGroups, runGroup } from './sacct/process-group.js';
import { ProgressLine, progressWanted } from './sacct/progress.js';
import { readAhead } from './sacct/read-ahead.js';
import { type Rate, ensureRateDir, parseRate, rateDir, takeTicket } from '../core/sacct/rate-limit.js';
import { Spool } from './sacct/spool.js';
import {
  SACCT_DELIMITER,
  SACCT_FIELDS,
  isDatabaseError,
  isPermanentError,
  lastLine,
  sacctArgs,
  sacctEnv,
  sacctmgrClusterArgs,
} from './sacct/command.js';
import { formatTime } from '../core/records/time.js';
import { failedPath } from '../core/store/chunk-ledger.js';
import { storeRoot } from '../core/store/store.js';

export const USAGE = `Usage: sb-sacct [options] [FILE]

Run sacct once for each 'chunk' record read from FILE or stdin and print the
jobs whose End lies in that window: the window's 'rows' records (its field list
and up to 4096 raw sacct lines each; steps right after their job), then one
'chunk-done' record; or, if the window fails, nothing at all for it. Records of
other kinds pass through in order.

Each window runs, with SACCT_* and SLURM_TIME* removed from the environment:
  TZ=UTC sacct -a -n -p --delimiter=$'\\x1f' --duplicates --noconvert
    -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S START-SLACK -E END+SLACK -M CLUSTER
    -o ${SACCT_FIELDS.join(',')}

Options:
      --sacct PATH         the sacct program (default: $SB_SACCT, else sacct)
      --sacctmgr PATH      asked whether a cluster that gave no rows exists
                           (default: $SB_SACCTMGR, else sacctmgr beside sacct,
                           else sacctmgr)
      --slack DURATION     widen the query by this before and after (default: 15m);
                           a window that cannot settle yet is asked exactly
      --settle DURATION    windows ending less than this before now are
                           'settled: false' (default: 15m)
      --sacct-timeout SEC  kill sacct and all it started after SEC (default: 120)
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
sb-chunk from-file FILE), 1 a window failed for good or another error, 2 usage
error, 65 bad input lines under --strict.
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
  main,
};

// sacct printed something that is not a whole line of our field list: retry the window.
export class GarbledOutput extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GarbledOutput';
  }
}

const NFIELDS = SACCT_FIELDS.length;
// The delimiter of `rows` lines: DEL, which no kept line holds (sacct's output with one is
// garbled) and which JSON, unlike sacct's unit separator, writes as it is (1 byte, not 6).
// sacct's delimiter becomes DEL as its output arrives (sacctText), so lines are read with it.
export const ROWS_DELIMITER = '\x7f';
// A line of ours: every field ending in the delimiter, DBIndex digits or empty, JobIDRaw an id;
// captures, in field order, DBIndex, the job id and step of JobIDRaw, and End. In a plain line
// no value holds a character JSON escapes; any other may hold a quote, a backslash or a tab.
const linePattern = (value: string): RegExp => {
  const field: Record<string, string> = { DBIndex: '(\\d*)', JobIDRaw: '(\\d+)(\\.[A-Za-z0-9_+-]+)?', End: `(${value})` };
  return new RegExp(`^${SACCT_FIELDS.map((f) => `${field[f] ?? value}\\x7f`).join('')}$`);
};
const PLAIN_LINE = linePattern('[^\\x00-\\x1f"\\\\\\x7f]*');
const LINE = linePattern('[^\\x00-\\x08\\x0a-\\x1f\\x7f]*');
const CONTROL = /[\x00-\x08\x0a-\x1f]/;
const FIELD_KEYS = SACCT_FIELDS.map((f) => `${JSON.stringify(f)}:`);

// A `rows` record holds at most this many lines, and is closed once past this many bytes.
export const ROWS_MAX_LINES = 4096;
export const ROWS_MAX_BYTES = 1024 * 1024;

export interface FilterOptions {
  // One `row` record per line (sb-sacct --row-records) instead of batched `rows` records.
  rowRecords?: boolean;
  maxLines?: number;
  maxBytes?: number;
}

interface PendingStep {
  db: number;
  // The step as its output element: a `rows` line (a JSON string) or a whole `row` record.
  text: string;
}

export interface WindowRows {
  // The window's records, serialized as NDJSON (each ends in a newline).
  rows: Spool;
  // sacct lines kept.
  count: number;
  // sacct lines read, kept or not.
  seen: number;
  // Step lines without a job line to go with; dropped.
  orphans: number;
  // Job lines kept (the rest are their steps).
  jobs: number;
}

// Keeps the lines of one window's sacct output whose job's End (UTC) lies in [start, end]; a
// step (JobIDRaw `N.x`) goes with the job line of the same JobIDRaw N (and the same DBIndex when
// it has one; otherwise the latest such job line before it, for requeued duplicates). Rows keep
// sacct's order, except that a step printed before its job line follows that job line (sb-parse
// folds a step into the job row before it). Throws GarbledOutput on a line that is not exactly
// the field list.
//
// Kept lines become `rows` records (the window's field list once, then up to ROWS_MAX_LINES raw
// lines without their final delimiter, the delimiter written as DEL, as JSON strings), or `row`
// records with rowRecords.
export class WindowFilter {
  readonly rows = new Spool();
  // sacct runs with TZ=UTC: its naive times are UTC.
  private readonly clock = new SacctClock();
  // Steps seen before any job line of their id, by job id.
  private readonly pendingSteps = new Map<number, PendingStep[]>();
  private pendingCount = 0;
  // Job id → its latest job line: (DBIndex + 1) × 2 + (1 if kept), DBIndex -1 when empty.
  private readonly jobs = new Map<number, number>();
  // Job ids seen more than once (requeued runs without DBIndex, recycled ids): every entry.
  private readonly repeats = new Map<number, number[]>();
  private readonly prefix: string;
  private readonly header: string;
  private readonly rowRecords: boolean;
  private readonly maxLines: number;
  private readonly maxBytes: number;
  // Lines and bytes in the open `rows` record (0 lines: none open).
  private recLines = 0;
  private recBytes = 0;
  private kept = 0;
  private seen = 0;
  private jobsKept = 0;

  constructor(cluster: string, private readonly start: number, private readonly end: number, opts: FilterOptions = {}) {
    const head = `"cluster":${JSON.stringify(cluster)},"chunk":${JSON.stringify(chunkId({ cluster, start, end }))}`;
    this.prefix = `{"kind":"row",${head},"f":{`;
    this.header = `{"kind":"rows",${head},"fields":${JSON.stringify(SACCT_FIELDS)},"delimiter":"\\u007f","lines":[`;
    this.rowRecords = opts.rowRecords === true;
    this.maxLines = opts.maxLines ?? ROWS_MAX_LINES;
    this.maxBytes = opts.maxBytes ?? ROWS_MAX_BYTES;
  }

  // One line of sacct's output (its delimiter made DEL) without its newline, and its number.
  feed(line: string, n: number): void {
    if (line === '') return;
    let m = PLAIN_LINE.exec(line);
    const plain = m !== null;
    m ??= LINE.exec(line);
    if (m === null) throw garbled(line, n);
    const jobId = Number(m[2]);
    const db = m[1] === '' ? -1 : Number(m[1]);
    this.seen++;
    if (m[3] === undefined) {
      if (this.jobLine(jobId, db, this.endOf(m[4] as string, m[2] as string, n))) {
        this.jobsKept++;
        this.put(this.element(line, plain));
        this.stepsOf(jobId, db, true);
      } else this.stepsOf(jobId, db, false);
      return;
    }
    const job = this.jobOf(jobId, db);
    if (job === undefined) this.hold(jobId, db, this.element(line, plain));
    else if (job % 2 === 1) this.put(this.element(line, plain));
  }

  finish(): WindowRows {
    if (this.recLines > 0) this.closeRecord();
    return { rows: this.rows, count: this.kept, seen: this.seen, orphans: this.pendingCount, jobs: this.jobsKept };
  }

  // A job line's End as epoch seconds; a job that has none (Unknown) or no time is garbled.
  private endOf(text: string, rawId: string, n: number): number {
    let end: number | null = null;
    try {
      end = this.clock.read('End', text);
    } catch {
      // not a time: said below
    }
    if (end === null) throw new GarbledOutput(`line ${n}: job ${rawId} has End '${text}', not a time`);
    return end;
  }

  // Records a job line; whether it is kept (its End in the window).
  private jobLine(jobId: number, dbNum: number, end: number): boolean {
    const keep = end >= this.start && end <= this.end;
    const entry = (dbNum + 1) * 2 + (keep ? 1 : 0);
    const before = this.jobs.get(jobId);
    if (before !== undefined) {
      const list = this.repeats.get(jobId);
      if (list) list.push(entry);
      else this.repeats.set(jobId, [before, entry]);
    }
    this.jobs.set(jobId, entry);
    return keep;
  }

  // A step seen before its job line: held until a job line it goes with.
  private hold(jobId: number, db: number, text: string): void {
    const list = this.pendingSteps.get(jobId);
    if (list) list.push({ db, text });
    else this.pendingSteps.set(jobId, [{ db, text }]);
    this.pendingCount++;
  }

  // The held steps of a job line just read: put right after it when it is kept, else dropped.
  private stepsOf(jobId: number, db: number, keep: boolean): void {
    if (this.pendingCount === 0) return;
    const list = this.pendingSteps.get(jobId);
    if (list === undefined) return;
    const rest: PendingStep[] = [];
    for (const step of list) {
      if (step.db !== -1 && db !== -1 && step.db !== db) {
        rest.push(step);
        continue;
      }
      this.pendingCount--;
      if (keep) this.put(step.text);
    }
    if (rest.length > 0) this.pendingSteps.set(jobId, rest);
    else this.pendingSteps.delete(jobId);
  }

  // The job line a step goes with, as its entry; undefined if none (yet).
  private jobOf(jobId: number, db: number): number | undefined {
    const last = this.jobs.get(jobId);
    if (last === undefined || db === -1 || Math.floor(last / 2) === db + 1) return last;
    const list = this.repeats.get(jobId) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (Math.floor((list[i] as number) / 2) === db + 1) return list[i];
    return undefined;
  }

  // One kept line, as its output element (a `row` record, or a `rows` line as a JSON string).
  private put(text: string): void {
    this.kept++;
    if (this.rowRecords) {
      this.rows.write(text + '\n');
      return;
    }
    this.rows.write(this.recLines === 0 ? this.header + text : ',' + text);
    this.recLines++;
    this.recBytes += text.length;
    if (this.recLines >= this.maxLines || this.recBytes >= this.maxBytes) this.closeRecord();
  }

  private closeRecord(): void {
    this.rows.write(']}\n');
    this.recLines = 0;
    this.recBytes = 0;
  }

  // A kept line as its output element: a `rows` line (a JSON string, less the final delimiter)
  // or a `row` record. `plain`: no value holds a character JSON escapes, so each goes in as it is.
  private element(line: string, plain: boolean): string {
    if (!this.rowRecords) return plain ? `"${line.slice(0, -1)}"` : JSON.stringify(line.slice(0, -1));
    const parts = line.split(ROWS_DELIMITER);
    let s = this.prefix;
    for (let i = 0; i < NFIELDS; i++) {
      const v = parts[i] as string;
      s += (i > 0 ? ',' : '') + FIELD_KEYS[i] + (plain ? `"${v}"` : JSON.stringify(v));
    }
    return s + '}}';
  }
}

// Why a line is not one of ours (LINE does not match it).
function garbled(line: string, n: number): GarbledOutput {
  const parts = line.split(ROWS_DELIMITER);
  if (parts.length !== NFIELDS + 1 || parts[NFIELDS] !== '') {
    const found = parts[parts.length - 1] === '' ? parts.length - 1 : parts.length;
    return new GarbledOutput(`line ${n} has ${found} fields, expected ${NFIELDS} each ending in the delimiter`);
  }
  if (CONTROL.test(line)) return new GarbledOutput(`line ${n} has a control character`);
  return new GarbledOutput(`line ${n}: JobIDRaw '${parts[SACCT_FIELDS.indexOf('JobIDRaw')]}' or DBIndex '${parts[SACCT_FIELDS.indexOf('DBIndex')]}' is not an id`);
}

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
  | { ok: true; chunk: Chunk; rows: Spool; count: number; jobs: number; settled: boolean; attempts: number; orphans: number }
  | { ok: false; chunk: Chunk; failure: Failure; attempts: number };

// Aborted: the run is stopping (the reader went away, a signal); not a window failure.
class Stopped extends Error {}

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
const PASSING = 4;
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
    input.stream.destroy();
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

  // One sacct call for one window: its kept rows, or why not.
  const callSacct = async (chunk: Chunk, slack: number): Promise<{ rows: ReturnType<WindowFilter['finish']> } | { failure: Failure }> => {
    const filter = new WindowFilter(chunk.cluster, chunk.start, chunk.end, { rowRecords });
    let garbled: GarbledOutput | undefined;
    let endsWithNewline = true;
    let consumed: Promise<void> = Promise.resolve();
    const r = await runGroup(set.sacct, sacctArgs(chunk.cluster, chunk.start, chunk.end, slack, slack), {
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
    try {
      await consumed;
      checkStop();
    } catch (err) {
      filter.rows.close();
      throw err;
    }
    const failure = classifyExit(r, set.timeout) ??
      (garbled ? { permanent: false, reason: 'garbled', message: `sacct printed garbled output: ${garbled.message}` } : undefined) ??
      (endsWithNewline ? undefined : { permanent: false, reason: 'truncated', message: 'sacct output ends in the middle of a line (truncated)' });
    if (failure) {
      filter.rows.close();
      return { failure };
    }
    return { rows: filter.finish() };
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
    try {
      let failure: Failure = { permanent: false, reason: 'exit', message: 'not run' };
      let attempt = 0;
      while (attempt <= set.retries) {
        attempt++;
        if (attempt > 1) {
          const wait = backoffSeconds(set.backoff, attempt - 1);
          if (set.verbose) say(() => report.info(`${where(chunk)}: attempt ${attempt - 1} failed (${failure.message}); retrying in ${formatDuration(wait)}`));
          await pause(wait * 1000);
        }
        await pause(slot.lastEnd + set.sleep * 1000 - Date.now());
        await gate();
        checkStop();
        // A window that cannot settle yet is asked for exactly, without the slack: it is fetched
        // again when it settles (sb-chunk todo), and that fetch has the slack.
        const settled = Date.now() / 1000 - chunk.end >= set.settle;
        const res = await callSacct(chunk, settled ? set.slack : 0);
        slot.lastEnd = Date.now();
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
        return { ok: true, chunk, rows: res.rows.rows, count: res.rows.count, jobs: res.rows.jobs, settled, attempts: attempt, orphans: res.rows.orphans };
      }
      return { ok: false, chunk, failure, attempts: attempt };
    } finally {
      slots.release(slot);
    }
  };

  // Output in input order: each window's rows together, then its chunk-done.
  const emit = async (o: Outcome): Promise<void> => {
    const c = o.chunk;
    if (o.ok) {
      try {
        // The spool holds the window's records as they are printed: its bytes go out as they are.
        await out.flush();
        for (const block of o.rows.buffers()) {
          await writeBytes(io.stdout, block);
          await out.drain();
        }
      } finally {
        o.rows.close();
      }
      out.record({ kind: 'chunk-done', cluster: c.cluster, start: formatTime(c.start), end: formatTime(c.end), rows: o.count, settled: o.settled });
      // Out at once: sb-reduce commits on it, and a gate downstream may wait for that commit.
      await out.flush();
      stats.rows += o.count;
      stats.jobs += o.jobs;
      if (o.orphans > 0) say(() => report.warn(`${where(c)}: ${o.orphans} step line(s) without their job line dropped`));
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
      say(() => report.error(`${where(c)}: failed after ${tries}${f.permanent ? ' (not retried: permanent)' : ''}: ${f.message}${ledger ? ` (recorded in ${ledger.path})` : ''}`));
    }
    stats.done++;
    progress.update(stats);
  };

  let tail: Promise<void> = Promise.resolve();
  let windowsOpen = 0;
  const lookahead = set.concurrency === 0 ? Number.POSITIVE_INFINITY : Math.max(4, set.concurrency * 4);
  const chain = (fn: () => void | Promise<void>): void => {
    tail = tail.then(async () => {
      if (stopError === undefined) await fn();
    }).catch(stop);
  };

  // Lines of other kinds, as forEachRecord passes them through, join the queue of the windows'
  // output, so they keep their place in it: a window is queued once passed.flush() returns,
  // which (highWaterMark 0) waits until every line read before it is queued. Behind a slow
  // window, at most PASSING blocks of them wait: the input is read on once they are out.
  let passing = 0;
  const passed = new Output(new Writable({
    highWaterMark: 0,
    write(block: Buffer, _encoding, done) {
      const text = block.toString('utf8', 0, block.length - 1);
      passing++;
      chain(async () => {
        passing--;
        out.line(text);
        await out.drain();
      });
      if (passing > PASSING) void tail.then(() => done());
      else done();
    },
  }));
  const window = async (rec: Rec): Promise<void> => {
    if (stopError !== undefined) return;
    const chunk = chunkFromRecord(rec);
    await passed.flush();
    while (windowsOpen >= lookahead && stopError === undefined) {
      await new Promise<void>((resolve) => (roomWaiter = resolve));
    }
    if (stopError !== undefined) return;
    windowsOpen++;
    stats.windows++;
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

  try {
    try {
      await forEachRecord(input, passed, report, { chunk: window });
      await passed.flush();
    } catch (err) {
      if (stopError === undefined) throw err;
    }
    stats.total = stats.windows;
    await tail;
    if (stopError !== undefined) throw stopError;
    await out.flush();
  } catch (err) {
    stop(err);
    const first = stopError ?? err;
    if (first instanceof Stopped) return caught ? (SIGNAL_STATUS[caught] ?? EXIT.failure) : EXIT.failure;
    if (first instanceof SpawnError) {
      throw new SbError(`cannot run sacct: ${first.message}; install the Slurm client or give --sacct PATH (or set SB_SACCT)`);
    }
    if (first instanceof PipeClosed) throw first;
    throw first;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
    killAllGroups();
    progress.clear();
    ledgers.close();
  }
  if (set.verbose) {
    report.info(`${stats.done} window(s), ${stats.rows} row(s), ${stats.failed} failed${stats.permanent ? ` (${stats.permanent} for good)` : ''}`);
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
// makes one field too many (garbled). `last` is told each chunk's last byte (a last line
// without a newline was cut short).
async function* sacctText(stdout: Readable, last: (byte: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of stdout as AsyncIterable<Buffer>) {
    if (chunk.length === 0) continue;
    delimitByDel(chunk);
    last(chunk[chunk.length - 1] as number);
    yield chunk;
  }
}

function delimitByDel(b: Buffer): void {
  for (let i = 0; i < b.length; i++) if (b[i] === US) b[i] = DEL;
}

function where(c: Chunk): string {
  return `${c.cluster} ${chunkId(c)}`;
}
