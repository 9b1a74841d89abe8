import { type Context as RunContext, type Io, type Tool, maxOperands, optInt, optNumber, optString } from '../core/cli/run.js';
import { chunkFromRecord, chunkId } from '../core/records/chunk.js';
import { compactFailed, failedPath, formatLedger, recordChunk, type ChunkLedger } from '../core/store/chunk-ledger.js';
import { BadInput, SbError, UsageError } from '../core/cli/errors.js';
import { jobLimitProblem, type JobRecord } from '../core/records/job.js';
import { acquireLock, describeOwner } from '../core/store/lock.js';
import { addTotals, jobTotals, zeroTotals, type Totals } from '../core/scores/metrics.js';
import { forEachRecord, stringField, type Rec } from '../core/cli/input.js';
import { homeDirs, homeOptouts, readOptoutList } from '../core/scores/optout.js';
import type { Output } from '../core/cli/output.js';
import type { Reporter } from '../core/cli/report.js';
import {
  accountsFromDaily,
  formatDaily,
  formatPeriod,
  formatUserFile,
  monthFromDaily,
  type AccountBins,
  type AccountSums,
  type DailyBins,
  type DailyText,
  type UserSums,
} from '../core/store/rollup-files.js';
import { encodeSeen, jobIdentity, seenOwner, KeyBatch, type KeyCode, type SeenSet } from '../core/store/seen.js';
import { ClusterStore, crashHook, formatDirty, newTxnId, storeRoot, type CrashPoint, type FileWrite } from '../core/store/store.js';
import { formatTime } from '../core/records/time.js';

export const USAGE = `Usage: sb-reduce [--root DIR] [options] [FILE]

Add 'job' records to the store's rollups exactly once, and record the windows
that 'chunk-done' records close. Reads NDJSON from FILE or stdin; records of
other kinds pass through to stdout untouched. Prints one 'commit' record per
transaction:

  {"kind":"commit","cluster":"hammer","processed":N,"new_jobs":N,
   "duplicates":N,"months_changed":[..],"users_changed":[..],
   "chunks_done":N,...}

Every chunk-done closes a transaction holding its window's jobs and the ledger
entry saying the window is done, all or nothing; a long stream also commits
every --batch jobs. A job is added only if its key is not in the store yet.
Kill it at any instant and run it again: the totals are those of one clean run.

Options:
  -r, --root DIR       the store (default: $SB_ROOT)
  -b, --batch N        commit at least every N jobs (default: 50000)
  -w, --wait SECONDS   wait this long for a cluster's lock held by another run,
                       then exit 3 (default: 60)
      --stale SECONDS  a lock holder on another host whose heartbeat is older
                       than this is dead (default: 60); one on this host is dead
                       as soon as its process is gone
      --check          verify the store's cluster directories and exit: dedupe
                       state, daily, monthly, yearly and all-time files agree
      --rebuild        rewrite the derived files (monthly, yearly, all-time per
                       user) from the daily bins and the dedupe state, and exit:
                       the recovery when --check finds them wrong
      --fill-accounts  fill in the account data of days counted before sb-reduce
                       kept accounts, from the same jobs fetched again (sb-chunk
                       todo --refetch | sb-sacct | sb-parse, no sb-dedupe): a
                       day is filled only if the jobs fetched are exactly those
                       counted, and only once; user totals are never changed.
                       Prints a 'fill' record per month
  -v, --verbose        say what each run did on stderr
      --strict         exit 65 at the end if any input line was bad
      --errors FMT     diagnostics as 'text' (default) or 'json' lines on stderr
  -h, --help           print this help and exit
  -V, --version        print the version and exit

Exit status: 0 ok, 1 failure (corrupt store, I/O error), 2 usage error,
3 lock held by another run, 65 bad input under --strict.

Example: sb-chunk todo -s 2024-01-01 -e now | sb-sacct | sb-parse | sb-reduce
`;

export const tool: Tool = {
  name: 'sb-reduce',
  usage: USAGE,
  options: {
    string: ['root', 'batch', 'wait', 'stale'],
    boolean: ['verbose', 'check', 'rebuild', 'fill-accounts'],
    alias: { r: 'root', b: 'batch', w: 'wait', v: 'verbose' },
  },
  reads: true,
  main,
};

// What sb-reduce keeps of one job until its transaction: 50 000 of these are a few MB.
export interface PendingJob {
  code: KeyCode;
  month: string;
  day: string;
  user: string;
  // the Slurm account the job was charged to ('' for none)
  account: string;
  totals: Totals;
}

const NONNEG_INT = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const NONNEG = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

// A job record → what its transaction needs; throws BadInput naming the bad field.
export function pendingJob(rec: Rec): { cluster: string; job: PendingJob } {
  const { cluster, month, code } = jobIdentity(rec);
  const user = stringField(rec, 'user');
  // control characters, and U+FFFD: what invalid UTF-8 decodes to, which would merge two users
  if (/[\u0000-\u001f\u007f-\u009f\ufffd]/.test(user)) throw new BadInput(`'user' ${JSON.stringify(user)} is not a user name (control characters or invalid UTF-8)`);
  const account = rec['account'] ?? '';
  if (typeof account !== 'string') throw new BadInput(`'account' ${JSON.stringify(account)} is not a string`);
  if (/[\u0000-\u001f\u007f-\u009f\ufffd]/.test(account)) throw new BadInput(`'account' ${JSON.stringify(account)} is not an account name (control characters or invalid UTF-8)`);
  const end = rec['end'] as string;
  for (const f of ['elapsed_s', 'cpus', 'gpus']) {
    if (!NONNEG_INT(rec[f])) throw new BadInput(`'${f}' ${JSON.stringify(rec[f])} is not a whole number`);
  }
  if (!NONNEG(rec['req_mem_bytes'])) throw new BadInput(`'req_mem_bytes' ${JSON.stringify(rec['req_mem_bytes'])} is not a number of bytes`);
  if (rec['max_rss_bytes'] !== null && rec['max_rss_bytes'] !== undefined && !NONNEG(rec['max_rss_bytes'])) {
    throw new BadInput(`'max_rss_bytes' ${JSON.stringify(rec['max_rss_bytes'])} is not a number of bytes or null`);
  }
  if (rec['nodes'] !== undefined && !NONNEG_INT(rec['nodes'])) throw new BadInput(`'nodes' ${JSON.stringify(rec['nodes'])} is not a whole number`);
  const limit = jobLimitProblem({
    cpus: rec['cpus'] as number,
    nodes: (rec['nodes'] as number | undefined) ?? 0,
    gpus: rec['gpus'] as number,
    elapsed_s: rec['elapsed_s'] as number,
    req_mem_bytes: rec['req_mem_bytes'] as number,
    max_rss_bytes: (rec['max_rss_bytes'] as number | null | undefined) ?? null,
  });
  if (limit !== undefined) throw new BadInput(`${limit}: its totals could not stay exact`);
  if (typeof rec['state'] !== 'string') throw new BadInput(`'state' is missing or not a string`);
  if (rec['failed'] !== undefined && typeof rec['failed'] !== 'boolean') throw new BadInput(`'failed' is not true or false`);
  return {
    cluster,
    job: { code, month, day: end.slice(8, 10), user, account, totals: jobTotals(rec as unknown as JobRecord) },
  };
}

export interface PendingChunk {
  start: number;
  end: number;
  settled: boolean;
}

export function pendingChunk(rec: Rec): { cluster: string; chunk: PendingChunk } {
  const c = chunkFromRecord(rec);
  const settled = rec['settled'];
  if (settled !== undefined && typeof settled !== 'boolean') throw new BadInput(`'settled' is not true or false`);
  return { cluster: c.cluster, chunk: { start: c.start, end: c.end, settled: settled !== false } };
}

export interface CommitRecord {
  kind: 'commit';
  cluster: string;
  processed: number;
  new_jobs: number;
  duplicates: number;
  months_changed: string[];
  users_changed: string[];
  chunks_done: number;
  users_hidden: number;
  chunk?: string;
  settled?: boolean;
  txn: string | null;
}

// What a transaction adds: decided from the month's dedupe state, pure so it is unit tested.
export interface Delta {
  newJobs: number;
  duplicates: number;
  // month → the keys it gains
  keys: Map<string, KeyBatch>;
  // month → user → day → totals
  days: Map<string, Map<string, Map<string, Totals>>>;
  // month → account → user → day → totals (the same jobs, by account)
  accounts: Map<string, AccountBins>;
}

export function computeDelta(jobs: readonly PendingJob[], seen: (month: string) => SeenSet): Delta {
  const d: Delta = { newJobs: 0, duplicates: 0, keys: new Map(), days: new Map(), accounts: new Map() };
  for (const j of jobs) {
    let batch = d.keys.get(j.month);
    if (seen(j.month).has(j.code) || batch?.has(j.code) === true) {
      d.duplicates++;
      continue;
    }
    if (batch === undefined) d.keys.set(j.month, (batch = new KeyBatch()));
    batch.add(j.code);
    d.newJobs++;
    let users = d.days.get(j.month);
    if (users === undefined) d.days.set(j.month, (users = new Map()));
    let days = users.get(j.user);
    if (days === undefined) users.set(j.user, (days = new Map()));
    const t = days.get(j.day);
    if (t === undefined) days.set(j.day, { ...j.totals });
    else addTotals(t, j.totals);
    addAccount(d.accounts, j);
  }
  return d;
}

function addAccount(into: Map<string, AccountBins>, j: PendingJob): void {
  let accounts = into.get(j.month);
  if (accounts === undefined) into.set(j.month, (accounts = new Map()));
  let users = accounts.get(j.account);
  if (users === undefined) accounts.set(j.account, (users = new Map()));
  let days = users.get(j.user);
  if (days === undefined) users.set(j.user, (days = new Map()));
  addInto(days, j.day, j.totals);
}

function addInto(map: Map<string, Totals>, key: string, t: Totals): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, { ...t });
  else addTotals(cur, t);
}

// Files loaded under the lock, valid while the store's txn is the one they were read at. Kept
// across transactions so a long stream does not re-read its months; months not used for a few
// transactions are dropped, so memory stays flat over a backfill.
class Cache {
  txn: string | undefined;
  seen = new Map<string, SeenSet>();
  daily = new Map<string, DailyBins>();
  dailyText = new Map<string, DailyText>();
  accounts = new Map<string, AccountBins>();
  accountText = new Map<string, Map<string, DailyText>>();
  yearly = new Map<string, UserSums>();
  yearlyAccounts = new Map<string, AccountSums>();
  ledger: ChunkLedger | undefined;
  dirty: Set<string> | undefined;
  private used = new Map<string, number>();
  private tick = 0;

  clear(txn: string | undefined): void {
    this.txn = txn;
    this.seen.clear();
    this.daily.clear();
    this.dailyText.clear();
    this.accounts.clear();
    this.accountText.clear();
    this.yearly.clear();
    this.yearlyAccounts.clear();
    this.ledger = undefined;
    this.dirty = undefined;
    this.used.clear();
  }

  touch(month: string): void {
    this.used.set(month, this.tick);
  }

  // After a transaction: forget months unused for the last few transactions.
  age(keep = 4): void {
    this.tick++;
    for (const [m, t] of this.used) {
      if (this.tick - t > keep) {
        this.used.delete(m);
        this.seen.delete(m);
        this.daily.delete(m);
        this.dailyText.delete(m);
        this.accounts.delete(m);
        this.accountText.delete(m);
      }
    }
  }
}

interface Context {
  root: string;
  io: Io;
  report: Reporter;
  out: Output;
  waitMs: number;
  staleMs: number;
  flushMs: number;
  verbose: boolean;
  crash: (p: CrashPoint) => void;
  optout: { list: Set<string> | undefined; home: Map<string, boolean> };
  clusters: Map<string, ClusterState>;
}

interface ClusterState {
  store: ClusterStore;
  cache: Cache;
  jobs: PendingJob[];
  lastFlush: number;
  fence: () => void;
  stats: { read: number; added: number; duplicates: number; commits: number; written: number; flushed: number };
}

function clusterState(ctx: Context, cluster: string): ClusterState {
  let st = ctx.clusters.get(cluster);
  if (st === undefined) {
    st = {
      store: new ClusterStore(ctx.root, cluster, ctx.crash),
      cache: new Cache(),
      jobs: [],
      lastFlush: Date.now(),
      fence: () => undefined,
      stats: { read: 0, added: 0, duplicates: 0, commits: 0, written: 0, flushed: 0 },
    };
    ctx.clusters.set(cluster, st);
  }
  return st;
}

// Without the lock: can the cache alone prove that the transaction changes nothing? The store only
// grows (keys are added, windows marked done), so what any earlier state holds, the current holds.
function provablyNothingNew(cache: Cache, jobs: readonly PendingJob[], chunk: PendingChunk | undefined): boolean {
  if (cache.txn === undefined) return false;
  for (const j of jobs) {
    const s = cache.seen.get(j.month);
    if (s === undefined || !s.has(j.code)) return false;
  }
  if (chunk === undefined) return true;
  return cache.ledger !== undefined && recordChunk(cache.ledger, [chunk.start, chunk.end], chunk.settled) === undefined;
}

// Users who opted out (config/optout.txt, ~user/.slurm_scoreboard_optout) are never named in what
// sb-reduce prints; their numbers stay in the store (see sb-reduce(1), PRIVACY).
function visibleUsers(ctx: Context, users: string[]): { shown: string[]; hidden: number } {
  if (users.length === 0) return { shown: [], hidden: 0 };
  ctx.optout.list ??= readOptoutList(ctx.root);
  const unknown = users.filter((u) => !ctx.optout.home.has(u) && !ctx.optout.list?.has(u));
  if (unknown.length > 0) {
    const found = homeOptouts(homeDirs(unknown, ctx.io.env));
    for (const u of unknown) ctx.optout.home.set(u, found.users.has(u));
  }
  const shown = users.filter((u) => !ctx.optout.list?.has(u) && ctx.optout.home.get(u) !== true);
  return { shown, hidden: users.length - shown.length };
}

async function transact(ctx: Context, cluster: string, chunk: PendingChunk | undefined): Promise<void> {
  const st = clusterState(ctx, cluster);
  const jobs = st.jobs;
  st.jobs = [];
  st.stats.read += jobs.length;
  const rec: CommitRecord = {
    kind: 'commit',
    cluster,
    processed: jobs.length,
    new_jobs: 0,
    duplicates: jobs.length,
    months_changed: [],
    users_changed: [],
    chunks_done: chunk === undefined ? 0 : 1,
    users_hidden: 0,
    ...(chunk === undefined ? {} : { chunk: chunkId({ cluster, start: chunk.start, end: chunk.end }), settled: chunk.settled }),
    txn: null,
  };
  if (!provablyNothingNew(st.cache, jobs, chunk)) {
    const flush = Date.now() - st.lastFlush >= ctx.flushMs;
    await underLock(ctx, st, () => {
      addJobs(ctx, st, jobs, chunk, rec);
      if (flush) flushUsers(ctx, st);
    });
  }
  st.stats.added += rec.new_jobs;
  st.stats.duplicates += rec.duplicates;
  st.stats.commits++;
  ctx.out.record(rec);
  // Each commit goes out at once: what reads it (an ack, a log) should not wait for 64 KB of them.
  await ctx.out.flush();
}

// Runs work under the cluster's lock, after recovery, with the cache made current.
async function underLock(ctx: Context, st: ClusterState, work: (fence: () => void) => void): Promise<void> {
  const { store, cache } = st;
  const lock = await acquireLock(store.lockPath, {
    tool: 'sb-reduce',
    what: `the lock of cluster ${store.cluster} (${store.lockPath})`,
    waitMs: ctx.waitMs,
    staleMs: ctx.staleMs,
    onWait: (o) => {
      if (ctx.verbose) ctx.report.info(`${store.cluster}: waiting for the lock held by ${describeOwner(o)}`);
    },
    onBreak: (o, why) => ctx.report.warn(`${store.cluster}: broke the lock of ${describeOwner(o)}: ${why}`),
  });
  try {
    ctx.crash('locked');
    const r = store.recover();
    if (r.rolledForward > 0) ctx.report.warn(`${store.cluster}: finished an interrupted commit (${r.rolledForward} files)`);
    else if (r.removed > 0 && ctx.verbose) ctx.report.info(`${store.cluster}: removed ${r.removed} files of an unfinished commit`);
    const txn = store.readTxn();
    if (cache.txn !== txn) cache.clear(txn);
    st.fence = () => {
      if (!lock.holds()) throw new SbError(`${store.cluster}: lost the store's lock (broken by another run that took this one for dead); nothing was committed`);
      if (store.readTxn() !== cache.txn) throw new SbError(`${store.cluster}: the store changed under the lock; nothing was committed`);
      lock.beat();
    };
    try {
      work(st.fence);
    } catch (err) {
      cache.clear(undefined);
      throw err;
    }
    cache.age();
  } finally {
    lock.release();
  }
}

// Commits files plus a new txn id; the cache follows.
function commitFiles(st: ClusterState, writes: FileWrite[], asof: string): string {
  const next = newTxnId();
  const txnText = JSON.stringify({ txn: next, asof }) + '\n';
  writes.push({ file: st.store.txnPath, data: txnText });
  st.store.commit(next, writes, st.fence);
  st.cache.txn = txnText;
  st.stats.written += writes.length;
  return next;
}

// The transaction of one batch of jobs and the window closing it (if any): dedupe state, daily,
// monthly and yearly rollups of every month it touches, the chunk ledger, and the users whose
// all-time file is now behind.
function addJobs(ctx: Context, st: ClusterState, jobs: PendingJob[], chunk: PendingChunk | undefined, rec: CommitRecord): void {
  const { store, cache } = st;
  const seenOf = (month: string): SeenSet => {
    cache.touch(month);
    let s = cache.seen.get(month);
    if (s === undefined) cache.seen.set(month, (s = store.readSeen(month)));
    return s;
  };
  const delta = computeDelta(jobs, seenOf);
  rec.new_jobs = delta.newJobs;
  rec.duplicates = delta.duplicates;
  cache.ledger ??= store.readLedger();
  const ledger = chunk === undefined ? undefined : recordChunk(cache.ledger, [chunk.start, chunk.end], chunk.settled);
  if (delta.newJobs === 0 && ledger === undefined) return;

  const asof = formatTime(Math.floor(Date.now() / 1000));
  const writes: FileWrite[] = [];
  const newSeen = new Map<string, SeenSet>();
  const years = new Map<string, Map<string, Totals>>();
  const yearAccountDeltas = new Map<string, AccountSums>();
  const users = new Set<string>();
  for (const month of [...delta.days.keys()].sort()) {
    const seen = seenOf(month).with(delta.keys.get(month) as KeyBatch);
    newSeen.set(month, seen);
    writes.push({ file: store.seenPath(month), data: encodeSeen(seen, seenOwner(store.cluster, month)) });
    let daily = cache.daily.get(month);
    let accounts = cache.accounts.get(month);
    if (daily === undefined || accounts === undefined) {
      const file = store.readDailyFile(month);
      cache.daily.set(month, (daily = file.users));
      cache.accounts.set(month, (accounts = file.accounts ?? new Map()));
      cache.dailyText.delete(month);
      cache.accountText.delete(month);
    }
    let accountText = cache.accountText.get(month);
    if (accountText === undefined) cache.accountText.set(month, (accountText = new Map()));
    let text = cache.dailyText.get(month);
    if (text === undefined) cache.dailyText.set(month, (text = new Map()));
    const yearDelta = years.get(month.slice(0, 4)) ?? new Map<string, Totals>();
    years.set(month.slice(0, 4), yearDelta);
    for (const [user, days] of delta.days.get(month) as Map<string, Map<string, Totals>>) {
      users.add(user);
      let bins = daily.get(user);
      if (bins === undefined) daily.set(user, (bins = new Map()));
      for (const [day, t] of days) {
        addInto(bins, day, t);
        addInto(yearDelta, user, t);
        text.get(user)?.delete(day);
      }
    }
    const yearAccounts = yearAccountDeltas.get(month.slice(0, 4)) ?? new Map<string, UserSums>();
    yearAccountDeltas.set(month.slice(0, 4), yearAccounts);
    for (const [account, us] of delta.accounts.get(month) as AccountBins) {
      let bins = accounts.get(account);
      if (bins === undefined) accounts.set(account, (bins = new Map()));
      let ya = yearAccounts.get(account);
      if (ya === undefined) yearAccounts.set(account, (ya = new Map()));
      const text = accountText.get(account);
      for (const [user, days] of us) {
        let ub = bins.get(user);
        if (ub === undefined) bins.set(user, (ub = new Map()));
        for (const [day, t] of days) {
          addInto(ub, day, t);
          addInto(ya, user, t);
          text?.get(user)?.delete(day);
        }
      }
    }
    writes.push({ file: store.dailyPath(month), data: formatDaily(store.cluster, month, daily, text, accounts, accountText) });
    writes.push({ file: store.monthlyPath(month), data: formatPeriod(store.cluster, 'month', month, asof, monthFromDaily(daily), accountsFromDaily(accounts)) });
  }
  for (const [year, yd] of [...years].sort()) {
    let sums = cache.yearly.get(year);
    let accounts = cache.yearlyAccounts.get(year);
    if (sums === undefined || accounts === undefined) {
      const file = store.readPeriod(store.yearlyPath(year));
      cache.yearly.set(year, (sums = file?.users ?? new Map()));
      cache.yearlyAccounts.set(year, (accounts = file?.accounts ?? new Map()));
    }
    for (const [user, t] of yd) addInto(sums, user, t);
    for (const [account, us] of yearAccountDeltas.get(year) ?? []) {
      let mine = accounts.get(account);
      if (mine === undefined) accounts.set(account, (mine = new Map()));
      for (const [user, t] of us) addInto(mine, user, t);
    }
    writes.push({ file: store.yearlyPath(year), data: formatPeriod(store.cluster, 'year', year, asof, sums, accounts) });
  }
  const dirty = (cache.dirty ??= store.readDirty());
  const newlyDirty = [...users].filter((u) => !dirty.has(u));
  if (newlyDirty.length > 0) writes.push({ file: store.dirtyPath, data: formatDirty([...dirty, ...newlyDirty]) });
  if (ledger !== undefined) writes.push({ file: store.ledgerFile, data: formatLedger(store.cluster, ledger) });
  rec.txn = commitFiles(st, writes, asof);

  for (const [m, s] of newSeen) cache.seen.set(m, s);
  if (ledger !== undefined) cache.ledger = ledger;
  for (const u of newlyDirty) dirty.add(u);
  rec.months_changed = [...delta.days.keys()].sort();
  const v = visibleUsers(ctx, [...users].sort());
  rec.users_changed = v.shown;
  rec.users_hidden = v.hidden;
}

// Brings agg/users/<user>.json up to date for the users the dirty list names: each is the sum of
// that user's rows in the yearly files, so it is derived, never added to, and a crash at any point
// leaves the list in place for the next run.
function flushUsers(ctx: Context, st: ClusterState): void {
  const { store, cache } = st;
  st.lastFlush = Date.now();
  const dirty = (cache.dirty ??= store.readDirty());
  if (dirty.size === 0) return;
  const all = new Map<string, Totals>();
  for (const year of store.yearlyFiles()) {
    let sums = cache.yearly.get(year);
    if (sums === undefined) cache.yearly.set(year, (sums = store.readPeriod(store.yearlyPath(year))?.users ?? new Map()));
    for (const u of dirty) {
      const t = sums.get(u);
      if (t !== undefined) addInto(all, u, t);
    }
  }
  const asof = formatTime(Math.floor(Date.now() / 1000));
  const writes: FileWrite[] = [...dirty].sort().map((u) => ({ file: store.userPath(u), data: formatUserFile(u, store.cluster, asof, all.get(u) ?? zeroTotals()) }));
  writes.push({ file: store.dirtyPath, data: formatDirty([]) });
  commitFiles(st, writes, asof);
  st.stats.flushed += dirty.size;
  cache.dirty = new Set();
  if (ctx.verbose) ctx.report.info(`${store.cluster}: brought ${dirty.size} all-time user files up to date`);
}

export async function main({ args, io, report, out, input }: RunContext): Promise<number | void> {
  maxOperands(args, 1);
  const root = storeRoot(optString(args, 'root'), io.env);
  if (root === undefined) throw new UsageError('no store: give --root DIR or set SB_ROOT');
  const batch = optInt(args, 'batch', 50_000, 1);
  const ctx: Context = {
    root,
    io,
    report,
    out,
    waitMs: optNumber(args, 'wait', 60) * 1000,
    flushMs: 60_000,
    staleMs: optNumber(args, 'stale', 60, 0) * 1000,
    verbose: args['verbose'] === true,
    crash: crashHook(io.env),
    optout: { list: undefined, home: new Map() },
    clusters: new Map(),
  };
  if ([args['check'], args['rebuild'], args['fill-accounts']].filter((x) => x === true).length > 1) throw new UsageError('give one of --check, --rebuild and --fill-accounts');
  if (args['fill-accounts'] === true) {
    const { Refetch, commitFills } = await import('./reduce/fill.js');
    const refetch = new Refetch();
    await forEachRecord(await input(args._[0]), out, report, {
      job: (rec) => {
        const { cluster, job } = pendingJob(rec);
        refetch.job(cluster, job);
      },
      'chunk-done': (rec) => {
        const { cluster, chunk } = pendingChunk(rec);
        refetch.window(cluster, chunk.start, chunk.end);
      },
    });
    const status = await commitFills(refetch, root, out, report, { waitMs: ctx.waitMs, staleMs: ctx.staleMs });
    await out.flush();
    return status;
  }
  if (args['rebuild'] === true) {
    maxOperands(args, 0);
    const { rebuildStore } = await import('./reduce/rebuild.js');
    return rebuildStore(root, report, { waitMs: ctx.waitMs, staleMs: ctx.staleMs });
  }
  if (args['check'] === true) {
    const { checkStore } = await import('./reduce/check.js');
    return checkStore(root, report);
  }
  const started = Date.now();
  await forEachRecord(await input(args._[0]), out, report, {
    job: async (rec) => {
      const { cluster, job } = pendingJob(rec);
      const st = clusterState(ctx, cluster);
      st.jobs.push(job);
      if (st.jobs.length >= batch) await transact(ctx, cluster, undefined);
    },
    'chunk-done': async (rec) => {
      const { cluster, chunk } = pendingChunk(rec);
      await transact(ctx, cluster, chunk);
    },
  });
  for (const [cluster, st] of ctx.clusters) if (st.jobs.length > 0) await transact(ctx, cluster, undefined);
  for (const st of ctx.clusters.values()) {
    if (st.cache.dirty === undefined || st.cache.dirty.size > 0) await underLock(ctx, st, () => flushUsers(ctx, st));
    // the retry list forgets what is done now (at the end: sb-sacct upstream has exited)
    const dropped = compactFailed(failedPath(root, st.store.cluster), st.store.cluster, st.store.readLedger().done);
    if (dropped > 0 && ctx.verbose) report.info(`${st.store.cluster}: ${dropped} window(s) of the failure ledger are done now; dropped from it`);
  }
  await out.flush();
  if (ctx.verbose) {
    const secs = (Date.now() - started) / 1000;
    for (const [cluster, st] of ctx.clusters) {
      const s = st.stats;
      report.info(`${cluster}: ${s.read} jobs read, ${s.added} new, ${s.duplicates} duplicates; ${s.commits} transactions, ${s.written} files written (${s.flushed} all-time user files); ${secs.toFixed(1)} s`);
    }
  }
}
