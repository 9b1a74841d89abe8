// sb-sacct: the window filter, failure classification, rate tickets and spool as pure functions;
// then the real bin against the synthetic cluster (sim/sacct), one behaviour of issue 3 a test.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseDuration } from '../lib/core/sacct/duration.js';
import { parseRate, takeTicket } from '../lib/core/sacct/rate-limit.js';
import { SACCT_FIELDS, STEP_QUERY_BYTES, STEP_QUERY_IDS, isPermanentError, sacctArgs, sacctEnv, sacctStepArgs } from '../lib/tools/sacct/command.js';
import { Spool } from '../lib/tools/sacct/spool.js';
import { parseTime } from '../lib/core/records/time.js';
import { backoffSeconds, classifyExit, stepQueries } from '../lib/tools/sacct/main.js';
import { GarbledOutput, ROWS_DELIMITER, ROWS_MAX_LINES, SKIPPED_KEPT, WindowFilter } from '../lib/tools/sacct/window-filter.js';
import { goldenCases } from './helpers/golden.js';
import { LONG, ROOT, type Result, records as rawRecords, runBin, runShell } from './helpers/run.js';

const US = '\x1f';
const T = (s: string): number => parseTime(s) as number;
const SIM = path.join(ROOT, 'sim', 'sacct');
const NOW = '2024-03-01T00:00:00Z';
const EXPECTED_ARGV = (s: string, e: string, cluster: string): string[] => [
  '-a', '-n', '-p', `--delimiter=${US}`, '--duplicates', '--noconvert', '-s', 'CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ',
  '-S', s, '-E', e, '-M', cluster, '-o',
  'DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES',
];

// Temporary directories of this file, removed at the end.
const made: string[] = [];
t.teardown(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

type Rec = Record<string, unknown>;
type Fields = Record<string, string>;

// `rows` records as the `row` records they batch (one per line, its fields by name), in order;
// other records as they are.
function expand(recs: Rec[]): Rec[] {
  const out: Rec[] = [];
  for (const r of recs) {
    if (r['kind'] !== 'rows') {
      out.push(r);
      continue;
    }
    const fields = r['fields'] as string[];
    for (const l of r['lines'] as string[]) {
      const v = l.split(r['delimiter'] as string);
      out.push({ kind: 'row', cluster: r['cluster'], chunk: r['chunk'], f: Object.fromEntries(fields.map((f, i) => [f, v[i]])) });
    }
  }
  return out;
}

// sb-sacct's output records, `rows` expanded.
const records = (text: string): Rec[] => expand(rawRecords(text));

// All a spool holds, as text.
const spoolText = (s: Spool): string => Buffer.concat([...s.buffers()]).toString('utf8');

const jobKey = (r: { f: Fields }): string => `${r.f['DBIndex']}/${r.f['JobIDRaw']}`;
const isStep = (r: { f: Fields }): boolean => (r.f['JobIDRaw'] ?? '').includes('.');

// One sacct line (-p: every field followed by the delimiter) from named values.
function line(v: Partial<Fields>): string {
  return SACCT_FIELDS.map((f) => (v[f] ?? '') + US).join('');
}

// Feeds a line to the filter as sb-sacct reads it: sacct's delimiter and DEL swapped.
function feed(f: WindowFilter, l: string, n: number): void {
  f.feed(l.replace(/[\x1f\x7f]/g, (c) => (c === US ? ROWS_DELIMITER : US)), n);
}

function job(id: string, end: string, extra: Partial<Fields> = {}): string {
  return line({ DBIndex: '', JobID: id, JobIDRaw: id, End: end, State: 'COMPLETED', ...extra });
}

function filtered(lines: string[], start = '2024-01-01T00:00:00Z', end = '2024-01-01T00:59:59Z'): { ids: string[]; orphans: number; seen: number } {
  const f = new WindowFilter('hammer', T(start), T(end));
  lines.forEach((l, i) => feed(f, l, i + 1));
  const r = f.finish();
  const ids = (records(spoolText(r.rows)) as Array<{ f: Fields }>).map((x) => x.f['JobIDRaw'] as string);
  r.rows.close();
  return { ids, orphans: r.orphans, seen: r.seen };
}

t.test('WindowFilter keeps jobs whose End is inside the closed window, steps with their job', async (t) => {
  const r = filtered([
    job('10', '2023-12-31T23:59:59'),
    job('10.batch', '2024-01-01T00:00:30'),
    job('11', '2024-01-01T00:00:00'),
    job('11.batch', '2024-01-01T00:00:00'),
    job('11.extern', '2024-01-01T00:00:01'),
    job('12', '2024-01-01T00:59:59'),
    job('12.0', '2024-01-01T01:10:00'),
    job('13', '2024-01-01T01:00:00'),
    job('13.batch', '2024-01-01T00:30:00'),
  ]);
  t.same(r.ids, ['11', '11.batch', '11.extern', '12', '12.0'], 'both ends inclusive; a step follows its job, not its own End');
  t.equal(r.seen, 9);
  t.equal(r.orphans, 0);
});

t.test('WindowFilter: arrays, requeued duplicates, DBIndex, late and orphan steps', async (t) => {
  const r = filtered([
    job('200', '2024-01-01T00:10:00', { JobID: '123_4' }),
    job('200.batch', '2024-01-01T00:10:00', { JobID: '123_4.batch' }),
    // requeued, no DBIndex: the step goes with the latest job line of its id before it
    job('300', '2023-12-31T23:00:00', { State: 'REQUEUED' }),
    job('300.batch', '2023-12-31T23:00:00'),
    job('300', '2024-01-01T00:20:00'),
    job('300.batch', '2024-01-01T00:20:00'),
    // with DBIndex: steps go with the job line of the same DBIndex, wherever it is
    job('400', '2024-01-01T00:30:00', { DBIndex: '7', State: 'REQUEUED' }),
    job('400', '2024-01-01T02:00:00', { DBIndex: '9' }),
    job('400.batch', '2024-01-01T00:30:00', { DBIndex: '7' }),
    job('400.batch', '2024-01-01T02:00:00', { DBIndex: '9' }),
    // steps before their job line (kept, right after it), and one whose job never comes
    job('500.0', '2024-01-01T00:40:00'),
    job('500.1', '2024-01-01T00:40:00'),
    job('500', '2024-01-01T00:40:00'),
    job('501', '2024-01-01T00:41:00'),
    job('600.0', '2024-01-01T00:40:00'),
    // a step before a job line of another DBIndex waits for its own
    job('700.0', '2024-01-01T00:40:00', { DBIndex: '71' }),
    job('700', '2024-01-01T00:30:00', { DBIndex: '70', State: 'REQUEUED' }),
    job('700', '2024-01-01T00:40:00', { DBIndex: '71' }),
  ]);
  t.same(r.ids, ['200', '200.batch', '300', '300.batch', '400', '400.batch', '500', '500.0', '500.1', '501', '700', '700', '700.0']);
  t.equal(r.orphans, 1, 'the step without a job line is dropped and counted');
});

t.test('WindowFilter: a line that is not exactly the field list is garbled', async (t) => {
  const bad: Array<[string, RegExp]> = [
    [job('1', '2024-01-01T00:10:00').slice(0, 40), /has \d+ fields, expected 21/],
    [job('1', '2024-01-01T00:10:00', { AllocTRES: 'cpu=1' }).slice(0, -1), /has 21 fields, expected 21 each ending in the delimiter/],
    [job('1', '2024-01-01T00:10:00') + 'x' + US, /has 22 fields/],
    [job('1', '2024-01-01T00:10:00') + 'x', /has 22 fields, expected 21 each ending/],
    [job('1', '2024-01-01T00:10:00\u001b'), /End '2024-01-01T00:10:00\u001b', not a time/],
    [job('1x', '2024-01-01T00:10:00'), /JobIDRaw '1x'/],
    [job('1', 'Unknown'), /End 'Unknown', not a time/],
  ];
  for (const [l, re] of bad) {
    const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
    t.throws(() => feed(f, l, 3), GarbledOutput);
    t.throws(() => feed(f, l, 3), re);
  }
  const quoted = filtered([job('1', '2024-01-01T00:10:00', { Account: 'we"ird\\acct' })]);
  t.same(quoted.ids, ['1'], 'quotes and backslashes are escaped, not garbled');
});

t.test('WindowFilter: a line with a control character in a value is skipped and noted, with its steps; the others are kept', async (t) => {
  const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
  const lines = [
    job('1', '2024-01-01T00:10:00'),
    job('2.0', '2024-01-01T00:11:00'),
    job('2', '2024-01-01T00:11:00', { Account: 'dev\u001b[31mteam', QOS: 'x\u0000' }),
    job('2.batch', '2024-01-01T00:11:00'),
    job('3', '2024-01-01T00:12:00', { User: 'de\u007fl' }),
    job('4', '2024-01-01T00:13:00'),
    job('4.batch', '2024-01-01T00:13:00', { Partition: 'p\u0007' }),
    job('4.extern', '2024-01-01T00:13:00'),
    job('5', '2024-01-01T02:00:00', { Account: 'out\u001bside' }),
    job('6', '2024-01-01T00:14:00', { Account: 'tab\there' }),
  ];
  lines.forEach((l, i) => feed(f, l, i + 1));
  const r = f.finish();
  const ids = (records(spoolText(r.rows)) as Array<{ f: Fields }>).map((x) => x.f['JobIDRaw']);
  r.rows.close();
  t.same(ids, ['1', '4', '4.extern', '6'], 'the bad job lines go with their steps; a bad step goes alone; a tab is no control character here');
  t.equal(r.skippedCount, 3, 'the bad line of a job outside the window is not counted: that window has it');
  t.same(r.skipped.map((x) => [x.line, x.job, x.fields]), [[3, '2', ['Account', 'QOS']], [5, '3', ['User']], [7, '4.batch', ['Partition']]]);
  t.equal(r.skipped[0]?.text, '|2|2||||dev\\x1b[31mteam||x\\x00|COMPLETED||||2024-01-01T00:11:00|||||||', 'fields joined by |, control characters written out');
  t.match(r.skipped[1]?.text, /\|de\\x7fl\|/, 'a DEL sacct printed reads as \\x7f');
  const long = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
  feed(long, job('7', '2024-01-01T00:15:00', { Account: '\u001b'.repeat(5000) }), 1);
  const text = long.finish().skipped[0]?.text ?? '';
  t.ok(text.length <= 1000 && text.endsWith('...'), `a long line is cut (${text.length} characters)`);
  const many = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
  for (let i = 0; i < SKIPPED_KEPT + 5; i++) feed(many, job(String(i + 1), '2024-01-01T00:15:00', { User: '\u0001' }), i + 1);
  const m = many.finish();
  t.same([m.skipped.length, m.skippedCount], [SKIPPED_KEPT, SKIPPED_KEPT + 5], 'kept one by one up to SKIPPED_KEPT, all counted');
});

t.test('WindowFilter with stepsFrom: jobs that started by then are held back and taken, with every step, from the queries by id', async (t) => {
  const from = T('2023-12-31T23:45:00Z');
  const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'), { stepsFrom: from });
  const window = [
    job('1', '2024-01-01T00:10:00', { DBIndex: '11', Start: '2024-01-01T00:00:00' }),
    job('1.batch', '2024-01-01T00:10:00', { DBIndex: '11' }),
    // long: started before -S; the window's query shows only its late steps
    job('2', '2024-01-01T00:20:00', { DBIndex: '21', Start: '2023-12-31T20:00:00' }),
    job('2.batch', '2024-01-01T00:20:00', { DBIndex: '21', MaxRSS: '12M' }),
    // requeued: the run in the window is long; the REQUEUED run ended before the window
    job('3', '2023-12-31T21:00:00', { DBIndex: '30', Start: '2023-12-31T20:30:00', State: 'REQUEUED' }),
    job('3', '2024-01-01T00:30:00', { DBIndex: '31', Start: '2023-12-31T22:00:00' }),
    job('3.batch', '2024-01-01T00:30:00', { DBIndex: '31' }),
    // no DBIndex: known by id and Submit; never started: no steps, never held back
    job('4', '2024-01-01T00:40:00', { Start: '2023-12-31T23:00:00', Submit: '2023-12-31T22:59:00' }),
    job('5', '2024-01-01T00:41:00', { DBIndex: '51', Start: 'None' }),
    // started exactly at -S: held back too
    job('6', '2024-01-01T00:42:00', { DBIndex: '61', Start: '2023-12-31T23:45:00' }),
  ];
  window.forEach((l, i) => feed(f, l, i + 1));
  t.same(f.deferred().map((j) => [j.id, j.db]), [[2, 21], [3, 31], [4, -1], [6, 61]], 'earliest Start first');
  f.steps(T('2023-12-31T19:45:00Z'));
  const byId = [
    job('2', '2024-01-01T00:20:00', { DBIndex: '21', Start: '2023-12-31T20:00:00' }),
    job('2.0', '2023-12-31T20:00:05', { DBIndex: '21', MaxRSS: '400M' }),
    job('2.batch', '2024-01-01T00:20:00', { DBIndex: '21', MaxRSS: '12M' }),
    job('3', '2023-12-31T21:00:00', { DBIndex: '30', Start: '2023-12-31T20:30:00', State: 'REQUEUED' }),
    job('3.batch', '2023-12-31T21:00:00', { DBIndex: '30', MaxRSS: '999M' }),
    job('3.0', '2023-12-31T22:00:09', { DBIndex: '31' }),
    job('3', '2024-01-01T00:30:00', { DBIndex: '31', Start: '2023-12-31T22:00:00' }),
    job('3.batch', '2024-01-01T00:30:00', { DBIndex: '31' }),
    job('4', '2023-12-30T10:00:00', { Start: '2023-12-30T09:00:00', Submit: '2023-12-30T08:00:00' }),
    job('4.0', '2023-12-30T09:00:01'),
    job('4', '2024-01-01T00:40:00', { Start: '2023-12-31T23:00:00', Submit: '2023-12-31T22:59:00' }),
    job('4.0', '2023-12-31T23:00:01'),
  ];
  byId.forEach((l, i) => feed(f, l, i + 1));
  t.same(f.missing().map((j) => j.id), [6], 'one not shown yet');
  f.steps(T('2023-12-31T23:30:00Z'));
  feed(f, job('2', '2024-01-01T00:20:00', { DBIndex: '21', Start: '2023-12-31T20:00:00' }), 1);
  feed(f, job('6', '2024-01-01T00:42:00', { DBIndex: '61', Start: '2023-12-31T23:45:00' }), 2);
  feed(f, job('6.0', '2023-12-31T23:45:00', { DBIndex: '61' }), 3);
  t.same(f.missing(), [], 'all shown');
  const r = f.finish();
  const rows = records(spoolText(r.rows)) as Array<{ f: Fields }>;
  r.rows.close();
  t.same(rows.map((x) => `${x.f['JobIDRaw']}/${x.f['DBIndex']}`), [
    '1/11', '1.batch/11', '5/51',
    '2/21', '2.0/21', '2.batch/21', '3/31', '3.0/31', '3.batch/31', '4/', '4.0/', '6/61', '6.0/61',
  ], 'the others in sacct order, then each held-back job once with all its steps (a step before its job line after it), none of another record of its id');
  t.equal(r.count, rows.length);
  t.equal(r.seen, window.length, 'seen counts the window query only');
});

t.test('stepQueries: -j lists of at most STEP_QUERY_IDS ids and STEP_QUERY_BYTES, a requeued id once, earliest first', async (t) => {
  const jobs = Array.from({ length: 2500 }, (_, i) => ({ id: 1000 + i, db: i, submit: '', start: i }));
  jobs.splice(1, 0, { id: 1000, db: 9999, submit: '', start: 0 });
  const qs = stepQueries(jobs);
  t.same(qs.map((q) => new Set(q.map((j) => j.id)).size), [STEP_QUERY_IDS, STEP_QUERY_IDS, 500]);
  t.equal(qs[0]?.length, STEP_QUERY_IDS + 1, 'both records of id 1000 in the first');
  const big = Array.from({ length: 3000 }, (_, i) => ({ id: 4_000_000_000 + i, db: i, submit: '', start: i }));
  const bq = stepQueries(big);
  t.ok(bq.every((q) => q.map((j) => String(j.id)).join(',').length <= STEP_QUERY_BYTES), `long ids: ${bq.map((q) => q.length).join(' + ')}`);
  t.same(stepQueries([]), []);
  t.same(sacctStepArgs('hammer', [5, 7], T('2024-01-01T00:00:00Z'), T('2024-01-01T01:00:00Z')),
    [...EXPECTED_ARGV('2024-01-01T00:00:00', '2024-01-01T01:00:00', 'hammer').slice(0, -2), '-j', '5,7', '-o', EXPECTED_ARGV('', '', '').at(-1) as string]);
});

t.test('rows records: the field list once, raw lines without their final delimiter, delimited by DEL, at most ROWS_MAX_LINES each', async (t) => {
  const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
  const n = ROWS_MAX_LINES + 10;
  for (let i = 0; i < n; i++) {
    const l = job(String(i + 1), '2024-01-01T00:10:00', i === 3 ? { Account: 'a"b\\é' } : {});
    feed(f, l, i + 1);
  }
  const r = f.finish();
  t.equal(r.count, n);
  const text = spoolText(r.rows);
  r.rows.close();
  t.ok(text.endsWith(']}\n'));
  const recs = rawRecords(text);
  t.same(recs.map((x) => (x['lines'] as string[]).length), [ROWS_MAX_LINES, 10]);
  const first = recs[0] as Rec;
  t.same(Object.keys(first), ['kind', 'cluster', 'chunk', 'fields', 'delimiter', 'lines']);
  t.same(first, { ...first, kind: 'rows', cluster: 'hammer', chunk: '2024-01-01T00:00:00Z/2024-01-01T00:59:59Z', fields: [...SACCT_FIELDS], delimiter: '\x7f' });
  t.equal(ROWS_DELIMITER, '\x7f');
  const lines = first['lines'] as string[];
  const asRow = (l: string): string => l.slice(0, -1).replaceAll(US, '\x7f');
  t.equal(lines[0], asRow(job('1', '2024-01-01T00:10:00')), 'the line as sacct printed it, less the final delimiter, DEL between fields');
  t.equal(lines[3], asRow(job('4', '2024-01-01T00:10:00', { Account: 'a"b\\é' })), 'quotes, backslashes, UTF-8 kept');
  t.ok(text.includes('\x7f') && !text.includes('\\u001f'), 'DEL written as it is (JSON does not escape it)');
  const small = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'), { maxBytes: 1000 });
  for (let i = 0; i < 20; i++) feed(small, job(String(i + 1), '2024-01-01T00:10:00'), i + 1);
  const bytes = rawRecords(spoolText(small.finish().rows)).map((x) => (x['lines'] as string[]).length);
  t.ok(bytes.length > 1 && bytes.reduce((a, b) => a + b) === 20, `a record closes past maxBytes (${bytes.join(' + ')} lines)`);
});

t.test('WindowFilter: lines as sacct prints them, odd characters, empty lines; what is not a line of ours', async (t) => {
  const lines = [
    job('1', '2024-01-01T00:10:00', { DBIndex: '5' }),
    job('1.batch', '2024-01-01T00:10:00', { DBIndex: '5', MaxRSS: '100K' }),
    job('2.0', '2024-01-01T00:20:00'),
    job('2', '2024-01-01T00:20:00', { User: 'ünï' }),
    job('3', '2024-01-01T01:20:00'),
    job('3.batch', '2024-01-01T01:20:00'),
    job('4', '2024-01-01T00:59:59', { Account: 'x\\y"z', QOS: 'a\tb' }),
    '',
    job('5', '2024-01-01T00:30:00'),
  ];
  for (const rowRecords of [false, true]) {
    const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'), { rowRecords });
    lines.forEach((l, i) => feed(f, l, i + 1));
    const r = f.finish();
    const kept = (records(spoolText(r.rows)) as Array<{ f: Fields }>);
    r.rows.close();
    t.same([r.count, r.seen, r.orphans], [6, 8, 0]);
    t.same(kept.map((x) => x.f['JobIDRaw']), ['1', '1.batch', '2', '2.0', '4', '5'], 'a step read before its job follows it');
    t.equal(kept[2]?.f['User'], 'ünï');
    t.same([kept[4]?.f['Account'], kept[4]?.f['QOS']], ['x\\y"z', 'a\tb'], `quotes, backslashes, tabs kept${rowRecords ? ' (row records)' : ''}`);
  }
  for (const [l, re] of [
    [job('1.', '2024-01-01T00:10:00'), /JobIDRaw '1\.'/],
    [job('1', '2024-13-01T00:10:00'), /End '2024-13-01T00:10:00', not a time/],
    [job('1', '2024-02-30T00:10:00'), /End '2024-02-30T00:10:00', not a time/],
    [job('1', ''), /End '', not a time/],
  ] as Array<[string, RegExp]>) {
    const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'));
    t.throws(() => feed(f, l, 3), re);
  }
});

t.test('row records (--row-records): kind first, the chunk id, every field as a raw string', async (t) => {
  const f = new WindowFilter('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'), { rowRecords: true });
  feed(f, job('1', '2024-01-01T00:10:00', { Account: 'a"b', MaxRSS: '' }), 1);
  const text = spoolText(f.finish().rows).trimEnd();
  const rec = JSON.parse(text) as { kind: string; cluster: string; chunk: string; f: Fields };
  t.same(Object.keys(rec), ['kind', 'cluster', 'chunk', 'f']);
  t.equal(rec.chunk, '2024-01-01T00:00:00Z/2024-01-01T00:59:59Z');
  t.same(Object.keys(rec.f), [...SACCT_FIELDS]);
  t.equal(rec.f['Account'], 'a"b');
  t.equal(rec.f['End'], '2024-01-01T00:10:00');
});

t.test('the sacct command line and environment are fixed', async (t) => {
  t.same(sacctArgs('hammer', T('2024-01-01T00:00:00Z'), T('2024-01-01T00:59:59Z'), 900, 900),
    EXPECTED_ARGV('2023-12-31T23:45:00', '2024-01-01T01:14:59', 'hammer'));
  t.notMatch(SACCT_FIELDS.join(','), /JobName|SubmitLine|WorkDir/);
  const env = sacctEnv({ PATH: '/bin', SACCT_FORMAT: 'jobname', SLURM_TIME_FORMAT: '%s', SACCT_FEDERATION: '1', SLURM_TIME_ZONE: 'x', TZ: 'Europe/Berlin', SLURM_CONF: '/etc/slurm.conf' });
  t.same(env, { PATH: '/bin', SLURM_CONF: '/etc/slurm.conf', TZ: 'UTC' });
});

t.test('failures: temporary or permanent, from exit status, signal, timeout and stderr', async (t) => {
  const r = (over: Partial<Parameters<typeof classifyExit>[0]>): ReturnType<typeof classifyExit> =>
    classifyExit({ status: 0, signal: null, timedOut: false, aborted: false, stderr: '', ...over }, 120);
  t.equal(r({}), undefined, 'exit 0 is success');
  t.match(r({ status: 1, stderr: 'sacct: error: Problem talking to the database: Connection refused\n' }), { permanent: false, reason: 'exit', status: 1, stderr: 'sacct: error: Problem talking to the database: Connection refused' });
  t.match(r({ status: 1, stderr: 'sacct: error: Invalid field requested: "NoSuchField"\n' }), { permanent: true });
  t.match(r({ status: 1, stderr: "sacct: unrecognized option '--bogus'\nTry \"sacct --help\" for more information\n" }), { permanent: true });
  t.match(r({ status: 1, stderr: 'Invalid time specification (pos=10): 2024-01-01Z\n' }), { permanent: true });
  t.match(r({ status: 1, stderr: 'something odd\n' }), { permanent: false }, 'an unknown error is worth a retry');
  t.match(r({ status: null, signal: 'SIGTERM', timedOut: true }), { permanent: false, reason: 'timeout', signal: 'SIGTERM' });
  t.match(r({ status: null, signal: 'SIGSEGV' }), { permanent: false, reason: 'signal' });
  t.match(r({ status: 0, stderr: 'sacct: error: Problem talking to the database: Connection reset by peer' }), { permanent: false });
  t.notOk(isPermanentError('sacct: error: Sending PersistInit msg: Resource temporarily unavailable'));
});

t.test('backoff doubles from the base, with jitter in [0.5, 1), capped', async (t) => {
  t.equal(backoffSeconds(5, 1, () => 0), 2.5);
  t.equal(backoffSeconds(5, 3, () => 0), 10);
  t.ok(backoffSeconds(5, 3, () => 0.999) < 20 && backoffSeconds(5, 3, () => 0.999) > 19.9);
  t.equal(backoffSeconds(5, 30, () => 0), 300, 'at most 10 min');
});

t.test('durations and rates', async (t) => {
  t.same(['90', '90s', '15m', '1.5h', '2d', '.5'].map(parseDuration), [90, 90, 900, 5400, 172800, 0.5]);
  t.same(['', 'x', '5 m', '-3'].map(parseDuration), [undefined, undefined, undefined, undefined]);
  t.same(parseRate('30'), { calls: 30, periodMs: 60_000 });
  t.same(parseRate('6/10s'), { calls: 6, periodMs: 10_000 });
  t.same(parseRate('100/1h'), { calls: 100, periodMs: 3_600_000 });
  t.throws(() => parseRate('fast'), /not CALLS or CALLS\/PERIOD/);
  t.throws(() => parseRate('3/0s'));
});

t.test('tickets: at most N starts in any period, across claimers sharing the directory', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-tickets-'));
  made.push(dir);
  let clock = 1_000_000;
  const now = (): number => clock;
  const rate = { calls: 3, periodMs: 10_000 };
  const starts: number[] = [];
  for (let i = 0; i < 10; i++) {
    starts.push(takeTicket(dir, rate, now));
    clock += 100;
  }
  t.same(starts.map((s) => s - 1_000_000), [0, 100, 200, 10_000, 10_100, 10_200, 20_000, 20_100, 20_200, 30_000]);
  clock = 5_000_000;
  t.equal(takeTicket(dir, rate, now), 5_000_000, 'an idle queue starts at once');
});

t.test('Spool keeps text in order in memory and, past 16 MiB, in an unlinked file', async (t) => {
  const small = new Spool();
  small.write('a\n');
  small.write('b\n');
  t.equal(spoolText(small), 'a\nb\n');
  small.close();
  const big = new Spool();
  const row = 'x'.repeat(999);
  const n = 20_000;
  for (let i = 0; i < n; i++) big.write(`${i} ${row} é\n`);
  const blocks = [...big.buffers()];
  big.close();
  t.ok(blocks.length > 1, `read back in blocks (${blocks.length})`);
  const lines = Buffer.concat(blocks).toString('utf8').split('\n');
  t.equal(lines.pop(), '');
  t.equal(lines.length, n);
  t.ok(lines.every((l, i) => l === `${i} ${row} é`), 'every line intact, in order, UTF-8 whole');
});

// ---- real Slurm 22.05 output (test/fixtures/real, captured by capture.sh there)

const REAL = path.join(ROOT, 'test', 'fixtures', 'real');

t.test('real sacct output: touching windows split the 20 job records and 43 steps exactly', { skip: !existsSync(path.join(REAL, 'sacct-noconvert.txt')) }, async (t) => {
  const lines = readFileSync(path.join(REAL, 'sacct-noconvert.txt'), 'utf8').split('\n').filter((l) => l !== '');
  const run = (start: string, end: string): Array<{ f: Fields }> => {
    const f = new WindowFilter('sbtest', T(start), T(end));
    lines.forEach((l, i) => feed(f, l, i + 1));
    const r = f.finish();
    t.equal(r.orphans, 0, 'every step has its job line');
    const text = spoolText(r.rows);
    r.rows.close();
    return records(text) as Array<{ f: Fields }>;
  };
  const all = run('2026-11-21T05:10:39Z', '2026-11-21T05:12:10Z');
  t.equal(all.length, 63, 'the capture window keeps every line');
  const ends = [...new Set(all.filter((r) => !isStep(r)).map((r) => r.f['End'] as string))].sort();
  const cut = ends[Math.floor(ends.length / 2)] as string;
  const a = run('2026-11-21T05:10:39Z', `${cut}Z`);
  const b = run(new Date((T(`${cut}Z`) + 1) * 1000).toISOString().slice(0, 19) + 'Z', '2026-11-21T05:12:10Z');
  t.ok(a.length > 0 && b.length > 0, `both halves have rows (${a.length} + ${b.length})`);
  t.same([...a, ...b].map(jobKey).sort(), all.map(jobKey).sort(), 'the two halves hold every line once');
  const jobIds = all.filter((r) => !isStep(r)).map((r) => r.f['JobIDRaw']);
  const requeued = jobIds.filter((id, i) => jobIds.indexOf(id) !== i);
  t.ok(requeued.length > 0, `a requeued job keeps both its records (job ${requeued.join(', ')})`);
});

t.test('real sacct failures are classified as the captures show', { skip: !existsSync(path.join(REAL, 'errors', 'exit-status.tsv')) }, async (t) => {
  const stderr = (name: string): string => readFileSync(path.join(REAL, 'errors', `${name}.stderr`), 'utf8');
  const r = (name: string, status: number): ReturnType<typeof classifyExit> =>
    classifyExit({ status, signal: null, timedOut: false, aborted: false, stderr: stderr(name) }, 120);
  t.match(r('slurmdbd-stopped', 1), { permanent: false, stderr: 'sacct: error: Problem talking to the database: Connection refused' });
  t.match(r('slurmdbd-frozen', 1), { permanent: false, stderr: /Resource temporarily unavailable/ });
  t.match(r('unknown-field', 1), { permanent: true });
  t.match(r('time-with-z', 1), { permanent: true });
  t.equal(r('unknown-cluster', 0), undefined, 'an unknown -M is a clean, empty success to sacct: sb-sacct asks sacctmgr');
});

// ---- the real bin against the synthetic cluster

interface Env {
  dir: string;
  log: string;
  env: NodeJS.ProcessEnv;
  sacct: string;
}

// A fresh directory per test: its own rate-limit tickets (XDG_RUNTIME_DIR), sim log and state,
// a sacctmgr that knows $SB_SIM_CLUSTERS, and a sacct under a unique name for pgrep.
function setup(extra: NodeJS.ProcessEnv = {}): Env {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-sacct-test-'));
  made.push(dir);
  const sacct = path.join(dir, `sacct-${path.basename(dir)}`);
  symlinkSync(SIM, sacct);
  const mgr = path.join(dir, 'sacctmgr');
  writeFileSync(mgr, [
    '#!/bin/sh',
    '# stand-in: sacctmgr -n -P show cluster NAME format=Cluster',
    'echo "$*" >> "$(dirname "$0")/sacctmgr.log"',
    'want=$(printf %s "$5" | tr A-Z a-z)',
    'for c in $(printf %s "${SB_SIM_CLUSTERS:-demo,hammer,anvil}" | tr , " "); do',
    '  [ "$(printf %s "$c" | tr A-Z a-z)" = "$want" ] && echo "$c"',
    'done',
    'exit 0',
    '',
  ].join('\n'));
  chmodSync(mgr, 0o755);
  const log = path.join(dir, 'sim.log');
  return {
    dir,
    log,
    sacct,
    env: { XDG_RUNTIME_DIR: dir, SB_SIM_LOG: log, SB_SIM_STATE: path.join(dir, 'state'), SB_SIM_NOW: NOW, SB_SACCTMGR: mgr, ...extra },
  };
}

function chunk(cluster: string, start: string, end: string): string {
  return JSON.stringify({ kind: 'chunk', cluster, start, end });
}

function hourly(cluster: string, day: string, hours: number): string {
  const out: string[] = [];
  for (let h = 0; h < hours; h++) {
    const hh = String(h).padStart(2, '0');
    out.push(chunk(cluster, `${day}T${hh}:00:00Z`, `${day}T${hh}:59:59Z`));
  }
  return out.join('\n') + '\n';
}

interface SimCall {
  ms: number;
  pid: number;
  argv?: string[];
  tz?: string | null;
  sacct_format?: string | null;
  slurm_time_format?: string | null;
  hang_child?: number;
}

function simCalls(e: Env): SimCall[] {
  if (!existsSync(e.log)) return [];
  return readFileSync(e.log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SimCall).filter((c) => c.argv !== undefined);
}

// The calls for windows, not for the steps of their jobs (those have -j).
const windowCalls = (e: Env): SimCall[] => simCalls(e).filter((c) => !(c.argv ?? []).includes('-j'));

// Runs the stand-in directly, unlogged; `env -u NODE_OPTIONS`: the test runner injects its
// loaders into every node child, which the stand-in must not run under.
function simSync(e: Env, args: string[]): { stdout: string; status: number | null } {
  return spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, SIM, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC', ...e.env, SB_SIM_LOG: '' },
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
}

// A process that still runs: exists and is not a zombie (an orphan waits for init to reap it).
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function ledger(file: string): Rec[] {
  return existsSync(file) ? records(readFileSync(file, 'utf8')) : [];
}

const FAST = ['--backoff', '0.01', '--rate', '0'];

function sbSacct(e: Env, args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return runBin('sb-sacct', ['--sacct', e.sacct, ...args], { input, env: { ...e.env, ...env } });
}

const rowsOf = (out: Rec[]): Array<Rec & { f: Fields }> => out.filter((r) => r['kind'] === 'row') as Array<Rec & { f: Fields }>;

t.test('exact windows: two touching windows hold the jobs of the wide one, none lost or doubled', async (t) => {
  const e = setup();
  const halves = await sbSacct(e, FAST, chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T02:59:59Z') + '\n' + chunk('hammer', '2024-01-01T03:00:00Z', '2024-01-01T05:59:59Z') + '\n');
  const wide = await sbSacct(e, FAST, chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T05:59:59Z') + '\n');
  t.equal(halves.status, 0);
  t.equal(halves.stderr, '');
  const a = rowsOf(records(halves.stdout));
  const b = rowsOf(records(wide.stdout));
  t.ok(b.length > 100, `the wide window has rows (${b.length})`);
  t.same(a.map(jobKey).sort(), b.map(jobKey).sort(), 'the same rows, steps included');
  const jobsA = a.filter((r) => !isStep(r)).map(jobKey);
  t.equal(new Set(jobsA).size, jobsA.length, 'no job record twice');
  // The truth: every job record whose End is in the window, from the stand-in itself.
  const truth = simSync(e, ['--sim-truth-jobs', '-M', 'hammer', '-S', '2024-01-01T00:00:00', '-E', '2024-01-01T05:59:59']);
  const want = records(truth.stdout).map((j) => `${j['dbindex']}/${j['jobidraw']}`).sort();
  t.same(b.filter((r) => !isStep(r)).map(jobKey).sort(), want, 'exactly the true job records of the window');
  // Every step is kept with its job: in the same window, right after it or its siblings.
  const out = records(halves.stdout);
  let lastJob = '';
  let lastChunk = '';
  for (const r of out) {
    if (r['kind'] !== 'row') continue;
    const row = r as Rec & { f: Fields };
    const id = row.f['JobIDRaw'] ?? '';
    if (!isStep(row)) {
      lastJob = `${row.f['DBIndex']}/${id}`;
      lastChunk = r['chunk'] as string;
    } else if (`${row.f['DBIndex']}/${id.split('.')[0]}` !== lastJob || r['chunk'] !== lastChunk) {
      t.fail(`step ${id} does not follow its job`);
    }
  }
  const dones = out.filter((r) => r['kind'] === 'chunk-done');
  t.same(dones.map((d) => d['rows']), [
    out.filter((r) => r['chunk'] === '2024-01-01T00:00:00Z/2024-01-01T02:59:59Z').length,
    out.filter((r) => r['chunk'] === '2024-01-01T03:00:00Z/2024-01-01T05:59:59Z').length,
  ], 'chunk-done counts its rows');
});

t.test('rows sacct shows outside the window (End drift) are dropped', async (t) => {
  const e = setup({ SB_SIM_DRIFT: '900' });
  const r = await sbSacct(e, FAST, chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(r.status, 0);
  const calls = windowCalls(e);
  t.equal(calls.length, 1);
  const raw = simSync(e, calls[0]?.argv ?? []);
  const jobs = raw.stdout.split('\n').filter((l) => l !== '').map((l) => l.split(US)).filter((p) => !(p[2] ?? '').includes('.'));
  const outside = jobs.filter((p) => (p[13] ?? '') < '2024-01-01T00:00:00' || (p[13] ?? '') > '2024-01-01T00:59:59');
  t.ok(outside.length > 0, `sacct's answer holds jobs ending outside the window (${outside.length})`);
  const kept = rowsOf(records(r.stdout)).filter((x) => !isStep(x));
  t.equal(kept.length, jobs.length - outside.length);
  t.ok(kept.every((x) => (x.f['End'] ?? '') >= '2024-01-01T00:00:00' && (x.f['End'] ?? '') <= '2024-01-01T00:59:59'));
});

t.test('the logged sacct argv is exact: widened by --slack, never JobName; env ignored', async (t) => {
  const e = setup();
  const r = await sbSacct(e, [...FAST, '--slack', '10m'], chunk('anvil', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n', {
    SACCT_FORMAT: 'JobName,WorkDir', SLURM_TIME_FORMAT: '%s', TZ: 'America/New_York',
  });
  t.equal(r.status, 0);
  const calls = simCalls(e);
  t.equal(calls.length, 2, 'the window, then the steps of its jobs that started before -S');
  t.same(calls[0]?.argv, EXPECTED_ARGV('2023-12-31T23:50:00', '2024-01-01T01:09:59', 'anvil'));
  // the second: the same query, for those jobs only, from the earliest Start of them less the slack
  const jobs = rowsOf(records(r.stdout)).filter((x) => !isStep(x));
  const early = jobs.filter((x) => (x.f['Start'] ?? '') <= '2023-12-31T23:50:00');
  t.ok(early.length > 0, `some jobs started before -S (${early.length})`);
  const since = early.map((x) => T(`${x.f['Start']}Z`)).sort((a, b) => a - b)[0] as number;
  const ids = early.map((x) => x.f['JobIDRaw'] as string);
  const second = calls[1]?.argv ?? [];
  t.same(second, [...EXPECTED_ARGV(new Date((since - 600) * 1000).toISOString().slice(0, 19), '2024-01-01T01:09:59', 'anvil').slice(0, -2), '-j', second[second.indexOf('-j') + 1], ...EXPECTED_ARGV('', '', '').slice(-2)]);
  t.same((second[second.indexOf('-j') + 1] ?? '').split(',').sort(), [...new Set(ids)].sort(), '-j lists exactly their ids');
  t.notMatch(JSON.stringify(calls[0]?.argv), /JobName|SubmitLine|WorkDir/i);
  t.equal(calls[0]?.tz, 'UTC');
  t.equal(calls[0]?.sacct_format, null, 'SACCT_FORMAT not passed on');
  t.equal(calls[0]?.slurm_time_format, null, 'SLURM_TIME_FORMAT not passed on');
  const rows = rowsOf(records(r.stdout));
  t.ok(rows.length > 0);
  t.ok(rows.every((x) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(x.f['End'] ?? '')), 'times in sacct\'s naive UTC form');
});

t.test('settled: false for a window ending less than --settle ago', async (t) => {
  const e = setup({ SB_SIM_NOW: '' });
  const now = Math.floor(Date.now() / 1000);
  const iso = (s: number): string => new Date(s * 1000).toISOString().slice(0, 19) + 'Z';
  const input = [chunk('demo', iso(now - 7200), iso(now - 3601)), chunk('demo', iso(now - 3600), iso(now - 60))].join('\n') + '\n';
  const r = await sbSacct(e, FAST, input);
  t.equal(r.status, 0, r.stderr);
  t.same(records(r.stdout).filter((x) => x['kind'] === 'chunk-done').map((x) => x['settled']), [true, false]);
  const loose = await sbSacct(e, [...FAST, '--settle', '0'], input);
  t.same(records(loose.stdout).filter((x) => x['kind'] === 'chunk-done').map((x) => x['settled']), [true, true]);
});

t.test('connection refused: retried, then the ledger, exit 75, nothing printed for the window', async (t) => {
  const e = setup({ SB_SIM_FAIL: 'refused' });
  const failed = path.join(e.dir, 'failed.ndjson');
  const r = await sbSacct(e, [...FAST, '--retries', '2', '--failed', failed], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(r.status, 75);
  t.equal(r.stdout, '');
  t.equal(simCalls(e).length, 3, 'one call and two retries');
  t.match(r.stderr, /^sb-sacct: hammer 2024-01-01T00:00:00Z\/2024-01-01T00:59:59Z: failed after 3 attempts: sacct exited 1: .*Connection refused \(recorded in .*failed\.ndjson\)\n$/);
  const l = ledger(failed);
  t.equal(l.length, 1);
  t.match(l[0], { kind: 'failed', cluster: 'hammer', start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:59:59Z', attempts: 3, status: 1, reason: 'exit', permanent: false, stderr: /Connection refused/ });
  t.match(l[0]?.['time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.equal(Object.keys(l[0] ?? {})[0], 'kind');
  // The ledger reads back as windows to retry.
  const back = await runBin('sb-chunk', ['from-file', failed]);
  t.same(records(back.stdout), [{ kind: 'chunk', cluster: 'hammer', start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:59:59Z' }]);
});

t.test('without --failed a failure is reported on stderr only', async (t) => {
  const e = setup({ SB_SIM_FAIL: 'refused' });
  const r = await sbSacct(e, [...FAST, '--retries', '0'], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(r.status, 75);
  t.match(r.stderr, /failed after 1 attempt: sacct exited 1/);
  t.notMatch(r.stderr, /recorded in/);
});

t.test('a hanging sacct is killed with everything it started, then the ledger', async (t) => {
  const e = setup({ SB_SIM_FAIL: 'hang' });
  const failed = path.join(e.dir, 'failed.ndjson');
  const r = await sbSacct(e, [...FAST, '--retries', '1', '--sacct-timeout', '1', '--failed', failed], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(r.status, 75);
  t.equal(r.stdout, '');
  t.match(r.stderr, /failed after 2 attempts: sacct timed out after 1 s and was killed/);
  t.match(ledger(failed)[0], { attempts: 2, reason: 'timeout', signal: 'SIGTERM', permanent: false });
  const log = readFileSync(e.log, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SimCall);
  const pids = [...new Set(log.flatMap((c) => [c.pid, ...(c.hang_child !== undefined ? [c.hang_child] : [])]))];
  t.equal(pids.length, 4, 'two sacct processes, each with a sleeping child');
  t.same(pids.filter(running), [], 'no sacct process or child left');
  t.equal(spawnSync('pgrep', ['-f', e.sacct]).status, 1, 'pgrep finds nothing');
});

t.test('garbled output: retried, then the ledger', async (t) => {
  const e = setup({ SB_SIM_GARBLE: '40' });
  const failed = path.join(e.dir, 'failed.ndjson');
  const r = await sbSacct(e, [...FAST, '--retries', '1', '--failed', failed], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T05:59:59Z') + '\n');
  t.equal(r.status, 75);
  t.equal(r.stdout, '', 'not one row of the window');
  t.equal(simCalls(e).length, 2);
  t.match(ledger(failed)[0], { attempts: 2, reason: 'garbled', permanent: false, error: /line 40 has \d+ fields/ });
});

t.test('truncated output (the stream dies mid-line): retried, then the ledger, no half window', async (t) => {
  const e = setup({ SB_SIM_FAIL: 'truncate' });
  const failed = path.join(e.dir, 'failed.ndjson');
  const r = await sbSacct(e, [...FAST, '--retries', '1', '--failed', failed], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T05:59:59Z') + '\n');
  t.equal(r.status, 75);
  t.equal(r.stdout, '');
  t.equal(simCalls(e).length, 2);
  t.match(ledger(failed)[0], { attempts: 2, permanent: false, status: 1 });
});

t.test('output cut mid-line with exit 0 is a failure too', async (t) => {
  const e = setup();
  const fake = path.join(e.dir, 'cut-sacct');
  writeFileSync(fake, `#!/bin/sh\nprintf '%s\\n%s' '${job('1', '2024-01-01T00:10:00')}' '${job('1.batch', '2024-01-01T00:10:00')}'\n`);
  chmodSync(fake, 0o755);
  const r = await runBin('sb-sacct', ['--sacct', fake, ...FAST, '--retries', '0'], { input: chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n', env: e.env });
  t.equal(r.status, 75);
  t.equal(r.stdout, '');
  t.match(r.stderr, /ends in the middle of a line \(truncated\)/);
});

t.test('a permanent failure (a field sacct does not know) is not retried; exit 1', async (t) => {
  const e = setup();
  const old = path.join(e.dir, 'old-sacct');
  writeFileSync(old, `#!/bin/sh\nexec "${e.sacct}" "$@" -o DBIndex,NoSuchField\n`);
  chmodSync(old, 0o755);
  const failed = path.join(e.dir, 'failed.ndjson');
  const input = chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n';
  const r = await runBin('sb-sacct', ['--sacct', old, ...FAST, '--retries', '3', '--failed', failed], { input, env: e.env });
  t.equal(r.status, 1);
  t.equal(simCalls(e).length, 1, 'called once');
  t.match(r.stderr, /^sb-sacct: hammer \S+: failed for good after 1 attempt: sacct exited 1: sacct: error: Invalid field requested: "NoSuchField" \(recorded in \S+\); stopping: 0 windows left undone\n$/);
  t.match(ledger(failed)[0], { attempts: 1, permanent: true, status: 1 });
});

t.test('retries succeed after N failures', async (t) => {
  const e = setup({ SB_SIM_FAIL_FIRST: '2' });
  const r = await sbSacct(e, [...FAST, '--retries', '3', '-v'], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(r.status, 0);
  t.equal(windowCalls(e).length, 3);
  const out = records(r.stdout);
  t.ok(rowsOf(out).length > 0);
  t.match(out[out.length - 1], { kind: 'chunk-done', rows: rowsOf(out).length });
  t.match(r.stderr, /attempt 1 failed .*Connection refused.*; retrying in/);
  t.match(r.stderr, /attempt 2 failed/);
  t.match(r.stderr, /1 window\(s\), \d+ row\(s\), 0 failed; 4 sacct call\(s\), 1 of them for the steps of \d+ job\(s\) that started before their window's -S\n$/);
  const e2 = setup({ SB_SIM_FAIL_FIRST: '2' });
  const short = await sbSacct(e2, [...FAST, '--retries', '1'], chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n');
  t.equal(short.status, 75, 'one retry is not enough for two failures');
});

t.test('all or nothing: windows whose sacct dies half way print nothing; the others print whole', async (t) => {
  // each window is two calls (the window, the steps of its long jobs): the 3rd and 6th fail
  const e = setup({ SB_SIM_FAIL_EVERY: '3', SB_SIM_FAIL_AS: 'truncate' });
  const failed = path.join(e.dir, 'failed.ndjson');
  const r = await sbSacct(e, [...FAST, '--retries', '0', '--failed', failed], hourly('hammer', '2024-01-01', 4));
  t.equal(r.status, 75);
  const out = records(r.stdout);
  const done = out.filter((x) => x['kind'] === 'chunk-done').map((x) => x['start']);
  t.same(done, ['2024-01-01T00:00:00Z', '2024-01-01T02:00:00Z']);
  t.same([...new Set(rowsOf(out).map((x) => x['chunk']))], ['2024-01-01T00:00:00Z/2024-01-01T00:59:59Z', '2024-01-01T02:00:00Z/2024-01-01T02:59:59Z']);
  t.same(ledger(failed).map((x) => x['start']), ['2024-01-01T01:00:00Z', '2024-01-01T03:00:00Z']);
  // Each printed window is whole: the same rows as when nothing fails.
  const clean = await sbSacct(setup(), FAST, hourly('hammer', '2024-01-01', 4));
  const want = records(clean.stdout).filter((x) => x['chunk'] === '2024-01-01T00:00:00Z/2024-01-01T00:59:59Z' || x['start'] === '2024-01-01T00:00:00Z' || x['chunk'] === '2024-01-01T02:00:00Z/2024-01-01T02:59:59Z' || x['start'] === '2024-01-01T02:00:00Z');
  t.same(out, want);
});

t.test('--concurrency keeps each window contiguous and the input order; other kinds pass through in place', { skip: LONG }, async (t) => {
  const e = setup({ SB_SIM_DELAY: '0.2' });
  const input = [
    chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'),
    '{"kind":"note","n":1}',
    chunk('anvil', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'),
    chunk('demo', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'),
    '{"kind":"note","n":2}',
    chunk('hammer', '2024-01-01T01:00:00Z', '2024-01-01T01:59:59Z'),
  ].join('\n') + '\n';
  const one = await sbSacct(e, FAST, input);
  const four = await sbSacct(e, [...FAST, '-j', '4'], input);
  t.equal(one.status, 0);
  t.equal(four.stdout, one.stdout, '-j 4 prints exactly what -j 1 prints');
  // the alias is the same option: its value is read, and refused, as --concurrency's
  const alias = await sbSacct(e, [...FAST, '--concurrently', 'x'], input);
  t.same([alias.status, alias.stdout], [2, ''], '--concurrently is an option');
  t.match(alias.stderr, /--concurrency': 'x' is not a whole number/, '--concurrently is an alias of --concurrency');
  const kinds = records(one.stdout).map((r) => (r['kind'] === 'row' ? `row ${r['cluster']}` : r['kind'] === 'note' ? `note ${r['n']}` : `done ${r['cluster']}`));
  const compact = kinds.filter((k, i) => k !== kinds[i - 1]);
  t.same(compact, ['row hammer', 'done hammer', 'note 1', 'row anvil', 'done anvil', 'row demo', 'done demo', 'note 2', 'row hammer', 'done hammer']);
  t.ok(one.stdout.includes('{"kind":"note","n":1}\n'), 'passed through byte for byte');
});

t.test('many lines of other kinds between and after windows: all pass through, untouched, in place', { skip: LONG }, async (t) => {
  const e = setup({ SB_SIM_DELAY: '0.2', SB_SIM_RATE: '50' });
  // Over a megabyte of them behind each window, in odd but valid JSON: more than sb-sacct
  // holds while a window is still running.
  const notes = (h: number, n: number): string[] => Array.from({ length: n }, (_, i) => `{ "kind" : "note", "h":${h}, "i":${i}, "x":1.50, "u":"\\u00e9" }`);
  const lines: string[] = [];
  for (let h = 0; h < 6; h++) lines.push(chunk('hammer', `2024-01-01T0${h}:00:00Z`, `2024-01-01T0${h}:59:59Z`), ...notes(h, h % 2 === 0 ? 20_000 : 1));
  lines.push(...notes(9, 30_000));
  const input = lines.join('\n') + '\n';
  const one = await sbSacct(e, FAST, input);
  const four = await sbSacct(e, [...FAST, '-j', '4'], input);
  t.equal(one.status, 0, one.stderr);
  t.equal(four.status, 0, four.stderr);
  t.ok(four.stdout === one.stdout, '-j 4 prints exactly what -j 1 prints');
  const out = one.stdout.split('\n');
  t.ok(JSON.stringify(out.filter((l) => l.includes('"note"'))) === JSON.stringify(lines.filter((l) => l.includes('"note"'))), 'every note, byte for byte, in order');
  const kinds = out.filter((l) => l !== '').map((l) => JSON.parse(l) as Rec).map((r) => r['kind'] === 'note' ? `note ${r['h']}` : `${r['kind']}`);
  const compact = kinds.filter((k, i) => k !== kinds[i - 1] && !(k === 'rows' && kinds[i - 1] === 'rows'));
  t.same(compact, ['rows', 'chunk-done', 'note 0', 'rows', 'chunk-done', 'note 1', 'rows', 'chunk-done', 'note 2', 'rows', 'chunk-done', 'note 3', 'rows', 'chunk-done', 'note 4', 'rows', 'chunk-done', 'note 5', 'note 9']);
});

t.test('the rate limit is shared by concurrent sb-sacct processes', { skip: LONG }, async (t) => {
  const e = setup();
  const calls = 4;
  const periodMs = 2000;
  // A wrapper that notes when each sacct is started (a shell starts in a few ms; the stand-in,
  // a node program, logs only once node has loaded, 0.1-0.5 s later on a busy machine).
  const stamps = path.join(e.dir, 'stamps');
  const stamped = path.join(e.dir, 'stamped-sacct');
  writeFileSync(stamped, `#!/bin/sh\ndate +%s%3N >> '${stamps}'\nexec '${e.sacct}' "$@"\n`);
  chmodSync(stamped, 0o755);
  // two windows each, two calls a window (the window, the steps of its long jobs)
  const run = (cluster: string): Promise<Result> =>
    runBin('sb-sacct', ['--sacct', stamped, '--rate', `${calls}/2s`, '-j', '2', '--backoff', '0.01'], { input: hourly(cluster, '2024-01-01', 2), env: e.env });
  const rs = await Promise.all([run('hammer'), run('anvil'), run('demo')]);
  t.same(rs.map((r) => r.status), [0, 0, 0]);
  t.equal(windowCalls(e).length, 6, 'every window fetched');
  t.equal(simCalls(e).length, 12, 'and the steps of its long jobs');
  const worst = (ms: number[], within: number): number =>
    Math.max(...ms.map((m0) => ms.filter((m) => m >= m0 && m < m0 + within).length));
  // The shared queue itself: the start times the three processes were given.
  const dir = path.join(e.dir, `sb-sacct-${process.getuid?.() ?? 0}`, 'tickets');
  const scheduled = readdirSync(dir).filter((n) => /^t\d+$/.test(n)).map((n) => Number(readFileSync(path.join(dir, n), 'utf8')));
  t.equal(scheduled.length, 12, 'one ticket a call, from one queue');
  t.ok(worst(scheduled, periodMs) <= calls, `at most ${calls} scheduled starts in any ${periodMs} ms`);
  // The calls as started, with room for the machine's scheduling delays.
  const started = readFileSync(stamps, 'utf8').split('\n').filter((l) => l !== '').map(Number).sort((a, b) => a - b);
  t.equal(started.length, 12);
  // A call that starts late (a busy machine) brings it nearer the next: allow 0.5 s of that.
  const late = 500;
  t.ok(worst(started, periodMs - late) <= calls, `at most ${calls} sacct starts in any ${periodMs - late} ms (worst: ${worst(started, periodMs - late)})`);
  t.ok((started[11] as number) - (started[0] as number) >= 2 * periodMs - late, '12 calls at 4 per 2 s take about 4 s at least');
});

t.test('--sleep pauses between calls; -j 0 runs every window at once, in order', { skip: LONG }, async (t) => {
  const e = setup();
  const stamps = path.join(e.dir, 'stamps');
  const stamped = path.join(e.dir, 'stamped-sacct');
  writeFileSync(stamped, `#!/bin/sh\ndate +%s%3N >> '${stamps}'\nexec '${e.sacct}' "$@"\n`);
  chmodSync(stamped, 0o755);
  const r = await runBin('sb-sacct', ['--sacct', stamped, '--rate', '0', '--sleep', '1'], { input: hourly('hammer', '2024-01-01', 2), env: e.env });
  t.equal(r.status, 0);
  const started = readFileSync(stamps, 'utf8').split('\n').filter((l) => l !== '').map(Number);
  t.ok((started[1] as number) - (started[0] as number) >= 1000, `the second call starts at least 1 s after the first (${(started[1] as number) - (started[0] as number)} ms)`);
  const all = await sbSacct(e, [...FAST, '-j', '0'], hourly('hammer', '2024-01-01', 3));
  const one = await sbSacct(e, FAST, hourly('hammer', '2024-01-01', 3));
  t.equal(all.status, 0);
  t.equal(all.stdout, one.stdout);
});

t.test('unknown cluster: sacct prints nothing and exits 0; the window fails for good and the run stops', async (t) => {
  const e = setup();
  const failed = path.join(e.dir, 'failed.ndjson');
  const input = chunk('hammer', '2023-12-31T23:00:00Z', '2023-12-31T23:59:59Z') + '\n' + chunk('nosuch', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n' + chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n';
  const r = await sbSacct(e, [...FAST, '--failed', failed], input);
  t.equal(r.status, 1);
  t.match(r.stderr, /^sb-sacct: nosuch 2024-01-01T00:00:00Z\/2024-01-01T00:59:59Z: failed for good after 1 attempt: cluster 'nosuch' is not known to slurmdbd .*; stopping: 1 window left undone\n$/);
  t.match(ledger(failed), [{ cluster: 'nosuch', reason: 'unknown-cluster', permanent: true }]);
  const out = records(r.stdout);
  t.notOk(out.some((x) => x['cluster'] === 'nosuch'), 'no chunk-done for it');
  t.same(out.filter((x) => x['kind'] === 'chunk-done').map((x) => x['start']), ['2023-12-31T23:00:00Z'], 'the window before it done, the one after it not tried');
  t.notOk(windowCalls(e).some((c) => (c.argv ?? []).includes('2024-01-01T01:14:59') && (c.argv ?? []).includes('hammer')), 'no sacct call for the window after it');
  t.equal(readFileSync(path.join(e.dir, 'sacctmgr.log'), 'utf8'), '-n -P show cluster nosuch format=Cluster\n', 'sacctmgr asked once, only for the cluster that gave no rows');
});

t.test('a known cluster with an empty window is done with 0 rows; without sacctmgr it cannot be told apart', async (t) => {
  const e = setup({ SB_SIM_RATE: '0' });
  const input = chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n' + chunk('hammer', '2024-01-01T01:00:00Z', '2024-01-01T01:59:59Z') + '\n';
  const r = await sbSacct(e, FAST, input);
  t.equal(r.status, 0, r.stderr);
  t.same(records(r.stdout).map((x) => x['rows']), [0, 0]);
  t.equal(readFileSync(path.join(e.dir, 'sacctmgr.log'), 'utf8').split('\n').length - 1, 1, 'asked once per process');
  const none = await sbSacct(e, [...FAST, '--sacctmgr', path.join(e.dir, 'missing')], input);
  t.equal(none.status, 1);
  t.match(none.stderr, /whether slurmdbd knows cluster 'hammer' cannot be checked: '.*missing' was not found \(give --sacctmgr PATH\)/);
});

// (the contract test runs sb-sacct's `| head -1` in make test-fast too; this one also waits for sacct)
t.test('| head -1: exit 0, empty stderr, no sacct left behind', { skip: LONG }, async (t) => {
  const e = setup({ SB_SIM_DELAY: '2' });
  const file = path.join(e.dir, 'chunks.ndjson');
  writeFileSync(file, hourly('hammer', '2024-01-01', 12));
  const r = await runShell(`sb-sacct --sacct '${e.sacct}' --rate 0 -j 4 < '${file}' | head -1`, { env: e.env });
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(rawRecords(r.stdout).length, 1);
  t.equal(spawnSync('pgrep', ['-f', e.sacct]).status, 1, 'no sacct process left');
});

t.test('bad chunk lines are reported with their line and skipped', async (t) => {
  const e = setup();
  const input = [
    chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'),
    'not json',
    '{"kind":"chunk","cluster":"hammer","start":"2024-01-01T01:00:00Z"}',
    '{"kind":"chunk","cluster":"bad/name","start":"2024-01-01T01:00:00Z","end":"2024-01-01T01:59:59Z"}',
    '{"kind":"chunk","cluster":"hammer","start":"2024-01-01T03:00:00Z","end":"2024-01-01T02:00:00Z"}',
    '',
    chunk('hammer', '2024-01-01T01:00:00Z', '2024-01-01T01:59:59Z'),
  ].join('\n') + '\n';
  const r = await sbSacct(e, FAST, input);
  t.equal(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 4);
  t.match(lines[0], /^sb-sacct: stdin:2: not JSON/);
  t.match(lines[1], /^sb-sacct: stdin:3: 'end' is missing or not a string$/);
  t.match(lines[2], /^sb-sacct: stdin:4: 'cluster' "bad\/name" is not a cluster name$/);
  t.match(lines[3], /^sb-sacct: stdin:5: start 2024-01-01T03:00:00Z is after end/);
  t.same(records(r.stdout).filter((x) => x['kind'] === 'chunk-done').map((x) => x['start']), ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z']);
  const strict = await sbSacct(e, [...FAST, '--strict'], input);
  t.equal(strict.status, 65);
  t.equal(strict.stdout, r.stdout, 'good windows still done under --strict');
});

t.test('empty input, sacct not installed, usage errors, --help', async (t) => {
  const e = setup();
  const empty = await sbSacct(e, FAST, '');
  t.same([empty.status, empty.stdout, empty.stderr], [0, '', '']);
  const missing = await runBin('sb-sacct', ['--sacct', path.join(e.dir, 'no-sacct'), ...FAST], { input: chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n', env: e.env });
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^sb-sacct: cannot run sacct: '.*no-sacct' was not found; install the Slurm client or give --sacct PATH \(or set SB_SACCT\)\n$/);
  const viaEnv = await runBin('sb-sacct', FAST, { input: chunk('hammer', '2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z') + '\n', env: { ...e.env, SB_SACCT: e.sacct } });
  t.equal(viaEnv.status, 0, '$SB_SACCT names the binary');
  const help = await runBin('sb-sacct', ['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /^Usage: sb-sacct/);
  t.match(help.stdout, /TZ=UTC sacct -a -n -p/);
  t.equal(help.stderr, '');
  for (const [args, re] of [
    [['--once'], /unknown option '--once'/],
    [['--rate', 'lots'], /--rate': 'lots' is not CALLS/],
    [['--retries=-1'], /--retries': '-1' is not a whole number/],
    [['--sacct-timeout', '0'], /must be above 0/],
    [['--slack', '5 min'], /'5 min' is not a duration/],
    [['-j', 'x'], /--concurrency': 'x' is not a whole number/],
  ] as Array<[string[], RegExp]>) {
    const u = await runBin('sb-sacct', args);
    t.equal(u.status, 2, args.join(' '));
    t.match(u.stderr, re);
  }
});

// Fixed sacct answers (a stand-in that cats sacct.out) and what sb-sacct must keep of them.
goldenCases('sacct');

t.test("a window's chunk-done is written at once, before more input arrives", async (t) => {
  const e = setup();
  const { spawn } = await import('node:child_process');
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'bin', 'sb-sacct'), '--sacct', e.sacct, '--rate', '0'], {
    env: { ...process.env, ...e.env, TZ: 'UTC' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  const seen = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 20_000);
    child.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('"kind":"chunk-done"')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  // stdin stays open: the reader downstream must not wait for the next window or the end.
  child.stdin.write(chunk('demo', '2024-01-10T00:00:00Z', '2024-01-10T00:59:59Z') + '\n');
  t.ok(await seen, 'chunk-done arrived while stdin was still open');
  child.stdin.end();
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(status, 0);
});

t.test('a bad input line is reported on a line of its own, not after the progress text', { skip: !existsSync('/usr/bin/script') ? 'needs script(1) for a terminal' : LONG }, async (t) => {
  const e = setup({ SB_SIM_DELAY: '0.1' });
  const file = path.join(e.dir, 'chunks.ndjson');
  // line 9 is read once windows are done (at most 4 windows are read ahead): the progress
  // line is on the terminal by then
  writeFileSync(file, hourly('demo', '2024-01-10', 8) + 'not json\n');
  const cmd = `sb-sacct --sacct '${e.sacct}' --rate 0 '${file}' > /dev/null`;
  const r = await runShell(`script -qec "${cmd}" /dev/null`, { env: { ...e.env, NO_COLOR: '' } });
  t.equal(r.status, 0);
  t.match(r.stdout, /\x1b\[K/, 'the progress line was drawn');
  const m = /([^\n]*)sb-sacct: [^\n]*chunks\.ndjson:9: not JSON/.exec(r.stdout);
  t.ok(m, 'the bad line is reported');
  const before = m?.[1] ?? '';
  t.ok(before === '' || before.endsWith('\r\x1b[K'), `the message starts a clean line (after ${JSON.stringify(before.slice(-30))})`);
});

t.test('a permanent failure with the progress line drawn and a file as input: the windows left undone are counted', { skip: !existsSync('/usr/bin/script') && 'needs script(1) for a terminal' }, async (t) => {
  const e = setup();
  const file = path.join(e.dir, 'chunks.ndjson');
  // the first window's cluster is not known to slurmdbd: the run stops there, with 40,000
  // windows after it, more than are read ahead by then (5 MB); a file is read on to count them
  const rest: string[] = [];
  for (let i = 0; i < 40000; i++) rest.push(chunk('hammer', new Date(Date.UTC(2020, 0, 1) + i * 3600_000).toISOString().replace('.000', ''), new Date(Date.UTC(2020, 0, 1) + i * 3600_000 + 3599_000).toISOString().replace('.000', '')));
  writeFileSync(file, chunk('nosuch', '2024-01-10T00:00:00Z', '2024-01-10T00:59:59Z') + '\n' + rest.join('\n') + '\n');
  const cmd = `sb-sacct --sacct '${e.sacct}' ${FAST.join(' ')} --failed '${path.join(e.dir, 'failed.ndjson')}' '${file}' > /dev/null`;
  const r = await runShell(`script -qec "${cmd}" /dev/null`, { env: { ...e.env, NO_COLOR: '' } });
  t.match(r.stdout, /\x1b\[K/, 'the progress line was drawn');
  t.match(r.stdout, /failed for good after 1 attempt: cluster 'nosuch' is not known to slurmdbd .*; stopping: 40,?000 windows left undone/);
});
