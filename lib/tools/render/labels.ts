import { METRICS, type MetricId } from '../../core/scores/metrics.js';
import type { SkillId } from './boards.js';

// What the screens and the page call each skill, and the unit of its value.
export interface SkillLabel {
  id: SkillId;
  // As the skill list shows it (short: the side panel is narrow).
  name: string;
  title: string;
  unit: string;
  // The metric a user's chart shows on this skill's page (Overall: core-hours).
  chart: MetricId;
  // Decimals the value is shown with.
  decimals: number;
}

const SHORT: Record<SkillId, string> = {
  overall: 'Overall',
  clock_hours: 'CPU hours',
  elapsed_hours: 'Wall hours',
  gpu_clock_hours: 'GPU hours',
  gpu_elapsed_hours: 'GPU wall hours',
  jobs: 'Jobs',
  gpu_jobs: 'GPU jobs',
  failed_jobs: 'Failed jobs',
  mem_req_gb_hours: 'Memory asked',
  mem_used_gb_hours: 'Memory used',
};

export function skillLabel(id: SkillId): SkillLabel {
  if (id === 'overall') return { id, name: SHORT.overall, title: 'Overall', unit: 'total level', chart: 'clock_hours', decimals: 0 };
  const m = METRICS.find((x) => x.id === id) as (typeof METRICS)[number];
  return { id, name: SHORT[id], title: m.title, unit: m.unit, chart: id, decimals: m.unit === 'jobs' ? 0 : 1 };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

// A window's name for people: "Last 30 days", "December 2026", "2026", "All time".
export function windowLabel(w: string): string {
  const r = /^rolling-(\d+)d$/.exec(w);
  if (r) return r[1] === '1' ? 'Last day' : `Last ${r[1]} days`;
  const m = /^month-(\d{4})-(\d{2})$/.exec(w);
  if (m) return `${MONTHS[Number(m[2]) - 1] ?? m[2]} ${m[1]}`;
  const y = /^year-(\d{4})$/.exec(w);
  if (y) return y[1] as string;
  if (w === 'alltime') return 'All time';
  return w;
}

export function clusterLabel(c: string): string {
  return c === 'all' ? 'All clusters' : c;
}

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

// 6,212,546 (fixed en-US grouping: snapshots must not change with the reader's locale).
export function formatWhole(n: number): string {
  return whole.format(n);
}

export function formatValue(n: number, decimals: number): string {
  return decimals === 0 ? whole.format(n) : oneDecimal.format(n);
}

// Compact figures for narrow places and chart scales: 621k, 1.2M.
export function formatShort(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  return a >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

function trim(x: number): string {
  return x >= 100 ? String(Math.round(x)) : x.toFixed(1).replace(/\.0$/, '');
}

// `2026-12-01T09:23:34Z` → `2026-12-01 09:23 UTC`.
export function formatAsof(asof: string | undefined): string {
  if (asof === undefined) return 'unknown';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(asof);
  return m ? `${m[1]} ${m[2]} UTC` : asof;
}

const SPARKS = '▁▂▃▄▅▆▇█';
const ASCII_SPARKS = '_.-=+*#@';

// One character a value: eight heights of the block elements (or ASCII), blank for nothing.
export function sparkline(values: readonly number[], ascii: boolean): string {
  const chars = ascii ? ASCII_SPARKS : SPARKS;
  const max = Math.max(0, ...values);
  return values
    .map((v) => {
      if (!(v > 0) || max === 0) return ' ';
      const i = Math.min(chars.length - 1, Math.floor((v / max) * chars.length - 1e-9));
      return chars[Math.max(0, i)] as string;
    })
    .join('');
}
