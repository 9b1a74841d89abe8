import { UsageError } from '../cli/errors.js';

const UNIT_SECONDS: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+(?:\.\d+)?|\.\d+)(s|m|min|h|d)?$/;

// `90`, `90s`, `15m`, `1.5h`, `2d` → seconds; undefined if not that form.
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_SECONDS[m[2] ?? ''] ?? 1);
}

// A duration option's value in seconds, or a usage error naming the value.
export function durationOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const sec = parseDuration(value);
  if (sec === undefined) {
    throw new UsageError(`option '--${name}': '${value}' is not a duration (seconds, or a number with s, m, h or d)`);
  }
  return sec;
}

// Seconds → a short human form for messages: 45 s, 2.5 min, 3 h, 12.5 d.
export function formatDuration(sec: number): string {
  if (sec < 120) return `${+sec.toFixed(sec < 10 ? 2 : 1)} s`;
  if (sec < 7200) return `${+(sec / 60).toFixed(1)} min`;
  if (sec < 172_800) return `${+(sec / 3600).toFixed(1)} h`;
  return `${+(sec / 86400).toFixed(1)} d`;
}
