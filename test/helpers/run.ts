import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin');

export interface Result {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

// `make test-fast` (SB_TEST_FAST=1) leaves a few tests to `make test`: the long runs of whole
// pipelines over many windows and the checks that need a big input. `{ skip: LONG }` marks them
// (the list: the Makefile, above test-fast).
export const LONG: string | false = process.env['SB_TEST_FAST'] === '1' ? 'long: make test runs it, make test-fast does not' : false;

// Spawns a real bin (`bin/sb-x`) under TZ=UTC with the given stdin; resolves when it exits.
export function runBin(name: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return runCommand(process.execPath, [path.join(BIN, name), ...args], opts);
}

// Runs a shell command line with bin/ first on PATH (pipelines like `sb-chunk … | head -1`).
export function runShell(command: string, opts: RunOptions = {}): Promise<Result> {
  return runCommand('/bin/bash', ['-o', 'pipefail', '-c', command], opts);
}

// Runs any program (through `env -u NODE_OPTIONS`, like the bins) and resolves when it exits.
export function runCommand(file: string, args: string[], opts: RunOptions = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    // `env -u`: the test runner injects its loaders into every node child through
    // NODE_OPTIONS; the bins must run as a user runs them.
    const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', file, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: {
        ...cleanEnv(),
        TZ: 'UTC',
        PATH: `${BIN}:${path.join(ROOT, 'sim')}:${process.env['PATH'] ?? ''}`,
        NO_COLOR: '1',
        SB_DEBUG: '',
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ stdout, stderr, status, signal }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

// NDJSON text → records.
export function records(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

// The parent's environment without what the test runner injects into node (loaders). Kept:
// NODE_V8_COVERAGE, which `make coverage` sets so that every spawned bin is measured too.
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k === 'NODE_OPTIONS' || k.startsWith('TAP') || k.startsWith('_TAPJS')) delete env[k];
  }
  return env;
}

// Whether a test can run a program as an ordinary user (nobody): as root, with setpriv(1).
export const canRunAsNobody = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// The shell words that run what follows as nobody (uid and gid 65534, no groups).
export const AS_NOBODY = 'setpriv --reuid=65534 --regid=65534 --clear-groups';
