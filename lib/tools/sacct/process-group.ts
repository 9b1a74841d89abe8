import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface GroupResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  // We killed it because it ran past its time limit.
  timedOut: boolean;
  // We killed it because the run was aborted (the reader went away, a signal).
  aborted: boolean;
  stderr: string;
}

export interface GroupOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  // Time between SIGTERM and SIGKILL of the group.
  graceMs?: number;
  signal?: AbortSignal;
  // Called with the child's stdout before it starts producing; must consume it.
  onStdout: (stdout: Readable) => void;
}

// A program could not be started at all (not installed, not executable).
export class SpawnError extends Error {
  constructor(
    readonly file: string,
    readonly code: string,
  ) {
    super(code === 'ENOENT' ? `'${file}' was not found` : code === 'EACCES' ? `'${file}' is not executable` : `'${file}' cannot be started (${code})`);
    this.name = 'SpawnError';
  }
}

const live = new Set<number>();

// Kills every process group this module started that is still running (on exit or a signal).
export function killAllGroups(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pgid of live) killGroup(pgid, signal);
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

const STDERR_KEEP = 16 * 1024;

// Runs a program as the leader of its own process group, so a timeout or an abort kills it and
// everything it started (SIGTERM, then SIGKILL after the grace time), and waits until the whole
// group has closed its output. stdin is /dev/null; stderr is kept (its last 16 KiB). Not execa:
// execa 9's timeout and cancelSignal signal the child's pid alone, never its group.
export function runGroup(file: string, args: string[], opts: GroupOptions): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      resolve({ status: null, signal: null, timedOut: false, aborted: true, stderr: '' });
      return;
    }
    const child = spawn(file, args, { env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;
    if (pgid !== undefined) live.add(pgid);
    const stop = (): void => {
      if (pgid === undefined) return;
      killGroup(pgid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(pgid, 'SIGKILL'), opts.graceMs ?? 2000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, opts.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      if (pgid !== undefined) killGroup(pgid, 'SIGKILL');
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
    });
    opts.onStdout(child.stdout);
    const done = (): void => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (pgid !== undefined) {
        // Whatever the leader left behind in its group goes with it.
        killGroup(pgid, 'SIGKILL');
        live.delete(pgid);
      }
      if (killTimer) clearTimeout(killTimer);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err.code === 'ENOENT' || err.code === 'EACCES' ? new SpawnError(file, err.code) : err);
    });
    child.on('close', (status, signal) => {
      done();
      resolve({ status, signal, timedOut, aborted, stderr: stderr.slice(-STDERR_KEEP) });
    });
  });
}
