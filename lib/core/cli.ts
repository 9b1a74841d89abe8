import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import minimist from 'minimist';
import { EXIT, PipeClosed, SbError, UsageError } from './errors.js';
import { Reporter, type ErrorFormat } from './report.js';

// What a tool reads and writes; tests pass their own streams, the bin passes the process's.
export interface Io {
  stdin: Readable;
  // stdin's file descriptor, for tools that read(2) it themselves (the bin's; tests' streams have none)
  stdinFd?: number;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

export interface Tool {
  name: string;
  usage: string;
  main: (argv: string[], io: Io) => Promise<number>;
}

export interface OptionSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, string | boolean>;
}

export interface Args {
  _: string[];
  [name: string]: unknown;
}

const COMMON_BOOLEAN = ['help', 'version'];
const COMMON_STRING = ['errors'];

// Help or version was printed: stop with this status.
class EarlyExit extends Error {
  constructor(readonly status: number) {
    super('early exit');
  }
}

export function processIo(): Io {
  // process.stdin only when asked for: making it turns a pipe non-blocking for read(2)
  return {
    get stdin(): Readable {
      return process.stdin;
    },
    stdinFd: 0,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

// Strict option parsing: undeclared flags and missing values are usage errors; --help and
// --version print to stdout and end the run with status 0.
export function parseArgs(tool: Tool, argv: string[], spec: OptionSpec, io: Io): Args {
  const strings = [...(spec.string ?? []), ...COMMON_STRING];
  const booleans = [...(spec.boolean ?? []), ...COMMON_BOOLEAN];
  const alias = { h: 'help', V: 'version', ...(spec.alias ?? {}) };
  const args = minimist(argv, {
    string: strings,
    boolean: booleans,
    alias,
    default: spec.default ?? {},
    unknown: (arg: string) => {
      if (arg.length > 1 && arg.startsWith('-') && !/^-\d/.test(arg)) {
        throw new UsageError(`unknown option '${arg.replace(/=.*$/, '')}'`);
      }
      return true;
    },
  }) as Args;
  if (args['help'] === true) {
    io.stdout.write(tool.usage.endsWith('\n') ? tool.usage : tool.usage + '\n');
    throw new EarlyExit(EXIT.ok);
  }
  if (args['version'] === true) {
    io.stdout.write(`${tool.name} ${version()}\n`);
    throw new EarlyExit(EXIT.ok);
  }
  for (const name of strings) {
    const v = args[name];
    if (Array.isArray(v)) args[name] = v[v.length - 1];
    if (args[name] === '' && argv.some((a) => a === `--${name}` || (a.length === 2 && alias[a[1] as keyof typeof alias] === name))) {
      throw new UsageError(`option '--${name}' needs a value`);
    }
  }
  args._ = args._.map(String);
  return args;
}

// A string option's value, if given.
export function optString(args: Args, name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
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

export function errorFormat(argv: string[]): ErrorFormat {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--errors=json' || (a === '--errors' && argv[i + 1] === 'json')) return 'json';
  }
  return 'text';
}

// Runs a tool and maps whatever it throws to the exit status (DESIGN.md); never exits early.
export async function runMain(tool: Tool, argv: string[], io: Io): Promise<number> {
  const format = errorFormat(argv);
  const report = new Reporter(tool.name, io.stderr, format);
  try {
    const fmt = argv.find((a) => a.startsWith('--errors='))?.slice(9) ?? (argv.includes('--errors') ? argv[argv.indexOf('--errors') + 1] : undefined);
    if (fmt !== undefined && fmt !== 'json' && fmt !== 'text') {
      throw new UsageError(`option '--errors': '${fmt}' is not one of text, json`);
    }
    return await tool.main(argv, io);
  } catch (err) {
    if (err instanceof EarlyExit) return err.status;
    if (err instanceof PipeClosed) return EXIT.ok;
    if (err instanceof UsageError) {
      report.error(err.message);
      if (format === 'text') io.stderr.write(`Try '${tool.name} --help'.\n`);
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
