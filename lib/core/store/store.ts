import { nodeCrypto } from '../cli/builtins.js';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { fsyncDir, fsyncDirsAll, readIfExists, writeDurableAll } from './atomic.js';
import { ledgerPath, readLedger, type ChunkLedger } from './chunk-ledger.js';
import { SbError } from '../cli/errors.js';
import { parseDaily, parseDailyFile, parsePeriod, parseUserFile, userFileName, type DailyBins, type DailyFile, type PeriodFile } from './rollup-files.js';
import { CorruptState, decodeSeen, SeenSet, seenOwner } from './seen.js';
import type { Totals } from '../scores/metrics.js';

// The store's root: --root, else $SB_ROOT.
export function storeRoot(given: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const root = given ?? env['SB_ROOT'];
  return root === undefined || root === '' ? undefined : root;
}

export interface FileWrite {
  file: string;
  data: string | Buffer;
}

// Named instants of a commit where tests kill the process (SB_CRASH=point[:n]: the n-th time).
export type CrashPoint = 'locked' | 'temps-written' | 'before-publish' | 'published' | 'mid-apply' | 'applied';

export function crashHook(env: NodeJS.ProcessEnv): (p: CrashPoint) => void {
  const spec = env['SB_CRASH'];
  if (!spec) return () => undefined;
  const [point, nth] = spec.split(':');
  let left = Number(nth ?? '1');
  return (p) => {
    if (p === point && --left === 0) process.kill(process.pid, 'SIGKILL');
  };
}

// A new transaction id: time-ordered, unique across hosts.
export function newTxnId(): string {
  return `${Date.now().toString(36)}-${nodeCrypto().randomBytes(6).toString('hex')}`;
}

interface Journal {
  txn: string;
  renames: Array<[string, string]>;
}

// One cluster's directory in the store (docs/store.md): where each file lives, strict readers,
// and the multi-file commit.
//
// A commit writes every new file version to state/tmp/<txn>.<i> (fsync), then a journal naming
// the renames, and publishes the journal by hard-linking it to state/journal: that link is the
// commit point. Then it renames each file into place, syncs the directories and removes the
// journal. recover(), run under the lock before anything is read, rolls a published journal
// forward (a rename whose temporary file is gone was done already) and empties state/tmp of
// whatever an interrupted commit left unpublished. Readers without the lock (sb-dedupe, sb-chunk
// todo) see each file either before or after a commit, never torn; their state only grows.
export class ClusterStore {
  readonly dir: string;
  readonly stateDir: string;
  readonly tmpDir: string;
  readonly journalPath: string;
  readonly txnPath: string;
  readonly lockPath: string;
  readonly ledgerFile: string;
  readonly dirtyPath: string;

  constructor(
    readonly root: string,
    readonly cluster: string,
    private readonly crash: (p: CrashPoint) => void = () => undefined,
  ) {
    this.dir = path.join(root, 'clusters', cluster);
    this.stateDir = path.join(this.dir, 'state');
    this.tmpDir = path.join(this.stateDir, 'tmp');
    this.journalPath = path.join(this.stateDir, 'journal');
    this.txnPath = path.join(this.stateDir, 'txn');
    this.lockPath = path.join(this.stateDir, 'lock');
    this.ledgerFile = ledgerPath(root, cluster);
    this.dirtyPath = path.join(this.stateDir, 'users-dirty.json');
  }

  seenPath(month: string): string {
    return path.join(this.stateDir, 'seen', `${month}.seen`);
  }

  dailyPath(month: string): string {
    return path.join(this.dir, 'agg', 'rollups', 'daily', `${month}.json`);
  }

  monthlyPath(month: string): string {
    return path.join(this.dir, 'agg', 'rollups', 'monthly', `${month}.json`);
  }

  yearlyPath(year: string): string {
    return path.join(this.dir, 'agg', 'rollups', 'yearly', `${year}.json`);
  }

  userPath(user: string): string {
    return path.join(this.dir, 'agg', 'users', userFileName(user));
  }

  rel(file: string): string {
    return path.relative(this.dir, file);
  }

  // The dedupe state of a month; an empty set if the month has none. Corrupt, another
  // cluster-month's, or missing while the month has rollups → SbError, before anything counts.
  readSeen(month: string): SeenSet {
    const file = this.seenPath(month);
    const buf = readIfExists(file);
    const refuse = (why: string): SbError =>
      new SbError(
        `${file}: ${why}; refusing to go on, since jobs it holds would be counted twice. ` +
          'Restore the file from a backup, or rebuild the month (see sb-reduce(1), CORRUPT STATE)',
      );
    if (buf === undefined) {
      if (existsSync(this.dailyPath(month))) throw refuse(`dedupe state is missing, but ${this.rel(this.dailyPath(month))} holds jobs of that month`);
      return new SeenSet();
    }
    try {
      return decodeSeen(buf, seenOwner(this.cluster, month));
    } catch (err) {
      if (!(err instanceof CorruptState)) throw err;
      throw refuse(`dedupe state is corrupt (${err.message})`);
    }
  }

  readDaily(month: string): DailyBins {
    const text = this.readText(this.dailyPath(month));
    return text === undefined ? new Map() : parseDaily(text, this.dailyPath(month));
  }

  // The daily file with its accounts member (undefined if written before accounts were kept).
  readDailyFile(month: string): DailyFile {
    const text = this.readText(this.dailyPath(month));
    return text === undefined ? { users: new Map(), accounts: undefined } : parseDailyFile(text, this.dailyPath(month));
  }

  readPeriod(file: string): PeriodFile | undefined {
    const text = this.readText(file);
    return text === undefined ? undefined : parsePeriod(text, file);
  }

  readUser(user: string): Totals | undefined {
    const file = this.userPath(user);
    const text = this.readText(file);
    return text === undefined ? undefined : parseUserFile(text, file, this.cluster);
  }

  readLedger(): ChunkLedger {
    return readLedger(this.ledgerFile);
  }

  // Users whose agg/users file is behind the yearly rollups (docs/store.md, users-dirty.json).
  readDirty(): Set<string> {
    const text = this.readText(this.dirtyPath);
    if (text === undefined) return new Set();
    let users: unknown;
    try {
      users = (JSON.parse(text) as { users?: unknown }).users;
    } catch {
      users = undefined;
    }
    if (!Array.isArray(users) || users.some((u) => typeof u !== 'string')) throw new SbError(`${this.dirtyPath}: not a list of users; the file is corrupt`);
    return new Set(users as string[]);
  }

  yearlyFiles(): string[] {
    try {
      return readdirSync(path.join(this.dir, 'agg', 'rollups', 'yearly'))
        .flatMap((f) => /^(\d{4})\.json$/.exec(f)?.[1] ?? [])
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  // The id of the last commit ('' before the first): it changes with every commit.
  readTxn(): string {
    return this.readText(this.txnPath) ?? '';
  }

  private readText(file: string): string | undefined {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
    }
  }

  // Under the lock: finish a published commit, drop unpublished ones. Returns what it did.
  recover(): { rolledForward: number; removed: number } {
    let rolledForward = 0;
    const text = readIfExists(this.journalPath);
    if (text !== undefined) {
      const j = parseJournal(text.toString('utf8'), this.journalPath);
      this.apply(j.renames);
      unlinkSync(this.journalPath);
      fsyncDir(this.stateDir);
      rolledForward = j.renames.length;
    }
    let removed = 0;
    let names: string[] = [];
    try {
      names = readdirSync(this.tmpDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const name of names) {
      rmSync(path.join(this.tmpDir, name), { force: true, recursive: true });
      removed++;
    }
    if (removed > 0) fsyncDir(this.tmpDir);
    return { rolledForward, removed };
  }

  // Commits files as one transaction (see the class comment). `fence` runs right before the
  // commit point and throws if this run may no longer commit (its lock was broken).
  // The new versions are written and fsynced 16 at a time: a filesystem's journal then takes
  // many fsyncs in one flush (500 all-time user files: ~1 s one by one on ext4, a tenth of that).
  async commit(txn: string, writes: FileWrite[], fence: () => void): Promise<void> {
    mkdirSync(this.tmpDir, { recursive: true });
    const renames: Array<[string, string]> = [];
    const dirs = new Set<string>();
    writes.forEach((w, i) => {
      const tmp = path.join(this.tmpDir, `${txn}.${i}`);
      dirs.add(path.dirname(w.file));
      renames.push([this.rel(tmp), this.rel(w.file)]);
    });
    // the journal is written with the new versions (it is published only once all are on disk)
    const jtmp = path.join(this.tmpDir, `${txn}.journal`);
    const jtext = formatJournal({ txn, renames });
    await writeDurableAll([...writes.map((w, i) => ({ file: path.join(this.tmpDir, `${txn}.${i}`), data: w.data })), { file: jtmp, data: jtext }]);
    for (const d of dirs) mkdirSync(d, { recursive: true });
    this.crash('temps-written');
    fsyncDir(this.tmpDir);
    fence();
    this.crash('before-publish');
    try {
      // link(2), unlike rename, never replaces a journal that is there: that would be a writer
      // without the lock, and its commit must not be lost.
      linkSync(jtmp, this.journalPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
        // A filesystem without hard links: rename, under the lock and after the fence.
        renameSync(jtmp, this.journalPath);
      } else if (code !== 'EEXIST' || readIfExists(this.journalPath)?.toString('utf8') !== jtext) {
        // EEXIST after a retransmitted NFS link that did succeed is our own journal.
        throw new SbError(`${this.journalPath}: cannot publish the commit journal: ${(err as Error).message} (another writer without the lock?)`);
      }
    }
    fsyncDir(this.stateDir);
    this.crash('published');
    rmSync(jtmp, { force: true });
    // the renamed files' directories are synced together, not one after another
    await fsyncDirsAll(this.apply(renames, false));
    // Not synced: a journal that comes back after a power cut is rolled forward again, a no-op.
    unlinkSync(this.journalPath);
    this.crash('applied');
  }

  // Renames into place; syncs their directories (or, with sync false, returns them to sync).
  private apply(renames: Array<[string, string]>, sync = true): string[] {
    const dirs = new Set<string>();
    let first = true;
    for (const [tmpRel, finalRel] of renames) {
      const tmp = path.join(this.dir, tmpRel);
      const file = path.join(this.dir, finalRel);
      mkdirSync(path.dirname(file), { recursive: true });
      try {
        renameSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // renamed before an interruption
      }
      dirs.add(path.dirname(file));
      if (first) this.crash('mid-apply');
      first = false;
    }
    if (sync) for (const d of dirs) fsyncDir(d);
    return [...dirs];
  }
}

export function formatDirty(users: Iterable<string>): string {
  return JSON.stringify({ users: [...users].sort() }) + '\n';
}

function formatJournal(j: Journal): string {
  const body = JSON.stringify({ txn: j.txn, renames: j.renames });
  return JSON.stringify({ crc32: crc32(body), ...j }) + '\n';
}

function parseJournal(text: string, file: string): Journal {
  const bad = (why: string): SbError =>
    new SbError(`${file}: the commit journal is corrupt (${why}); a commit was published but cannot be finished. Restore the cluster's directory from a backup`);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  const txn = doc['txn'];
  const renames = doc['renames'];
  if (typeof txn !== 'string' || !Array.isArray(renames)) throw bad('fields missing');
  if (doc['crc32'] !== crc32(JSON.stringify({ txn, renames }))) throw bad('checksum mismatch');
  for (const r of renames) {
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'string' || typeof r[1] !== 'string' || r.some((p: string) => p.startsWith('..') || path.isAbsolute(p))) {
      throw bad('a rename outside the cluster directory');
    }
  }
  return { txn, renames: renames as Array<[string, string]> };
}
