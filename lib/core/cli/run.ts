import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import type Minimist from 'minimist';
import { EXIT, PipeClosed, SbError, UsageError } from './errors.js';
import type { Input } from './input.js';
import { Output } from './output.js';
import { Reporter, type ErrorFormat } from './report.js';

// minimist is CommonJS: required, not imported, as the ESM loader would first scan its source
// for export names (its CommonJS lexer: about 2 ms of CPU per start, measured).
const minimist = createRequire(import.meta.url)('minimist') as typeof Minimist;

// What a tool reads and writes; tests pass their own streams, the bin passes the process's.
export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export interface OptionSpec {
  string?: string[];
  // String options that may repeat or hold a comma-separated list (`-w a -w b,c`).
  list?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, string | boolean>;
}

export interface Args {
  _: string[];
  [name: string]: unknown;
}

// Everything a tool's main gets from the runner: parsed options, one reporter, one output.
export interface Context {
  args: Args;
  io: Io;
  report: Reporter;
  out: Output;
  // FILE (or stdin for '-' or none), opened once asked for.
  input(path?: string): Promise<Input>;
}

export interface Tool {
  name: string;
  usage: string;
  options: OptionSpec;
  // A filter of input lines: takes --strict (exit 65 at the end when a line was bad).
  reads?: boolean;
  // What main returns is the exit status; nothing (or 0) is success.
  main: (ctx: Context) => Promise<number | void>;
}

// Help or version was printed: stop with this status.
class EarlyExit extends Error {
  constructor(readonly status: number) {
    super('early exit');
  }
}

export function processIo(): Io {
  // process.stdin is made on first use: a tool that never reads it does not set up the pipe,
  // file or terminal behind it.
  return {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

interface Parsed {
  args: Args;
  format: ErrorFormat;
  // The first mistake in the command line, thrown once the error format is known.
  problem?: UsageError;
}

// Strict option parsing: undeclared flags, missing values and a bad --errors are usage errors;
// --help and --version print to stdout and end the run with status 0.
function parse(tool: Tool, argv: string[], io: Io): Parsed {
  const spec = tool.options;
  const lists = spec.list ?? [];
  const strings = [...(spec.string ?? []), ...lists, 'errors'];
  const booleans = [...(spec.boolean ?? []), 'help', 'version', ...(tool.reads ? ['strict'] : [])];
  const alias = { h: 'help', V: 'version', ...(spec.alias ?? {}) };
  let problem: UsageError | undefined;
  const args = minimist(argv, {
    string: strings,
    boolean: booleans,
    alias,
    default: spec.default ?? {},
    unknown: (arg: string) => {
      if (arg.length > 1 && arg.startsWith('-') && !/^-\d/.test(arg)) problem ??= new UsageError(`unknown option '${arg.replace(/=.*$/, '')}'`);
      return true;
    },
  }) as Args;
  for (const name of strings) {
    const v = args[name];
    if (lists.includes(name)) {
      if (v === undefined) continue;
      const items = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).map((x) => x.trim());
      if (items.some((x) => x === '')) problem ??= new UsageError(`option '--${name}' has an empty item`);
      args[name] = items;
      continue;
    }
    if (Array.isArray(v)) args[name] = v[v.length - 1];
    if (args[name] === '' && argv.some((a) => a === `--${name}` || (a.length === 2 && alias[a[1] as keyof typeof alias] === name))) {
      problem ??= new UsageError(`option '--${name}' needs a value`);
    }
  }
  args._ = args._.map(String);
  const fmt = args['errors'];
  let format: ErrorFormat = 'text';
  if (fmt === 'json') format = 'json';
  else if (fmt !== undefined && fmt !== '' && fmt !== 'text') problem ??= new UsageError(`option '--errors': '${String(fmt)}' is not one of text, json`);
  if (args['help'] === true) {
    io.stdout.write(tool.usage.endsWith('\n') ? tool.usage : tool.usage + '\n');
    throw new EarlyExit(EXIT.ok);
  }
  if (args['version'] === true) {
    io.stdout.write(`${tool.name} ${version()}\n`);
    throw new EarlyExit(EXIT.ok);
  }
  return problem ? { args, format, problem } : { args, format };
}

// A string option's value, if given.
export function optString(args: Args, name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

// A list option's items (OptionSpec.list), if given.
export function optList(args: Args, name: string): string[] | undefined {
  const v = args[name];
  return Array.isArray(v) ? v.map(String) : undefined;
}

// A whole-number option within bounds, or a usage error naming the value.
export function optInt(args: Args, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = optString(args, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`option '--${name}': '${v}' is not a whole number${min > 0 ? ` of at least ${min}` : ''}`);
  }
  return Number(v);
}

// A positive decimal option, or a usage error naming the value.
export function optNumber(args: Args, name: string, fallback: number, min = 0): number {
  const v = optString(args, name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(v) || !(n > min || (min === 0 && n === 0))) {
    throw new UsageError(`option '--${name}': '${v}' is not a number${min > 0 ? ` above ${min}` : ''}`);
  }
  return n;
}

// At most `n` operands, else a usage error naming the first extra one.
export function maxOperands(args: Args, n: number): void {
  if (args._.length > n) throw new UsageError(`unexpected argument '${args._[n]}'`);
}

// Runs a tool: parses its options, gives it one reporter and one output, flushes the output,
// and maps whatever it throws to the exit status; never exits early.
export async function runMain(tool: Tool, argv: string[], io: Io): Promise<number> {
  let report = new Reporter(tool.name, io.stderr, 'text');
  try {
    const { args, format, problem } = parse(tool, argv, io);
    report = new Reporter(tool.name, io.stderr, format);
    if (problem) throw problem;
    const out = new Output(io.stdout);
    // input.js (node:fs's streams, node:util) is loaded by the first tool that reads.
    const ctx: Context = { args, io, report, out, input: async (p) => (await import('./input.js')).openInput(p, io) };
    const status = (await tool.main(ctx)) ?? EXIT.ok;
    await out.flush();
    if (status === EXIT.ok && args['strict'] === true && report.bad > 0) return EXIT.dataErr;
    return status;
  } catch (err) {
    if (err instanceof EarlyExit) return err.status;
    if (err instanceof PipeClosed) return EXIT.ok;
    if (err instanceof UsageError) {
      report.error(err.message);
      if (report.format === 'text') io.stderr.write(`Try '${tool.name} --help'.\n`);
      return err.status;
    }
    if (err instanceof SbError) {
      report.error(err.message);
      return err.status;
    }
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'EPIPE') return EXIT.ok;
    report.error(e?.message ?? String(err));
    if (io.env['SB_DEBUG'] === '1' && e?.stack) io.stderr.write(e.stack + '\n');
    return EXIT.failure;
  }
}

// The bin entry: run with the process's streams and set the exit status (never process.exit).
export async function run(tool: Tool): Promise<void> {
  // A reader that goes away (`| head`) must not crash the process with an unhandled EPIPE.
  process.stdout.on('error', () => undefined);
  process.exitCode = await runMain(tool, process.argv.slice(2), processIo());
}
