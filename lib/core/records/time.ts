import { execFileSync } from 'node:child_process';
import { UsageError } from '../cli/errors.js';

// Epoch seconds → `2024-01-01T00:00:00Z` (UTC, second precision, as every record carries).
export function formatTime(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19) + 'Z';
}

const ISO_Z = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

// Strict record time (`2024-01-01T00:00:00Z`) → epoch seconds, or undefined if not that form.
export function parseTime(text: string): number | undefined {
  const m = ISO_Z.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return undefined;
  // setUTCFullYear: Date.UTC reads years 0-99 as 1900-1999
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCDate() !== d) return undefined;
  return date.getTime() / 1000;
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
    out = execFileSync(env['SB_DATE'] ?? 'date', dateArgs, {
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

