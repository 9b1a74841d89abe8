import { userInfo } from 'node:os';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

// Which program to run for a Slurm client command (sacctmgr, squeue, scontrol): the one given,
// else $SB_<NAME>, else the one beside sacct when sacct was given as a path (a test stand-in,
// a site's wrapper directory), else the bare name, looked up in PATH when run.
export function slurmCommand(name: string, given: string | undefined, env: NodeJS.ProcessEnv, sacct: string): string {
  if (given !== undefined) return given;
  const fromEnv = env[`SB_${name.toUpperCase()}`];
  if (fromEnv) return fromEnv;
  if (sacct.includes('/')) {
    const beside = path.join(path.dirname(sacct), name);
    if (executable(beside)) return beside;
  }
  return name;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

// The file a command name runs: itself when it holds a '/', else the first executable of that
// name in PATH; undefined when there is none.
export function whichCommand(command: string, env: NodeJS.ProcessEnv): string | undefined {
  if (command.includes('/')) return executable(command) ? path.resolve(command) : undefined;
  for (const dir of (env['PATH'] ?? '').split(':')) {
    if (dir === '') continue;
    const file = path.join(dir, command);
    if (executable(file)) return file;
  }
  return undefined;
}

// The environment of a short Slurm query: the caller's, in UTC and the C locale, without what
// changes the commands' output formats (SACCT_FORMAT, SQUEUE_FORMAT, SLURM_TIME_FORMAT, ...).
export function queryEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^(SACCT_|SQUEUE_|SINFO_|SACCTMGR_|SLURM_TIME)/.test(k) || k === 'TZ' || k.startsWith('LC_')) continue;
    out[k] = v;
  }
  out['TZ'] = 'UTC';
  out['LC_ALL'] = 'C';
  out['SLURM_TIME_FORMAT'] = 'standard';
  return out;
}

export interface QueryResult {
  // Exited 0 (and was found, and did not time out).
  ok: boolean;
  // The program is not there (ENOENT, EACCES).
  missing: boolean;
  timedOut: boolean;
  status: number | null;
  stdout: string;
  stderr: string;
  // One line saying what went wrong, for messages ('' when ok).
  problem: string;
}

// Runs one short Slurm query (never the backfill's sacct calls, which sb-sacct runs) with a
// time limit; never throws.
export function query(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<QueryResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env: queryEnv(env), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { killed?: boolean; code?: string | number }) | null;
      const missing = e !== null && (e.code === 'ENOENT' || e.code === 'EACCES');
      const timedOut = e !== null && e.killed === true;
      const status = e === null ? 0 : typeof e.code === 'number' ? e.code : null;
      const last = lastLine(stderr);
      const name = path.basename(command);
      let problem = '';
      if (missing) problem = `'${command}' is not installed (not found in PATH)`;
      else if (timedOut) problem = `${name} did not answer within ${timeoutMs / 1000} s`;
      else if (e !== null) problem = `${name} exited ${status ?? e.code}${last ? `: ${last}` : ''}`;
      resolve({ ok: e === null, missing, timedOut, status, stdout, stderr, problem });
    });
  });
}

// The last non-blank line of a text, trimmed, at most 300 characters.
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const last = lines[lines.length - 1] ?? '';
  return last.length > 300 ? last.slice(0, 297) + '...' : last;
}

// Who runs this (what Slurm shows them depends on it): the login name, else the uid.
export function currentUser(): { name: string; uid: number } {
  const uid = process.getuid?.() ?? -1;
  try {
    return { name: userInfo().username, uid };
  } catch {
    return { name: String(uid), uid };
  }
}
