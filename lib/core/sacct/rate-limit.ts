import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { SbError, UsageError } from '../cli/errors.js';
import { parseDuration } from './duration.js';

// At most `calls` starts in any `periodMs`; calls 0 means no limit.
export interface Rate {
  calls: number;
  periodMs: number;
}

// `30` (a minute), `6/10s`, `100/1h` → Rate; a usage error otherwise.
export function parseRate(text: string): Rate {
  const m = /^(\d+)(?:\/(.+))?$/.exec(text.trim());
  const period = m?.[2] === undefined ? 60 : parseDuration(m[2]);
  if (!m || period === undefined || period <= 0) {
    throw new UsageError(`option '--rate': '${text}' is not CALLS or CALLS/PERIOD (e.g. 30, 6/10s, 100/1h)`);
  }
  return { calls: Number(m[1]), periodMs: Math.round(period * 1000) };
}

// The per-user directory every sb-sacct process of this user on this host shares.
export function rateDir(env: NodeJS.ProcessEnv, uid: number): string {
  const base = env['XDG_RUNTIME_DIR'] || '/tmp';
  return path.join(base, `sb-sacct-${uid}`, 'tickets');
}

// Creates the ticket directory (mode 0700) and refuses one that another user owns or that is a
// symbolic link (a shared /tmp).
export function ensureRateDir(dir: string, uid: number): void {
  const parent = path.dirname(dir);
  for (const d of [parent, dir]) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SbError(`cannot create the rate-limit directory '${d}': ${(err as Error).message}`);
      }
    }
    const st = lstatSync(d);
    if (!st.isDirectory() || st.isSymbolicLink() || (uid !== 0 && st.uid !== uid)) {
      throw new SbError(`the rate-limit directory '${d}' is not a directory of user ${uid}; remove it or set XDG_RUNTIME_DIR`);
    }
  }
}

const TICKET = /^t(\d{1,15})$/;

// Reads a ticket's scheduled start (ms); undefined when gone (pruned) or unreadable.
function ticketStart(dir: string, seq: number): number | undefined {
  try {
    const v = Number(readFileSync(path.join(dir, `t${seq}`), 'utf8'));
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// Takes the next ticket of the shared queue and returns the time (epoch ms) its call may start.
//
// Tickets are files t<seq> holding their scheduled start; seq counts up across every process.
// Ticket s is scheduled at max(now, start(s - calls) + period) and claimed with link(2) of a
// complete temporary file, which fails with EEXIST when another process took s first (then we
// look again). Starts so grow with seq, and any period holds at most `calls` of them. No lock is
// held, so a process killed at any point cannot wedge the others; at worst its ticket goes unused.
export function takeTicket(dir: string, rate: Rate, now: () => number = Date.now): number {
  const tmp = path.join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    for (let tries = 0; ; tries++) {
      let top = -1;
      for (const name of readdirSync(dir)) {
        const m = TICKET.exec(name);
        if (m) top = Math.max(top, Number(m[1]));
      }
      const seq = top + 1;
      const t = now();
      const prev = seq - rate.calls >= 0 ? ticketStart(dir, seq - rate.calls) : undefined;
      const start = Math.max(t, prev === undefined ? t : prev + rate.periodMs);
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeSync(fd, String(start));
      } finally {
        closeSync(fd);
      }
      try {
        linkSync(tmp, path.join(dir, `t${seq}`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && tries < 10_000) continue;
        throw err;
      }
      prune(dir, seq - 2 * rate.calls - 8);
      return start;
    }
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

// Removes tickets far behind the newest; the queue only ever looks `calls` back.
function prune(dir: string, below: number): void {
  if (below < 0) return;
  for (const name of readdirSync(dir)) {
    const m = TICKET.exec(name);
    if (m && Number(m[1]) < below) {
      try {
        unlinkSync(path.join(dir, name));
      } catch {
        // another process pruned it
      }
    }
  }
}

// How busy the shared queue is (sb-probe): calls started in the last `periodMs`, and calls
// scheduled to start later (waiting their turn). A missing directory is an idle queue.
export function queueLoad(dir: string, periodMs: number, now = Date.now()): { recent: number; waiting: number } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { recent: 0, waiting: 0 };
  }
  let recent = 0;
  let waiting = 0;
  for (const name of names) {
    const m = TICKET.exec(name);
    const start = m ? ticketStart(dir, Number(m[1])) : undefined;
    if (start === undefined) continue;
    if (start > now) waiting++;
    else if (start > now - periodMs) recent++;
  }
  return { recent, waiting };
}

// A rate as people say it: "30 calls a minute", "6 calls per 10 s", "no limit".
export function describeRate(rate: Rate): string {
  if (rate.calls === 0) return 'no limit';
  const calls = `${rate.calls} call${rate.calls === 1 ? '' : 's'}`;
  if (rate.periodMs === 60_000) return `${calls} a minute`;
  if (rate.periodMs === 3_600_000) return `${calls} an hour`;
  return `${calls} per ${rate.periodMs / 1000} s`;
}
