import { nodeCrypto } from '../cli/builtins.js';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, SbError } from '../cli/errors.js';

// Who holds a lock: written once into <lock>/owner before the lock directory appears.
export interface LockOwner {
  host: string;
  pid: number;
  // The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), and the
  // kernel's boot id: together with the pid they name one process, so a recycled pid or a
  // reboot never passes for the holder.
  pstart: string | null;
  boot: string | null;
  // The pid namespace (/proc/self/ns/pid): containers may share a host name and a kernel, but a
  // pid means something only in its own namespace.
  pidns?: string | null;
  token: string;
  tool: string;
  since: string;
}

export interface LockOptions {
  tool: string;
  // How long to wait for a lock another live process holds, then LockHeld (exit 3).
  waitMs: number;
  // A holder on another host whose heartbeat is older than this is dead.
  staleMs: number;
  // Called once, when the lock is found held and the wait begins.
  onWait?: (holder: LockOwner | undefined) => void;
  // Called when a dead holder's lock is broken.
  onBreak?: (holder: LockOwner | undefined, why: string) => void;
  // What the lock guards, for messages ("the lock of cluster hammer").
  what: string;
}

// The lock is held by another live run and did not come free within --wait.
export class LockHeld extends SbError {
  constructor(message: string) {
    super(message, EXIT.locked);
    this.name = 'LockHeld';
  }
}

const HOST = hostname();
const BOOT = readText('/proc/sys/kernel/random/boot_id')?.trim() ?? null;
const PIDNS = ((): string | null => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
})();

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

interface ProcInfo {
  state: string;
  start: string;
}

function procStat(pid: number): ProcInfo | undefined {
  const text = readText(`/proc/${pid}/stat`);
  if (text === undefined) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0] ?? '', start: f[19] ?? '' };
}

// Is this process (pid + start time) still running on this host?
function processAlive(pid: number, pstart: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const info = procStat(pid);
  if (info === undefined) return true;
  if (info.state === 'Z' || info.state === 'X') return false;
  return pstart === null || info.start === pstart;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.host === 'string' && typeof o.pid === 'number' && typeof o.token === 'string') {
      return { host: o.host, pid: o.pid, pstart: o.pstart ?? null, boot: o.boot ?? null, pidns: o.pidns ?? null, token: o.token, tool: o.tool ?? '?', since: o.since ?? '?' };
    }
  } catch {
    // a torn or foreign owner file reads as unknown
  }
  return undefined;
}

function readOwner(lockPath: string): LockOwner | undefined {
  const text = readText(path.join(lockPath, 'owner'));
  return text === undefined ? undefined : parseOwner(text);
}

// The file server's clock (mtimes on NFS are the server's): the mtime of a file written now.
function serverNow(dir: string, token: string): number {
  const probe = path.join(dir, `lock.clock.${token}`);
  const fd = openSync(probe, 'w');
  try {
    writeSync(fd, 'x');
    fsyncSync(fd);
    return fstatSync(fd).mtimeMs;
  } finally {
    closeSync(fd);
    try {
      unlinkSync(probe);
    } catch {
      // removed by a cleanup already
    }
  }
}

export function describeOwner(o: LockOwner | undefined): string {
  return o === undefined ? 'an unknown process' : `${o.tool} (pid ${o.pid} on ${o.host}, since ${o.since})`;
}

interface Holder {
  gone: boolean;
  stale: string | undefined;
  owner: LockOwner | undefined;
  ino: number;
}

function inspect(lockPath: string, staleMs: number, token: string): Holder {
  const ownerFile = path.join(lockPath, 'owner');
  let dirStat;
  try {
    dirStat = statSync(lockPath);
  } catch {
    return { gone: true, stale: undefined, owner: undefined, ino: 0 };
  }
  let st;
  let owner: LockOwner | undefined;
  try {
    st = statSync(ownerFile);
    owner = parseOwner(readFileSync(ownerFile, 'utf8'));
  } catch {
    st = undefined;
  }
  const ino = dirStat.ino;
  // Same host and pid namespace: the holder's process can be looked at directly. An owner file
  // that names no namespace (written before it was recorded) is taken as this one's.
  if (owner !== undefined && owner.host === HOST && (owner.pidns == null || owner.pidns === PIDNS)) {
    if (owner.boot !== null && BOOT !== null && owner.boot !== BOOT) return { gone: false, stale: 'its host has rebooted since', owner, ino };
    if (!processAlive(owner.pid, owner.pstart)) return { gone: false, stale: `process ${owner.pid} is gone`, owner, ino };
    return { gone: false, stale: undefined, owner, ino };
  }
  // Another host (or an unreadable owner): dead when its heartbeat stopped staleMs ago.
  const beat = st?.mtimeMs ?? dirStat.mtimeMs;
  const age = serverNow(path.dirname(lockPath), token) - beat;
  if (age > staleMs) return { gone: false, stale: `no heartbeat for ${Math.round(age / 1000)} s`, owner, ino };
  return { gone: false, stale: undefined, owner, ino };
}

// A held writer lock; release() it, and beat() during long work.
export class Lock {
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = Date.now();
  private readonly ownerBytes: Buffer;

  constructor(
    readonly lockPath: string,
    readonly owner: LockOwner,
    private readonly staleMs: number,
  ) {
    this.ownerBytes = Buffer.from(JSON.stringify(owner) + '\n');
    try {
      this.fd = openSync(path.join(lockPath, 'owner'), 'r+');
    } catch {
      this.fd = undefined;
    }
    this.timer = setInterval(() => this.beat(true), Math.max(250, staleMs / 4));
    this.timer.unref();
  }

  // The heartbeat: rewriting the owner file's bytes moves its mtime on the file server's clock.
  beat(force = false): void {
    if (this.fd === undefined) return;
    if (!force && Date.now() - this.lastBeat < this.staleMs / 8) return;
    this.lastBeat = Date.now();
    try {
      writeSync(this.fd, this.ownerBytes, 0, this.ownerBytes.length, 0);
      fsyncSync(this.fd);
    } catch {
      // a failing heartbeat shows as a stale lock to others; holds() will tell
    }
  }

  // Is the lock still ours? (Checked right before a commit point: a holder presumed dead and
  // broken by another run must not publish.)
  holds(): boolean {
    return readOwner(this.lockPath)?.token === this.owner.token;
  }

  release(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    if (!this.holds()) return;
    const freed = `${this.lockPath}.free.${this.owner.token}`;
    try {
      renameSync(this.lockPath, freed);
    } catch {
      return;
    }
    rmSync(freed, { recursive: true, force: true });
  }
}

// Takes the lock at lockPath (a directory): NFS-safe, no flock. A complete lock directory (with
// its owner file) is built under a private name and renamed into place; rename onto an existing
// non-empty directory fails, so exactly one run succeeds. A holder on this host whose process is
// gone, or on another host whose heartbeat stopped staleMs ago, is broken at once by renaming its
// lock to a tombstone named after the holder's token, which makes two runs breaking the same dead
// lock harmless: the second rename finds the tombstone and fails.
export async function acquireLock(lockPath: string, opts: LockOptions): Promise<Lock> {
  const dir = path.dirname(lockPath);
  mkdirSync(dir, { recursive: true });
  const token = `${Date.now().toString(36)}-${nodeCrypto().randomBytes(8).toString('hex')}`;
  const info = procStat(process.pid);
  const owner: LockOwner = {
    host: HOST,
    pid: process.pid,
    pstart: info?.start ?? null,
    boot: BOOT,
    pidns: PIDNS,
    token,
    tool: opts.tool,
    since: new Date().toISOString().slice(0, 19) + 'Z',
  };
  const prepared = `${lockPath}.new.${token}`;
  mkdirSync(prepared);
  const deadline = Date.now() + opts.waitMs;
  let waited = false;
  let delay = 5;
  try {
    // No fsync: a lock matters only while its holder lives, and a reboot (new boot id) frees it.
    writeFileSync(path.join(prepared, 'owner'), JSON.stringify(owner) + '\n');
    for (;;) {
      try {
        renameSync(prepared, lockPath);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // NFS may answer a retransmitted, already done rename with ENOENT.
        if (code === 'ENOENT' && readOwner(lockPath)?.token === token) break;
        if (code === 'ENOTDIR') {
          throw new SbError(`'${lockPath}' is a file, not sb's lock directory (the seed's flock file?); remove it when no old scoreboard run is active`);
        }
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'EISDIR' && code !== 'EPERM') throw err;
      }
      const holder = inspect(lockPath, opts.staleMs, token);
      if (holder.gone) continue;
      if (holder.stale !== undefined) {
        breakLock(lockPath, holder);
        opts.onBreak?.(holder.owner, holder.stale);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new LockHeld(`${opts.what} is held by ${describeOwner(holder.owner)}; gave up after ${opts.waitMs / 1000} s (--wait)`);
      }
      if (!waited) opts.onWait?.(holder.owner);
      waited = true;
      await sleep(Math.min(left, delay + Math.random() * delay));
      delay = Math.min(delay * 2, 200);
    }
  } catch (err) {
    rmSync(prepared, { recursive: true, force: true });
    throw err;
  }
  cleanSiblings(lockPath, token);
  return new Lock(lockPath, owner, opts.staleMs);
}

function breakLock(lockPath: string, holder: Holder): void {
  const tomb = `${lockPath}.dead.${holder.owner?.token ?? `ino${holder.ino}`}`;
  try {
    renameSync(lockPath, tomb);
  } catch {
    // gone already, or broken by another run (its tombstone exists): look again
    return;
  }
  try {
    writeFileSync(path.join(tomb, 'broken'), new Date().toISOString() + '\n');
  } catch {
    // the tombstone is removed later by age
  }
}

const TOMBSTONE_MS = 10 * 60_000;
const LEFTOVER_MS = 24 * 3600_000;

// Removes what dead runs left next to the lock: released and prepared locks, old tombstones.
function cleanSiblings(lockPath: string, token: string): void {
  const dir = path.dirname(lockPath);
  const base = path.basename(lockPath) + '.';
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(base) || name.endsWith(token)) continue;
    const full = path.join(dir, name);
    const kind = name.slice(base.length).split('.')[0];
    try {
      if (kind === 'free') {
        rmSync(full, { recursive: true, force: true });
      } else if (kind === 'new') {
        const o = readOwner(full);
        const old = now - statSync(full).mtimeMs > LEFTOVER_MS;
        const mine = o !== undefined && o.host === HOST && (o.pidns ?? null) === PIDNS;
        if (old || (mine && !processAlive(o.pid, o.pstart))) rmSync(full, { recursive: true, force: true });
      } else if (kind === 'dead') {
        let mark: number;
        try {
          mark = statSync(path.join(full, 'broken')).mtimeMs;
        } catch {
          mark = statSync(full).mtimeMs + LEFTOVER_MS - TOMBSTONE_MS;
        }
        if (now - mark > TOMBSTONE_MS) rmSync(full, { recursive: true, force: true });
      } else if (kind === 'clock') {
        if (now - statSync(full).mtimeMs > 60_000) rmSync(full, { force: true });
      }
    } catch {
      // another run cleans the same leftovers
    }
  }
}

export interface LockState {
  owner: LockOwner | undefined;
  // Why the holder counts as dead (its process is gone, no heartbeat); undefined: alive.
  stale: string | undefined;
}

// Who holds a lock, without taking it (sb-probe --status): undefined when it is free. Tells a
// live holder from a dead one as acquireLock would (the next run breaks a dead one).
export function peekLock(lockPath: string, staleMs: number): LockState | undefined {
  let holder: Holder;
  try {
    holder = inspect(lockPath, staleMs, `peek-${nodeCrypto().randomBytes(6).toString('hex')}`);
  } catch {
    // a read-only store: no clock probe; the owner file still tells who
    holder = { gone: false, stale: undefined, owner: readOwner(lockPath), ino: 0 };
  }
  return holder.gone ? undefined : { owner: holder.owner, stale: holder.stale };
}
