// The `job` record: one job record (an allocation, its steps folded in), as sb-parse prints it
// and sb-dedupe / sb-reduce read it. Times are UTC `...Z` strings; absent values are null.
export interface JobRecord {
  kind: 'job';
  cluster: string;
  // Identifies the job record across runs: see jobKey.
  key: string;
  job_id: string;
  job_id_raw: string;
  db_index: number | null;
  user: string;
  uid: number | null;
  account: string;
  partition: string;
  qos: string;
  // Base state: `CANCELLED by 1234` → CANCELLED.
  state: string;
  exit_code: string;
  failed: boolean;
  submit: string | null;
  start: string | null;
  end: string;
  elapsed_s: number;
  timelimit_s: number | null;
  cpus: number;
  nodes: number;
  gpus: number;
  req_mem_bytes: number;
  max_rss_bytes: number | null;
  steps: number;
}

// States that end a job for good (with --duplicates, REQUEUED records are finished runs too).
export const TERMINAL_STATES = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'REQUEUED',
] as const;

// States counted by the failed_jobs metric (sb(7), METRICS).
export const FAILED_STATES: ReadonlySet<string> = new Set(['FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'TIMEOUT']);

// The dedupe key of a job record: the record, not the job id (ids are recycled, requeued jobs
// have several records). `cluster/db/DBIndex` where sacct has it, else
// `cluster/id/JobIDRaw/Submit` (Submit as epoch seconds).
export function jobKey(cluster: string, dbIndex: number | null, jobIdRaw: string, submitEpoch: number | null): string {
  if (dbIndex !== null) return `${cluster}/db/${dbIndex}`;
  return `${cluster}/id/${jobIdRaw}/${submitEpoch ?? 'unknown'}`;
}

// The largest values a job record may carry; past them a line is bad input. Far beyond any real
// job, and small enough that sums stay exact: a user's all-time core-seconds stay below 2^53
// for any 64 jobs at the per-job limit, and for every real cluster's lifetime.
export const JOB_LIMITS = {
  cpus: 2 ** 24,
  nodes: 2 ** 24,
  gpus: 2 ** 24,
  elapsed_s: 2 ** 32,
  timelimit_s: 2 ** 32,
  req_mem_bytes: 2 ** 53,
  max_rss_bytes: 2 ** 53,
  // cpus × elapsed_s and gpus × elapsed_s of one job (4 × 10^10 core-hours)
  product: 2 ** 47,
} as const;

// Why a job's numbers cannot be summed exactly, or undefined.
export function jobLimitProblem(job: Pick<JobRecord, 'cpus' | 'nodes' | 'gpus' | 'elapsed_s' | 'req_mem_bytes' | 'max_rss_bytes'>): string | undefined {
  for (const f of ['cpus', 'nodes', 'gpus', 'elapsed_s', 'req_mem_bytes', 'max_rss_bytes'] as const) {
    const v = job[f];
    if (v !== null && v > JOB_LIMITS[f]) return `'${f}' ${v} is above its limit ${JOB_LIMITS[f]}`;
  }
  if (job.cpus * job.elapsed_s > JOB_LIMITS.product) return `cpus × elapsed_s (${job.cpus} × ${job.elapsed_s}) is above its limit 2^47`;
  if (job.gpus * job.elapsed_s > JOB_LIMITS.product) return `gpus × elapsed_s (${job.gpus} × ${job.elapsed_s}) is above its limit 2^47`;
  return undefined;
}
