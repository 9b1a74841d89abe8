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
