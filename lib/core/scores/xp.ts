import type { MetricId, Totals } from './metrics.js';

export const MAX_LEVEL = 99;
export const MAX_XP = 200_000_000;

// The Old School RuneScape experience table: XP_TABLE[L] is the XP that reaches level L
// (index 0 unused, XP_TABLE[1] = 0): floor(sum_{l=1}^{L-1} floor(l + 300·2^(l/7)) / 4).
export const XP_TABLE: readonly number[] = (() => {
  const table = [0, 0];
  let points = 0;
  for (let l = 1; l < MAX_LEVEL; l++) {
    points += Math.floor(l + 300 * 2 ** (l / 7));
    table.push(Math.floor(points / 4));
  }
  return table;
})();

// The level (1–99) that an amount of XP reaches.
export function levelForXp(xp: number): number {
  let lo = 1;
  let hi = MAX_LEVEL;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((XP_TABLE[mid] as number) <= xp) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// The total field a metric is ranked by (exact, so ties are real ties) and its XP rate:
// XP = floor(field × num / den), capped at MAX_XP. `perUnit` is the same rate per displayed
// unit (core-hour, GiB-hour, job), as sb-rank(1) documents it.
export interface Skill {
  metric: MetricId;
  field: keyof Totals;
  perUnit: number;
  num: number;
  den: number;
}

const GIB_HOUR = 2 ** 30 * 3600;

// Calibrated so that one heavy user-year (500k core-hours, 70k job-hours, 20k GPU-hours,
// 100k jobs, 2M requested GiB-hours) is level 87–92 in every skill and a thousandth of it
// level 19–24: see sb-rank(1), XP AND LEVELS.
export const SKILLS: readonly Skill[] = [
  { metric: 'clock_hours', field: 'cpu_s', perUnit: 10, num: 1, den: 360 },
  { metric: 'elapsed_hours', field: 'elapsed_s', perUnit: 100, num: 1, den: 36 },
  { metric: 'gpu_clock_hours', field: 'gpu_s', perUnit: 200, num: 1, den: 18 },
  { metric: 'gpu_elapsed_hours', field: 'gpu_elapsed_s', perUnit: 200, num: 1, den: 18 },
  { metric: 'jobs', field: 'jobs', perUnit: 50, num: 50, den: 1 },
  { metric: 'gpu_jobs', field: 'gpu_jobs', perUnit: 500, num: 500, den: 1 },
  { metric: 'failed_jobs', field: 'failed_jobs', perUnit: 500, num: 500, den: 1 },
  { metric: 'mem_req_gb_hours', field: 'mem_req_byte_s', perUnit: 2.5, num: 5, den: 2 * GIB_HOUR },
  { metric: 'mem_used_gb_hours', field: 'mem_used_byte_s', perUnit: 5, num: 5, den: GIB_HOUR },
];

const BIG = new Map<number, bigint>();
const big = (n: number): bigint => BIG.get(n) ?? (BIG.set(n, BigInt(n)), BigInt(n));

// The XP a total earns in a skill: whole XP, exact (BigInt for byte-seconds), capped.
export function skillXp(skill: Skill, t: Totals): number {
  const x = t[skill.field];
  if (typeof x === 'bigint') {
    const q = (x * big(skill.num)) / big(skill.den);
    return q >= big(MAX_XP) ? MAX_XP : Number(q);
  }
  const xp = Math.floor((x * skill.num) / skill.den);
  return xp > MAX_XP ? MAX_XP : xp;
}

// One row of a board, as sb-rank writes it and sb-render reads it.
export interface BoardRow {
  rank: number;
  user: string;
  value: number;
  level: number;
  xp: number;
}
