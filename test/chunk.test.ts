import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cutByCalendar, cutByStep, sortUnique } from '../lib/core/records/chunk.js';
import { formatTime, parseTime } from '../lib/core/records/time.js';
import { goldenCases } from './helpers/golden.js';
import { records, runBin, runShell } from './helpers/run.js';

const T = (s: string): number => parseTime(s) as number;
const fmt = (w: Array<[number, number]>): string[][] => w.map(([s, e]) => [formatTime(s), formatTime(e)]);

// Every window is closed and the next starts one second after the previous ends.
function assertTouching(t: Tap.Test, windows: Array<Record<string, unknown>>): void {
  for (let i = 1; i < windows.length; i++) {
    const prev = T(windows[i - 1]?.['end'] as string);
    const cur = T(windows[i]?.['start'] as string);
    t.equal(cur, prev + 1, `window ${i} starts one second after window ${i - 1} ends`);
  }
  for (const w of windows) t.ok(T(w['start'] as string) <= T(w['end'] as string), 'start <= end');
}

t.test('cutByStep', async (t) => {
  const cases: Array<[string, string, number, string[][]]> = [
    ['2024-01-01T00:00:00Z', '2024-01-01T02:59:59Z', 3600, [
      ['2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'],
      ['2024-01-01T01:00:00Z', '2024-01-01T01:59:59Z'],
      ['2024-01-01T02:00:00Z', '2024-01-01T02:59:59Z'],
    ]],
    ['2024-01-01T00:00:00Z', '2024-01-01T01:30:00Z', 3600, [
      ['2024-01-01T00:00:00Z', '2024-01-01T00:59:59Z'],
      ['2024-01-01T01:00:00Z', '2024-01-01T01:30:00Z'],
    ]],
    ['2024-01-01T00:00:00Z', '2024-01-01T00:10:00Z', 86400, [['2024-01-01T00:00:00Z', '2024-01-01T00:10:00Z']]],
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z', 3600, [['2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z']]],
  ];
  for (const [s, e, step, want] of cases) t.same(fmt(cutByStep(T(s), T(e), step)), want, `${s}..${e} step ${step}`);
});

t.test('cutByCalendar: months, leap years, days', async (t) => {
  t.same(fmt(cutByCalendar(T('2024-01-15T12:00:00Z'), T('2024-03-10T00:00:00Z'), 'month')), [
    ['2024-01-15T12:00:00Z', '2024-01-31T23:59:59Z'],
    ['2024-02-01T00:00:00Z', '2024-02-29T23:59:59Z'],
    ['2024-03-01T00:00:00Z', '2024-03-10T00:00:00Z'],
  ]);
  t.same(fmt(cutByCalendar(T('2023-02-01T00:00:00Z'), T('2023-03-01T00:00:00Z'), 'month'))[0], ['2023-02-01T00:00:00Z', '2023-02-28T23:59:59Z'], 'February of a common year');
  t.same(fmt(cutByCalendar(T('2023-12-31T00:00:00Z'), T('2024-01-01T23:59:59Z'), 'day')), [
    ['2023-12-31T00:00:00Z', '2023-12-31T23:59:59Z'],
    ['2024-01-01T00:00:00Z', '2024-01-01T23:59:59Z'],
  ], 'across a year end');
  t.same(fmt(cutByCalendar(T('2024-02-28T22:30:00Z'), T('2024-02-29T00:30:00Z'), 'hour')), [
    ['2024-02-28T22:30:00Z', '2024-02-28T22:59:59Z'],
    ['2024-02-28T23:00:00Z', '2024-02-28T23:59:59Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:30:00Z'],
  ]);
});

t.test('sortUnique collapses duplicates and orders by start', async (t) => {
  const a = { cluster: 'a', start: 10, end: 19 };
  const b = { cluster: 'a', start: 0, end: 9 };
  t.same(sortUnique([a, b, { ...a }]), [b, a]);
});

t.test('new: closed touching hourly windows, the last shorter and ending at END', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2024-01-01 00:00', '-e', '2024-01-01 03:30', '--cluster', 'hammer']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const w = records(r.stdout);
  t.equal(w.length, 4);
  assertTouching(t, w);
  t.same(w[0], { kind: 'chunk', cluster: 'hammer', start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:59:59Z' });
  t.same(w[3], { kind: 'chunk', cluster: 'hammer', start: '2024-01-01T03:00:00Z', end: '2024-01-01T03:30:00Z' });
  t.equal(Object.keys(w[0] ?? {})[0], 'kind', 'kind comes first');
});

t.test('new: a step larger than the range gives one window', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T05:00:00Z', '--step', '24', '-c', 'h']);
  t.same(records(r.stdout), [{ kind: 'chunk', cluster: 'h', start: '2024-01-01T00:00:00Z', end: '2024-01-01T05:00:00Z' }]);
});

t.test('new: fractional steps', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:59:59Z', '--step', '0.25', '-c', 'h']);
  const w = records(r.stdout);
  t.equal(w.length, 4);
  t.equal(w[1]?.['start'], '2024-01-01T00:15:00Z');
  assertTouching(t, w);
});

t.test('new --by month follows calendar months across a leap February', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2024-01-01', '-e', '2024-12-31 23:59:59', '--by', 'month', '-c', 'h']);
  const w = records(r.stdout);
  t.equal(w.length, 12);
  assertTouching(t, w);
  t.equal(w[1]?.['end'], '2024-02-29T23:59:59Z');
  t.equal(w[11]?.['end'], '2024-12-31T23:59:59Z');
});

t.test('new --by day', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2023-02-27 06:00', '-e', '2023-03-01 12:00', '--by', 'day', '-c', 'h']);
  const w = records(r.stdout);
  t.same(w.map((x) => x['start']), ['2023-02-27T06:00:00Z', '2023-02-28T00:00:00Z', '2023-03-01T00:00:00Z']);
  t.equal(w[2]?.['end'], '2023-03-01T12:00:00Z');
});

t.test('new: local times across DST changes give no gap and no overlap', async (t) => {
  const cases: Array<[string, string, string, string, string, number]> = [
    // spring forward: 02:00 EST does not exist; 00:00 EST = 05:00Z, 05:00 EDT = 09:00Z
    ['America/New_York', '2024-03-10 00:00', '2024-03-10 05:00', '2024-03-10T05:00:00Z', '2024-03-10T09:00:00Z', 5],
    // fall back: 01:00–02:00 happens twice; 00:00 EDT = 04:00Z, 04:00 EST = 09:00Z
    ['America/New_York', '2024-11-03 00:00', '2024-11-03 04:00', '2024-11-03T04:00:00Z', '2024-11-03T09:00:00Z', 6],
    ['Europe/Berlin', '2024-03-31 00:00', '2024-03-31 06:00', '2024-03-30T23:00:00Z', '2024-03-31T04:00:00Z', 6],
    ['Europe/Berlin', '2024-10-27 00:00', '2024-10-27 06:00', '2024-10-26T22:00:00Z', '2024-10-27T05:00:00Z', 8],
  ];
  for (const [tz, s, e, ws, we, n] of cases) {
    const r = await runBin('sb-chunk', ['new', '-s', s, '-e', e, '-c', 'h'], { env: { TZ: tz } });
    t.equal(r.status, 0, `${tz} ${s}`);
    const w = records(r.stdout);
    t.equal(w[0]?.['start'], ws, `${tz}: start in UTC`);
    t.equal(w[w.length - 1]?.['end'], we, `${tz}: end in UTC`);
    t.equal(w.length, n, `${tz} ${s}: ${n} windows`);
    assertTouching(t, w);
  }
  const r = await runBin('sb-chunk', ['new', '-s', '2024-03-09', '-e', '2024-03-12', '--by', 'day', '-c', 'h'], { env: { TZ: 'America/New_York' } });
  const w = records(r.stdout);
  assertTouching(t, w);
  t.equal(w[0]?.['start'], '2024-03-09T05:00:00Z');
  t.equal(w[1]?.['start'], '2024-03-10T00:00:00Z', '--by day cuts at UTC midnight');
});

t.test('new: relative expressions as date -d reads them', async (t) => {
  const before = Math.floor(Date.now() / 1000);
  const r = await runBin('sb-chunk', ['new', '-c', 'h']);
  const after = Math.floor(Date.now() / 1000);
  t.equal(r.status, 0);
  const w = records(r.stdout);
  assertTouching(t, w);
  const s = T(w[0]?.['start'] as string);
  const e = T(w[w.length - 1]?.['end'] as string);
  t.ok(e >= before && e <= after, 'default end is now');
  t.ok(e - s >= 3 * 3600 - 2 && e - s <= 3 * 3600 + 2, 'default start is 3 hours ago');
});

t.test('new: bad times and ranges are usage errors', async (t) => {
  let r = await runBin('sb-chunk', ['new', '-s', 'the day after never', '-c', 'h']);
  t.equal(r.status, 2);
  t.match(r.stderr, /^sb-chunk: invalid time 'the day after never'/);
  t.match(r.stderr, /Try 'sb-chunk --help'\./);
  t.equal(r.stdout, '');
  r = await runBin('sb-chunk', ['new', '-s', '2024-02-01', '-e', '2024-01-01', '-c', 'h']);
  t.equal(r.status, 2);
  t.match(r.stderr, /start '2024-02-01' \(2024-02-01T00:00:00Z\) is after end '2024-01-01'/);
  r = await runBin('sb-chunk', ['new', '--step', 'abc', '-c', 'h']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--step': 'abc' is not a number/);
  r = await runBin('sb-chunk', ['new', '--step', '2', '--by', 'day', '-c', 'h']);
  t.equal(r.status, 2);
  r = await runBin('sb-chunk', ['new', '--by', 'week', '-c', 'h']);
  t.equal(r.status, 2);
  t.match(r.stderr, /'week' is not one of hour, day, month/);
  r = await runBin('sb-chunk', ['new', '-c', 'bad/name']);
  t.equal(r.status, 2);
  r = await runBin('sb-chunk', []);
  t.equal(r.status, 2);
  t.match(r.stderr, /missing command/);
  r = await runBin('sb-chunk', ['old']);
  t.equal(r.status, 2);
  t.match(r.stderr, /unknown command 'old'/);
});

t.test('--limit keeps the earliest windows', async (t) => {
  const r = await runBin('sb-chunk', ['new', '-s', '2024-01-01', '-e', '2024-12-31', '--by', 'month', '-c', 'h', '--limit', '2']);
  t.same(records(r.stdout).map((x) => x['start']), ['2024-01-01T00:00:00Z', '2024-02-01T00:00:00Z']);
  const bad = await runBin('sb-chunk', ['new', '-c', 'h', '--limit', '0']);
  t.equal(bad.status, 2);
});

t.test('--cluster defaults to scontrol ClusterName', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-chunk-'));
  const fake = path.join(dir, 'scontrol');
  writeFileSync(fake, '#!/bin/sh\necho "Configuration data as of 2024-01-01T00:00:00"\necho "ClusterName             = anvil"\necho "SlurmctldPort           = 6817"\n');
  chmodSync(fake, 0o755);
  let r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:30:00Z'], { env: { SB_SCONTROL: fake, SB_CLUSTER: '' } });
  t.equal(r.status, 0);
  t.equal(records(r.stdout)[0]?.['cluster'], 'anvil');
  r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:30:00Z'], { env: { SB_SCONTROL: path.join(dir, 'missing'), SB_CLUSTER: '' } });
  t.equal(r.status, 1);
  t.match(r.stderr, /cannot find the local cluster's name .*give --cluster NAME/);
  t.equal(r.stdout, '');
  r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:30:00Z'], { env: { SB_CLUSTER: 'forge' } });
  t.equal(records(r.stdout)[0]?.['cluster'], 'forge');
});

t.test('from-file: CSV, chunk NDJSON and ledger records; duplicates collapse; ordered by start', async (t) => {
  const input = [
    '2024-01-01T02:00:00Z,2024-01-01T02:59:59Z',
    '2024-01-01T00:00:00Z,2024-01-01T00:59:59Z',
    '{"kind":"chunk","cluster":"hammer","start":"2024-01-01T01:00:00Z","end":"2024-01-01T01:59:59Z"}',
    '{"kind":"failed","cluster":"hammer","start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:59:59Z","attempts":3,"status":75}',
    '2024-01-01 03:00:00,2024-01-01 03:59:59',
    '',
    '# a comment',
  ].join('\n');
  const r = await runBin('sb-chunk', ['from-file', '-c', 'hammer'], { input });
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
  const w = records(r.stdout);
  t.same(w.map((x) => x['start']), ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z', '2024-01-01T02:00:00Z', '2024-01-01T03:00:00Z']);
  assertTouching(t, w);
  t.ok(w.every((x) => x['cluster'] === 'hammer'));
});

t.test('from-file reads a named file, CRLF and naive local times', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-chunk-'));
  const file = path.join(dir, 'retry.csv');
  writeFileSync(file, '2024-07-01 00:00:00,2024-07-01 00:59:59\r\n');
  const r = await runBin('sb-chunk', ['from-file', file, '-c', 'h'], { env: { TZ: 'Europe/Berlin' } });
  t.same(records(r.stdout), [{ kind: 'chunk', cluster: 'h', start: '2024-06-30T22:00:00Z', end: '2024-06-30T22:59:59Z' }]);
  const missing = await runBin('sb-chunk', ['from-file', path.join(dir, 'nope.csv'), '-c', 'h']);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /cannot open '.*nope\.csv': No such file or directory/);
});

t.test('from-file: bad lines are reported with their line number and skipped', async (t) => {
  const input = [
    '2024-01-01T00:00:00Z,2024-01-01T00:59:59Z',
    'not a window',
    '2024-01-01T01:00:00Z,yesterday-ish nonsense',
    '{"kind":"chunk","start":"2024-01-01T03:00:00Z"',
    '{"kind":"chunk","cluster":"h","start":"2024-01-01T05:00:00Z","end":"2024-01-01T04:00:00Z"}',
    '2024-01-01T02:00:00Z,2024-01-01T02:59:59Z',
  ].join('\n');
  const r = await runBin('sb-chunk', ['from-file', '-c', 'h'], { input });
  t.equal(r.status, 0);
  t.same(records(r.stdout).map((x) => x['start']), ['2024-01-01T00:00:00Z', '2024-01-01T02:00:00Z']);
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 4);
  t.match(lines[0], /^sb-chunk: stdin:2: expected 'start,end', found 1 field$/);
  t.match(lines[1], /^sb-chunk: stdin:3: 'yesterday-ish nonsense' is not a time$/);
  t.match(lines[2], /^sb-chunk: stdin:4: not JSON/);
  t.match(lines[3], /^sb-chunk: stdin:5: start 2024-01-01T05:00:00Z is after end/);
  const strict = await runBin('sb-chunk', ['from-file', '-c', 'h', '--strict'], { input });
  t.equal(strict.status, 65);
  t.equal(records(strict.stdout).length, 2, 'good lines still printed under --strict');
  const json = await runBin('sb-chunk', ['from-file', '-c', 'h', '--errors=json'], { input });
  const first = JSON.parse(json.stderr.split('\n')[0] ?? '') as Record<string, unknown>;
  t.same(first, { tool: 'sb-chunk', level: 'error', source: 'stdin', line: 2, message: "expected 'start,end', found 1 field" });
});

t.test('one window per line feeds xargs -n1', async (t) => {
  const r = await runShell("sb-chunk new -c h -s 2024-01-01T00:00:00Z -e 2024-01-01T02:59:59Z | xargs -d '\\n' -P3 -n1 printf '%s\\n' | sort");
  t.equal(r.status, 0);
  t.equal(records(r.stdout).length, 3);
});

t.test('an option without its value (the rest of the checklist: test/contract.test.ts)', async (t) => {
  const missing = await runBin('sb-chunk', ['new', '--cluster']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /option '--cluster' needs a value/);
});

goldenCases('chunk');
