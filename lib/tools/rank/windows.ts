import { UsageError } from '../../core/cli/errors.js';
import type { Part } from '../../core/store/rollup-read.js';

// A leaderboard window. Days are UTC epoch days (seconds / 86400, floored); both ends inclusive.
export type Window =
  | { id: string; kind: 'alltime' }
  | { id: string; kind: 'rolling'; days: number; from: number; to: number }
  | { id: string; kind: 'month'; month: string }
  | { id: string; kind: 'year'; year: string };

export const MAX_ROLLING_DAYS = 36600;
const DAY = 86400;

export function epochDay(sec: number): number {
  return Math.floor(sec / DAY);
}

// `2024-03` of an epoch day.
export function monthOfDay(day: number): string {
  return new Date(day * DAY * 1000).toISOString().slice(0, 7);
}

// First and last epoch day of a month `YYYY-MM`.
export function monthDays(month: string): [number, number] {
  const y = Number(month.slice(0, 4));
  const m = Number(month.slice(5, 7));
  return [Date.UTC(y, m - 1, 1) / 1000 / DAY, Date.UTC(y, m, 1) / 1000 / DAY - 1];
}

function nextMonth(month: string): string {
  const [, last] = monthDays(month);
  return monthOfDay(last + 1);
}

// A window name (alltime, rolling-Nd, month-YYYY-MM, year-YYYY; `month` and `year` mean the
// ones holding now) → Window, or a usage error naming it.
export function parseWindow(name: string, nowSec: number): Window {
  const today = epochDay(nowSec);
  if (name === 'alltime') return { id: name, kind: 'alltime' };
  if (name === 'month') return parseWindow(`month-${monthOfDay(today)}`, nowSec);
  if (name === 'year') return parseWindow(`year-${monthOfDay(today).slice(0, 4)}`, nowSec);
  let m = /^rolling-([1-9]\d*)d$/.exec(name);
  if (m) {
    const days = Number(m[1]);
    if (days > MAX_ROLLING_DAYS) throw new UsageError(`window '${name}': at most ${MAX_ROLLING_DAYS} days`);
    return { id: name, kind: 'rolling', days, from: today - days + 1, to: today };
  }
  m = /^month-(\d{4})-(\d{2})$/.exec(name);
  if (m && Number(m[1]) >= 1970 && Number(m[2]) >= 1 && Number(m[2]) <= 12) return { id: name, kind: 'month', month: `${m[1]}-${m[2]}` };
  m = /^year-(\d{4})$/.exec(name);
  if (m && Number(m[1]) >= 1970) return { id: name, kind: 'year', year: m[1] as string };
  throw new UsageError(`unknown window '${name}' (expected alltime, rolling-30d, rolling-365d, rolling-Nd, month-YYYY-MM, year-YYYY, month or year)`);
}

// alltime, rolling-30d, rolling-365d, the month and the year holding now.
export function defaultWindows(nowSec: number): Window[] {
  return ['alltime', 'rolling-30d', 'rolling-365d', 'month', 'year'].map((w) => parseWindow(w, nowSec));
}

// The parts a window reads. `years` are the years a cluster has data for (alltime only).
// A rolling window takes whole months from monthly totals and daily bins only for the
// months at its edges that it covers in part.
export function windowParts(w: Window, years: readonly string[]): Part[] {
  switch (w.kind) {
    case 'alltime':
      return years.map((year) => ({ kind: 'year', year }));
    case 'year':
      return [{ kind: 'year', year: w.year }];
    case 'month':
      return [{ kind: 'month', month: w.month }];
    case 'rolling': {
      const parts: Part[] = [];
      for (let month = monthOfDay(w.from); ; month = nextMonth(month)) {
        const [first, last] = monthDays(month);
        const a = Math.max(first, w.from);
        const b = Math.min(last, w.to);
        if (a === first && b === last) parts.push({ kind: 'month', month });
        else parts.push({ kind: 'days', month, first: a - first + 1, last: b - first + 1 });
        if (last >= w.to) break;
      }
      return parts;
    }
  }
}

// The closed time range a window covers, for the files' start/end; none for alltime.
export function windowRange(w: Window): [number, number] | undefined {
  switch (w.kind) {
    case 'alltime':
      return undefined;
    case 'rolling':
      return [w.from * DAY, (w.to + 1) * DAY - 1];
    case 'month': {
      const [a, b] = monthDays(w.month);
      return [a * DAY, (b + 1) * DAY - 1];
    }
    case 'year':
      return [Date.UTC(Number(w.year), 0, 1) / 1000, Date.UTC(Number(w.year) + 1, 0, 1) / 1000 - 1];
  }
}
