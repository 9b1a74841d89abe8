import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import stringWidth from 'string-width';
import { SB_SACCT_FIELDS } from '../lib/core/sacct/fields.js';
import { LONG, ROOT, runBin, runShell, type Result } from './helpers/run.js';

// The checklist every tool owes, run against every bin: `| head -1` exits 0 with empty stderr,
// empty input, a bad line in the middle (reported with its place, skipped, nothing good lost,
// --strict exits 65, --errors json), --help, --version, an unknown flag.

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dirs: string[] = [];
t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sb-contract-'));
  dirs.push(d);
  return d;
};
const SIM_ENV = { SB_SIM_NOW: '2024-03-01T00:00:00', SB_SIM_SEED: '7' };
const SIM = path.join(ROOT, 'sim', 'sacct');
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

// What sim/sacct prints for the fields sb-sacct asks for, and the job records sb-parse makes of it.
async function sacctText(hours: number): Promise<string> {
  const r = await runShell(
    `'${SIM}' -a -n -P --noconvert --duplicates -S 2024-01-01T00:00:00 -E 2024-01-01T${String(hours).padStart(2, '0')}:00:00 -M hammer -o ${SB_SACCT_FIELDS.join(',')}`,
    { env: SIM_ENV },
  );
  if (r.status !== 0) throw new Error(`sim/sacct: ${r.stderr}`);
  return r.stdout;
}
async function jobLines(text: string): Promise<string[]> {
  const r = await runBin('sb-parse', ['-f', 'sb', '-c', 'hammer'], { input: text });
  if (r.status !== 0 || r.stderr !== '') throw new Error(`sb-parse: ${r.stderr}`);
  return lines(r.stdout);
}
const chunk = (h: number): string =>
  JSON.stringify({ kind: 'chunk', cluster: 'hammer', start: `2024-01-01T${String(h).padStart(2, '0')}:00:00Z`, end: `2024-01-01T${String(h).padStart(2, '0')}:59:59Z` });

interface Contract {
  bin: string;
  // How the tests name it, when a bin has several filters (sb-rendezvous gate, ack).
  label?: string;
  // The usual arguments (a fresh store each call where the tool needs one).
  args: () => string[];
  env?: NodeJS.ProcessEnv;
  // Input lines giving more output than one line; undefined: the tool reads no input.
  input?: () => Promise<string[]>;
  // Where a bad line can go without splitting what belongs together (a job from its steps).
  badAt?: (input: string[]) => number;
  prepare?: (args: string[]) => Promise<void>;
  // Output with what differs from run to run taken out (sb-reduce's transaction ids).
  stable?: (stdout: string) => string;
  // What empty input gives when it is not silence and status 0 (a display with nothing to show).
  empty?: { status: number; stderr: RegExp };
  // Its usual run is the whole pipeline (sb-poll): make test-fast leaves its `| head -1` to make test.
  long?: true;
}

const text = await sacctText(6);
const jobs = await jobLines(text);
const isJobRow = (l: string): boolean => !(l.split('|')[1] ?? '.').includes('.');

// rank records of the jobs above, as sb-rank prints them
async function rankLines(): Promise<string[]> {
  const root = tmp();
  await runBin('sb-reduce', ['--root', root], { input: jobs.join('\n') + '\n' });
  const r = await runBin('sb-rank', ['--root', root, '--now', '2024-01-02T00:00:00Z', '--min-jobs', '0', '-w', 'alltime,rolling-30d'], { env: { SB_HOME_ROOT: root } });
  if (r.status !== 0) throw new Error(`sb-rank: ${r.stderr}`);
  return lines(r.stdout);
}

const CONTRACTS: Contract[] = [
  {
    bin: 'sb-chunk',
    args: () => ['from-file', '-c', 'hammer'],
    input: async () => Array.from({ length: 40 }, (_, h) => `2024-01-${String(1 + Math.floor(h / 24)).padStart(2, '0')}T${String(h % 24).padStart(2, '0')}:00:00Z,2024-01-${String(1 + Math.floor(h / 24)).padStart(2, '0')}T${String(h % 24).padStart(2, '0')}:59:59Z`),
  },
  {
    bin: 'sb-sacct',
    args: () => ['--sacct', SIM, '--sacctmgr', path.join(ROOT, 'sim', 'sacctmgr'), '--rate', '0', '--backoff', '0', '--retries', '0'],
    env: { ...SIM_ENV, XDG_RUNTIME_DIR: tmp() },
    // three windows: each runs sim/sacct twice (the window, the steps of its long jobs)
    input: async () => Array.from({ length: 3 }, (_, h) => chunk(h)),
  },
  {
    bin: 'sb-parse',
    args: () => ['-f', 'sb', '-c', 'hammer'],
    input: async () => lines(text),
    badAt: (input) => input.findIndex((l, i) => i > input.length / 2 && isJobRow(l)),
  },
  { bin: 'sb-dedupe', args: () => ['--root', tmp()], input: async () => jobs },
  {
    bin: 'sb-reduce',
    args: () => ['--root', tmp(), '--batch', '50'],
    input: async () => jobs,
    stable: (stdout) => stdout.replace(/"txn":"[^"]*"/g, '"txn":"-"'),
  },
  {
    bin: 'sb-rank',
    args: () => ['--root', tmp(), '--now', '2024-01-02T00:00:00Z', '--min-jobs', '0'],
    env: { SB_HOME_ROOT: path.join(tmpdir(), 'sb-contract-no-homes') },
    // sb-rank reads a store, not stdin: one with the jobs in it
    prepare: async (args) => {
      const r = await runBin('sb-reduce', ['--root', args[1] as string], { input: jobs.join('\n') + '\n' });
      if (r.status !== 0) throw new Error(`sb-reduce: ${r.stderr}`);
    },
  },
  {
    bin: 'sb-export',
    args: () => ['--root', tmp(), '--out', tmp(), '-f', 'parquet,csv,ndjson'],
    env: { SB_HOME_ROOT: path.join(tmpdir(), 'sb-contract-no-homes') },
    // sb-export reads a store, not stdin: the jobs above, with January recorded done (settled)
    prepare: async (args) => {
      const done = JSON.stringify({ kind: 'chunk-done', cluster: 'hammer', start: '2024-01-01T00:00:00Z', end: '2024-01-31T23:59:59Z', rows: 0, settled: true });
      const r = await runBin('sb-reduce', ['--root', args[1] as string], { input: [...jobs, done].join('\n') + '\n' });
      if (r.status !== 0) throw new Error(`sb-reduce: ${r.stderr}`);
    },
  },
  {
    bin: 'sb-render',
    args: () => ['--json', '-w', 'alltime,rolling-30d', '-m', 'overall,jobs,clock_hours', '-c', 'all,hammer'],
    env: { SB_ROOT: '' },
    input: rankLines,
    badAt: (input) => input.findIndex((l, i) => i > 0 && l.includes('"metric":"jobs"')),
    empty: { status: 1, stderr: /^sb-render: no rank records on standard input\n$/ },
  },
  {
    // a store where the one member is done far past the windows: each passes at once
    bin: 'sb-rendezvous',
    label: 'sb-rendezvous gate',
    args: () => ['gate', '--name', 'hammer', '--members', 'hammer', '--timeout', '30', '--root', tmp()],
    input: async () => Array.from({ length: 6 }, (_, h) => chunk(h)),
    prepare: async (args) => {
      const done = JSON.stringify({ kind: 'commit', cluster: 'hammer', chunk: '2024-01-01T00:00:00Z/2024-01-01T23:59:59Z', settled: true });
      const r = await runBin('sb-rendezvous', ['ack', '--name', 'hammer', '--root', args[args.length - 1] as string], { input: done + '\n' });
      if (r.status !== 0) throw new Error(`sb-rendezvous ack: ${r.stderr}`);
    },
  },
  {
    bin: 'sb-rendezvous',
    label: 'sb-rendezvous ack',
    args: () => ['ack', '--name', 'hammer', '--root', tmp()],
    input: async () =>
      Array.from({ length: 6 }, (_, h) => [
        JSON.stringify({ kind: 'rendezvous', member: 'hammer', start: `2024-01-01T0${h}:00:00Z`, end: `2024-01-01T0${h}:59:59Z`, need: `2024-01-01T0${h}:00:00Z` }),
        JSON.stringify({ kind: 'commit', cluster: 'hammer', processed: 1, new_jobs: 1, chunk: `2024-01-01T0${h}:00:00Z/2024-01-01T0${h}:59:59Z`, settled: true }),
      ]).flat(),
  },
  {
    // the report reads no input: one line a check, every check passing against the stand-in
    bin: 'sb-probe',
    args: () => ['--root', tmp(), '-c', 'hammer', '--sacct', SIM],
    env: { ...SIM_ENV, XDG_RUNTIME_DIR: tmp() },
  },
  {
    // silent when all is well; --commits prints sb-reduce's commits (two windows, two lines)
    bin: 'sb-poll',
    args: () => ['--root', tmp(), '-c', 'hammer', '--sacct', SIM, '--rate', '0', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T01:59:59Z', '--commits'],
    env: { ...SIM_ENV, XDG_RUNTIME_DIR: tmp() },
    long: true,
  },
];

// The tool's arguments, with whatever they name made ready.
const ready = async (c: Contract): Promise<string[]> => {
  const args = c.args();
  await c.prepare?.(args);
  return args;
};
const run = async (c: Contract, extra: string[], input: string): Promise<Result> =>
  runBin(c.bin, [...(await ready(c)), ...extra], { input, ...(c.env ? { env: c.env } : {}) });
// The tool's usual input, and the run over it: once, for the `| head -1` test and the bad-line one.
const inputs = new Map<Contract, Promise<string[]>>();
const inputOf = (c: Contract): Promise<string[]> => {
  if (!inputs.has(c)) inputs.set(c, c.input ? c.input() : Promise.resolve([]));
  return inputs.get(c) as Promise<string[]>;
};
const usual = new Map<Contract, Promise<Result>>();
const usualRun = (c: Contract, input: string): Promise<Result> => {
  if (!usual.has(c)) usual.set(c, run(c, [], input));
  return usual.get(c) as Promise<Result>;
};

for (const [i, c] of CONTRACTS.entries()) {
  const name = c.label ?? c.bin;
  // once a bin (sb-rendezvous has two filters, one --help)
  if (CONTRACTS.findIndex((o) => o.bin === c.bin) === i) t.test(`${c.bin}: --help, --version, an unknown flag`, async (t) => {
    const help = await runBin(c.bin, ['--help']);
    t.same([help.status, help.stderr], [0, ''], '--help: status 0, nothing on stderr');
    t.match(help.stdout, new RegExp(`^Usage: ${c.bin} `), '--help starts with the usage line');
    t.notMatch(help.stdout, /\bDESIGN\b|STYLE\.md|shared\//, '--help cites only what users have');
    // an 80-column terminal shows it unwrapped (string-width: CJK and emoji take two)
    const wide = help.stdout.split('\n').filter((l) => stringWidth(l) > 80);
    t.same(wide, [], '--help fits 80 columns');
    const v = await runBin(c.bin, ['--version']);
    t.same([v.status, v.stdout, v.stderr], [0, `${c.bin} ${VERSION}\n`, '']);
    const bad = await runBin(c.bin, ['--bogus']);
    t.same([bad.status, bad.stdout, bad.stderr], [2, '', `${c.bin}: unknown option '--bogus'\nTry '${c.bin} --help'.\n`]);
    const json = await runBin(c.bin, ['--bogus', '--errors', 'json']);
    t.equal(json.status, 2);
    t.same(JSON.parse(json.stderr), { tool: c.bin, level: 'error', message: "unknown option '--bogus'" }, 'usage errors as JSON under --errors json');
    const fmt = await runBin(c.bin, ['--errors', 'yaml']);
    t.same([fmt.status, fmt.stderr], [2, `${c.bin}: option '--errors': 'yaml' is not one of text, json\nTry '${c.bin} --help'.\n`]);
  });

  t.test(`${name}: | head -1 exits 0 with empty stderr`, { skip: c.long ? LONG : false }, async (t) => {
    const input = c.input ? (await inputOf(c)).join('\n') + '\n' : '';
    const full = await usualRun(c, input);
    t.ok(lines(full.stdout).length > 1, `more than one line of output without head (${lines(full.stdout).length})`);
    const file = path.join(tmp(), 'input');
    writeFileSync(file, input);
    const args = (await ready(c)).map((a) => `'${a}'`).join(' ');
    const r = await runShell(`${c.bin} ${args} < '${file}' | head -1`, c.env ? { env: c.env } : {});
    t.same([r.status, r.stderr], [0, ''], 'status 0 (pipefail), nothing on stderr');
    t.equal(lines(r.stdout).length, 1);
  });

  if (c.input === undefined) continue;

  t.test(`${name}: empty input`, async (t) => {
    const r = await run(c, [], '');
    if (c.empty === undefined) t.same([r.status, r.stdout, r.stderr], [0, '', '']);
    else {
      t.same([r.status, r.stdout], [c.empty.status, ''], 'nothing to show: said so, and not success');
      t.match(r.stderr, c.empty.stderr);
    }
  });

  t.test(`${name}: a bad line in the middle is reported with its place and skipped`, async (t) => {
    const good = await inputOf(c);
    const at = c.badAt ? c.badAt(good) : Math.floor(good.length / 2);
    t.ok(at > 0 && at < good.length, 'the bad line goes between good ones');
    const withBad = [...good.slice(0, at), 'garbage \u001b[2J not a record', ...good.slice(at)];
    const clean = await usualRun(c, good.join('\n') + '\n');
    t.equal(clean.status, 0, clean.stderr);
    const r = await run(c, [], withBad.join('\n') + '\n');
    t.equal(r.status, 0, 'a bad line alone does not fail the run');
    const err = lines(r.stderr);
    t.equal(err.length, 1, 'one diagnostic');
    t.match(err[0], new RegExp(`^${c.bin}: stdin:${at + 1}: `), 'names the line');
    const stable = c.stable ?? ((x: string): string => x);
    t.equal(stable(r.stdout), stable(clean.stdout), 'the output is what the good lines alone give');
    // --strict and --errors json in one run: the one CLI frame handles both for every tool (the
    // tests of sb-chunk, sb-dedupe, sb-parse, sb-reduce and sb-sacct take them one at a time)
    const strict = await run(c, ['--strict', '--errors', 'json'], withBad.join('\n') + '\n');
    t.equal(strict.status, 65, '--strict: exit 65 at the end');
    t.equal(stable(strict.stdout), stable(clean.stdout), '--strict still processes every good line');
    const rec = JSON.parse(strict.stderr) as Record<string, unknown>;
    t.match(rec, { tool: c.bin, level: 'error', source: 'stdin', line: at + 1 }, '--errors json: one JSON line with the place');
    t.type(rec['message'], 'string');
  });
}
