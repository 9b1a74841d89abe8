// sb-reduce's work, loaded only once the command line asks for more than --help or --version.
import { type Context as RunContext, type Io, maxOperands, optInt, optNumber, optString } from '../../core/cli/run.js';
import { chunkFromRecord, chunkId, type Tile } from '../../core/records/chunk.js';
import { compactFailed, failedPath, formatLedger, recordChunk, type ChunkLedger } from '../../core/store/chunk-ledger.js';
import { BadInput, SbError, UsageError } from '../../core/cli/errors.js';
import { FAILED_STATES, JOB_LIMITS, jobLimitProblem } from '../../core/records/job.js';
import { acquireLock, describeOwner } from '../../core/store/lock.js';
import { addTotals, zeroTotals, type Totals } from '../../core/scores/metrics.js';
import { forEachRecord, stringField, type Rec } from '../../core/cli/input.js';
import { homeDirs, homeOptouts, readOptoutList } from '../../core/scores/optout.js';
import type { Output } from '../../core/cli/output.js';
import type { Reporter } from '../../core/cli/report.js';
import { formatPeriod, formatUserFile, periodText, type AccountSums, type PeriodText, type UserSums } from '../../core/store/rollup-files.js';
import { encodeSeen, jobIdentity, JobIdentityReader, seenOwner, KeyBatch, SeenSet, type KeyCode } from '../../core/store/seen.js';
import { ClusterStore, crashHook, formatDirty, newTxnId, storeRoot, type CrashPoint, type FileWrite } from '../../core/store/store.js';
import { formatTime } from '../../core/records/time.js';
import { fieldIndex, JobLineReader } from '../../core/records/job-line.js';
import { DAYS, HeldJobs, Names, type LineFields, type PendingJob } from './held.js';
import { DailyBytes } from './daily-bytes.js';
import { DayBins } from './day-bins.js';


// What one job adds to its user's totals (jobTotals of its record).
export function pendingTotals(j: PendingJob): Totals {
  const e = j.elapsed;
  const gpu = j.gpus > 0;
  return {
    jobs: 1,
    failed_jobs: j.failed ? 1 : 0,
    gpu_jobs: gpu ? 1 : 0,
    cpu_s: j.cpus * e,
    elapsed_s: e,
    gpu_s: j.gpus * e,
    gpu_elapsed_s: gpu ? e : 0,
    mem_req_byte_s: BigInt(j.req) * BigInt(e),
    mem_used_byte_s: BigInt(j.used) * BigInt(e),
  };
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
  const elapsed = rec['elapsed_s'];
  const cpus = rec['cpus'];
  const gpus = rec['gpus'];
  if (!NONNEG_INT(elapsed)) throw new BadInput(`'elapsed_s' ${JSON.stringify(elapsed)} is not a whole number`);
  if (!NONNEG_INT(cpus)) throw new BadInput(`'cpus' ${JSON.stringify(cpus)} is not a whole number`);
  if (!NONNEG_INT(gpus)) throw new BadInput(`'gpus' ${JSON.stringify(gpus)} is not a whole number`);
  const req = rec['req_mem_bytes'];
  if (!NONNEG(req)) throw new BadInput(`'req_mem_bytes' ${JSON.stringify(req)} is not a number of bytes`);
  const rss = rec['max_rss_bytes'] ?? null;
  if (rss !== null && !NONNEG(rss)) throw new BadInput(`'max_rss_bytes' ${JSON.stringify(rss)} is not a number of bytes or null`);
  if (rec['nodes'] !== undefined && !NONNEG_INT(rec['nodes'])) throw new BadInput(`'nodes' ${JSON.stringify(rec['nodes'])} is not a whole number`);
  const nodes = (rec['nodes'] as number | undefined) ?? 0;
  // every value within its limit (the usual job), else jobLimitProblem says which is not
  const limit = withinLimits(cpus, nodes, gpus, elapsed, req, rss) ? undefined : jobLimitProblem({ cpus, nodes, gpus, elapsed_s: elapsed, req_mem_bytes: req, max_rss_bytes: rss });
  if (limit !== undefined) throw new BadInput(`${limit}: its totals could not stay exact`);
  if (typeof rec['state'] !== 'string') throw new BadInput(`'state' is missing or not a string`);
  if (rec['failed'] !== undefined && typeof rec['failed'] !== 'boolean') throw new BadInput(`'failed' is not true or false`);
  return {
    cluster,
    job: {
      code,
      month,
      day: end.slice(8, 10),
      user,
      account,
      elapsed,
      cpus,
      gpus,
      req: Math.round(req),
      used: Math.round(rss ?? 0),
      failed: rec['failed'] === true || FAILED_STATES.has(rec['state'] as string),
    },
  };
}

function withinLimits(cpus: number, nodes: number, gpus: number, elapsed: number, req: number, rss: number | null): boolean {
  const L = JOB_LIMITS;
  return cpus <= L.cpus && nodes <= L.nodes && gpus <= L.gpus && elapsed <= L.elapsed_s && req <= L.req_mem_bytes &&
    (rss === null || rss <= L.max_rss_bytes) && cpus * elapsed <= L.product && gpus * elapsed <= L.product;
}

const USER = fieldIndex('user');
const ACCOUNT = fieldIndex('account');
const ELAPSED = fieldIndex('elapsed_s');
const CPUS = fieldIndex('cpus');
const NODES = fieldIndex('nodes');
const GPUS = fieldIndex('gpus');

// Does the job line the exact-form reader has just read (and whose identity was read) certainly
// pass pendingJob, read in its bytes? Its user and account names all ASCII but DEL (no control
// character, no U+FFFD), a user named, the numbers within their limits (bytes: below 10^15, so
// always); the reader made sure of the rest (strings, whole numbers and true or false where
// pendingJob wants them). When not, pendingJob of the decoded fields decides, and says why.
export function plainJob(r: JobLineReader, b: Uint8Array): boolean {
  if (r.at[2 * USER] === r.at[2 * USER + 1] || !r.plain(b, USER) || !r.plain(b, ACCOUNT)) return false;
  return withinLimits(r.number(b, CPUS) as number, r.number(b, NODES) as number, r.number(b, GPUS) as number, r.number(b, ELAPSED) as number, 0, null);
}

const STATE = fieldIndex('state');
const FAILED = fieldIndex('failed');
const END = fieldIndex('end');
const REQ = fieldIndex('req_mem_bytes');
const RSS = fieldIndex('max_rss_bytes');
const LINE_FIELDS: LineFields = { elapsed: ELAPSED, cpus: CPUS, gpus: GPUS, req: REQ, rss: RSS };

// pendingJob of a plain job line (plainJob) the exact-form reader has just read, from its bytes
// and the identity read of them: the same job.
export function pendingJobAt(r: JobLineReader, b: Buffer, month: string, code: KeyCode): PendingJob {
  const rss = r.number(b, RSS);
  return {
    code,
    month,
    day: DAYS[dayAt(r, b)] as string,
    user: r.name(b, USER),
    account: r.name(b, ACCOUNT),
    elapsed: r.number(b, ELAPSED) as number,
    cpus: r.number(b, CPUS) as number,
    gpus: r.number(b, GPUS) as number,
    req: r.number(b, REQ) as number,
    used: rss ?? 0,
    failed: failedAt(r, b),
  };
}

// The day of the month of the job's end (`2024-03-05T…` → 5), of the line the reader last read
// (its end is a time: the identity read made sure).
function dayAt(r: JobLineReader, b: Buffer): number {
  const end = r.at[2 * END] as number;
  return ((b[end + 8] as number) - 48) * 10 + (b[end + 9] as number) - 48;
}

// Whether the job of the line the reader last read failed: its `failed`, or its state one of
// FAILED_STATES (as pendingJob decides).
function failedAt(r: JobLineReader, b: Buffer): boolean {
  return b[r.at[2 * FAILED] as number] === 116 || failedState(r, b);
}

// FAILED_STATES by their first byte, in bytes: failedState looks at most at those of its state's.
const FAILED_BY_FIRST: Array<Uint8Array[] | undefined> = [];
for (const state of FAILED_STATES) (FAILED_BY_FIRST[state.charCodeAt(0)] ??= []).push(Buffer.from(state, 'utf8'));

// FAILED_STATES.has(the state of the line the reader last read), from its bytes.
function failedState(r: JobLineReader, b: Buffer): boolean {
  const first = FAILED_BY_FIRST[b[r.at[2 * STATE] as number] as number];
  if (first === undefined) return false;
  for (const state of first) if (r.equals(b, STATE, state)) return true;
  return false;
}

export interface PendingChunk {
  start: number;
  end: number;
  settled: boolean;
  // a tile (sb-chunk todo)
  tile?: Tile;
}

export function pendingChunk(rec: Rec): { cluster: string; chunk: PendingChunk } {
  const c = chunkFromRecord(rec);
  const settled = rec['settled'];
  if (settled !== undefined && typeof settled !== 'boolean') throw new BadInput(`'settled' is not true or false`);
  return { cluster: c.cluster, chunk: { start: c.start, end: c.end, settled: settled !== false, ...(c.tile !== undefined ? { tile: c.tile } : {}) } };
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
  // month → account → its users' days: the new jobs' bins. Only by account: a user's day is the
  // sum of their days in each account, made once a transaction, not a job.
  bins: Map<string, Map<string, DayBins>>;
}

// The jobs' delta, added to `d` (the delta of a group of segments so far: its keys count as
// seen). `touched`, if given, gains the months and users the jobs add to.
export function computeDelta(jobs: HeldJobs, seen: (month: string) => SeenSet, d: Delta = emptyDelta(), touched?: Touched): Delta {
  // what the last job's month looked up: a window's jobs are mostly of one month
  let month: string | undefined;
  let stored = new SeenSet();
  let batch: KeyBatch | undefined;
  let accounts: Map<string, DayBins> | undefined;
  // whether touched has the month already
  let touchedMonth = false;
  for (let i = 0; i < jobs.length; i++) {
    const j = jobs.job(i);
    if (j.month !== month) {
      month = j.month;
      touchedMonth = false;
      stored = seen(month);
      batch = d.keys.get(month);
      accounts = d.bins.get(month);
    }
    // (a month's batch is made with its first new key; addNew tells a key it had already)
    if (stored.has(j.code) || (batch !== undefined && !batch.addNew(j.code))) {
      d.duplicates++;
      continue;
    }
    if (batch === undefined) {
      d.keys.set(month, (batch = new KeyBatch()));
      batch.add(j.code);
    }
    d.newJobs++;
    if (touched !== undefined) {
      if (!touchedMonth) touched.months.add(month);
      touchedMonth = true;
      touched.users.add(j.user);
    }
    if (accounts === undefined) d.bins.set(month, (accounts = new Map()));
    let bins = accounts.get(j.account);
    if (bins === undefined) accounts.set(j.account, (bins = new DayBins()));
    bins.addJob(bins.entry(j.user), (j.day.charCodeAt(0) - 48) * 10 + j.day.charCodeAt(1) - 48, j);
  }
  return d;
}

export function emptyDelta(): Delta {
  return { newJobs: 0, duplicates: 0, keys: new Map(), bins: new Map() };
}

export interface Touched {
  months: Set<string>;
  users: Set<string>;
}

// The map under key in a cache of maps, made empty on first use.
function cached<V>(maps: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let m = maps.get(key);
  if (m === undefined) maps.set(key, (m = new Map()));
  return m;
}

function addInto(map: Map<string, Totals>, key: string, t: Totals): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, { ...t });
  else addTotals(cur, t);
}

// addInto for a `t` no one else holds (the delta's bins, a user's sum made here): the map takes
// it as it is where it has none, which saves a copy a bin.
function takeInto(map: Map<string, Totals>, key: string, t: Totals): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, t);
  else addTotals(cur, t);
}

// Files loaded under the lock, valid while the store's txn is the one they were read at. Kept
// across transactions so a long stream does not re-read its months; months not used for a few
// transactions are dropped, so memory stays flat over a backfill.
class Cache {
  txn: string | undefined;
  seen = new Map<string, SeenSet>();
  // each month's daily bins: its users', and each account's
  daily = new Map<string, DayBins>();
  // each month's daily file as last written (see DailyBytes)
  dailyBytes = new Map<string, DailyBytes>();
  accounts = new Map<string, Map<string, DayBins>>();
  // per month and year: each user's totals (the sum of the daily bins), each account's, and the
  // text of their lines
  monthly = new Map<string, UserSums>();
  monthlyAccounts = new Map<string, AccountSums>();
  monthlyText = new Map<string, PeriodText>();
  yearlyText = new Map<string, PeriodText>();
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
    this.dailyBytes.clear();
    this.accounts.clear();
    this.monthly.clear();
    this.monthlyAccounts.clear();
    this.monthlyText.clear();
    this.yearly.clear();
    this.yearlyAccounts.clear();
    this.yearlyText.clear();
    this.ledger = undefined;
    this.dirty = undefined;
    this.used.clear();
  }

  touch(month: string): void {
    this.used.set(month, this.tick);
  }

  // After a transaction: forget months neither it nor the one before used. A month's files in
  // memory are several MB (bins, users' and accounts', the daily file's bytes, the lines' text), and
  // V8 lets the heap grow to a few times what is live: a stream is ordered by time, so a month
  // seldom comes back.
  age(keep = 1): void {
    this.tick++;
    for (const [m, t] of this.used) {
      if (this.tick - t > keep) {
        this.used.delete(m);
        this.seen.delete(m);
        this.daily.delete(m);
        this.dailyBytes.delete(m);
        this.accounts.delete(m);
        this.monthly.delete(m);
        this.monthlyAccounts.delete(m);
        this.monthlyText.delete(m);
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
  // what is held back until the next group commit, in input order: segments (each prints its
  // commit record) and the lines of other kinds that came between them
  held: Array<Segment | string>;
  // the group commit still under way (its files being synced while the next group is read),
  // and what it failed with
  busy: Promise<void> | undefined;
  failed: unknown;
  heldJobs: number;
  heldSince: number;
  batch: number;
}

// A run of a cluster's jobs closed by its window's chunk-done, or by --batch (no window): one
// commit record each, all or nothing with the window's ledger entry.
interface Segment {
  jobs: HeldJobs;
  chunk: PendingChunk | undefined;
  rec: CommitRecord;
}

interface ClusterState {
  store: ClusterStore;
  cache: Cache;
  // jobs read since the last segment closed, but those counted already (see counted()): of
  // these only their number is kept
  jobs: HeldJobs;
  // the names its held jobs use
  names: Names;
  known: number;
  // dedupe state read without the lock, for months the cache does not hold (a few at most)
  peeked: Map<string, SeenSet>;
  // closed segments waiting for the group commit
  segments: Segment[];
  lastFlush: number;
  fence: () => void;
  // commits: commit records (one a window or --batch); txns: transactions (group commits)
  stats: { read: number; added: number; duplicates: number; commits: number; txns: number; written: number; flushed: number };
}

// What the byte reader returns of a line that ends at `end`: the end, once the commit the line
// started (if any) is done.
function after(commit: Promise<void> | undefined, end: number): number | Promise<number> {
  return commit === undefined ? end : commit.then(() => end);
}

function clusterState(ctx: Context, cluster: string): ClusterState {
  let st = ctx.clusters.get(cluster);
  if (st === undefined) {
    const names = new Names();
    st = {
      store: new ClusterStore(ctx.root, cluster, ctx.crash),
      cache: new Cache(),
      jobs: new HeldJobs(names),
      names,
      known: 0,
      peeked: new Map(),
      segments: [],
      lastFlush: Date.now(),
      fence: () => undefined,
      stats: { read: 0, added: 0, duplicates: 0, commits: 0, txns: 0, written: 0, flushed: 0 },
    };
    ctx.clusters.set(cluster, st);
  }
  return st;
}

// Is the job counted already, as far as a dedupe state read before shows? The store only grows,
// so a key in any state read, under the lock or without it (as sb-dedupe reads), is in the
// store: such a job needs no more than its count. A state that cannot be read without the lock
// proves nothing here (the transaction reads it again and decides).
function counted(st: ClusterState, month: string, code: KeyCode): boolean {
  return seenSoFar(st, month).has(code);
}

// The month's dedupe state counted() looks in: the cache's, else one read without the lock.
function seenSoFar(st: ClusterState, month: string): SeenSet {
  let s = st.cache.seen.get(month) ?? st.peeked.get(month);
  if (s === undefined) {
    try {
      s = st.store.readSeen(month);
    } catch (err) {
      if (!(err instanceof SbError)) throw err;
      s = new SeenSet();
    }
    if (st.peeked.size >= 8) st.peeked.clear();
    st.peeked.set(month, s);
  }
  return s;
}

// Without the lock: can the cache alone prove that the segments change nothing? The store only
// grows (keys are added, windows marked done), so what any earlier state holds, the current holds.
function provablyNothingNew(cache: Cache, segments: readonly Segment[]): boolean {
  if (cache.txn === undefined) return false;
  for (const seg of segments) {
    for (let i = 0; i < seg.jobs.length; i++) {
      const s = cache.seen.get(seg.jobs.monthOf(i));
      if (s === undefined || !s.has(seg.jobs.key(i))) return false;
    }
    if (seg.chunk === undefined) continue;
    if (cache.ledger === undefined || recordChunk(cache.ledger, [seg.chunk.start, seg.chunk.end], seg.chunk.settled, seg.chunk.tile) !== undefined) return false;
  }
  return true;
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

// Group commit: the segments closed since the last commit wait, so that one transaction (its
// fsyncs, the month's files written again) serves many windows. They commit when they hold
// GROUP_JOBS jobs (--batch if smaller; a job held is ~60 bytes in typed arrays (HeldJobs), and each commit
// formats its months' files whole, so fewer larger commits cost less), when
// the first of them has waited GROUP_MS, when the input has been quiet for QUIET_MS (a live pipeline, or a gate waiting for this very commit) and at the end of the input.
// Each window is still all or nothing with its jobs; its commit record goes out only once it is
// durable, in input order with the lines that pass through.
const GROUP_MS = 1000;
const GROUP_JOBS = 50_000;
const QUIET_MS = 20;

// Closes the cluster's open jobs into a segment, ended by `chunk` (its window) or by --batch.
function hold(ctx: Context, cluster: string, chunk: PendingChunk | undefined): void {
  const st = clusterState(ctx, cluster);
  const jobs = st.jobs;
  const processed = jobs.length + st.known;
  st.jobs = new HeldJobs(st.names, jobs.length + (jobs.length >> 3));
  st.known = 0;
  const seg: Segment = {
    jobs,
    chunk,
    rec: {
      kind: 'commit',
      cluster,
      processed,
      new_jobs: 0,
      duplicates: processed,
      months_changed: [],
      users_changed: [],
      chunks_done: chunk === undefined ? 0 : 1,
      users_hidden: 0,
      ...(chunk === undefined ? {} : { chunk: chunkId({ cluster, start: chunk.start, end: chunk.end }), settled: chunk.settled }),
      txn: null,
    },
  };
  st.segments.push(seg);
  if (ctx.held.length === 0) ctx.heldSince = Date.now();
  ctx.held.push(seg);
  ctx.heldJobs += processed;
}

// Is it time for the group commit (but for the quiet input and the end, which call it anyway)?
function groupFull(ctx: Context): boolean {
  return ctx.heldJobs >= Math.min(ctx.batch, GROUP_JOBS) || (ctx.held.length > 0 && Date.now() - ctx.heldSince >= GROUP_MS);
}

// Commits every cluster's held segments, one transaction a cluster; then prints what was held.
// The commit goes on while the next group is read: its fsyncs wait on the disk, not the reader.
// One at a time: the next waits for it (settled), and so does its output, so commit records and
// the lines passed through still go out in input order, each record once its commit is durable.
async function commitHeld(ctx: Context): Promise<void> {
  await settled(ctx);
  const held = ctx.held;
  ctx.held = [];
  ctx.heldJobs = 0;
  const groups: Array<[ClusterState, Segment[]]> = [];
  for (const st of ctx.clusters.values()) {
    if (st.segments.length > 0) groups.push([st, st.segments]);
    st.segments = [];
  }
  ctx.busy = (async () => {
    for (const [st, segments] of groups) await transact(ctx, st, segments);
    for (const h of held) {
      if (typeof h === 'string') ctx.out.line(h);
      else ctx.out.record(h.rec);
    }
    // Commits go out at once: what reads them (an ack, a log) should not wait for 64 KB of them.
    await ctx.out.flush();
  })().then(
    () => {
      ctx.busy = undefined;
      // lines passed through since, before any segment: nothing holds them back now
      while (typeof ctx.held[0] === 'string') ctx.out.line(ctx.held.shift() as string);
    },
    (err: unknown) => {
      ctx.busy = undefined;
      ctx.failed ??= err;
    },
  );
}

// Waits for the group commit under way, if any; throws what it failed with.
async function settled(ctx: Context): Promise<void> {
  if (ctx.busy !== undefined) await ctx.busy;
  if (ctx.failed !== undefined) throw ctx.failed;
}

async function transact(ctx: Context, st: ClusterState, segments: Segment[]): Promise<void> {
  if (!provablyNothingNew(st.cache, segments)) {
    const flush = Date.now() - st.lastFlush >= ctx.flushMs;
    await underLock(ctx, st, async () => {
      await addJobs(ctx, st, segments);
      if (flush) await flushUsers(ctx, st);
    });
  }
  for (const { rec } of segments) {
    st.stats.read += rec.processed;
    st.stats.added += rec.new_jobs;
    st.stats.duplicates += rec.duplicates;
    st.stats.commits++;
  }
}

// Runs work under the cluster's lock, after recovery, with the cache made current.
async function underLock(ctx: Context, st: ClusterState, work: (fence: () => void) => Promise<void>): Promise<void> {
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
      await work(st.fence);
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
async function commitFiles(st: ClusterState, writes: FileWrite[], asof: string): Promise<string> {
  const next = newTxnId();
  const txnText = JSON.stringify({ txn: next, asof }) + '\n';
  writes.push({ file: st.store.txnPath, data: txnText });
  await st.store.commit(next, writes, st.fence);
  st.cache.txn = txnText;
  st.stats.written += writes.length;
  st.stats.txns++;
  return next;
}

// The transaction of a group of segments (each a batch of jobs and the window closing it, if
// any): dedupe state, daily, monthly and yearly rollups of every month it touches, the chunk
// ledger, and the users whose all-time file is now behind. Each segment's commit record says
// what it added, after the segments before it.
async function addJobs(ctx: Context, st: ClusterState, segments: readonly Segment[]): Promise<void> {
  const { store, cache } = st;
  const seenOf = (month: string): SeenSet => {
    cache.touch(month);
    let s = cache.seen.get(month);
    if (s === undefined) cache.seen.set(month, (s = store.readSeen(month)));
    return s;
  };
  const delta = emptyDelta();
  cache.ledger ??= store.readLedger();
  let ledger: ChunkLedger | undefined;
  const changed: Array<{ seg: Segment; touched: Touched }> = [];
  for (const seg of segments) {
    const { rec, chunk } = seg;
    const before = delta.newJobs;
    const touched: Touched = { months: new Set(), users: new Set() };
    computeDelta(seg.jobs, seenOf, delta, touched);
    rec.new_jobs = delta.newJobs - before;
    rec.duplicates = rec.processed - rec.new_jobs;
    const next = chunk === undefined ? undefined : recordChunk(ledger ?? cache.ledger, [chunk.start, chunk.end], chunk.settled, chunk.tile);
    if (next !== undefined) ledger = next;
    if (rec.new_jobs > 0 || next !== undefined) changed.push({ seg, touched });
  }
  if (changed.length === 0) return;

  const asof = formatTime(Math.floor(Date.now() / 1000));
  const writes: FileWrite[] = [];
  const newSeen = new Map<string, SeenSet>();
  const years = new Map<string, Map<string, Totals>>();
  const yearAccountDeltas = new Map<string, AccountSums>();
  const users = new Set<string>();
  for (const month of [...delta.bins.keys()].sort()) {
    const seen = seenOf(month).with(delta.keys.get(month) as KeyBatch);
    newSeen.set(month, seen);
    writes.push({ file: store.seenPath(month), data: encodeSeen(seen, seenOwner(store.cluster, month)) });
    let daily = cache.daily.get(month);
    let accounts = cache.accounts.get(month);
    if (daily === undefined || accounts === undefined) {
      const file = store.readDailyFile(month);
      cache.daily.set(month, (daily = DayBins.of(file.users)));
      accounts = new Map();
      for (const [a, bins] of file.accounts ?? []) accounts.set(a, DayBins.of(bins));
      cache.accounts.set(month, accounts);
      // what was kept of the month was of other versions of its files
      cache.dailyBytes.delete(month);
      cache.monthly.delete(month);
      cache.monthlyAccounts.delete(month);
      cache.monthlyText.delete(month);
    }
    let text = cache.dailyBytes.get(month);
    if (text === undefined) cache.dailyBytes.set(month, (text = new DailyBytes()));
    let sums = cache.monthly.get(month);
    if (sums === undefined) cache.monthly.set(month, (sums = daily.sums()));
    let accountSums = cache.monthlyAccounts.get(month);
    if (accountSums === undefined) {
      accountSums = new Map();
      for (const [a, bins] of accounts) accountSums.set(a, bins.sums());
      cache.monthlyAccounts.set(month, accountSums);
    }
    let monthText = cache.monthlyText.get(month);
    if (monthText === undefined) cache.monthlyText.set(month, (monthText = periodText()));
    const yearDelta = years.get(month.slice(0, 4)) ?? new Map<string, Totals>();
    years.set(month.slice(0, 4), yearDelta);
    const yearAccounts = yearAccountDeltas.get(month.slice(0, 4)) ?? new Map<string, UserSums>();
    yearAccountDeltas.set(month.slice(0, 4), yearAccounts);
    // each user's new jobs of the month, over all its accounts
    const userSums = new Map<string, Totals>();
    for (const [account, added] of delta.bins.get(month) ?? []) {
      let bins = accounts.get(account);
      if (bins === undefined) accounts.set(account, (bins = new DayBins()));
      const ms = cached(accountSums, account);
      const ya = cached(yearAccounts, account);
      const rowText = monthText.accounts.get(account);
      for (let e = 0; e < added.size; e++) {
        const user = added.names[e] as string;
        const ue = daily.entry(user);
        const ae = bins.entry(user);
        // the user's days summed first: the month's and the year's sums gain one total each
        const all = added.entryTotals(e);
        for (let m = (added.mask[e] as number) >>> 1, d = 1; m !== 0; m >>>= 1, d++) {
          if ((m & 1) === 0) continue;
          const s = added.find(e, d);
          daily.addFrom(ue, d, added, s);
          bins.addFrom(ae, d, added, s);
          text.changed(user, d);
          text.changedIn(account, user, d);
        }
        addInto(ms, user, all);
        addInto(ya, user, all);
        takeInto(userSums, user, all);
        rowText?.delete(user);
      }
    }
    for (const [user, all] of userSums) {
      users.add(user);
      addInto(sums, user, all);
      takeInto(yearDelta, user, all);
      monthText.users.delete(user);
    }
    writes.push({ file: store.dailyPath(month), data: text.format(store.cluster, month, daily, accounts) });
    writes.push({ file: store.monthlyPath(month), data: formatPeriod(store.cluster, 'month', month, asof, sums, accountSums, monthText) });
  }
  for (const [year, yd] of [...years].sort()) {
    let sums = cache.yearly.get(year);
    let accounts = cache.yearlyAccounts.get(year);
    if (sums === undefined || accounts === undefined) {
      const file = store.readPeriod(store.yearlyPath(year));
      cache.yearly.set(year, (sums = file?.users ?? new Map()));
      cache.yearlyAccounts.set(year, (accounts = file?.accounts ?? new Map()));
      cache.yearlyText.delete(year);
    }
    let yearText = cache.yearlyText.get(year);
    if (yearText === undefined) cache.yearlyText.set(year, (yearText = periodText()));
    for (const [user, t] of yd) {
      addInto(sums, user, t);
      yearText.users.delete(user);
    }
    for (const [account, us] of yearAccountDeltas.get(year) ?? []) {
      const mine = cached(accounts, account);
      const rowText = yearText.accounts.get(account);
      for (const [user, t] of us) {
        addInto(mine, user, t);
        rowText?.delete(user);
      }
    }
    writes.push({ file: store.yearlyPath(year), data: formatPeriod(store.cluster, 'year', year, asof, sums, accounts, yearText) });
  }
  const dirty = (cache.dirty ??= store.readDirty());
  const newlyDirty = [...users].filter((u) => !dirty.has(u));
  if (newlyDirty.length > 0) writes.push({ file: store.dirtyPath, data: formatDirty([...dirty, ...newlyDirty]) });
  if (ledger !== undefined) writes.push({ file: store.ledgerFile, data: formatLedger(store.cluster, ledger) });
  const txn = await commitFiles(st, writes, asof);

  for (const [m, s] of newSeen) cache.seen.set(m, s);
  if (ledger !== undefined) cache.ledger = ledger;
  for (const u of newlyDirty) dirty.add(u);
  for (const { seg, touched } of changed) {
    seg.rec.txn = txn;
    seg.rec.months_changed = [...touched.months].sort();
    const v = visibleUsers(ctx, [...touched.users].sort());
    seg.rec.users_changed = v.shown;
    seg.rec.users_hidden = v.hidden;
  }
}

// Brings agg/users/<user>.json up to date for the users the dirty list names: each is the sum of
// that user's rows in the yearly files, so it is derived, never added to, and a crash at any point
// leaves the list in place for the next run.
async function flushUsers(ctx: Context, st: ClusterState): Promise<void> {
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
  await commitFiles(st, writes, asof);
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
    held: [],
    busy: undefined,
    failed: undefined,
    heldJobs: 0,
    heldSince: 0,
    batch,
  };
  if ([args['check'], args['rebuild'], args['fill-accounts']].filter((x) => x === true).length > 1) throw new UsageError('give one of --check, --rebuild and --fill-accounts');
  if (args['fill-accounts'] === true) {
    const { Refetch, commitFills } = await import('./fill.js');
    const refetch = new Refetch();
    const job = (rec: Rec): void => {
      const { cluster, job } = pendingJob(rec);
      refetch.job(cluster, { code: job.code, month: job.month, day: job.day, user: job.user, account: job.account, totals: pendingTotals(job) });
    };
    const line = new JobLineReader();
    await forEachRecord(await input(args._[0]), out, report, {
      job,
      'chunk-done': (rec) => {
        const { cluster, chunk } = pendingChunk(rec);
        refetch.window(cluster, chunk.start, chunk.end);
      },
    }, undefined, {
      bytes: (b, start, limit) => {
        const end = line.readTo(b, start, limit);
        if (end >= 0) job(line.fields(b));
        return end;
      },
    });
    const status = await commitFills(refetch, root, out, report, { waitMs: ctx.waitMs, staleMs: ctx.staleMs });
    await out.flush();
    return status;
  }
  if (args['rebuild'] === true) {
    maxOperands(args, 0);
    const { rebuildStore } = await import('./rebuild.js');
    return rebuildStore(root, report, { waitMs: ctx.waitMs, staleMs: ctx.staleMs });
  }
  if (args['check'] === true) {
    const { checkStore } = await import('./check.js');
    return checkStore(root, report);
  }
  const started = Date.now();
  // after a job: at `batch` jobs, hold them and commit
  const more = (cluster: string, st: ClusterState): Promise<void> | undefined => {
    if (st.jobs.length + st.known < batch) return undefined;
    hold(ctx, cluster, undefined);
    return commitHeld(ctx);
  };
  const line = new JobLineReader();
  const identity = new JobIdentityReader();
  await forEachRecord(
    await input(args._[0]),
    out,
    report,
    {
      // not async: a promise a job would cost more than the rest of a duplicate's handling
      job: (rec) => {
        const { cluster, job } = pendingJob(rec);
        const st = clusterState(ctx, cluster);
        if (counted(st, job.month, job.code)) st.known++;
        else st.jobs.push(job);
        return more(cluster, st);
      },
      'chunk-done': async (rec) => {
        const { cluster, chunk } = pendingChunk(rec);
        hold(ctx, cluster, chunk);
        if (groupFull(ctx)) await commitHeld(ctx);
      },
    },
    undefined,
    {
      // a job line in sb-parse's exact form, read in its bytes: one counted already is only
      // checked, a new one read (in its bytes when it is plain, else decoded)
      bytes: (b, start, limit) => {
        const end = line.readTo(b, start, limit);
        if (end < 0) return -1;
        // the usual job: a db key, plain, held straight from its bytes (nothing made for it)
        const n = identity.dbIndex(line, b);
        if (n >= 0 && plainJob(line, b)) {
          const st = clusterState(ctx, identity.cluster);
          if (seenSoFar(st, identity.month).hasDb(n)) st.known++;
          else {
            st.jobs.pushDb(n, identity.month, st.names.idAt(line, b, USER), st.names.idAt(line, b, ACCOUNT), dayAt(line, b), failedAt(line, b), line, b, LINE_FIELDS);
          }
          return after(more(identity.cluster, st), end);
        }
        const { cluster, month, code } = identity.read(line, b);
        const st = clusterState(ctx, cluster);
        const known = counted(st, month, code);
        if (plainJob(line, b)) {
          if (known) st.known++;
          else st.jobs.push(pendingJobAt(line, b, month, code));
        } else {
          const { job } = pendingJob(line.fields(b));
          if (known) st.known++;
          else st.jobs.push(job);
        }
        return after(more(cluster, st), end);
      },
      // lines of other kinds keep their place among the commit records held back
      pass: (text) => {
        if (ctx.held.length > 0 || ctx.busy !== undefined) ctx.held.push(text);
        else out.line(text);
      },
      idle: { ms: QUIET_MS, pending: () => ctx.held.length > 0, run: () => commitHeld(ctx) },
    },
  );
  for (const [cluster, st] of ctx.clusters) if (st.jobs.length + st.known > 0) hold(ctx, cluster, undefined);
  if (ctx.held.length > 0) await commitHeld(ctx);
  await settled(ctx);
  for (const st of ctx.clusters.values()) {
    if (st.cache.dirty === undefined || st.cache.dirty.size > 0) await underLock(ctx, st, async () => flushUsers(ctx, st));
    // the retry list forgets what is done now (at the end: sb-sacct upstream has exited)
    const dropped = compactFailed(failedPath(root, st.store.cluster), st.store.cluster, st.store.readLedger().done);
    if (dropped > 0 && ctx.verbose) report.info(`${st.store.cluster}: ${dropped} window(s) of the failure ledger are done now; dropped from it`);
  }
  await out.flush();
  if (ctx.verbose) {
    const secs = (Date.now() - started) / 1000;
    for (const [cluster, st] of ctx.clusters) {
      const s = st.stats;
      report.info(`${cluster}: ${s.read} jobs read, ${s.added} new, ${s.duplicates} duplicates; ${s.commits} commit records, ${s.txns} transactions, ${s.written} files written (${s.flushed} all-time user files); ${secs.toFixed(1)} s`);
    }
  }
}
