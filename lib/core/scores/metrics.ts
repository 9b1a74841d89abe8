import { FAILED_STATES, type JobRecord } from '../records/job.js';

// Exact per-user sums in base units. Counts and seconds stay below 2^53 for any real cluster;
// byte-seconds do not (1 TiB for a day is 9.5e16), so they are BigInt. Every stored rollup
// holds these, and the hours/GB-hours of the metrics are derived from them at the end, so a
// total never depends on the order jobs were added in (floats would).
export interface Totals {
  jobs: number;
  failed_jobs: number;
  gpu_jobs: number;
  cpu_s: number;
  elapsed_s: number;
  gpu_s: number;
  gpu_elapsed_s: number;
  mem_req_byte_s: bigint;
  mem_used_byte_s: bigint;
}

export const TOTAL_FIELDS = [
  'jobs',
  'failed_jobs',
  'gpu_jobs',
  'cpu_s',
  'elapsed_s',
  'gpu_s',
  'gpu_elapsed_s',
  'mem_req_byte_s',
  'mem_used_byte_s',
] as const satisfies ReadonlyArray<keyof Totals>;

export type MetricId =
  | 'clock_hours'
  | 'elapsed_hours'
  | 'gpu_clock_hours'
  | 'gpu_elapsed_hours'
  | 'failed_jobs'
  | 'jobs'
  | 'gpu_jobs'
  | 'mem_req_gb_hours'
  | 'mem_used_gb_hours';

// The metrics (sb(7), METRICS), in display order, with their unit.
export const METRICS: ReadonlyArray<{ id: MetricId; unit: string; title: string }> = [
  { id: 'clock_hours', unit: 'core-hours', title: 'CPU core-hours' },
  { id: 'elapsed_hours', unit: 'hours', title: 'Wall-clock hours' },
  { id: 'gpu_clock_hours', unit: 'GPU-hours', title: 'GPU-hours' },
  { id: 'gpu_elapsed_hours', unit: 'hours', title: 'GPU wall-clock hours' },
  { id: 'jobs', unit: 'jobs', title: 'Finished jobs' },
  { id: 'gpu_jobs', unit: 'jobs', title: 'GPU jobs' },
  { id: 'failed_jobs', unit: 'jobs', title: 'Failed jobs' },
  { id: 'mem_req_gb_hours', unit: 'GiB-hours', title: 'Requested memory GiB-hours' },
  { id: 'mem_used_gb_hours', unit: 'GiB-hours', title: 'Used memory GiB-hours' },
];

export function zeroTotals(): Totals {
  return {
    jobs: 0,
    failed_jobs: 0,
    gpu_jobs: 0,
    cpu_s: 0,
    elapsed_s: 0,
    gpu_s: 0,
    gpu_elapsed_s: 0,
    mem_req_byte_s: 0n,
    mem_used_byte_s: 0n,
  };
}

// What one finished job record adds to its user's totals.
export function jobTotals(job: JobRecord): Totals {
  const e = job.elapsed_s;
  const hasGpu = job.gpus > 0;
  return {
    jobs: 1,
    failed_jobs: job.failed || FAILED_STATES.has(job.state) ? 1 : 0,
    gpu_jobs: hasGpu ? 1 : 0,
    cpu_s: job.cpus * e,
    elapsed_s: e,
    gpu_s: job.gpus * e,
    gpu_elapsed_s: hasGpu ? e : 0,
    mem_req_byte_s: BigInt(Math.round(job.req_mem_bytes)) * BigInt(e),
    mem_used_byte_s: BigInt(Math.round(job.max_rss_bytes ?? 0)) * BigInt(e),
  };
}

// a += b, in place.
export function addTotals(a: Totals, b: Totals): void {
  a.jobs += b.jobs;
  a.failed_jobs += b.failed_jobs;
  a.gpu_jobs += b.gpu_jobs;
  a.cpu_s += b.cpu_s;
  a.elapsed_s += b.elapsed_s;
  a.gpu_s += b.gpu_s;
  a.gpu_elapsed_s += b.gpu_elapsed_s;
  a.mem_req_byte_s += b.mem_req_byte_s;
  a.mem_used_byte_s += b.mem_used_byte_s;
}

const GIB_HOUR = 1024n ** 3n * 3600n;

// BigInt byte-seconds → GiB-hours as a float, without losing the integer part.
function gibHours(byteSeconds: bigint): number {
  const whole = byteSeconds / GIB_HOUR;
  const rest = byteSeconds % GIB_HOUR;
  return Number(whole) + Number(rest) / Number(GIB_HOUR);
}

// The metric values (hours, GiB-hours, counts) of exact totals.
export function metricValues(t: Totals): Record<MetricId, number> {
  return {
    clock_hours: t.cpu_s / 3600,
    elapsed_hours: t.elapsed_s / 3600,
    gpu_clock_hours: t.gpu_s / 3600,
    gpu_elapsed_hours: t.gpu_elapsed_s / 3600,
    failed_jobs: t.failed_jobs,
    jobs: t.jobs,
    gpu_jobs: t.gpu_jobs,
    mem_req_gb_hours: gibHours(t.mem_req_byte_s),
    mem_used_gb_hours: gibHours(t.mem_used_byte_s),
  };
}

// Totals → a JSON-safe object (byte-seconds as decimal strings).
export function totalsToJson(t: Totals): Record<string, number | string> {
  return { ...t, mem_req_byte_s: t.mem_req_byte_s.toString(), mem_used_byte_s: t.mem_used_byte_s.toString() };
}

// The inverse of totalsToJson; throws on anything that is not a well-formed totals object.
export function totalsFromJson(v: unknown): Totals {
  if (v === null || typeof v !== 'object') throw new Error('totals is not an object');
  const o = v as Record<string, unknown>;
  const t = zeroTotals();
  for (const f of TOTAL_FIELDS) {
    const x = o[f];
    if (f === 'mem_req_byte_s' || f === 'mem_used_byte_s') {
      if (typeof x !== 'string' || !/^\d+$/.test(x)) throw new Error(`totals.${f} is not a decimal string`);
      t[f] = BigInt(x);
    } else {
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new Error(`totals.${f} is not a whole number`);
      t[f] = x;
    }
  }
  return t;
}
