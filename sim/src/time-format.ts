// Times as sacct prints them: naive local time in $TZ, in SLURM_TIME_FORMAT (standard by default).

const P2: string[] = [];
for (let i = 0; i < 100; i++) P2.push(i < 10 ? '0' + i : String(i));
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// Days since 1970-01-01 to [year, month 1-12, day] (Howard Hinnant's civil_from_days).
export function civil(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function pad4(y: number): string {
  return y >= 0 && y < 10000 ? String(y).padStart(4, '0') : String(y);
}

// Local-time offset (seconds east of UTC) at an instant, cached per quarter hour; zero for UTC.
export class LocalZone {
  private readonly utc: boolean;
  private readonly slots = new Map<number, number>();
  constructor() {
    // $TZ named first: asking Intl for the zone costs ~75 ms of ICU set-up a process, more than
    // the rest of a short sacct call (the tests run it hundreds of times, always under TZ=UTC)
    const utc = (tz: string | undefined): boolean => tz === 'UTC' || tz === 'Etc/UTC' || tz === 'Etc/GMT' || tz === 'GMT' || tz === 'Etc/Universal';
    this.utc = utc(process.env['TZ']) || utc(Intl.DateTimeFormat().resolvedOptions().timeZone);
  }
  offset(t: number): number {
    if (this.utc) return 0;
    const slot = Math.floor(t / 900);
    let off = this.slots.get(slot);
    if (off === undefined) {
      off = -new Date(t * 1000).getTimezoneOffset() * 60;
      this.slots.set(slot, off);
    }
    return off;
  }
  // Naive local fields to epoch seconds, as mktime(3) would.
  toEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
    const dt = new Date(2000, 0, 1, 0, 0, 0);
    dt.setFullYear(y, mo - 1, d);
    dt.setHours(h, mi, s, 0);
    return Math.floor(dt.getTime() / 1000);
  }
}

export type TimeFormatter = (t: number) => string;

// Returns the formatter and, for a bad SLURM_TIME_FORMAT, the warning sacct prints.
export function makeTimeFormatter(zone: LocalZone, spec: string | undefined, now: number): { fmt: TimeFormatter; warning: string } {
  let warning = '';
  if (spec === undefined || spec === '' || spec === 'standard') return { fmt: standard(zone), warning };
  if (spec === 'relative') return { fmt: relative(zone, now), warning };
  if (!spec.includes('%') || spec.length >= 32) {
    warning = `sacct: error: invalid SLURM_TIME_FORMAT = ${spec}`;
    return { fmt: standard(zone), warning };
  }
  if (spec === '%s') return { fmt: (t) => (t === 0 ? 'Unknown' : String(t)), warning };
  return { fmt: (t) => (t === 0 ? 'Unknown' : strftime(zone, spec, t)), warning };
}

function standard(zone: LocalZone): TimeFormatter {
  const days = new Map<number, string>();
  return (t: number): string => {
    if (t === 0) return 'Unknown';
    const lt = t + zone.offset(t);
    const day = Math.floor(lt / 86400);
    let ds = days.get(day);
    if (ds === undefined) {
      const [y, m, d] = civil(day);
      ds = `${pad4(y)}-${P2[m]}-${P2[d]}T`;
      days.set(day, ds);
    }
    const s = lt - day * 86400;
    const h = Math.floor(s / 3600);
    const mi = Math.floor((s - h * 3600) / 60);
    return ds + P2[h]! + ':' + P2[mi]! + ':' + P2[s - h * 3600 - mi * 60]!;
  };
}

// Slurm's "relative" style, approximately: today's times bare, near days named, older ones dated.
function relative(zone: LocalZone, now: number): TimeFormatter {
  const today = Math.floor((now + zone.offset(now)) / 86400);
  return (t: number): string => {
    if (t === 0) return 'Unknown';
    const day = Math.floor((t + zone.offset(t)) / 86400);
    if (day === today) return strftime(zone, '%H:%M:%S', t);
    if (day === today - 1) return strftime(zone, 'Ystday %H:%M', t);
    if (day === today + 1) return strftime(zone, 'Tomorr %H:%M', t);
    if (Math.abs(day - today) < 7) return strftime(zone, '%a %H:%M', t);
    if (Math.abs(day - today) < 183) return strftime(zone, '%e %b %H:%M', t).trimStart();
    return strftime(zone, '%e %b %Y', t).trimStart();
  };
}

// The strftime(3) conversions people put in SLURM_TIME_FORMAT; others are printed as written.
export function strftime(zone: LocalZone, spec: string, t: number): string {
  const off = zone.offset(t);
  const lt = t + off;
  const day = Math.floor(lt / 86400);
  const [y, m, d] = civil(day);
  const s = lt - day * 86400;
  const H = Math.floor(s / 3600);
  const M = Math.floor((s % 3600) / 60);
  const Sec = s % 60;
  const wday = (((day + 4) % 7) + 7) % 7;
  const yday = day - daysFromCivil(y, 1, 1);
  let out = '';
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i]!;
    if (c !== '%' || i === spec.length - 1) {
      out += c;
      continue;
    }
    const k = spec[++i]!;
    switch (k) {
      case 'Y': out += pad4(y); break;
      case 'y': out += P2[((y % 100) + 100) % 100]; break;
      case 'C': out += P2[Math.floor(y / 100) % 100]; break;
      case 'm': out += P2[m]; break;
      case 'd': out += P2[d]; break;
      case 'e': out += String(d).padStart(2, ' '); break;
      case 'H': out += P2[H]; break;
      case 'I': out += P2[H % 12 === 0 ? 12 : H % 12]; break;
      case 'M': out += P2[M]; break;
      case 'S': out += P2[Sec]; break;
      case 'p': out += H < 12 ? 'AM' : 'PM'; break;
      case 's': out += String(t); break;
      case 'F': out += `${pad4(y)}-${P2[m]}-${P2[d]}`; break;
      case 'T': out += `${P2[H]}:${P2[M]}:${P2[Sec]}`; break;
      case 'R': out += `${P2[H]}:${P2[M]}`; break;
      case 'D': out += `${P2[m]}/${P2[d]}/${P2[((y % 100) + 100) % 100]}`; break;
      case 'b': case 'h': out += MONTHS[m - 1]; break;
      case 'B': out += MONTHS_LONG[m - 1]; break;
      case 'a': out += DAYS[wday]; break;
      case 'A': out += DAYS_LONG[wday]; break;
      case 'j': out += String(yday + 1).padStart(3, '0'); break;
      case 'u': out += String(wday === 0 ? 7 : wday); break;
      case 'w': out += String(wday); break;
      case 'z': {
        const a = Math.abs(off) / 60;
        out += (off < 0 ? '-' : '+') + P2[Math.floor(a / 60)] + P2[a % 60];
        break;
      }
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case '%': out += '%'; break;
      default: out += '%' + k;
    }
  }
  return out;
}

// Slurm's secs2time_str: [D-]HH:MM:SS.
export function duration(secs: number): string {
  if (secs < 0) return 'INVALID';
  const days = Math.floor(secs / 86400);
  const r = secs - days * 86400;
  const h = Math.floor(r / 3600);
  const m = Math.floor((r - h * 3600) / 60);
  const s = r - h * 3600 - m * 60;
  const hms = P2[h]! + ':' + P2[m]! + ':' + P2[s]!;
  return days > 0 ? days + '-' + hms : hms;
}

// Slurm's mins2time_str, used for Timelimit.
export function minutes(mins: number): string {
  return duration(mins * 60);
}

// UTC ISO-8601 with Z, as sb's records carry times (sb(7)).
export function isoUtc(t: number): string {
  const day = Math.floor(t / 86400);
  const [y, m, d] = civil(day);
  const s = t - day * 86400;
  return `${pad4(y)}-${P2[m]}-${P2[d]}T${P2[Math.floor(s / 3600)]}:${P2[Math.floor((s % 3600) / 60)]}:${P2[s % 60]}Z`;
}
