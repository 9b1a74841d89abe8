import { childProcess } from '../cli/builtins.js';
import { UsageError } from '../cli/errors.js';

// Epoch seconds → `2024-01-01T00:00:00Z` (UTC, second precision, as every record carries).
export function formatTime(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19) + 'Z';
}

// Strict record time (`2024-01-01T00:00:00Z`) → epoch seconds, or undefined if not that form.
// Read by character codes: every job record has two or three of these.
export function parseTime(text: string): number | undefined {
  if (text.length !== 20 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 90) return undefined;
  return civil(digits(text, 0, 4), digits(text, 5, 2), digits(text, 8, 2), digits(text, 11, 2), digits(text, 14, 2), digits(text, 17, 2));
}

// parseTime of the bytes b[start, end) (a value a reader found in a line it did not decode).
export function parseTimeAt(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start !== 20 || b[start + 4] !== 45 || b[start + 7] !== 45 || b[start + 10] !== 84 || b[start + 13] !== 58 || b[start + 16] !== 58 || b[start + 19] !== 90) return undefined;
  return civil(digitsAt(b, start, 4), digitsAt(b, start + 5, 2), digitsAt(b, start + 8, 2), digitsAt(b, start + 11, 2), digitsAt(b, start + 14, 2), digitsAt(b, start + 17, 2));
}

// Epoch seconds of a UTC date and time, or undefined if one is out of range (-1: not digits).
function civil(y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 ? (leap ? 29 : 28) : MONTH_DAYS[mo - 1] as number)) return undefined;
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// n decimal digits at i as a number, or -1 if one is not a digit.
function digits(text: string, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = text.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function digitsAt(b: Uint8Array, i: number, n: number): number {
  let v = 0;
  for (let k = i; k < i + n; k++) {
    const c = (b[k] as number) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (H. Hinnant's
// days_from_civil), as Date.UTC counts them.
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const ISO_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})$/;

// A time expression as GNU `date -d` reads it ("3 hours ago", "jan 1 2023", "now", ISO-8601),
// in the caller's TZ, → epoch seconds. Asks GNU date itself, so the meaning is exactly date's.
export function parseDateExpr(expr: string, env: NodeJS.ProcessEnv): number {
  const exact = parseTime(expr);
  if (exact !== undefined) return exact;
  if (ISO_OFFSET.test(expr)) {
    const ms = Date.parse(expr.replace(' ', 'T'));
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  if (expr.trim() === '') throw new UsageError(`invalid time '${expr}': empty`);
  if (/^[0-9]+$/.test(expr.trim()) && expr.trim().length > 8) {
    throw new UsageError(`invalid time '${expr}': write epoch seconds as '@${expr.trim()}'`);
  }
  const dateArgs = ['-d', expr, '+%s'];
  let out: string;
  try {
    out = childProcess().execFileSync(env['SB_DATE'] ?? 'date', dateArgs, {
      env: { ...env, LC_ALL: 'C' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new UsageError(`cannot read time '${expr}': GNU date is not installed`);
    throw new UsageError(`invalid time '${expr}' (expected what 'date -d' reads: "3 hours ago", "2024-01-01 00:00", "now")`);
  }
  const sec = Number(out.trim());
  if (!Number.isSafeInteger(sec)) throw new UsageError(`invalid time '${expr}': date printed '${out.trim()}'`);
  return sec;
}

