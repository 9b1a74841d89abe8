// The true per-user totals, computed from the generator's own numbers (never from its output),
// with sb's definitions (sb(7), METRICS), for tests to compare a pipeline's results against.
import type { Job } from './generate.js';
import { isFailed, STATE_NAMES } from './job-state.js';
import { isoUtc } from './time-format.js';

export interface Totals {
  cluster: string;
  account?: string;
  user: string;
  jobs: number;
  failed_jobs: number;
  gpu_jobs: number;
  cpu_seconds: number;
  elapsed_seconds: number;
  gpu_seconds: number;
  gpu_elapsed_seconds: number;
  mem_req_byte_seconds: bigint;
  mem_used_byte_seconds: bigint;
}

const MB = 1048576;

export function jobBase(j: Job) {
  // As printed: AllocCPUS is the request even for a job that never started; AllocTRES (where
  // GPUs are read) is empty for one.
  const cpus = j.cpus;
  const gpus = j.allocated ? j.gpus : 0;
  return { cpus, gpus, elapsed: j.elapsed, reqMemBytes: j.reqMemMB * MB, maxRssBytes: j.maxRssBytes };
}

// Per (cluster, user), or with byAccount per (cluster, account, user): the account a job was
// charged to ('' for none).
export class TruthTable {
  private readonly rows = new Map<string, Totals>();

  constructor(private readonly byAccount = false) {}

  add(j: Job): void {
    const key = j.cluster + '\u0000' + (this.byAccount ? j.account + '\u0000' : '') + j.user.name;
    let t = this.rows.get(key);
    if (!t) {
      t = {
        cluster: j.cluster, ...(this.byAccount ? { account: j.account } : {}), user: j.user.name, jobs: 0, failed_jobs: 0, gpu_jobs: 0, cpu_seconds: 0,
        elapsed_seconds: 0, gpu_seconds: 0, gpu_elapsed_seconds: 0, mem_req_byte_seconds: 0n, mem_used_byte_seconds: 0n,
      };
      this.rows.set(key, t);
    }
    const b = jobBase(j);
    t.jobs++;
    if (isFailed(j.state)) t.failed_jobs++;
    t.cpu_seconds += b.cpus * b.elapsed;
    t.elapsed_seconds += b.elapsed;
    if (b.gpus > 0) {
      t.gpu_jobs++;
      t.gpu_seconds += b.gpus * b.elapsed;
      t.gpu_elapsed_seconds += b.elapsed;
    }
    t.mem_req_byte_seconds += BigInt(b.reqMemBytes) * BigInt(b.elapsed);
    t.mem_used_byte_seconds += BigInt(b.maxRssBytes) * BigInt(b.elapsed);
  }

  // NDJSON, clusters in query order, then accounts (if by account) and users by name.
  lines(clusterOrder: readonly string[]): string {
    const all = [...this.rows.values()];
    const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    all.sort((a, b) => clusterOrder.indexOf(a.cluster) - clusterOrder.indexOf(b.cluster) || cmp(a.account ?? '', b.account ?? '') || cmp(a.user, b.user));
    return all
      .map((t) =>
        JSON.stringify({ ...t, mem_req_byte_seconds: t.mem_req_byte_seconds.toString(), mem_used_byte_seconds: t.mem_used_byte_seconds.toString() }) + '\n',
      )
      .join('');
  }
}

export function truthJobLine(j: Job, jobId: string): string {
  const b = jobBase(j);
  const state = STATE_NAMES[j.state]! + (j.requid >= 0 ? ' by ' + j.requid : '');
  return (
    JSON.stringify({
      cluster: j.cluster,
      dbindex: j.dbIndex,
      jobid: jobId,
      jobidraw: String(j.rawId),
      user: j.user.name,
      account: j.account,
      partition: j.part.name,
      state,
      failed: isFailed(j.state),
      submit: isoUtc(j.submit),
      start: isoUtc(j.start),
      end: isoUtc(j.end),
      cpus: b.cpus,
      nodes: j.nodes,
      gpus: b.gpus,
      elapsed_seconds: b.elapsed,
      req_mem_bytes: b.reqMemBytes,
      max_rss_bytes: b.maxRssBytes,
    }) + '\n'
  );
}
