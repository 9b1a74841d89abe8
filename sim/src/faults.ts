// The ways the stand-in misbehaves on purpose, like a real sacct facing a sick slurmdbd.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SimConfig } from './config.js';

export const REFUSED = [
  'sacct: error: slurm_persist_conn_open_without_init: failed to open persistent connection to host:slurmdbd:6819: Connection refused',
  'sacct: error: Sending PersistInit msg: Connection refused',
  'sacct: error: Problem talking to the database: Connection refused',
];

export const FROZEN = [
  'sacct: error: slurm_persist_conn_open: No response to persist_init',
  'sacct: error: Sending PersistInit msg: Resource temporarily unavailable',
  'sacct: error: Problem talking to the database: Resource temporarily unavailable',
];

export const STREAM_DIED = 'sacct: error: Problem talking to the database: Connection reset by peer';

// One line per call, appended atomically (O_APPEND, a single small write).
export function logLine(file: string, record: Record<string, unknown>): void {
  if (file === '') return;
  try {
    fs.appendFileSync(file, JSON.stringify(record) + '\n');
  } catch {
    // A log that cannot be written must not change how sacct behaves.
  }
}

// This call's number among all calls sharing the state directory: each number is claimed by
// creating calls/<n> with O_EXCL, so concurrent processes never get the same one.
export function nextCallNumber(dir: string): number {
  const calls = path.join(dir, 'calls');
  fs.mkdirSync(calls, { recursive: true });
  let n = 1;
  try {
    n = Math.max(1, parseInt(fs.readFileSync(path.join(dir, 'count'), 'utf8'), 10) + 1 || 1);
  } catch {
    n = 1;
  }
  for (;;) {
    try {
      fs.writeFileSync(path.join(calls, String(n)), String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      n++;
    }
  }
  const tmp = path.join(dir, `count.${process.pid}`);
  try {
    fs.writeFileSync(tmp, String(n));
    fs.renameSync(tmp, path.join(dir, 'count'));
  } catch {
    // Only a hint for the next caller.
  }
  return n;
}

export class FaultConfigError extends Error {}

// What this call does instead of answering: '' (answer), refused, hang, frozen or truncate.
export function chooseFault(cfg: SimConfig): { fault: string; call: number } {
  let call = 0;
  if (cfg.failEvery > 0 || cfg.failFirst > 0) {
    if (cfg.stateDir === '') throw new FaultConfigError('sacct(sim): SB_SIM_FAIL_EVERY and SB_SIM_FAIL_FIRST need SB_SIM_STATE=<dir>');
    call = nextCallNumber(cfg.stateDir);
    if (call <= cfg.failFirst || (cfg.failEvery > 0 && call % cfg.failEvery === 0)) return { fault: cfg.failAs, call };
  }
  return { fault: cfg.fail || (cfg.truncate ? 'truncate' : ''), call };
}

// Never returns: sleeps, with a sleeping child, until killed (a timeout must kill the whole tree).
export function hang(cfg: SimConfig): Promise<never> {
  const child = spawn('sleep', ['2147483'], { stdio: 'ignore' });
  logLine(cfg.log, { ms: Date.now(), pid: process.pid, hang_child: child.pid ?? null });
  return new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });
}

export function sleep(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
