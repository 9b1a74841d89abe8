import { isClusterName } from '../../core/records/cluster.js';
import { formatTime, parseTime } from '../../core/records/time.js';

// A closed window of epoch seconds, as chunk records carry it.
export interface Window {
  start: number;
  end: number;
}

// A window the gate has let into (or is holding before) its pipeline, and the watermark every
// member must have reached before it passes.
export interface Announced extends Window {
  need: number;
}

// What one member says about itself; written only by its ack (and by leave/join).
export interface MemberState {
  member: string;
  // Every window of this member's run up to this second is committed; null: nothing yet.
  done: number | null;
  // The window its gate announced last, until its commit comes.
  next: Announced | null;
  // A window of this run that went by without its commit (sb-sacct gave up on it): the member
  // is stuck before it until a later run fetches it.
  failed: Window | null;
  // Left the group (for maintenance) at this time; the others do not wait for it.
  left: number | null;
  host: string;
  pid: number;
  // When its ack started, last said it was alive, and ended (null while it runs).
  since: number;
  beat: number;
  ended: number | null;
}

const MAX_TEXT = 255;

export function isMemberName(name: string): boolean {
  return isClusterName(name);
}

// A group name is a directory name under <root>/rendezvous/.
export function isGroupName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) && name.length <= 64;
}

export function newState(member: string, host: string, pid: number, now: number): MemberState {
  return { member, done: null, next: null, failed: null, left: null, host, pid, since: now, beat: now, ended: null };
}

const iso = (t: number | null): string | null => (t === null ? null : formatTime(t));

// The JSON form (times as UTC ISO strings), one line.
export function stateToJson(s: MemberState): Record<string, unknown> {
  return {
    schema_version: 1,
    member: s.member,
    done: iso(s.done),
    next: s.next === null ? null : { start: formatTime(s.next.start), end: formatTime(s.next.end), need: formatTime(s.next.need) },
    failed: s.failed === null ? null : { start: formatTime(s.failed.start), end: formatTime(s.failed.end) },
    left: iso(s.left),
    host: s.host,
    pid: s.pid,
    since: formatTime(s.since),
    beat: formatTime(s.beat),
    ended: iso(s.ended),
  };
}

export class BadState extends Error {
  override name = 'BadState';
}

function time(v: unknown, name: string): number {
  const t = typeof v === 'string' ? parseTime(v) : undefined;
  if (t === undefined) throw new BadState(`'${name}' is not a UTC time`);
  return t;
}

function timeOrNull(v: unknown, name: string): number | null {
  return v === null || v === undefined ? null : time(v, name);
}

function windowOf(v: unknown, name: string): Window {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadState(`'${name}' is not a window`);
  const o = v as Record<string, unknown>;
  const w = { start: time(o['start'], `${name}.start`), end: time(o['end'], `${name}.end`) };
  if (w.start > w.end) throw new BadState(`'${name}' starts after it ends`);
  return w;
}

// Validates what a file or a peer claims to be a member's state; throws BadState saying why.
// Only JSON.parse has run on it: every field is checked before it is used.
export function stateFromJson(v: unknown): MemberState {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BadState('not a JSON object');
  const o = v as Record<string, unknown>;
  const member = o['member'];
  if (typeof member !== 'string' || !isMemberName(member)) throw new BadState("'member' is not a member name");
  const next = o['next'] ?? null;
  const host = o['host'] ?? '';
  if (typeof host !== 'string' || host.length > MAX_TEXT) throw new BadState("'host' is not a host name");
  const pid = o['pid'] ?? 0;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) throw new BadState("'pid' is not a process id");
  return {
    member,
    done: timeOrNull(o['done'], 'done'),
    next: next === null ? null : { ...windowOf(next, 'next'), need: time((next as Record<string, unknown>)['need'], 'next.need') },
    failed: o['failed'] === null || o['failed'] === undefined ? null : windowOf(o['failed'], 'failed'),
    left: timeOrNull(o['left'], 'left'),
    host,
    pid,
    since: time(o['since'], 'since'),
    beat: time(o['beat'], 'beat'),
    ended: timeOrNull(o['ended'], 'ended'),
  };
}

export type TrackEvent =
  | { event: 'announce'; window: Announced }
  | { event: 'commit'; window: Window }
  | { event: 'failed'; window: Window };

const same = (a: Window, b: Window): boolean => a.start === b.start && a.end === b.end;

// The ack's bookkeeping, pure: the gate's announcements and sb-reduce's commits, in stream order,
// → the member's done watermark. Records reach the ack in the order the gate let them in (every
// stage keeps input order), so when the gate announces a window, the one it announced before has
// been committed, or it went by without a commit (sb-sacct gave up on it): it failed, and the
// watermark stays before it for the rest of the run.
export class Tracker {
  constructor(readonly state: MemberState) {}

  announce(w: Announced): TrackEvent[] {
    const s = this.state;
    const events: TrackEvent[] = [];
    if (s.next !== null) {
      const gone = { start: s.next.start, end: s.next.end };
      events.push({ event: 'failed', window: gone });
      if (s.failed === null || gone.start < s.failed.start) s.failed = gone;
    }
    s.next = w;
    events.push({ event: 'announce', window: w });
    this.settle(s.done);
    return events;
  }

  // sb-reduce committed the window (its commit record's `chunk`).
  commit(w: Window): TrackEvent[] {
    const s = this.state;
    const announced = s.next !== null && same(s.next, w);
    if (announced) s.next = null;
    if (s.failed !== null && same(s.failed, w)) s.failed = null;
    // a commit nobody announced (no gate upstream) moves the watermark up to its end
    this.settle(announced || s.done === null ? w.end : Math.max(s.done, w.end));
    return [{ event: 'commit', window: w }];
  }

  // Before the failed window, else before the window announced, else the last commit's end.
  private settle(frontier: number | null): void {
    const s = this.state;
    if (s.failed !== null) s.done = s.failed.start - 1;
    else if (s.next !== null) s.done = s.next.start - 1;
    else s.done = frontier;
  }
}

// How a member stands, for diagnostics: `done through T`, `nothing committed yet`.
export function describeDone(done: number | null): string {
  return done === null ? 'nothing committed yet' : `done through ${formatTime(done)}`;
}
