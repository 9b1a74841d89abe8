import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { readLineBatches } from '../../core/cli/lines.js';

// The bins beside this one (bin/sb-x of the same installation or checkout): the poll runs
// the toolkit's own programs, never whatever PATH finds.
export function binPath(name: string): string {
  return fileURLToPath(new URL(`../../../bin/${name}`, import.meta.url));
}

export interface Stage {
  name: string;
  args: string[];
}

// A diagnostic a stage printed (as --errors json, or a plain line it printed anyway).
export interface Said {
  tool: string;
  level: string;
  message: string;
}

export interface StageResult {
  name: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  said: Said[];
  // How many lines it printed on stderr; `said` keeps the first MAX_SAID.
  lines: number;
}

const MAX_SAID = 200;

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  // Pass the stages' stderr through as it is (their own words, sb-sacct's progress line);
  // otherwise each stage runs with --errors json and its diagnostics are collected.
  verbose: boolean;
  // Each line the last stage prints.
  onLine: (line: string) => void;
}

export interface Running {
  done: Promise<StageResult[]>;
  // Signals every stage still running.
  kill: (signal: NodeJS.Signals) => void;
}

// Runs stages as one pipeline, each stage's stdout the next one's stdin, every exit status
// kept (no shell, no pipefail to lose one).
export function runPipeline(stages: Stage[], opts: RunOptions): Running {
  const children: ChildProcess[] = [];
  const results: Array<Promise<StageResult>> = [];
  let prev: Readable | null = null;
  stages.forEach((st, i) => {
    const last = i === stages.length - 1;
    const args = [binPath(st.name), ...st.args, ...(opts.verbose ? [] : ['--errors', 'json'])];
    const child = spawn(process.execPath, args, {
      env: opts.env,
      stdio: [prev ?? 'ignore', 'pipe', opts.verbose ? 'inherit' : 'pipe'],
    });
    // The child has its own copy of the pipe: ours would keep a writer that lost its reader
    // blocked instead of getting EPIPE.
    prev?.destroy();
    prev = child.stdout;
    children.push(child);
    results.push(collect(st.name, child));
    if (last && child.stdout) {
      const out = child.stdout;
      void (async () => {
        for await (const batch of readLineBatches(out)) for (const line of batch) opts.onLine(line);
      })().catch(() => undefined);
    }
  });
  return {
    done: Promise.all(results),
    kill: (signal) => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    },
  };
}

// Runs one program with its stdout into `file` (or nowhere), its diagnostics collected.
export function runOne(stage: Stage, opts: { env: NodeJS.ProcessEnv; verbose: boolean; stdoutFile?: string }): Promise<StageResult> {
  const fd = opts.stdoutFile === undefined ? 'ignore' : openSync(opts.stdoutFile, 'wx', 0o644);
  const child = spawn(process.execPath, [binPath(stage.name), ...stage.args, ...(opts.verbose ? [] : ['--errors', 'json'])], {
    env: opts.env,
    stdio: ['ignore', fd, opts.verbose ? 'inherit' : 'pipe'],
  });
  if (typeof fd === 'number') closeSync(fd);
  return collect(stage.name, child);
}

function collect(name: string, child: ChildProcess): Promise<StageResult> {
  const said: Said[] = [];
  let lines = 0;
  const reading = (async () => {
    if (!child.stderr) return;
    for await (const batch of readLineBatches(child.stderr)) {
      for (const line of batch) {
        if (line.trim() === '') continue;
        lines++;
        if (said.length < MAX_SAID) said.push(parseSaid(name, line));
      }
    }
  })().catch(() => undefined);
  return new Promise((resolve) => {
    let settled = false;
    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      resolve({ name, status: 127, signal: null, said: [{ tool: name, level: 'error', message: `cannot run ${name}: ${err.message}` }], lines: 1 });
    });
    child.on('close', (status, signal) => {
      if (settled) return;
      settled = true;
      void reading.then(() => resolve({ name, status, signal, said, lines }));
    });
  });
}

function parseSaid(name: string, line: string): Said {
  try {
    const d = JSON.parse(line) as Partial<Said>;
    if (typeof d.message === 'string') return { tool: d.tool ?? name, level: d.level ?? 'error', message: d.message };
  } catch {
    // a line not in --errors json form (a crash): kept as it is
  }
  return { tool: name, level: 'error', message: line.replace(new RegExp(`^${name}: `), '') };
}
