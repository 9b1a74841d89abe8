// Job states as numbers (fast to compare while generating) and as sacct prints and parses them.

export const COMPLETED = 0;
export const FAILED = 1;
export const CANCELLED = 2;
export const TIMEOUT = 3;
export const OUT_OF_MEMORY = 4;
export const NODE_FAIL = 5;
export const PREEMPTED = 6;
export const BOOT_FAIL = 7;
export const DEADLINE = 8;
export const REQUEUED = 9;
export const PENDING = 10;
export const RUNNING = 11;
export const OTHER = 12;

export const STATE_NAMES = [
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL',
  'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'REQUEUED', 'PENDING', 'RUNNING',
] as const;

// The states sb counts as failed_jobs (sb(7), METRICS).
export function isFailed(state: number): boolean {
  return state === FAILED || state === NODE_FAIL || state === OUT_OF_MEMORY || state === PREEMPTED || state === TIMEOUT;
}

// Names and abbreviations accepted by sacct -s (Slurm's job_state_num), case-insensitive.
const BY_NAME: Record<string, number> = {
  COMPLETED: COMPLETED, CD: COMPLETED,
  FAILED: FAILED, F: FAILED,
  CANCELLED: CANCELLED, CA: CANCELLED,
  TIMEOUT: TIMEOUT, TO: TIMEOUT,
  OUT_OF_MEMORY: OUT_OF_MEMORY, OOM: OUT_OF_MEMORY,
  NODE_FAIL: NODE_FAIL, NF: NODE_FAIL,
  PREEMPTED: PREEMPTED, PR: PREEMPTED,
  BOOT_FAIL: BOOT_FAIL, BF: BOOT_FAIL,
  DEADLINE: DEADLINE, DL: DEADLINE,
  REQUEUED: REQUEUED, RQ: REQUEUED,
  PENDING: PENDING, PD: PENDING,
  RUNNING: RUNNING, R: RUNNING,
  SUSPENDED: OTHER, S: OTHER,
  RESIZING: OTHER, RS: OTHER,
  REVOKED: OTHER, RV: OTHER,
  REQUEUE_FED: OTHER, RF: OTHER,
  REQUEUE_HOLD: OTHER, RH: OTHER,
  RESV_DEL_HOLD: OTHER, RD: OTHER,
  SPECIAL_EXIT: OTHER, SE: OTHER,
  STOPPED: OTHER, ST: OTHER,
  SIGNALING: OTHER, SI: OTHER,
  STAGE_OUT: OTHER, SO: OTHER,
  CONFIGURING: OTHER, CF: OTHER,
  COMPLETING: OTHER, CG: OTHER,
};

export function stateNumber(name: string): number | undefined {
  return BY_NAME[name.toUpperCase()];
}
