import { BadInput, UsageError } from '../cli/errors.js';
import { formatTime } from '../records/time.js';

const HOUR = 3600;
const DAY = 86400;

// Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil).
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

// A zone's UTC offset (seconds east) at an instant, from Intl, remembered per UTC hour.
class ZoneOffsets {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly byHour = new Map<number, number>();

  constructor(readonly zone: string) {
    try {
      this.fmt = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new UsageError(`option '--tz': '${zone}' is not a time zone (expected a name like Europe/Berlin)`);
    }
  }

  at(utc: number): number {
    const hour = Math.floor(utc / HOUR);
    const known = this.byHour.get(hour);
    if (known !== undefined) return known;
    const first = this.exact(hour * HOUR);
    // An hour holding a change (rare: some zones change on the half hour) is not remembered.
    if (this.exact(hour * HOUR + HOUR - 1) === first) this.byHour.set(hour, first);
    else return this.exact(utc);
    return first;
  }

  private exact(utc: number): number {
    const p: Record<string, number> = {};
    for (const part of this.fmt.formatToParts(new Date(utc * 1000))) {
      if (part.type !== 'literal') p[part.type] = Number(part.value);
    }
    const local = daysFromCivil(p['year'] ?? 1970, p['month'] ?? 1, p['day'] ?? 1) * DAY + (p['hour'] ?? 0) * HOUR + (p['minute'] ?? 0) * 60 + (p['second'] ?? 0);
    return local - utc;
  }
}

// Reads sacct's naive times (`2024-01-01T00:00:00`: no zone, in the zone sacct ran in) as UTC
// (sb-sacct runs sacct with TZ=UTC) or in a named zone, without a process or a Date per row.
// `Unknown`, `None` and empty are absent: null. An explicit `Z` or `±HH:MM` is honoured.
export class SacctClock {
  private readonly offsets: ZoneOffsets | undefined;
  // Naive hour → the offset that holds for all of it (hours in or next to a change are not kept).
  private readonly byLocalHour = new Map<number, number>();
  // The month of the last time read (yyyymm), its first midnight, its days.
  private month = -1;
  private monthStart = 0;
  private monthDays = 0;
  // The last naive hour fromLocal found steady, and its offset.
  private localHour = Number.NaN;
  private localOffset = 0;

  constructor(zone?: string) {
    this.offsets = zone === undefined || zone === 'UTC' || zone === 'Etc/UTC' ? undefined : new ZoneOffsets(zone);
  }

  get utc(): boolean {
    return this.offsets === undefined;
  }

  // Epoch seconds, null when absent, BadInput naming the field when not a time.
  read(field: string, text: string): number | null {
    const n = text.length;
    if (n === 19) {
      const naive = this.naive(text);
      if (!Number.isNaN(naive)) return this.offsets === undefined ? naive : this.fromLocal(naive);
    } else if (n === 0 || text === 'Unknown' || text === 'None') {
      return null;
    } else if (n === 20 && text.charCodeAt(19) === 90 /* Z */) {
      const t = this.naive(text);
      if (!Number.isNaN(t)) return t;
    } else if (n === 25 || n === 24) {
      const t = this.naive(text);
      const m = /^([+-])(\d\d):?(\d\d)$/.exec(text.slice(19));
      if (!Number.isNaN(t) && m) return t - (m[1] === '-' ? -1 : 1) * (Number(m[2]) * HOUR + Number(m[3]) * 60);
    }
    throw new BadInput(`${field} '${text}' is not a time like 2024-01-01T00:00:00`);
  }

  // `2024-01-31T23:59:59` (or with a space, or more after it) read as if UTC, or NaN. Digits
  // are read in place; the last month's start is kept (rows of a window share one or two).
  private naive(text: string): number {
    const c1 = two(text, 0);
    const c2 = two(text, 2);
    const mo = two(text, 5);
    const d = two(text, 8);
    const h = two(text, 11);
    const mi = two(text, 14);
    const sec = two(text, 17);
    if ((c1 | c2 | h | mi | sec) < 0 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return Number.NaN;
    const sep = text.charCodeAt(10);
    if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || (sep !== 84 && sep !== 32) || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) {
      return Number.NaN;
    }
    const month = (c1 * 100 + c2) * 100 + mo;
    if (month !== this.month) {
      const y = c1 * 100 + c2;
      this.month = month;
      this.monthStart = daysFromCivil(y, mo, 1) * DAY;
      this.monthDays = daysInMonth(y, mo);
    }
    if (d > this.monthDays) return Number.NaN;
    return this.monthStart + (d - 1) * DAY + h * HOUR + mi * 60 + sec;
  }

  // The record form of a time read from `text`: sacct's own text plus `Z` when it already is
  // UTC in ISO form (the common case, no formatting), else formatted.
  iso(text: string, epoch: number): string {
    if (this.plain(text)) return text + 'Z';
    return formatTime(epoch);
  }

  // Whether iso() of a time read from `text` is `text` + Z.
  plain(text: string): boolean {
    return this.offsets === undefined && text.length === 19 && text.charCodeAt(10) === 84;
  }



  // Local wall-clock seconds → UTC. In a repeated hour (clocks going back) the earlier instant;
  // in a skipped hour (clocks going forward) the time is read with the offset before the change.
  private fromLocal(local: number): number {
    const hour = Math.floor(local / HOUR);
    if (hour === this.localHour) return local - this.localOffset;
    const known = this.byLocalHour.get(hour);
    if (known !== undefined) {
      this.localHour = hour;
      this.localOffset = known;
      return local - known;
    }
    const off = this.offsets as ZoneOffsets;
    const start = hour * HOUR;
    const steady = off.at(start - DAY);
    if (steady === off.at(start + DAY)) {
      this.byLocalHour.set(hour, steady);
      return local - steady;
    }
    const before = off.at(local - DAY);
    const after = off.at(local + DAY);
    const fitsBefore = off.at(local - before) === before;
    const fitsAfter = off.at(local - after) === after;
    if (fitsBefore && fitsAfter) return local - Math.max(before, after);
    return local - (fitsAfter && !fitsBefore ? after : before);
  }
}
