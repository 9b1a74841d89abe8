// sacct's -S/-E time syntax (Slurm's parse_time), read as local time in $TZ like mktime(3).
import type { LocalZone } from './time-format.js';

export class TimeError extends Error {}

const UNITS: Record<string, number> = {
  '': 1, s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800,
};

const NAMED: Record<string, number> = { midnight: 0, noon: 12, elevenses: 11, fika: 15, teatime: 16 };

function fail(pos: number, text: string): never {
  throw new TimeError(`Invalid time specification (pos=${pos}): ${text}`);
}

function valid(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return false;
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= dim;
}

function localParts(zone: LocalZone, now: number): [number, number, number] {
  const lt = now + zone.offset(now);
  const dt = new Date(lt * 1000);
  return [dt.getUTCFullYear(), dt.getUTCMonth() + 1, dt.getUTCDate()];
}

// Returns epoch seconds or throws TimeError with the message sacct prints.
export function parseSlurmTime(text: string, zone: LocalZone, now: number): number {
  const s = text.trim();
  const lower = s.toLowerCase();
  let m = /^now(?:([+-])(\d+)([a-z]*))?$/.exec(lower);
  if (m) {
    if (!m[1]) return now;
    const unit = UNITS[m[3] ?? ''];
    if (unit === undefined) fail(4 + (m[2] ?? '').length, text);
    const delta = Number(m[2]) * unit;
    return m[1] === '+' ? now + delta : now - delta;
  }
  const [ty, tm, td] = localParts(zone, now);
  if (lower === 'today') return zone.toEpoch(ty, tm, td, 0, 0, 0);
  if (lower === 'tomorrow') return zone.toEpoch(ty, tm, td + 1, 0, 0, 0);
  const named = NAMED[lower];
  if (named !== undefined) {
    return zone.toEpoch(ty, tm, td, named, 0, 0);
  }
  // YYYY-MM-DD[THH:MM[:SS]]
  m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:T(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$/.exec(s);
  if (m) {
    const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((i) => Number(m![i] ?? 0)) as [number, number, number, number, number, number];
    if (!valid(y, mo, d, h, mi, sec)) fail(m[4] === undefined ? 5 : 11, text);
    return zone.toEpoch(y, mo, d, h, mi, sec);
  }
  // MM/DD[/YY][-HH:MM[:SS]], MM.DD[.YY], MMDD[YY]
  m = /^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2}|\d{4}))?(?:-(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$/.exec(s) ??
    /^(\d{2})(\d{2})(\d{2})?()()()$/.exec(s);
  if (m) {
    const mo = Number(m[1]);
    const d = Number(m[2]);
    let y = m[3] ? Number(m[3]) : ty;
    if (m[3] && m[3].length === 2) y += 2000;
    const h = Number(m[4] || 0);
    const mi = Number(m[5] || 0);
    const sec = Number(m[6] || 0);
    if (!valid(y, mo, d, h, mi, sec)) fail(0, text);
    const t = zone.toEpoch(y, mo, d, h, mi, sec);
    // sacct parses in the past: a date without a year that is still to come means last year's.
    return !m[3] && t > now ? zone.toEpoch(y - 1, mo, d, h, mi, sec) : t;
  }
  // HH:MM[:SS] [AM|PM]: today.
  m = /^(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*(am|pm)?$/.exec(lower);
  if (m) {
    let h = Number(m[1]);
    if (m[4]) {
      if (h < 1 || h > 12) fail(0, text);
      h = (h % 12) + (m[4] === 'pm' ? 12 : 0);
    }
    const mi = Number(m[2]);
    const sec = Number(m[3] ?? 0);
    if (!valid(ty, tm, td, h, mi, sec)) fail(0, text);
    return zone.toEpoch(ty, tm, td, h, mi, sec);
  }
  let pos = 0;
  while (pos < s.length && /[0-9:T/.-]/.test(s[pos]!)) pos++;
  return fail(pos, text);
}
