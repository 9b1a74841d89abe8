// sb-parse's row kernel (wasm/rows.ts) may only make sb-parse faster: every input here is read
// with and without it, whole and in pieces, as text and as rows records, and must give the same
// jobs, the same diagnostics with the same line numbers and the same counts.
import { execFileSync } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, rmSync, symlinkSync, constants as fsConstants, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { UsageError } from '../lib/core/cli/errors.js';
import { SB_SACCT_FIELDS } from '../lib/core/sacct/fields.js';
import { RowKernel } from '../lib/tools/parse/row-kernel.js';
import { Parser, type ParserOptions } from '../lib/tools/parse.js';
import { BIN, ROOT, cleanEnv, runBin, runShell } from './helpers/run.js';

const FIELDS = SB_SACCT_FIELDS.join(',');
const US = '\x1f';
const col = (name: string): number => (SB_SACCT_FIELDS as readonly string[]).indexOf(name);

// A small deterministic generator (mulberry32).
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

// Rows of the synthetic cluster as sb-sacct asks for them (unit separator, trailing delimiter).
function simRows(rate: number, hours: number): string[] {
  const end = `2024-01-01T${String(hours).padStart(2, '0')}:00:00`;
  // through env -u: the test runner puts its loaders back into node children's environment
  const out = execFileSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'sim', 'sacct'), '-a', '-n', '-p', `--delimiter=${US}`, '--duplicates', '--noconvert',
    '-S', '2024-01-01T00:00:00', '-E', end, '-M', 'demo', '-o', FIELDS], {
    env: { ...cleanEnv(), TZ: 'UTC', SB_SIM_SEED: '7', SB_SIM_RATE: String(rate), SB_SIM_NOW: '2024-03-01T00:00:00Z' },
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  return out.split('\n').filter((l) => l !== '');
}

const isStep = (line: string): boolean => (line.split(US)[col('JobIDRaw')] ?? '').includes('.');
function setField(line: string, name: string, value: string): string {
  const f = line.split(US);
  f[col(name)] = value;
  return f.join(US);
}

// Times the kernel reads in place as SacctClock does, or leaves to it.
const ODD_TIMES = ['Unknown', 'None', '', '2023-02-29T00:00:00', '2024-02-29 12:00:00', '2024-13-01T00:00:00', '2024-01-01T24:00:00',
  '2024-01-01T00:60:00', '2024-01-01T00:00:60', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00+01:00', '0000-01-01T00:00:00', '0000-03-01T00:00:00',
  '2100-02-29T00:00:00', '2000-02-29T23:59:59', '2024-04-31T00:00:00', '2024-1-01T00:00:00', '2024-01-01X00:00:00', '2024-01-01T00-00:00',
  '9999-12-31T23:59:59', '1969-12-31T23:59:59', '２024-01-01T00:00:00'];

// What is done to a row: its new text, or undefined to leave it out; `out` takes extra lines.
type Change = (line: string, r: () => number, out: string[]) => string | undefined;
// Changes of step rows and of job rows, each with the share of rows it gets: every kind of row
// the kernel must hand back.
const STEP_CHANGES: Array<[number, Change]> = [
  [0.03, (l, r) => setField(l, 'MaxRSS', r() < 0.5 ? '2.50M' : '3388K')],
  [0.01, (l) => l.slice(0, l.lastIndexOf(US, l.length - 2) + 1)], // a field short
  [0.01, (l) => l + 'extra' + US], // a field too many
  [0.01, (l) => setField(l, 'Cluster', '')],
  [0.01, (l) => setField(l, 'Cluster', 'other')],
  [0.01, (l) => setField(l, 'DBIndex', '1')],
  [0.01, (l) => setField(l, 'DBIndex', '')],
  [0.01, (l) => setField(l, 'MaxRSS', '12345678901234567')],
  [0.01, (l) => setField(l, 'MaxRSS', '12x')],
  [0.01, (l) => setField(l, 'JobIDRaw', l.split(US)[col('JobIDRaw')] + 'ä')],
  [0.01, (l) => setField(l, 'JobIDRaw', '')],
  [0.01, (l) => l + '\r'],
  [0.01, (l, _r, out) => (out.push(''), l)],
  [0.01, (l) => setField(l, 'MaxRSS', '')],
];
const JOB_CHANGES: Array<[number, Change]> = [
  [0.02, () => undefined], // its steps become orphans
  [0.02, (l) => setField(l, 'State', 'RUNNING')],
  [0.01, (l) => setField(l, 'User', 'zoë')],
  [0.01, (l) => setField(l, 'UID', 'x')],
  [0.01, (l) => setField(l, 'Cluster', 'bad name')],
  [0.01, (l) => setField(l, 'JobIDRaw', l.split(US)[col('JobIDRaw')] + '0')],
  [0.01, (l) => setField(l, 'AllocTRES', 'cpu=1,gres/gpu:a100=2')],
  [0.01, (l) => l + '\r'],
  [0.001, (l) => setField(l, 'AllocTRES', 'cpu=1,' + 'x'.repeat(300_000))], // longer than a read
  [0.005, (l, _r, out) => (out.push('   '), l)],
  [0.02, (l, r) => setField(l, (['Submit', 'Start', 'End'] as const)[Math.floor(r() * 3)] as string, ODD_TIMES[Math.floor(r() * ODD_TIMES.length)] as string)],
];

// The rows with those changes at random places.
function nasty(rows: string[], seed: number): string[] {
  const r = random(seed);
  const out: string[] = [];
  for (const row of rows) {
    let x = r();
    let line: string | undefined = row;
    for (const [share, change] of isStep(row) ? STEP_CHANGES : JOB_CHANGES) {
      if (x < share) {
        line = change(row, r, out);
        break;
      }
      x -= share;
    }
    if (line !== undefined) out.push(line);
  }
  return out;
}

interface Result {
  out: string[];
  bad: string[];
  warn: string[];
  counts: Parser['counts'];
}

function parser(opts: ParserOptions): { p: Parser; res: Result } {
  const res: Result = { out: [], bad: [], warn: [], counts: undefined as unknown as Parser['counts'] };
  const p = new Parser({ line: (l) => res.out.push(l), bad: (n, m) => res.bad.push(`${n}: ${m}`), warn: (n, m) => res.warn.push(`${n}: ${m}`) }, opts);
  res.counts = p.counts;
  return { p, res };
}

// Line by line through push(), no kernel: what sb-parse printed before the kernel.
function byLines(lines: string[], opts: ParserOptions): Result {
  const { p, res } = parser(opts);
  lines.forEach((l, i) => p.push(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1));
  p.end();
  return res;
}

// Bytes through write() in random pieces, with or without the kernel.
function byBytes(text: string, opts: ParserOptions, seed: number, most: number): Result {
  const { p, res } = parser(opts);
  const bytes = Buffer.from(text);
  const r = random(seed);
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(r() * most);
    p.write(bytes.subarray(at, at + n));
    at += n;
  }
  p.end();
  return res;
}

const kernel = (): RowKernel => RowKernel.load({ SB_PARSE_KERNEL: 'wasm' }) as RowKernel;

t.test('the kernel loads in the build, and SB_PARSE_KERNEL chooses', async (t) => {
  t.ok(RowKernel.load({ SB_PARSE_KERNEL: 'wasm' }) instanceof RowKernel, 'wasm: loaded');
  t.ok(RowKernel.load({}) instanceof RowKernel, 'unset: loaded');
  t.equal(RowKernel.load({ SB_PARSE_KERNEL: 'js' }), undefined, 'js: none');
  t.throws(() => RowKernel.load({ SB_PARSE_KERNEL: 'fast' }), UsageError);
});

const rows = simRows(3000, 3);
const lines = nasty(rows, 1);
// the last line without its newline
const text = lines.join('\n');

t.test('text: the kernel folds most rows and changes nothing', async (t) => {
  t.ok(rows.length > 20_000, `${rows.length} rows from the synthetic cluster`);
  const opts = { fields: SB_SACCT_FIELDS, cluster: () => 'demo' };
  const want = byLines(lines, opts);
  t.ok(want.bad.length > 100 && want.warn.length > 100, `the input has bad rows (${want.bad.length}) and orphans (${want.warn.length})`);
  t.ok(want.counts.jobs > 5000, `${want.counts.jobs} jobs`);
  for (const [seed, most] of [[1, 1 << 20], [2, 4096], [3, 300], [4, 17]] as const) {
    const got = byBytes(text, { ...opts, kernel: kernel() }, seed, most);
    t.same(got, want, `kernel, pieces of up to ${most} bytes`);
  }
  t.same(byBytes(text, opts, 5, 5000), want, 'no kernel, pieces of up to 5000 bytes');
  // the kernel did the work: most step rows never reach JavaScript
  const { p } = parser({ ...opts, kernel: kernel() });
  p.write(Buffer.from(text));
  p.end();
  t.ok(p.folded > p.counts.steps * 0.8, `the kernel folded ${p.folded} rows of ${p.counts.rows} (${p.counts.steps} steps)`);
  const js = parser(opts).p;
  js.write(Buffer.from(text));
  js.end();
  t.equal(js.folded, 0, 'without it, none');
});

t.test('text with a header line, and with | as the delimiter', async (t) => {
  const piped = rows.slice(0, 4000).map((l) => l.replaceAll(US, '|'));
  const withHeader = [SB_SACCT_FIELDS.join('|') + '|', ...piped];
  const want = byLines(withHeader, {});
  t.ok(want.counts.jobs > 500);
  t.same(byBytes(withHeader.join('\n') + '\n', { kernel: kernel() }, 6, 10_000), want, 'header: same');
  // sacct -P: no delimiter after the last field
  const bare = lines.slice(0, 6000).map((l) => (l.endsWith(US) ? l.slice(0, -1) : l).replaceAll(US, '|'));
  t.same(byBytes(bare.join('\n'), { fields: SB_SACCT_FIELDS, cluster: () => 'demo', kernel: kernel() }, 12, 50_000), byLines(bare, { fields: SB_SACCT_FIELDS, cluster: () => 'demo' }), '-P: same');
  // the header again in the middle (two sacct runs' output concatenated) is skipped either way
  const twice = [...withHeader, ...withHeader];
  t.same(byBytes(twice.join('\n') + '\n', { kernel: kernel() }, 7, 10_000), byLines(twice, {}), 'header twice: same');
});

// sb-sacct's rows records of the lines, `per` lines each.
function rowsRecords(lines: string[], per: number, cluster?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += per) {
    out.push(JSON.stringify({ kind: 'rows', ...(cluster !== undefined ? { cluster } : {}), chunk: 'c', fields: [...SB_SACCT_FIELDS], delimiter: '\x7f', lines: lines.slice(i, i + per).map((l) => l.replaceAll(US, '\x7f')) }));
    if (i % (per * 3) === 0) out.push(JSON.stringify({ kind: 'chunk-done', cluster: 'demo', start: 'a', end: 'b' }));
  }
  return out;
}

t.test('rows records: the kernel changes nothing', async (t) => {
  for (const cluster of [undefined, 'demo', 'other']) {
    const records = rowsRecords(lines, 1000, cluster);
    const opts = { cluster: () => 'demo' };
    const want = byLines(records, opts);
    t.ok(want.counts.jobs > (cluster === 'other' ? 0 : 5000), `${want.counts.jobs} jobs (cluster ${cluster})`);
    t.same(byBytes(records.join('\n') + '\n', { ...opts, kernel: kernel() }, 8, 1 << 18), want, `cluster ${cluster}: same`);
  }
  // more lines in a record than the kernel notes the ends of (15360): read the other way
  const big = rowsRecords(lines, 20_000, 'demo');
  t.same(byBytes(big.join('\n') + '\n', { cluster: () => 'demo', kernel: kernel() }, 11, 1 << 20), byLines(big, { cluster: () => 'demo' }), '20,000 lines a record: same');
  // a line holding a newline, and one that is no string: the record is read without the kernel
  const odd = [JSON.stringify({ kind: 'rows', fields: [...SB_SACCT_FIELDS], delimiter: US, lines: [...rows.slice(0, 50), rows[50] + '\n' + rows[51], 7, ...rows.slice(52, 99)] })];
  t.same(byBytes(odd.join('\n'), { cluster: () => 'demo', kernel: kernel() }, 9, 1 << 16), byLines(odd, { cluster: () => 'demo' }), 'odd lines: same');
});

// rows records as sb-sacct writes them are read in place (the kernel checks their JSON); every
// other shape of record, right or broken, must read as JSON.parse reads it.
t.test('rows records read in place: odd and broken JSON reads as without the kernel', async (t) => {
  const some = rows.slice(0, 40).map((l) => l.replaceAll(US, '\x7f'));
  const head = `{"kind":"rows","cluster":"demo","chunk":"c","fields":${JSON.stringify(SB_SACCT_FIELDS)},"delimiter":"\\u007f"`;
  const list = (xs: string[]): string => '[' + xs.map((x) => JSON.stringify(x)).join(',') + ']';
  const good = head + ',"lines":' + list(some) + '}';
  const records = [
    good,
    good.replace('"lines":[', '"lines": ['), // a space: not sb-sacct's shape
    good.replace('","', '", "'),
    good.replace('[', '[ '),
    good.slice(0, -1) + ' }',
    good.slice(0, -5) + '}', // broken: a string cut
    good.slice(0, -1), // broken: no }
    good.replace(some[3] as string, (some[3] as string).slice(0, 20) + '\\x' + (some[3] as string).slice(20)), // a bad escape
    good.replace(some[4] as string, (some[4] as string).slice(0, 20) + '\\u00e9\\t\\"\\\\\\/' + (some[4] as string).slice(20)), // escapes
    good.replace(some[5] as string, (some[5] as string).slice(0, 20) + '\\u12' + (some[5] as string).slice(20)), // \u cut short
    good.replace(some[6] as string, (some[6] as string) + '\\n' + (some[7] as string)), // an escaped newline inside a line
    good.replace(some[8] as string, (some[8] as string).slice(0, 30) + '\\u001f' + (some[8] as string).slice(30)),
    head + ',"lines":[]}',
    head + ',"lines":' + list(some.slice(0, 3)) + ',"lines":' + list(some.slice(3, 6)) + '}', // the last "lines" counts
    head + ',"lines":' + list(some.slice(0, 3)) + ',"x":{"lines":' + list(some.slice(3, 6)) + '}}',
    head + ',"x":{"lines":' + list(some.slice(3, 6)) + '},"lines":' + list(some.slice(0, 3)) + '}',
    '{"kind":"rows","x":{"lines":' + list(some.slice(3, 6)) + '}}',
    head + ',"lines":' + list(some.slice(0, 3)).slice(0, -1) + ',7]}', // a number among the lines
    head + ',"lines":' + list(some.slice(0, 3)).slice(0, -1) + ',]}', // a trailing comma
    head.replace('"\\u007f"', '"||"') + ',"lines":' + list(some.map((l) => l.replaceAll('\x7f', '||'))) + '}', // two-character delimiter
    head.replace('"\\u007f"', '"\\u001f"') + ',"lines":' + list(rows.slice(0, 40)) + '}', // the unit separator, escaped in JSON
    head.replace('"kind":"rows"', '"kind":"rows","kind":"row"') + ',"lines":' + list(some) + '}',
    good + '\r',
    good.replace('"cluster":"demo"', '"cluster":"bad name"'),
    good.replace('"fields":[', '"fields":["Nope",'),
    JSON.stringify({ kind: 'chunk-done', cluster: 'demo', start: 'a', end: 'b' }),
  ];
  const opts = { cluster: () => 'demo' };
  const want = byLines(records.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), opts);
  t.ok(want.bad.length >= 8, `bad records: ${want.bad.length}`);
  t.ok(want.counts.jobs >= 30, `${want.counts.jobs} jobs`);
  const got = byBytes(records.join('\n') + '\n', { ...opts, kernel: kernel() }, 10, 1 << 16);
  t.same(got, want, 'same jobs, diagnostics and counts');
  const { p } = parser({ ...opts, kernel: kernel() });
  p.write(Buffer.from(good + '\n'));
  p.end();
  t.ok(p.folded > 20, `sb-sacct's shape is read in place (${p.folded} rows folded)`);
});

// The bin, default (kernel) and SB_PARSE_KERNEL=js, on the same input: the same bytes out.
t.test('the bin: same stdout, stderr and status with and without the kernel', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-kernel-'));
  const file = path.join(dir, 'rows.txt');
  writeFileSync(file, text);
  const cases: Array<[string, string[], string | undefined]> = [
    ['stdin', ['--fields', 'sb', '-c', 'demo', '-v'], text],
    ['stdin, --tz', ['--fields', 'sb', '-c', 'demo', '-v', '--tz', 'Europe/Berlin'], text],
    ['file', ['--fields', 'sb', '-c', 'demo', '-v', file], undefined],
    ['rows records', ['-c', 'demo', '-v', '--strict'], rowsRecords(lines, 700).join('\n') + '\n'],
  ];
  for (const [name, args, input] of cases) {
    const fast = await runBin('sb-parse', args, { env: { SB_PARSE_KERNEL: 'wasm' }, ...(input !== undefined ? { input } : {}) });
    const slow = await runBin('sb-parse', args, { env: { SB_PARSE_KERNEL: 'js' }, ...(input !== undefined ? { input } : {}) });
    t.ok(fast.stdout.length > 1_000_000, `${name}: jobs printed`);
    t.match(fast.stderr, /sb-parse: rows \d+, jobs \d+, steps \d+/, `${name}: counts printed`);
    t.equal(fast.stdout, slow.stdout, `${name}: stdout`);
    t.equal(fast.stderr, slow.stderr, `${name}: stderr`);
    t.equal(fast.status, slow.status, `${name}: status`);
  }
  const bad = await runBin('sb-parse', ['--fields', 'sb'], { env: { SB_PARSE_KERNEL: 'yes' }, input: '' });
  t.equal(bad.status, 2, 'an unknown SB_PARSE_KERNEL is a usage error');
  t.match(bad.stderr, /SB_PARSE_KERNEL='yes': expected 'wasm' or 'js'/);
});

// An installed tree without the kernel (not built): sb-parse reads in JavaScript alone, unless
// SB_PARSE_KERNEL=wasm insists on it.
t.test('no kernel to load: JavaScript alone, or an error under SB_PARSE_KERNEL=wasm', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-nokernel-'));
  cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  rmSync(path.join(dir, 'dist', 'wasm'), { recursive: true });
  const input = rows.slice(0, 3000).join('\n') + '\n';
  const cmd = `node ${dir}/bin/sb-parse --fields sb -c demo -v`;
  const none = await runShell(cmd, { input });
  const want = await runBin('sb-parse', ['--fields', 'sb', '-c', 'demo', '-v'], { env: { SB_PARSE_KERNEL: 'wasm' }, input });
  t.equal(none.status, 0, none.stderr);
  t.equal(none.stdout, want.stdout, 'the same jobs without the kernel');
  t.equal(none.stderr, want.stderr, 'the same counts');
  const must = await runShell(cmd, { input, env: { SB_PARSE_KERNEL: 'wasm' } });
  t.equal(must.status, 1);
  t.match(must.stderr, /^sb-parse: SB_PARSE_KERNEL=wasm, but the row kernel cannot load: .*rows\.wasm/);
  t.equal(must.stdout, '');
});

// A non-blocking stdin (a FIFO opened O_NONBLOCK, the writer slow): read(2) finds nothing yet
// (EAGAIN) and sb-parse goes on with the stream, losing nothing.
t.test('a non-blocking stdin with nothing to read yet', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-fifo-'));
  const fifo = path.join(dir, 'in');
  execFileSync('mkfifo', [fifo]);
  const input = rows.slice(0, 2000).join('\n') + '\n';
  const rd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const wr = openSync(fifo, fsConstants.O_WRONLY);
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-parse'), '--fields', 'sb', '-v'], {
    env: { ...cleanEnv(), TZ: 'UTC', SB_PARSE_KERNEL: 'wasm' },
    stdio: [rd, 'pipe', 'pipe'],
  });
  closeSync(rd);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  writeFileSync(wr, input);
  closeSync(wr);
  t.equal(await done, 0, stderr);
  const want = await runBin('sb-parse', ['--fields', 'sb', '-v'], { input });
  t.equal(stdout, want.stdout, 'the same jobs as from a blocking pipe');
  t.equal(stderr, want.stderr, 'the same counts');
});
