import { Readable } from 'node:stream';
import t from 'tap';
import { SbError } from '../lib/core/cli/errors.js';
import { SB_SACCT_FIELDS } from '../lib/core/sacct/fields.js';
import { Parser, jobLine } from '../lib/tools/parse/main.js';
import { readLineBatches as lineBatches } from '../lib/core/cli/lines.js';
import { LONG, ROOT, runBin, runShell } from './helpers/run.js';

// A seeded fuzz test of sb-parse: thousands of mutated sacct inputs (byte flips, truncation,
// NUL, invalid UTF-8, huge and negative numbers, CRLF, missing, empty and extra fields). None may
// crash it; every line it prints is JSON; every job none of whose lines was touched comes out
// exactly as from the clean input; a job that vanishes was reported (or its State was turned
// into another state word, which is skipped like a running job). A share of the inputs also
// goes through the real bin.

// make test-fast: an eighth of them (the same seed, so the first 300 of make test's)
const CASES = Number(process.env['SB_FUZZ_CASES'] ?? (LONG ? 300 : 2400));
const BIN_CASES = LONG ? 10 : 40;
let seed = Number(process.env['SB_FUZZ_SEED'] ?? 20241201);
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;

// sim/sacct's rows for a few hours: '|' between fields and at the end of each line (sacct -p).
const clean = await runShell(`'${ROOT}/sim/sacct' -a -n -p --noconvert --duplicates -S 2024-01-01T00:00:00 -E 2024-01-01T02:00:00 -M hammer -o ${SB_SACCT_FIELDS.join(',')}`, {
  env: { SB_SIM_NOW: '2024-03-01T00:00:00', SB_SIM_SEED: 'fuzz', SB_SIM_RATE: '20' },
});
const LINES = clean.stdout.split('\n').filter((l) => l !== '');
const IDX = Object.fromEntries(SB_SACCT_FIELDS.map((f, i) => [f, i])) as Record<string, number>;
const NUMERIC = ['DBIndex', 'UID', 'ElapsedRaw', 'AllocCPUS', 'NNodes'];

interface Outcome {
  lines: string[];
  diagnostics: number[];
  error?: Error;
}

async function parse(input: Buffer): Promise<Outcome> {
  const out: Outcome = { lines: [], diagnostics: [] };
  const p = new Parser(
    { job: (j) => out.lines.push(jobLine(j)), line: (l) => out.lines.push(l), bad: (n) => out.diagnostics.push(n), warn: (n) => out.diagnostics.push(n) },
    { fields: SB_SACCT_FIELDS, cluster: () => 'hammer' },
  );
  try {
    let n = 0;
    for await (const batch of lineBatches(Readable.from([input]))) for (const l of batch) p.push(l, ++n);
    p.end();
  } catch (err) {
    out.error = err as Error;
  }
  return out;
}

// The jobs of the clean input: each job row's key, with the numbers of its lines (from 1).
function jobsOf(lines: readonly string[]): Array<{ first: number; last: number }> {
  const jobs: Array<{ first: number; last: number }> = [];
  lines.forEach((l, i) => {
    const id = l.split('|')[IDX['JobID'] as number] ?? '';
    if (!id.includes('.')) jobs.push({ first: i + 1, last: i + 1 });
    else if (jobs.length > 0) (jobs[jobs.length - 1] as { last: number }).last = i + 1;
  });
  return jobs;
}

interface Mutant {
  what: string;
  input: Buffer;
  // the clean lines (numbers from 1) whose bytes the mutation changed; past the cut for truncation
  touched: Set<number>;
  stateChanged: Set<number>;
  // the clean lines a truncation took away: their jobs are not in the input at all
  removed: Set<number>;
}

function mutate(): Mutant {
  const lines = [...LINES];
  const touched = new Set<number>();
  const stateChanged = new Set<number>();
  let crlf = false;
  let cut: number | undefined;
  const kinds: string[] = [];
  const n = 1 + Math.floor(rand() * 3);
  for (let m = 0; m < n; m++) {
    const i = Math.floor(rand() * lines.length);
    const line = lines[i] as string;
    const kind = pick(['flip', 'flip', 'truncate', 'nul', 'utf8', 'huge', 'negative', 'crlf', 'missing', 'extra', 'control', 'empty']);
    kinds.push(kind);
    const fields = line.split('|');
    const at = Math.floor(rand() * line.length);
    switch (kind) {
      case 'flip':
        lines[i] = line.slice(0, at) + String.fromCharCode(line.charCodeAt(at) ^ (1 << Math.floor(rand() * 7))) + line.slice(at + 1);
        break;
      case 'truncate':
        cut = i;
        lines[i] = line.slice(0, at);
        break;
      case 'nul':
        lines[i] = line.slice(0, at) + '\u0000' + line.slice(at);
        break;
      case 'utf8':
        lines[i] = line.slice(0, at) + '\u{fffe}INVALID' + line.slice(at);
        break;
      case 'control':
        fields[IDX[pick(['User', 'Account', 'Partition', 'State'])] as number] += pick(['\u001b[2J', '\u007f', '\u0085']);
        lines[i] = fields.join('|');
        break;
      case 'huge':
      case 'negative':
        fields[IDX[pick(NUMERIC)] as number] = kind === 'huge' ? pick(['99999999999999999999', '9007199254740993', '1e308']) : pick(['-1', '-99999']);
        lines[i] = fields.join('|');
        break;
      case 'crlf':
        crlf = true;
        break;
      case 'empty':
        fields[Math.floor(rand() * (fields.length - 1))] = '';
        lines[i] = fields.join('|');
        break;
      case 'missing':
        fields.splice(1 + Math.floor(rand() * (fields.length - 2)), 1);
        lines[i] = fields.join('|');
        break;
      case 'extra':
        fields.splice(Math.floor(rand() * fields.length), 0, 'extra');
        lines[i] = fields.join('|');
        break;
    }
    if (lines[i] !== line) touched.add(i + 1);
    if (lines[i]?.split('|')[IDX['State'] as number] !== fields[IDX['State'] as number] || line.split('|')[IDX['State'] as number] !== lines[i]?.split('|')[IDX['State'] as number]) stateChanged.add(i + 1);
  }
  let text = lines.slice(0, cut === undefined ? lines.length : cut + 1).join(crlf ? '\r\n' : '\n') + (cut === undefined ? '\n' : '');
  const removed = new Set<number>();
  if (cut !== undefined) for (let k = cut + 2; k <= lines.length; k++) touched.add(k), removed.add(k);
  let input = Buffer.from(text, 'utf8');
  // invalid UTF-8 for real: the marker's bytes become a lone continuation and an 0xFF
  const marker = Buffer.from('\u{fffe}', 'utf8');
  for (let k = input.indexOf(marker); k >= 0; k = input.indexOf(marker, k + 1)) {
    input[k] = 0xff;
    input[k + 1] = 0x80;
  }
  text = '';
  return { what: kinds.join('+'), input, touched, stateChanged, removed };
}

// A mutated job row may still print its job, with the changed field: it is there when a line
// printed has its key, its job id, or its user and End.
function printedAgain(job: Record<string, unknown>, lines: readonly string[]): boolean {
  return lines.some((l) => {
    const r = JSON.parse(l) as Record<string, unknown>;
    return r['key'] === job['key'] || r['job_id'] === job['job_id'] || (r['user'] === job['user'] && r['end'] === job['end']);
  });
}

const base = await parse(Buffer.from(LINES.join('\n') + '\n'));
const JOBS = jobsOf(LINES);
const cleanByFirst = new Map<number, string>();
{
  // the clean run prints the jobs in input order, one line each (all finished in the sim's past)
  const lines = base.lines;
  JOBS.forEach((j, k) => cleanByFirst.set(j.first, lines[k] as string));
}

t.test('the clean input: every job printed, nothing reported', async (t) => {
  t.equal(base.error, undefined);
  t.same(base.diagnostics, []);
  t.equal(base.lines.length, JOBS.length, `${JOBS.length} jobs in ${LINES.length} rows`);
  t.ok(JOBS.length >= 20);
});

t.test(`${CASES} mutated inputs: no crash, JSON out, untouched jobs exact, vanished jobs reported`, async (t) => {
  const problems: string[] = [];
  const kinds = new Map<string, number>();
  const bin: Mutant[] = [];
  for (let c = 0; c < CASES; c++) {
    const m = mutate();
    for (const k of m.what.split('+')) kinds.set(k, (kinds.get(k) ?? 0) + 1);
    if (c % Math.floor(CASES / BIN_CASES) === 0 && bin.length < BIN_CASES) bin.push(m);
    const r = await parse(m.input);
    if (r.error !== undefined && !(r.error instanceof SbError)) problems.push(`case ${c} (${m.what}): ${r.error.stack ?? r.error.message}`);
    const printed = new Set<string>();
    for (const l of r.lines) {
      try {
        const rec = JSON.parse(l) as Record<string, unknown>;
        if (rec['kind'] !== 'job') problems.push(`case ${c} (${m.what}): a line of kind ${String(rec['kind'])}`);
      } catch {
        problems.push(`case ${c} (${m.what}): not JSON: ${l.slice(0, 120)}`);
      }
      printed.add(l);
    }
    if (r.error !== undefined) continue;
    for (const j of JOBS) {
      const lines = Array.from({ length: j.last - j.first + 1 }, (_, k) => j.first + k);
      const own = cleanByFirst.get(j.first) as string;
      if (lines.every((k) => !m.touched.has(k))) {
        if (!printed.has(own)) problems.push(`case ${c} (${m.what}): the untouched job of lines ${j.first}-${j.last} is not printed as from the clean input`);
      } else if (!m.removed.has(j.first) && !printedAgain(JSON.parse(own) as Record<string, unknown>, r.lines)) {
        const reported = r.diagnostics.some((d) => d >= j.first - 1 && d <= j.last + 1) || (m.touched.has(j.first) && m.stateChanged.has(j.first));
        if (!reported) problems.push(`case ${c} (${m.what}): the job of lines ${j.first}-${j.last} vanished and nothing was reported` + (process.env['SB_FUZZ_DEBUG'] ? `\n${m.input.toString('latin1').split(/\r?\n/).slice(j.first - 2, j.last + 1).join('\n')}\n${LINES.slice(j.first - 2, j.last + 1).join('\n')}` : ''));
      }
    }
  }
  t.same(problems.slice(0, 10), [], `${problems.length} problems`);
  t.comment(`mutations: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);

  // the same through the real bin: the in-process output, and status 0 (1 for a refused header)
  const binProblems: string[] = [];
  for (const m of bin) {
    const want = await parse(m.input);
    const r = await runBin('sb-parse', ['-f', 'sb', '-c', 'hammer'], { input: m.input });
    const got = r.stdout.split('\n').filter((l) => l !== '');
    if (r.status !== (want.error ? 1 : 0)) binProblems.push(`${m.what}: status ${r.status}: ${r.stderr.slice(0, 200)}`);
    if (got.join('\n') !== want.lines.join('\n')) binProblems.push(`${m.what}: the bin printed other lines than the parser`);
    if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(r.stderr)) binProblems.push(`${m.what}: a raw control character on stderr`);
  }
  t.same(binProblems, [], `${bin.length} of them through bin/sb-parse`);
});
