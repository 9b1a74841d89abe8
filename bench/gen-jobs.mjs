#!/usr/bin/env node
// A deterministic stream of `job` and `chunk-done` records, as sb-parse and sb-sacct print them,
// for sb-reduce's benchmark and torture test; with --truth, the exact per-user totals instead
// (computed here, independently of lib/, from the distinct job records).
//
//   node bench/gen-jobs.mjs --cluster c --start 2024-03-01T00:00:00Z --end 2024-03-31T23:59:59Z \
//     --step 21600 --per-window 40 --users 30 --seed 7 [--dup 0.05] [--noise] [--truth]
//
// Keys: most jobs have a DBIndex (`c/db/N`); one in ten has none (`c/id/JobIDRaw/Submit`) with
// job ids drawn from a small, recycled range. Requeued jobs give a second record with the same
// job id and a new DBIndex. --dup repeats records within the stream (same key: counted once).
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    cluster: { type: 'string', default: 'torture' },
    start: { type: 'string', default: '2024-03-01T00:00:00Z' },
    end: { type: 'string', default: '2024-03-31T23:59:59Z' },
    step: { type: 'string', default: '21600' },
    'per-window': { type: 'string', default: '40' },
    users: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
    dup: { type: 'string', default: '0.05' },
    unsettled: { type: 'string', default: '0' },
    noise: { type: 'boolean', default: false },
    truth: { type: 'boolean', default: false },
  },
});

const sec = (iso) => Date.parse(iso) / 1000;
const iso = (s) => new Date(s * 1000).toISOString().slice(0, 19) + 'Z';
let state = Number(o.seed) >>> 0 || 1;
// mulberry32
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];

const STATES = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL', 'PREEMPTED'];
const FAILED = new Set(['FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'TIMEOUT']);
const cluster = o.cluster;
const users = Array.from({ length: Number(o.users) }, (_, i) => `u${String(i).padStart(3, '0')}`);
const start = sec(o.start);
const end = sec(o.end);
const step = Number(o.step);
const per = Number(o['per-window']);
const dup = Number(o.dup);
const unsettled = Number(o.unsettled);

let db = 1000 + int(1000);
const truth = new Map();
const out = [];
let pending = 0;
const flush = (force) => {
  if (o.truth) return;
  if (force || out.length >= 4096) {
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    out.length = 0;
  }
};

// Accounts: 25 of them, users in turn; every fifth user charges a seventh of its jobs (by
// DBIndex or job id, not drawing from the PRNG, so the stream is otherwise unchanged) to a second one.
function accountOf(user, n) {
  const i = Number(user.slice(1)) || 0;
  return `acct${String((i + (i % 5 === 0 && n % 7 === 0 ? 1 : 0)) % 25).padStart(2, '0')}`;
}

function job(endSec, opts = {}) {
  const user = opts.user ?? pick(users);
  const elapsed = int(86400);
  const cpus = pick([1, 1, 2, 4, 8, 16, 32, 64]);
  const gpus = rand() < 0.2 ? pick([1, 2, 4, 8]) : 0;
  const req = pick([1, 2, 4, 8, 16, 64, 256]) * 1024 ** 3 + int(1024) * 1024 ** 2;
  const rss = rand() < 0.1 ? null : int(req);
  const state = opts.state ?? pick(STATES);
  const submit = endSec - elapsed - int(3600);
  const hasDb = opts.db !== undefined ? true : rand() >= 0.1;
  const jobId = opts.jobId ?? (hasDb ? 100000 + int(900000) : 1 + int(40));
  const dbIndex = hasDb ? (opts.db ?? db++) : null;
  const key = hasDb ? `${cluster}/db/${dbIndex}` : `${cluster}/id/${jobId}/${submit}`;
  return {
    kind: 'job', cluster, key, job_id: String(jobId), job_id_raw: String(jobId), db_index: dbIndex, user, uid: null,
    account: accountOf(user, dbIndex ?? jobId), partition: gpus ? 'gpu' : 'cpu', qos: 'normal', state, exit_code: '0:0', failed: FAILED.has(state),
    submit: iso(submit), start: iso(endSec - elapsed), end: iso(endSec), elapsed_s: elapsed, timelimit_s: null,
    cpus, nodes: 1, gpus, req_mem_bytes: req, max_rss_bytes: rss, steps: 1 + int(3),
  };
}

function count(j) {
  let t = truth.get(j.user);
  if (!t) truth.set(j.user, (t = { jobs: 0n, failed_jobs: 0n, gpu_jobs: 0n, cpu_s: 0n, elapsed_s: 0n, gpu_s: 0n, gpu_elapsed_s: 0n, mem_req_byte_s: 0n, mem_used_byte_s: 0n }));
  const e = BigInt(j.elapsed_s);
  t.jobs += 1n;
  if (j.failed) t.failed_jobs += 1n;
  if (j.gpus > 0) {
    t.gpu_jobs += 1n;
    t.gpu_elapsed_s += e;
  }
  t.cpu_s += BigInt(j.cpus) * e;
  t.elapsed_s += e;
  t.gpu_s += BigInt(j.gpus) * e;
  t.mem_req_byte_s += BigInt(j.req_mem_bytes) * e;
  t.mem_used_byte_s += BigInt(j.max_rss_bytes ?? 0) * e;
}

const seen = new Set();
for (let s = start; s <= end; s += step) {
  const e = Math.min(s + step - 1, end);
  const recs = [];
  for (let i = 0; i < per; i++) {
    const t = s + int(e - s + 1);
    const j = job(t);
    recs.push(j);
    if (j.db_index !== null && rand() < 0.03) {
      // requeued: this run ended REQUEUED, the next (new DBIndex, same job id) ends later in the window
      j.state = 'REQUEUED';
      j.failed = false;
      recs.push(job(Math.min(e, t + int(600)), { user: j.user, jobId: Number(j.job_id_raw), db: db++ }));
    }
  }
  for (const j of recs) {
    const line = JSON.stringify(j);
    if (!seen.has(j.key)) {
      seen.add(j.key);
      count(j);
    }
    out.push(line);
    if (rand() < dup) out.push(line);
  }
  if (o.noise) out.push(JSON.stringify({ kind: 'note', text: `window ${iso(s)}` }));
  out.push(JSON.stringify({ kind: 'chunk-done', cluster, start: iso(s), end: iso(e), rows: recs.length, settled: !(rand() < unsettled) }));
  pending += recs.length;
  flush(false);
}
flush(true);
if (o.truth) {
  const fields = ['jobs', 'failed_jobs', 'gpu_jobs', 'cpu_s', 'elapsed_s', 'gpu_s', 'gpu_elapsed_s', 'mem_req_byte_s', 'mem_used_byte_s'];
  const lines = [['user', ...fields].join('\t')];
  for (const u of [...truth.keys()].sort()) lines.push([u, ...fields.map((f) => truth.get(u)[f].toString())].join('\t'));
  process.stdout.write(lines.join('\n') + '\n');
}
