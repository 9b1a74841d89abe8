// Member pipelines of sb-rendezvous over the synthetic cluster, and what their logs prove.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseTime } from '../../lib/core/records/time.js';
import { BIN, cleanEnv, records, ROOT, runShell } from './run.js';

export const CLUSTERS = ['demo', 'hammer', 'anvil'] as const;
// Six hourly windows of a small world; SB_SIM_NOW puts them long settled.
export const SIM: Record<string, string> = { SB_SIM_NOW: '2024-03-01T00:00:00Z', SB_SIM_RATE: '8', SB_SIM_SEED: 'rendezvous' };
export const START = '2024-01-01T00:00:00Z';
export const END = '2024-01-01T05:59:59Z';
const SLACK_S = 15 * 60;

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Pipeline {
  member: string;
  child: ChildProcess;
  done: Promise<Run>;
}

export interface MemberRun {
  member: string;
  // sacct's answer takes this long (SB_SIM_DELAY): members at different speeds
  delay: string;
  // how the members meet (store or TCP arguments, the same for gate and ack)
  meet: string[];
  gate?: string[];
  // `cat` instead of the gate: no barrier (the check must then find what it breaks)
  ungated?: boolean;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function logDir(root: string): string {
  return path.join(root, 'logs');
}

// One member's whole pipeline, in its own process group (so a test can kill all of it):
// sb-chunk todo | gate | sb-sacct on the stand-in | sb-parse | sb-reduce | ack.
export function startPipeline(root: string, m: MemberRun): Pipeline {
  const logs = logDir(root);
  mkdirSync(logs, { recursive: true });
  const meet = m.meet.map(q).join(' ');
  const gate = m.ungated ? 'cat' : `sb-rendezvous gate --name ${m.member} ${meet} --log ${q(path.join(logs, `${m.member}.gate.log`))} --failed ${q(path.join(logs, `${m.member}.failed`))} ${(m.gate ?? []).map(q).join(' ')}`;
  const cmd = [
    `sb-chunk todo -c ${m.member} --root ${q(root)} -s ${START} -e ${END} --by hour`,
    gate,
    `SB_SIM_LOG=${q(path.join(logs, `${m.member}.sim.log`))} SB_SIM_DELAY=${m.delay} sb-sacct --sacct ${q(path.join(ROOT, 'sim', 'sacct'))} --rate 0 --retries 0`,
    'sb-parse',
    `sb-reduce --root ${q(root)}`,
    `sb-rendezvous ack --name ${m.member} ${meet} --log ${q(path.join(logs, `${m.member}.ack.log`))} > /dev/null`,
  ].join(' | ');
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', '/bin/bash', '-o', 'pipefail', '-c', cmd], {
    env: { ...cleanEnv(), ...SIM, TZ: 'UTC', PATH: `${BIN}:${process.env['PATH'] ?? ''}`, NO_COLOR: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
  return { member: m.member, child, done };
}

// Kills a pipeline, every process of it (its process group).
export function killPipeline(p: Pipeline): void {
  if (p.child.pid !== undefined) {
    try {
      process.kill(-p.child.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

export interface LogEvent {
  ms: number;
  member: string;
  event: string;
  window: string;
  [k: string]: unknown;
}

function ndjson(file: string): Array<Record<string, unknown>> {
  return existsSync(file) ? records(readFileSync(file, 'utf8')) : [];
}

export function events(root: string, member: string, which: 'gate' | 'ack'): LogEvent[] {
  return ndjson(path.join(logDir(root), `${member}.${which}.log`)) as LogEvent[];
}

// Resolves once the member's ack has logged n commits.
export async function commits(root: string, member: string, n: number, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (events(root, member, 'ack').filter((e) => e.event === 'commit').length < n) {
    if (Date.now() > until) throw new Error(`${member}: fewer than ${n} commits after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Every sacct call of a member for a window: when it started and the start of its window (the
// calls by job id for the steps of a window's long jobs, -j, come after their window's call).
export function sacctCalls(root: string, member: string): Array<{ ms: number; start: number }> {
  return ndjson(path.join(logDir(root), `${member}.sim.log`)).filter((e) => !(e['argv'] as string[]).includes('-j')).map((e) => {
    const argv = e['argv'] as string[];
    const s = argv[argv.indexOf('-S') + 1] as string;
    return { ms: e['ms'] as number, start: (parseTime(`${s}Z`) as number) + SLACK_S };
  });
}

// Lockstep, from the logs of real processes: every sacct call a member made for a window
// starting at T began after every member's ack had received sb-reduce's commit of the window
// ending at T-1-slack (its first window excepted). The ack logs a commit before it publishes
// it, and a gate passes only after it reads it, so this holds only if the barrier held.
// `slack` is in windows of `step` seconds (--ahead). Returns what breaks it.
export function lockstepViolations(root: string, members: readonly string[], slack = 0, step = 3600): string[] {
  const first = parseTime(START) as number;
  const committed = new Map<string, number>();
  for (const m of members) {
    for (const e of events(root, m, 'ack')) {
      if (e.event !== 'commit') continue;
      const end = parseTime(e.window.split('/')[1] as string) as number;
      const key = `${m} ${end}`;
      if (!committed.has(key) || (committed.get(key) as number) > e.ms) committed.set(key, e.ms);
    }
  }
  const out: string[] = [];
  for (const m of members) {
    for (const call of sacctCalls(root, m)) {
      const end = call.start - 1 - slack * step;
      if (end < first) continue;
      for (const other of members) {
        const at = committed.get(`${other} ${end}`);
        if (at === undefined || at > call.ms) {
          out.push(`${m} started the window at ${new Date(call.start * 1000).toISOString()} ${at === undefined ? `and ${other} never committed` : `${at - call.ms} ms before ${other} committed`} the window ending ${new Date(end * 1000).toISOString()}`);
        }
      }
    }
  }
  return out;
}

const TRUTH_FIELDS: Record<string, string> = {
  jobs: 'jobs',
  failed_jobs: 'failed_jobs',
  gpu_jobs: 'gpu_jobs',
  cpu_seconds: 'cpu_s',
  elapsed_seconds: 'elapsed_s',
  gpu_seconds: 'gpu_s',
  gpu_elapsed_seconds: 'gpu_elapsed_s',
  mem_req_byte_seconds: 'mem_req_byte_s',
  mem_used_byte_seconds: 'mem_used_byte_s',
};

// What differs between a cluster's monthly rollup and the stand-in's truth of the range.
export async function truthDifferences(root: string, cluster: string): Promise<string[]> {
  const simEnv = Object.entries(SIM).map(([k, v]) => `${k}=${v}`).join(' ');
  const r = await runShell(`${simEnv} sim/sacct --sim-truth -S ${START.slice(0, 19)} -E ${END.slice(0, 19)} -M ${cluster}`);
  if (r.status !== 0) throw new Error(`sim/sacct --sim-truth: ${r.stderr}`);
  const truth = new Map(records(r.stdout).map((row) => [row['user'] as string, row]));
  const file = path.join(root, 'clusters', cluster, 'agg', 'rollups', 'monthly', '2024-01.json');
  const monthly = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { users: Array<{ username: string; totals: Record<string, unknown> }> }).users : [];
  const got = new Map(monthly.map((u) => [u.username, u.totals]));
  const diffs: string[] = [];
  if (truth.size === 0) diffs.push(`${cluster}: the truth is empty`);
  for (const u of new Set([...truth.keys(), ...got.keys()])) {
    for (const [from, to] of Object.entries(TRUTH_FIELDS)) {
      const want = String(truth.get(u)?.[from] ?? 0);
      const have = String(got.get(u)?.[to] ?? 0);
      if (want !== have) diffs.push(`${cluster} ${u} ${to}: store ${have}, truth ${want}`);
    }
  }
  return diffs;
}

// The failure ledger a member's gate wrote.
export function failedEntries(root: string, member: string): Array<Record<string, unknown>> {
  return ndjson(path.join(logDir(root), `${member}.failed`));
}

export interface Server {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  done: Promise<Run>;
}

// sb-rendezvous serve on loopback (port 0: any free one, unless given), resolved once it listens.
export async function startServer(args: string[], port = 0): Promise<Server> {
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-rendezvous'), 'serve', '--bind', '127.0.0.1', '--port', String(port), ...args], {
    env: { ...cleanEnv(), TZ: 'UTC' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stderr }));
  });
  const listening = await new Promise<number>((resolve, reject) => {
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /listening on [0-9.]+:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void done.then((r) => reject(new Error(`sb-rendezvous serve ended (${r.status}): ${r.stderr}`)));
  });
  return { child, port: listening, stderr: () => stderr, done };
}
