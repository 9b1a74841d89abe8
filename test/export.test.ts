import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { DuckDBInstance } from '@duckdb/node-api';
import { TOTAL_FIELDS, metricValues, zeroTotals, type Totals } from '../lib/core/scores/metrics.js';
import { parseTime } from '../lib/core/records/time.js';
import { csvText, ndjsonText } from '../lib/tools/export/formats.js';
import { escapeLabel, exposition, type BoardFile } from '../lib/tools/export/prometheus.js';
import { monthTable, settledMonths, watermark } from '../lib/tools/export/table.js';
import { parseDailyFile } from '../lib/core/store/rollup-files.js';
import { goldenCases } from './helpers/golden.js';
import { ROOT, records, runBin, runShell } from './helpers/run.js';
import { totals, writeOptout, writeStore, type Entry } from './helpers/store-fixture.js';

const tmp = (t: Tap.Test): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sb-export-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
};
const NO_HOMES = { SB_HOME_ROOT: path.join(tmpdir(), 'sb-export-no-homes') };
const exportBin = (args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runBin> => runBin('sb-export', args, { env: { ...NO_HOMES, ...env } });
const sec = (s: string): number => parseTime(s) as number;
const BIG = 2n ** 70n + 1n;

// The chunk ledger of a cluster, done over the given windows.
function writeLedger(root: string, cluster: string, done: Array<[string, string]>, unsettled: Array<[string, string]> = []): void {
  const dir = path.join(root, 'clusters', cluster, 'state', 'chunks');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'ledger.json'), JSON.stringify({ schema_version: 1, cluster, done, unsettled }) + '\n');
}

function dailyFile(root: string, cluster: string, month: string): string {
  return path.join(root, 'clusters', cluster, 'agg', 'rollups', 'daily', `${month}.json`);
}

// Adds an `accounts` member to a daily file, as sb-reduce writes it once it keeps accounts.
function addAccounts(root: string, cluster: string, month: string, accounts: Record<string, Record<string, Record<string, Parameters<typeof totals>[0]>>>): void {
  const file = dailyFile(root, cluster, month);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const json = (p: Parameters<typeof totals>[0]): Record<string, unknown> => {
    const x = totals(p);
    return { ...x, mem_req_byte_s: x.mem_req_byte_s.toString(), mem_used_byte_s: x.mem_used_byte_s.toString() };
  };
  doc['accounts'] = Object.fromEntries(Object.entries(accounts).map(([a, us]) => [a, Object.fromEntries(Object.entries(us).map(([u, ds]) => [u, Object.fromEntries(Object.entries(ds).map(([d, p]) => [d, json(p)]))]))]));
  writeFileSync(file, JSON.stringify(doc));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
}

// A small store: cluster bell, January settled (accounts split on some days), February not.
function smallStore(t: Tap.Test): string {
  const root = tmp(t);
  const entries: Entry[] = [
    { cluster: 'bell', user: 'alice', day: '2024-01-05', t: { jobs: 3, cpu_s: 7200, elapsed_s: 3600, mem_req_byte_s: BIG } },
    { cluster: 'bell', user: 'alice', day: '2024-01-06', t: { jobs: 1, cpu_s: 60, elapsed_s: 60, failed_jobs: 1 } },
    { cluster: 'bell', user: 'bob', day: '2024-01-05', t: { jobs: 2, cpu_s: 100, elapsed_s: 50, gpu_jobs: 2, gpu_s: 100, gpu_elapsed_s: 50 } },
    { cluster: 'bell', user: 'carol', day: '2024-01-05', t: { jobs: 4, cpu_s: 40, elapsed_s: 40 } },
    { cluster: 'bell', user: 'dave', day: '2024-01-05', t: { jobs: 1, cpu_s: 10, elapsed_s: 10 } },
    { cluster: 'bell', user: 'alice', day: '2024-02-01', t: { jobs: 1, cpu_s: 10, elapsed_s: 10 } },
  ];
  writeStore(root, entries);
  writeLedger(root, 'bell', [['2023-12-31T00:00:00Z', '2024-02-10T23:59:59Z']]);
  return root;
}

t.test('monthTable: rows per day, user and account; usage before accounts is account null; opted-out users summed as user null', async (t) => {
  const doc = parseDailyFile(
    JSON.stringify({
      cluster: 'bell',
      month: '2024-01',
      schema_version: 2,
      users: {
        alice: { '05': { ...tj({ jobs: 3, cpu_s: 30 }) }, '06': tj({ jobs: 1, cpu_s: 5 }) },
        bob: { '05': tj({ jobs: 2, cpu_s: 20, mem_used_byte_s: BIG }) },
        carol: { '05': tj({ jobs: 1, cpu_s: 1 }) },
        dave: { '05': tj({ jobs: 1, cpu_s: 2 }) },
      },
      accounts: {
        physics: { alice: { '05': tj({ jobs: 2, cpu_s: 10 }) }, bob: { '05': tj({ jobs: 2, cpu_s: 20, mem_used_byte_s: BIG }) } },
        '': { alice: { '05': tj({ jobs: 1, cpu_s: 20 }) } },
        chem: { carol: { '05': tj({ jobs: 1, cpu_s: 1 }) }, dave: { '05': tj({ jobs: 1, cpu_s: 2 }) } },
      },
    }),
    'daily.json',
  );
  const { rows, accounts } = monthTable('bell', '2024-01', doc, new Set(['carol', 'dave']), 'daily.json');
  t.equal(accounts, 'partial', "alice's 6th predates accounts");
  const flat = rows.map((r) => [r.day.slice(8), r.user, r.account, r.metric, String(r.value)]);
  t.same(flat, [
    ['05', 'alice', '', 'jobs', '1'],
    ['05', 'alice', '', 'cpu_s', '20'],
    ['05', 'alice', 'physics', 'jobs', '2'],
    ['05', 'alice', 'physics', 'cpu_s', '10'],
    ['05', 'bob', 'physics', 'jobs', '2'],
    ['05', 'bob', 'physics', 'cpu_s', '20'],
    ['05', 'bob', 'physics', 'mem_used_byte_s', String(BIG)],
    ['05', null, 'chem', 'jobs', '2'],
    ['05', null, 'chem', 'cpu_s', '3'],
    ['06', 'alice', null, 'jobs', '1'],
    ['06', 'alice', null, 'cpu_s', '5'],
  ], 'zeros left out; sorted by day, user, account, metric; opted-out carol and dave one unnamed row');
  const none = monthTable('bell', '2024-01', { users: doc.users, accounts: undefined }, new Set(), 'f');
  t.equal(none.accounts, 'absent');
  t.ok(none.rows.every((r) => r.account === null));
  const full = parseDailyFile(JSON.stringify({ users: { bob: { '05': tj({ jobs: 2 }) } }, accounts: { x: { bob: { '05': tj({ jobs: 2 }) } } } }), 'f');
  t.equal(monthTable('bell', '2024-01', full, new Set(), 'f').accounts, 'complete');
  const over = parseDailyFile(JSON.stringify({ users: { bob: { '05': tj({ jobs: 2 }) } }, accounts: { x: { bob: { '05': tj({ jobs: 3 }) } } } }), 'f');
  t.throws(() => monthTable('bell', '2024-01', over, new Set(), 'f'), /f: accounts of user 'bob' on day 05 add up to more than users\.bob\.05/);
  const stray = parseDailyFile(JSON.stringify({ users: {}, accounts: { x: { bob: { '05': tj({ jobs: 3 }) } } } }), 'f');
  t.throws(() => monthTable('bell', '2024-01', stray, new Set(), 'f'), /accounts\.x\.bob\.05 has no users\.bob\.05/);
  t.throws(() => parseDailyFile('{"users":{"a":{"32":{}}}}', 'f'), /f: users\.a: '32' is not a day/);
  t.throws(() => parseDailyFile('{"users":{}', 'f'), /f: not JSON/);
});

function tj(p: Parameters<typeof totals>[0]): Record<string, unknown> {
  const x = totals(p);
  return { ...x, mem_req_byte_s: x.mem_req_byte_s.toString(), mem_used_byte_s: x.mem_used_byte_s.toString() };
}

t.test('settled months: every second done; the watermark ends the first run of consecutive ones', async (t) => {
  const iv = (a: string, b: string): [number, number] => [sec(a), sec(b)];
  t.same(settledMonths([iv('2024-01-15T00:00:00Z', '2024-04-30T23:59:58Z')]), ['2024-02', '2024-03'], 'a part-month at each end is not settled');
  t.same(settledMonths([iv('2023-12-01T00:00:00Z', '2024-01-31T23:59:59Z'), iv('2024-03-01T00:00:00Z', '2024-03-31T23:59:59Z')]), ['2023-12', '2024-01', '2024-03']);
  t.same(settledMonths([iv('2024-02-01T00:00:00Z', '2024-02-28T23:59:59Z')]), [], 'leap day missing');
  t.same(settledMonths([]), []);
  t.equal(watermark(['2023-12', '2024-01', '2024-03']), '2024-01-31T23:59:59Z', 'the gap in February stops it');
  t.equal(watermark(['2024-02']), '2024-02-29T23:59:59Z');
  t.equal(watermark([]), undefined);
});

t.test('CSV and NDJSON keep values exact past 2^53; CSV quotes what needs it; null is an empty field, an empty name ""', async (t) => {
  const rows = [
    { cluster: 'bell', day: '2024-01-05', user: 'a,"b"', account: '', metric: 'mem_req_byte_s' as const, value: BIG },
    { cluster: 'bell', day: '2024-01-05', user: null, account: null, metric: 'jobs' as const, value: 3n },
  ];
  t.equal(csvText(rows), `cluster,day,user,account,metric,value\r\nbell,2024-01-05,"a,""b""","",mem_req_byte_s,${BIG}\r\nbell,2024-01-05,,,jobs,3\r\n`);
  const lines = ndjsonText(rows).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines[0], { cluster: 'bell', day: '2024-01-05', user: 'a,"b"', account: '', metric: 'mem_req_byte_s', value: String(BIG) });
  t.same(lines[1], { cluster: 'bell', day: '2024-01-05', user: null, account: null, metric: 'jobs', value: '3' });
});

t.test('sb-export: settled months only, every format, a manifest with the watermark; a rerun writes nothing', async (t) => {
  const root = smallStore(t);
  const out = path.join(tmp(t), 'exports');
  const r = await exportBin(['--root', root, '--out', out, '-f', 'parquet,csv,ndjson']);
  t.same([r.status, r.stderr], [0, '']);
  const recs = records(r.stdout);
  t.same(recs.map((x) => [x['kind'], x['month'], x['format'], x['status']]), [
    ['export', '2024-01', 'parquet', 'new'],
    ['export', '2024-01', 'csv', 'new'],
    ['export', '2024-01', 'ndjson', 'new'],
    ['manifest', undefined, undefined, undefined],
  ], 'February is not settled: not exported');
  t.same(recs[3], { kind: 'manifest', file: path.join(out, 'manifest.json'), clusters: 1, watermarks: { bell: '2024-01-31T23:59:59Z' } });
  const files = walk(out).map((f) => path.relative(out, f));
  t.same(files, ['cluster=bell/month=2024-01/rollups.csv', 'cluster=bell/month=2024-01/rollups.ndjson', 'cluster=bell/month=2024-01/rollups.parquet', 'manifest.json'].sort());
  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>;
  t.equal(manifest['schema_version'], 1);
  t.same(manifest['columns'], ['cluster', 'day', 'user', 'account', 'metric', 'value']);
  const jan = manifest['clusters'].bell.months['2024-01'];
  t.equal(jan.accounts, 'absent', 'a store from before accounts: said so');
  t.equal(jan.files.csv.rows, 20, 'the non-zero totals of five user-days');
  t.equal(jan.files.parquet.bytes, statSync(path.join(out, jan.files.parquet.path)).size);
  const csv = readFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.csv'), 'utf8');
  t.match(csv, `bell,2024-01-05,alice,,mem_req_byte_s,${BIG}\r\n`, 'exact past 2^53');
  const before = walk(out).map((f) => [f, statSync(f).mtimeMs, statSync(f).ino]);
  const again = await exportBin(['--root', root, '--out', out, '-f', 'parquet,csv,ndjson', '-v']);
  t.same([again.status, again.stdout], [0, ''], 'a rerun prints nothing: nothing written');
  t.equal(again.stderr, 'sb-export: 1 settled month(s): 0 file(s) written, 3 unchanged; not settled yet, left out: bell 2024-02\n');
  t.same(walk(out).map((f) => [f, statSync(f).mtimeMs, statSync(f).ino]), before, 'no file touched');
  // A partition deleted by hand, or changed, is made again; the others stay.
  rmSync(path.join(out, 'cluster=bell/month=2024-01/rollups.csv'));
  writeFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.ndjson'), 'tampered\n');
  const fix = await exportBin(['--root', root, '--out', out, '-f', 'parquet,csv,ndjson']);
  t.same(records(fix.stdout).map((x) => [x['format'], x['status']]), [['csv', 'new'], ['ndjson', 'replaced']]);
  t.equal(readFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.csv'), 'utf8'), csv);
  t.same(readdirSync(path.join(out, 'cluster=bell/month=2024-01')).filter((n) => n.endsWith('.tmp')), [], 'no temporary file left');
});

t.test('sb-export: accounts where the store has them; an opt-out replaces the partition and the user is never named', async (t) => {
  const root = smallStore(t);
  addAccounts(root, 'bell', '2024-01', {
    physics: { alice: { '05': { jobs: 3, cpu_s: 7200, elapsed_s: 3600, mem_req_byte_s: BIG } }, bob: { '05': { jobs: 2, cpu_s: 100, elapsed_s: 50, gpu_jobs: 2, gpu_s: 100, gpu_elapsed_s: 50 } } },
    chem: { carol: { '05': { jobs: 4, cpu_s: 40, elapsed_s: 40 } } },
  });
  const out = tmp(t);
  let r = await exportBin(['--root', root, '--out', out, '-f', 'ndjson']);
  t.equal(r.status, 0, r.stderr);
  const rows = (): Array<Record<string, unknown>> => records(readFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.ndjson'), 'utf8'));
  t.same(rows().filter((x) => x['metric'] === 'jobs').map((x) => [x['day'], x['user'], x['account'], x['value']]), [
    ['2024-01-05', 'alice', 'physics', '3'],
    ['2024-01-05', 'bob', 'physics', '2'],
    ['2024-01-05', 'carol', 'chem', '4'],
    ['2024-01-05', 'dave', null, '1'],
    ['2024-01-06', 'alice', null, '1'],
  ]);
  const month = (): Record<string, any> => (JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, any>)['clusters'].bell.months['2024-01'];
  t.equal(month().accounts, 'partial');
  writeOptout(root, ['carol', 'dave']);
  r = await exportBin(['--root', root, '--out', out, '-f', 'ndjson']);
  t.same(records(r.stdout).map((x) => [x['kind'], x['status']]), [['export', 'replaced'], ['manifest', undefined]]);
  t.notMatch(readFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.ndjson'), 'utf8'), /carol|dave/, 'opted-out users are not named');
  t.same(rows().filter((x) => x['user'] === null && x['metric'] === 'jobs').map((x) => [x['account'], x['value']]), [['chem', '4'], [null, '1']], 'their usage still counts, unnamed');
  // a home opt-out (~user/.slurm_scoreboard_optout) counts the same
  const homes = tmp(t);
  mkdirSync(path.join(homes, 'bob'));
  writeFileSync(path.join(homes, 'bob', '.slurm_scoreboard_optout'), '');
  r = await exportBin(['--root', root, '--out', out, '-f', 'ndjson'], { SB_HOME_ROOT: homes });
  t.equal(r.status, 0, r.stderr);
  t.notMatch(readFileSync(path.join(out, 'cluster=bell/month=2024-01/rollups.ndjson'), 'utf8'), /bob/);
});

t.test('sb-export: usage errors, a corrupt rollup, an unknown cluster', async (t) => {
  const root = smallStore(t);
  const out = tmp(t);
  let r = await exportBin(['--root', root]);
  t.same([r.status, r.stderr], [2, "sb-export: nothing to do: give --out DIR, --prometheus FILE, or both\nTry 'sb-export --help'.\n"]);
  r = await exportBin(['--root', root, '--out', out, '-f', 'xlsx']);
  t.same([r.status, r.stderr], [2, "sb-export: unknown format 'xlsx' (expected one of parquet, csv, ndjson)\nTry 'sb-export --help'.\n"]);
  r = await exportBin(['--out', out], { SB_ROOT: '' });
  t.equal(r.status, 2);
  r = await exportBin(['--root', root, '--out', out, '-c', 'nosuch']);
  t.same([r.status, r.stderr], [1, `sb-export: no cluster 'nosuch' in '${path.join(root, 'clusters')}'\n`]);
  writeFileSync(dailyFile(root, 'bell', '2024-01'), '{"cluster":"bell","users":{"alice":');
  r = await exportBin(['--root', root, '--out', out]);
  t.equal(r.status, 1);
  t.match(r.stderr, new RegExp(`^sb-export: ${dailyFile(root, 'bell', '2024-01').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not JSON`));
  t.equal(r.stdout, '');
});

// The Prometheus text format, checked strictly: every line a HELP, a TYPE or a sample; names
// and label names well formed; label values with only \\, \" and \n escapes; each family's
// HELP and TYPE once, before its samples, which are contiguous; no series twice; a final newline.
function checkExposition(t: Tap.Test, text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  t.ok(text.endsWith('\n'), 'ends with a newline');
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const seen = new Set<string>();
  const typed = new Map<string, string>();
  const done = new Set<string>();
  let current = '';
  const problems: string[] = [];
  text.slice(0, -1).split('\n').forEach((line, i) => {
    const at = `line ${i + 1}`;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      const [, what, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) problems.push(`${at}: bad name`);
      if (what === 'TYPE') {
        if (typed.has(name)) problems.push(`${at}: second TYPE for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) problems.push(`${at}: bad type`);
        typed.set(name, rest);
      } else if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) problems.push(`${at}: bad escape in HELP`);
      if (current !== name) {
        if (done.has(name)) problems.push(`${at}: ${name} is not one group`);
        if (current !== '') done.add(current);
        current = name;
      }
      return;
    }
    if (line.startsWith('#') || line === '') {
      problems.push(`${at}: unexpected line '${line}'`);
      return;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\} (\S+)$/.exec(line);
    if (!m) {
      problems.push(`${at}: not a sample: ${line}`);
      return;
    }
    const [, name, body, value] = m as unknown as [string, string, string, string];
    if (name !== current || !typed.has(name)) problems.push(`${at}: sample of ${name} outside its group`);
    const labels: Record<string, string> = {};
    for (const lm of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const [, k, v] = lm as unknown as [string, string, string];
      if (k in labels) problems.push(`${at}: label ${k} twice`);
      labels[k] = v.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]Inf$|^NaN$/.test(value)) problems.push(`${at}: bad value ${value}`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) problems.push(`${at}: series twice`);
    seen.add(key);
    samples.push({ name, labels, value: Number(value) });
  });
  t.same(problems, [], 'a well-formed exposition');
  return samples;
}

t.test('exposition: label values escaped, opted-out users left out, --top with ties', async (t) => {
  const board: BoardFile = {
    cluster: 'all', window: 'alltime', metric: 'jobs', asof: sec('2024-03-01T00:00:00Z'), title: 'Finished jobs', unit: 'jobs',
    rows: [
      { rank: 1, user: 'we"ird\\name', value: 9, level: 5, xp: 90 },
      { rank: 2, user: 'hidden', value: 8, level: 4, xp: 80 },
      { rank: 2, user: 'bob', value: 8, level: 4, xp: 80 },
      { rank: 4, user: 'carol', value: 1, level: 1, xp: 10 },
    ],
  };
  t.equal(escapeLabel('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  const e = exposition([board], new Set(['hidden']), 2);
  const samples = checkExposition(t, e.text);
  t.same(samples.filter((s) => s.name === 'sb_leaderboard_rank').map((s) => [s.labels['user'], s.value]), [['we"ird\\name', 1], ['bob', 2]]);
  t.notMatch(e.text, /hidden/);
  t.same(samples.find((s) => s.name === 'sb_leaderboard_users')?.value, 3);
  t.same(samples.find((s) => s.name === 'sb_leaderboard_asof_timestamp_seconds'), { name: 'sb_leaderboard_asof_timestamp_seconds', labels: { cluster: 'all', window: 'alltime', metric: 'jobs' }, value: sec('2024-03-01T00:00:00Z') });
});

t.test('sb-export --prometheus: the current boards of sb-rank --write, for the textfile collector', async (t) => {
  const root = smallStore(t);
  let r = await runBin('sb-rank', ['--root', root, '--now', '2024-02-10T12:00:00Z', '--min-jobs', '0', '--write'], { env: NO_HOMES });
  t.equal(r.status, 0, r.stderr);
  // a board of January, left from a run in January: not current any more
  r = await runBin('sb-rank', ['--root', root, '--now', '2024-01-20T12:00:00Z', '--min-jobs', '0', '--write', '-w', 'month'], { env: NO_HOMES });
  t.equal(r.status, 0, r.stderr);
  r = await runBin('sb-rank', ['--root', root, '--now', '2024-02-10T12:00:00Z', '--min-jobs', '0', '--write', '-w', 'alltime'], { env: NO_HOMES });
  const dir = tmp(t);
  const prom = path.join(dir, 'sb.prom');
  writeOptout(root, ['bob']);
  r = await exportBin(['--root', root, '--prometheus', prom, '--top', '0']);
  t.same([r.status, r.stderr], [0, '']);
  const text = readFileSync(prom, 'utf8');
  t.same(records(r.stdout), [{ kind: 'prometheus', file: prom, boards: (text.match(/^sb_leaderboard_users\{/gm) ?? []).length, samples: (text.match(/^sb_/gm) ?? []).length }]);
  const samples = checkExposition(t, text);
  t.notMatch(text, /user="bob"/, 'bob opted out after the boards were written: not named');
  const windows = new Set(samples.map((s) => s.labels['window']));
  t.same([...windows].sort(), ['alltime', 'month-2024-02', 'rolling-30d', 'rolling-365d', 'year-2024'], "January's old month board is not current");
  const jobs = samples.filter((s) => s.name === 'sb_leaderboard_value' && s.labels['metric'] === 'jobs' && s.labels['window'] === 'alltime' && s.labels['cluster'] === 'all');
  t.same(jobs.map((s) => [s.labels['user'], s.value]), [['alice', 5], ['carol', 4], ['dave', 1]]);
  t.ok(samples.some((s) => s.labels['cluster'] === 'bell'), 'the per-cluster boards too');
  t.same(readdirSync(dir), ['sb.prom'], 'no temporary file left');
  const again = await exportBin(['--root', root, '--prometheus', prom, '--top', '0']);
  t.same([again.status, again.stdout, again.stderr], [0, '', ''], 'unchanged: not rewritten');
  const top = await exportBin(['--root', root, '--prometheus', prom, '--top', '1']);
  t.equal(top.status, 0);
  t.same(checkExposition(t, readFileSync(prom, 'utf8')).filter((s) => s.name === 'sb_leaderboard_rank').every((s) => s.value === 1), true, '--top 1');
  const empty = tmp(t);
  mkdirSync(path.join(empty, 'clusters'));
  r = await exportBin(['--root', empty, '--prometheus', prom]);
  t.same([r.status, r.stderr], [1, `sb-export: no leaderboards in '${path.join(empty, 'leaderboards')}' (run 'sb-rank --write' first)\n`]);
  r = await exportBin(['--root', root, '--prometheus', path.join(dir, 'no', 'such', 'x.prom')]);
  t.equal(r.status, 1);
  t.match(r.stderr, /its directory '.*\/no\/such' is not there/);
});

// Builds a store from the synthetic cluster: two months backfilled by day and settled.
async function simStore(t: Tap.Test): Promise<string> {
  const root = tmp(t);
  const env = { SB_SIM_NOW: '2024-03-10T00:00:00', SB_SIM_SEED: 'export', SB_SIM_RATE: '30', XDG_RUNTIME_DIR: tmp(t) };
  const sim = `--sacct '${path.join(ROOT, 'sim', 'sacct')}' --sacctmgr '${path.join(ROOT, 'sim', 'sacctmgr')}' --rate 0`;
  for (const c of ['hammer', 'anvil']) {
    const r = await runShell(`sb-chunk new -c ${c} -s 2024-01-01 -e 2024-03-04T23:59:59 --by day | sb-sacct ${sim} | sb-parse | sb-reduce --root '${root}' > /dev/null`, { env, timeoutMs: 240_000 });
    t.equal(r.status, 0, r.stderr);
  }
  return root;
}

t.test('DuckDB reads the Parquet export: per-user sums equal sb-rank\'s, values exact', async (t) => {
  const root = await simStore(t);
  const out = tmp(t);
  const r = await exportBin(['--root', root, '--out', out, '-f', 'parquet,csv,ndjson']);
  t.equal(r.status, 0, r.stderr);
  t.equal(records(r.stdout).filter((x) => x['kind'] === 'export').length, 12, 'two clusters × January, February × three formats; March is not settled');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => conn.closeSync());
  const sums = async (fmt: string): Promise<Map<string, Totals>> => {
    const reader =
      fmt === 'parquet' ? `read_parquet('${out}/*/*/*.parquet', hive_partitioning=true)`
      : fmt === 'csv' ? `read_csv('${out}/*/*/*.csv', hive_partitioning=true, types={'value':'HUGEINT'})`
      : `read_ndjson('${out}/*/*/*.ndjson', hive_partitioning=true)`;
    const res = await conn.runAndReadAll(`SELECT user, metric, sum(value::HUGEINT)::VARCHAR AS v FROM ${reader} WHERE month IN ('2024-01', '2024-02') GROUP BY user, metric`);
    const byUser = new Map<string, Totals>();
    for (const row of res.getRowObjectsJS() as Array<{ user: string; metric: string; v: string }>) {
      let tt = byUser.get(row.user);
      if (tt === undefined) byUser.set(row.user, (tt = zeroTotals()));
      const f = row.metric as (typeof TOTAL_FIELDS)[number];
      if (f === 'mem_req_byte_s' || f === 'mem_used_byte_s') tt[f] = BigInt(row.v);
      else tt[f] = Number(row.v);
    }
    return byUser;
  };
  const types = await conn.runAndReadAll(`SELECT DISTINCT typeof(day) AS d, typeof(value) AS v, typeof(cluster) AS c, typeof(month) AS m FROM read_parquet('${out}/*/*/*.parquet', hive_partitioning=true)`);
  t.same(types.getRowObjectsJS(), [{ d: 'DATE', v: 'DECIMAL(38,0)', c: 'VARCHAR', m: 'VARCHAR' }]);
  const clusters = await conn.runAndReadAll(`SELECT DISTINCT cluster, month FROM read_parquet('${out}/*/*/*.parquet', hive_partitioning=true) ORDER BY 1, 2`);
  t.same(clusters.getRowObjectsJS(), [{ cluster: 'anvil', month: '2024-01' }, { cluster: 'anvil', month: '2024-02' }, { cluster: 'hammer', month: '2024-01' }, { cluster: 'hammer', month: '2024-02' }]);
  const parquet = await sums('parquet');
  t.same(await sums('csv'), parquet, 'the CSV export sums the same');
  t.same(await sums('ndjson'), parquet, 'the NDJSON export sums the same');
  // sb-rank over the same two months: January and February boards, summed by the same rounding
  const rank = await runBin('sb-rank', ['--root', root, '--now', '2024-03-10T00:00:00Z', '--min-jobs', '0', '-w', 'month-2024-01,month-2024-02', '-c', 'all', '-m', 'clock_hours,elapsed_hours,gpu_clock_hours,gpu_elapsed_hours,jobs,gpu_jobs,failed_jobs,mem_req_gb_hours,mem_used_gb_hours'], { env: NO_HOMES });
  t.equal(rank.status, 0, rank.stderr);
  const expected = new Map<string, Record<string, number>>();
  for (const rec of records(rank.stdout)) {
    const key = `${rec['user'] as string}`;
    const m = expected.get(key) ?? expected.set(key, {}).get(key)!;
    m[rec['metric'] as string] = (m[rec['metric'] as string] ?? 0) + (rec['value'] as number);
  }
  t.ok(expected.size > 50, `${expected.size} users ranked`);
  t.same([...parquet.keys()].sort(), [...expected.keys()].sort(), 'the same users');
  // per-month board values are rounded to 6 decimals; the exact two-month sums must agree with
  // their sum within that rounding, and the job counts exactly
  const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;
  let compared = 0;
  const off: string[] = [];
  for (const [user, tt] of parquet) {
    const mine = metricValues(tt);
    for (const [metric, v] of Object.entries(expected.get(user) ?? {})) {
      compared++;
      const got = round6((mine as Record<string, number>)[metric] as number);
      if (Math.abs(got - v) > 2.1e-6 || (metric.endsWith('jobs') && got !== v)) off.push(`${user} ${metric}: ${got} vs ${v}`);
    }
  }
  t.same(off, [], `${compared} user × metric sums agree`);
  // exact byte-seconds: the store's own totals, summed as BigInt
  const store = new Map<string, bigint>();
  for (const c of ['hammer', 'anvil']) {
    for (const m of ['2024-01', '2024-02']) {
      const doc = JSON.parse(readFileSync(dailyFile(root, c, m), 'utf8')) as { users: Record<string, Record<string, Record<string, unknown>>> };
      for (const [u, days] of Object.entries(doc.users)) for (const d of Object.values(days)) store.set(u, (store.get(u) ?? 0n) + BigInt(d['mem_req_byte_s'] as string));
    }
  }
  t.same([...parquet].filter(([u, x]) => x.mem_req_byte_s !== (store.get(u) ?? 0n)).map(([u]) => u), [], 'mem_req_byte_s exact for every user');
});

t.test('DuckDB: a value past 2^64 stays exact in the Parquet export', async (t) => {
  const root = smallStore(t);
  const out = tmp(t);
  const r = await exportBin(['--root', root, '--out', out]);
  t.equal(r.status, 0, r.stderr);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  t.teardown(() => conn.closeSync());
  const res = await conn.runAndReadAll(`SELECT value::VARCHAR AS v, user, account FROM read_parquet('${out}/*/*/*.parquet', hive_partitioning=true) WHERE metric = 'mem_req_byte_s'`);
  t.same(res.getRowObjectsJS(), [{ v: String(BIG), user: 'alice', account: null }]);
});

goldenCases('export', NO_HOMES);
