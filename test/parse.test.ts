import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, constants as fsConstants, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { UsageError } from '../lib/core/cli/errors.js';
import { type JobRecord, jobKey } from '../lib/core/records/job.js';
import { SB_SACCT_FIELDS, sacctFieldName } from '../lib/core/sacct/fields.js';
import { SacctClock } from '../lib/core/sacct/time.js';
import { durationSeconds, gpusFromTres, reqMemBytes, sizeBytes } from '../lib/tools/parse/units.js';
import { JOB_FIELDS, Parser, type ParserOptions, baseState, headerNames, isJobId, jobLine, keyOf, jobRecord, missingFields, unescapeDelimiter } from '../lib/tools/parse/main.js';
import { readLineBatches as lineBatches } from '../lib/core/cli/lines.js';
import { goldenCases } from './helpers/golden.js';
import { BIN, LONG, ROOT, cleanEnv, records, runBin, runShell } from './helpers/run.js';
import { random } from './helpers/random.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

type Field = (typeof SB_SACCT_FIELDS)[number];

// A job row as sb-sacct's sacct prints it (22.05, --noconvert), with some fields changed.
const JOB: Record<Field, string> = {
  DBIndex: '16',
  JobID: '8',
  JobIDRaw: '8',
  Cluster: 'sbtest',
  User: 'sbalice',
  UID: '1001',
  Account: 'physics',
  Partition: 'debug',
  QOS: 'normal',
  State: 'COMPLETED',
  ExitCode: '0:0',
  Submit: '2026-11-21T05:10:42',
  Start: '2026-11-21T05:10:46',
  End: '2026-11-21T05:10:54',
  ElapsedRaw: '8',
  Timelimit: 'UNLIMITED',
  AllocCPUS: '2',
  NNodes: '1',
  ReqMem: '1024M',
  MaxRSS: '',
  AllocTRES: 'billing=2,cpu=2,mem=1024M,node=1',
};

// A step row of JOB (empty User, UID, Partition, QOS, Timelimit, ReqMem; its job's DBIndex).
function stepOf(job: Record<Field, string>, suffix: string, rss: string, over: Partial<Record<Field, string>> = {}): Record<Field, string> {
  return {
    ...job,
    JobID: `${job.JobID}.${suffix}`,
    JobIDRaw: `${job.JobIDRaw}.${suffix}`,
    User: '',
    UID: '',
    Partition: '',
    QOS: '',
    Timelimit: '',
    ReqMem: '',
    MaxRSS: rss,
    AllocTRES: 'cpu=2,mem=1024M,node=1',
    ...over,
  };
}

// `sacct -p` text (no header) of rows in SB_SACCT_FIELDS order.
function text(rows: Array<Record<Field, string>>, delimiter = '|'): string[] {
  return rows.map((r) => SB_SACCT_FIELDS.map((f) => r[f]).join(delimiter) + delimiter);
}

interface Parsed {
  jobs: JobRecord[];
  lines: string[];
  bad: string[];
  warn: string[];
  counts: Parser['counts'];
}

function parse(lines: string[], opts: ParserOptions = { fields: SB_SACCT_FIELDS }): Parsed {
  const out: string[] = [];
  const bad: string[] = [];
  const warn: string[] = [];
  const p = new Parser({ job: (j) => out.push(jobLine(j)), line: (l) => out.push(l), bad: (n, m) => bad.push(`${n}: ${m}`), warn: (n, m) => warn.push(`${n}: ${m}`) }, opts);
  lines.forEach((l, i) => p.push(l, i + 1));
  closeWindow(p, lines, out);
  p.end();
  const jobs = out.filter((l) => l.startsWith('{"kind":"job"')).map((l) => JSON.parse(l) as JobRecord);
  return { jobs, lines: out, bad, warn, counts: p.counts };
}

// sb-sacct's records end a window with its chunk-done: what completes the window's last job (a
// stream cut before it keeps that job back, tested on its own). Records that end without one
// get it here, and its line is taken back out.
const WINDOW_END = '{"kind":"chunk-done","cluster":"test","start":"2024-01-01T00:00:00Z","end":"2024-01-01T00:59:59Z","rows":0,"settled":true}';
function closeWindow(p: Parser, lines: string[], out: string[]): void {
  const last = [...lines].reverse().find((l) => l.trim() !== '') ?? '';
  if (!/^\s*\{/.test(lines.find((l) => l.trim() !== '') ?? '') || !/"kind":"rows?"/.test(last)) return;
  p.push(WINDOW_END, lines.length + 1);
  if (out[out.length - 1] === WINDOW_END) out.pop();
  p.counts.passed--;
}

const one = (rows: Array<Record<Field, string>>): JobRecord => {
  const r = parse(text(rows));
  if (r.jobs.length !== 1 || r.bad.length > 0) throw new Error(`expected one good job, got ${JSON.stringify(r)}`);
  return r.jobs[0] as JobRecord;
};

t.test('sizes: K M G T P are powers of 1024; plain numbers are `plain` bytes each', async (t) => {
  const cases: Array<[string, number, number | null]> = [
    ['401408', 1, 401408], // MaxRSS under --noconvert: bytes
    ['0', 1, 0],
    ['3388K', 1, 3388 * KiB],
    ['388K', 1, 397312],
    ['2.50M', 1, 2.5 * MiB],
    ['0.75G', 1, 0.75 * GiB],
    ['16G', 1, 16 * GiB],
    ['1.5T', 1, 1.5 * 1024 ** 4],
    ['2P', 1, 2 * 1024 ** 5],
    ['256m', 1, 256 * MiB],
    ['2048', MiB, 2048 * MiB],
    ['', 1, null],
    ['16?', 1, null],
    ['99999P', 1, null],
  ];
  for (const [input, plain, want] of cases) t.equal(sizeBytes('MaxRSS', input, plain), want, `'${input}'`);
  const bad: Array<[string, RegExp]> = [
    ['12Q', /^MaxRSS '12Q' has an unknown unit$/],
    ['abc', /^MaxRSS 'abc' is not a size$/],
    ['1.2.3M', /is not a size/],
    ['-5', /is not a size/],
    ['M', /is not a size/],
    [' 12', /is not a size/],
    ['1e3', /is not a size/],
  ];
  for (const [input, want] of bad) t.throws(() => sizeBytes('MaxRSS', input, 1), { name: 'BadInput', message: want }, `'${input}'`);
});

t.test('ReqMem: whole job (≥ 21.08), legacy per-CPU c and per-node n, plain MiB, unknown', async (t) => {
  const cases: Array<[string, number, number, number | null]> = [
    ['16G', 4, 1, 16 * GiB],
    ['1024M', 2, 1, GiB], // 22.05 --noconvert keeps the M
    ['600M', 2, 1, 600 * MiB],
    ['4000Mc', 4, 1, 4 * 4000 * MiB],
    ['64Gn', 64, 2, 128 * GiB],
    ['2.50Gn', 1, 2, 5 * GiB],
    ['2048', 1, 1, 2048 * MiB],
    ['0', 1, 1, 0],
    ['0n', 1, 1, 0],
    ['4000Mc', 0, 0, 0],
    ['', 1, 1, null],
    ['16?', 0, 1, null],
    ['16?n', 0, 1, null],
    ['18446744073709551616.00M', 1, 1, null],
  ];
  for (const [input, cpus, nodes, want] of cases) t.equal(reqMemBytes(input, cpus, nodes), want, `'${input}' cpus ${cpus} nodes ${nodes}`);
  t.throws(() => reqMemBytes('16X', 1, 1), { message: "ReqMem '16X' has an unknown unit" });
  t.throws(() => reqMemBytes('lots', 1, 1), { message: /ReqMem 'lot' is not a size|ReqMem 'lots'/ });
});

t.test('GPUs from AllocTRES: gres/gpu=N where present, else the typed sum, never both', async (t) => {
  const cases: Array<[string, number]> = [
    ['billing=1,cpu=1,gres/gpu:a100=2,gres/gpu=2,mem=256M,node=1', 2],
    ['cpu=2,gres/gpu:v100=1,gres/gpu=1,mem=512M,node=1', 1],
    ['gres/gpu:fake=1,gres/gpu=1', 1],
    ['cpu=4,gres/gpu:a100=2,gres/gpu:v100=1,node=1', 3],
    ['cpu=4,gres/gpu=4,node=1', 4],
    ['gres/gpumem=40G,gres/gpuutil=80,gres/gpu=1', 1],
    ['gres/gpumem=40G,cpu=1', 0],
    ['billing=1,cpu=1,mem=256M,node=1', 0],
    ['gres/gpu=0', 0],
    ['', 0],
  ];
  for (const [input, want] of cases) t.equal(gpusFromTres(input), want, input || '(empty)');
  t.throws(() => gpusFromTres('gres/gpu=two'), { message: "AllocTRES gres/gpu 'two' is not a number" });
});

t.test('durations: Elapsed and Timelimit forms', async (t) => {
  const cases: Array<[string, number | null]> = [
    ['1-02:03:04', 93784],
    ['02:03:04', 7384],
    ['00:01:00', 60],
    ['03:04', 184],
    ['00:03.250', 3],
    ['365-00:00:00', 365 * 86400],
    ['1-12:00:00', 129600],
    ['100:00:00', 360000],
    ['1-02:03', 93780],
    ['UNLIMITED', null],
    ['Partition_Limit', null],
    ['INVALID', null],
    ['', null],
  ];
  for (const [input, want] of cases) t.equal(durationSeconds('Elapsed', input), want, `'${input}'`);
  for (const input of ['abc', '1:2:3:4', '00:60', '01:61:00', '1-24:00:00', '12', '1-', '-1:00', '1:00.', ' 1:00']) {
    t.throws(() => durationSeconds('Elapsed', input), { message: `Elapsed '${input}' is not a duration like 1-02:03:04` }, `'${input}'`);
  }
});

t.test('times: naive UTC, absent values, explicit zones, bad forms', async (t) => {
  const c = new SacctClock();
  t.ok(c.utc);
  t.equal(c.read('End', '2026-11-21T05:10:54'), Date.UTC(2026, 10, 21, 5, 10, 54) / 1000);
  t.equal(c.read('End', '2024-02-29 23:59:59'), Date.UTC(2024, 1, 29, 23, 59, 59) / 1000);
  t.equal(c.read('End', '1969-12-31T23:59:59'), -1);
  t.equal(c.read('End', '2024-01-01T00:00:00Z'), Date.UTC(2024, 0, 1) / 1000);
  t.equal(c.read('End', '2024-01-01T01:00:00+01:00'), Date.UTC(2024, 0, 1) / 1000);
  t.equal(c.read('End', '2023-12-31T19:00:00-0500'), Date.UTC(2024, 0, 1) / 1000);
  for (const absent of ['Unknown', 'None', '']) t.equal(c.read('Start', absent), null, absent);
  for (const bad of ['2023-02-29T00:00:00', '2024-13-01T00:00:00', '2024-01-01T24:00:00', '2024/01/01T00:00:00', 'yesterday', '2024-01-01', '2024-01-01T00:00:0x']) {
    t.throws(() => c.read('Submit', bad), { name: 'BadInput', message: `Submit '${bad}' is not a time like 2024-01-01T00:00:00` }, bad);
  }
  t.equal(c.iso('2024-01-01T00:00:00', 1704067200), '2024-01-01T00:00:00Z');
  t.equal(c.iso('2024-01-01 00:00:00', 1704067200), '2024-01-01T00:00:00Z');
});

t.test('times in a zone (--tz): offsets, DST gaps and repeats, half-hour changes', async (t) => {
  t.throws(() => new SacctClock('Mars/Olympus_Mons'), UsageError);
  const at = (zone: string, local: string): string => {
    const c = new SacctClock(zone);
    return new Date((c.read('End', local) as number) * 1000).toISOString();
  };
  const cases: Array<[string, string, string]> = [
    ['UTC', '2024-07-01T12:00:00', '2024-07-01T12:00:00.000Z'],
    ['Europe/Berlin', '2024-01-15T12:00:00', '2024-01-15T11:00:00.000Z'],
    ['Europe/Berlin', '2024-07-15T12:00:00', '2024-07-15T10:00:00.000Z'],
    ['America/New_York', '2024-03-10T01:59:59', '2024-03-10T06:59:59.000Z'],
    ['America/New_York', '2024-03-10T03:00:00', '2024-03-10T07:00:00.000Z'],
    // a skipped hour is read with the offset before the change: 02:30 EST = 03:30 EDT
    ['America/New_York', '2024-03-10T02:30:00', '2024-03-10T07:30:00.000Z'],
    // a repeated hour gives the earlier instant (EDT)
    ['America/New_York', '2024-11-03T01:30:00', '2024-11-03T05:30:00.000Z'],
    ['America/New_York', '2024-11-03T02:00:00', '2024-11-03T07:00:00.000Z'],
    ['Asia/Kolkata', '2024-01-01T05:30:00', '2024-01-01T00:00:00.000Z'],
    // Lord Howe moves its clocks by 30 minutes, at 02:00 local (15:30 UTC the day before)
    ['Australia/Lord_Howe', '2024-04-07T01:00:00', '2024-04-06T14:00:00.000Z'],
    ['Australia/Lord_Howe', '2024-04-07T02:10:00', '2024-04-06T15:40:00.000Z'],
  ];
  for (const [zone, local, want] of cases) t.equal(at(zone, local), want, `${local} ${zone}`);
  // one clock reading many times keeps agreeing with a fresh one (its caches are right)
  const c = new SacctClock('Europe/Berlin');
  for (let h = 0; h < 72; h++) {
    const local = new Date(Date.UTC(2024, 2, 30) + h * 3600_000 + 1234_000).toISOString().slice(0, 19);
    t.equal(c.read('End', local), new SacctClock('Europe/Berlin').read('End', local), local);
  }
});

t.test('times: a clock reading times back and forth across hours, days and DST agrees with a fresh one', async (t) => {
  const fresh = (zone: string | undefined, text: string): number | null | string => {
    try {
      return new SacctClock(zone).read('End', text);
    } catch (err) {
      return (err as Error).message;
    }
  };
  const times = [
    '2024-03-30T23:59:59', '2024-03-31T00:00:00', '2024-03-30T23:00:01', '2024-03-31 00:59:59', '2024-03-31T01:59:59',
    '2024-03-31T02:00:00', '2024-03-31T02:30:00', '2024-03-31T03:00:00', '2024-03-31T01:00:00', '2024-03-31T03:59:59',
    '2024-10-27T01:59:59', '2024-10-27T02:00:00', '2024-10-27T02:59:59', '2024-10-27T03:00:00', '2024-10-27T02:30:00',
    '2024-10-27T02:60:00', '2024-10-27T02:00:60', '2024-10-27T02:0x:00', '2024-10-27T02-00:00', '2024-10-27T02:30:00',
    '2024-10-27 02:30:00', '2024-10-27T02:30', '2024-02-29T23:59:59', '2024-03-01T00:00:00', '2024-02-29T23:00:00',
    '2024-11-03T01:30:00', '2024-11-03T02:00:00', '2024-11-03T01:00:00', '2024-03-10T02:30:00', '2024-03-10T03:30:00',
  ];
  for (const zone of [undefined, 'Europe/Berlin', 'America/New_York']) {
    const c = new SacctClock(zone);
    for (const text of times) {
      let got: number | null | string;
      try {
        got = c.read('End', text);
      } catch (err) {
        got = (err as Error).message;
      }
      t.equal(got, fresh(zone, text), `${text} ${zone ?? 'UTC'}`);
    }
  }
});

t.test('job ids: the hand-read forms and the rest agree with the grammar of JobID', async (t) => {
  const GRAMMAR = /^\d+(?:_(?:\d+|\[[0-9,%-]+\]))?(?:\+\d+)?$/;
  const given = ['8', '0', '7_3', '9_[1-3,5%2]', '123+1', '7_3+0', '', '_', '7_', '_3', '7__3', '7_3_4', '7.batch', '7_3.0', 'a', '8a', '٣', '7_[', '7_[]', ' 8', '8 '];
  for (const id of given) t.equal(isJobId(id), GRAMMAR.test(id), JSON.stringify(id));
  const r = random(11);
  const alphabet = '0123456789_[],%-+.a ';
  let differ = 0;
  for (let i = 0; i < 20_000; i++) {
    let id = '';
    for (let n = Math.floor(r() * 9); n > 0; n--) id += alphabet[Math.floor(r() * (r() < 0.6 ? 10 : alphabet.length))];
    if (isJobId(id) !== GRAMMAR.test(id)) differ++;
  }
  t.equal(differ, 0, 'random ids');
});

t.test("keys: DBIndex's own digits where jobKey prints the number the same, else jobKey", async (t) => {
  for (const text of ['0', '7', '10', '100', '25502416888', '999999999999999', '00', '07', '0100', '000000000000001']) {
    t.equal(keyOf('c', Number(text), text, '42', 1700000000), jobKey('c', Number(text), '42', 1700000000), text);
  }
  t.equal(keyOf('c', null, undefined, '42', 1700000000), 'c/id/42/1700000000');
  t.equal(keyOf('c', null, '', '42', null), 'c/id/42/unknown');
});

t.test('state: the base word; failed as sb(7) says', async (t) => {
  t.equal(baseState('CANCELLED by 20002'), 'CANCELLED');
  t.equal(baseState('OUT_OF_MEMORY'), 'OUT_OF_MEMORY');
  t.equal(baseState('PENDING'), 'PENDING');
  t.throws(() => baseState('cancelled'), { message: "State 'cancelled' is not a job state" });
  t.throws(() => baseState(''), { message: "State '' is not a job state" });
  // an empty State is bad on the first row as on any other (the reader remembers the last one)
  for (const rows of [[{ ...JOB, State: '' }], [JOB, { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9', State: '' }]]) {
    const r = parse(text(rows));
    t.same(r.bad, [`${rows.length}: State '' is not a job state`], `empty State on row ${rows.length}`);
  }
  const failed: Array<[string, boolean]> = [
    ['COMPLETED', false], ['FAILED', true], ['CANCELLED by 1002', false], ['TIMEOUT', true],
    ['OUT_OF_MEMORY', true], ['NODE_FAIL', true], ['PREEMPTED', true], ['BOOT_FAIL', false],
    ['DEADLINE', false], ['REQUEUED', false],
  ];
  for (const [state, want] of failed) {
    const j = one([{ ...JOB, State: state }]);
    t.equal(j.state, state.split(' ')[0], state);
    t.equal(j.failed, want, `${state} failed=${want}`);
  }
});

t.test('field names: header lines, --fields, what is missing', async (t) => {
  t.same(headerNames('JobID|User|State|', '|'), ['JobID', 'User', 'State']);
  t.same(headerNames('jobid%20|user|state', '|'), ['JobID', 'User', 'State']);
  t.equal(headerNames('8|sbalice|COMPLETED|', '|'), undefined);
  t.equal(headerNames('User|State', '|'), undefined, 'a header names the job');
  t.equal(sacctFieldName('allocCpus'), 'AllocCPUS');
  t.equal(sacctFieldName('NoSuchField'), undefined);
  t.same(missingFields([...SB_SACCT_FIELDS]), []);
  t.same(missingFields(['JobIDRaw', 'State', 'End', 'User', 'Elapsed']), []);
  t.same(missingFields(['JobID', 'User']), ['State', 'End', 'ElapsedRaw (or Elapsed)']);
  t.same(missingFields(['State', 'End', 'User', 'ElapsedRaw']), ['JobID (or JobIDRaw)']);
  t.equal(unescapeDelimiter('\\x1f'), '\x1f');
  t.equal(unescapeDelimiter('\\t'), '\t');
  t.equal(unescapeDelimiter('||'), '||');
});

t.test('a job record: every field from a real 22.05 job row and its steps', async (t) => {
  const j = one([
    JOB,
    stepOf(JOB, 'batch', '3948544'),
    stepOf(JOB, 'extern', '110592', { AllocTRES: 'billing=2,cpu=2,mem=1024M,node=1' }),
    stepOf(JOB, '0', '0'),
    stepOf(JOB, '1', '168259584'),
    stepOf(JOB, '2', '409600', { State: 'CANCELLED', ExitCode: '0:11' }),
  ]);
  t.same(j, {
    kind: 'job',
    cluster: 'sbtest',
    key: 'sbtest/db/16',
    job_id: '8',
    job_id_raw: '8',
    db_index: 16,
    user: 'sbalice',
    uid: 1001,
    account: 'physics',
    partition: 'debug',
    qos: 'normal',
    state: 'COMPLETED',
    exit_code: '0:0',
    failed: false,
    submit: '2026-11-21T05:10:42Z',
    start: '2026-11-21T05:10:46Z',
    end: '2026-11-21T05:10:54Z',
    elapsed_s: 8,
    timelimit_s: null,
    cpus: 2,
    nodes: 1,
    gpus: 0,
    req_mem_bytes: GiB,
    max_rss_bytes: 168259584,
    steps: 5,
  });
  t.same(Object.keys(j), ['kind', 'cluster', 'key', 'job_id', 'job_id_raw', 'db_index', 'user', 'uid', 'account', 'partition', 'qos', 'state', 'exit_code', 'failed', 'submit', 'start', 'end', 'elapsed_s', 'timelimit_s', 'cpus', 'nodes', 'gpus', 'req_mem_bytes', 'max_rss_bytes', 'steps'], 'fields in JobRecord order, kind first');
});

t.test('jobRecord: a row\'s fields → its job record; absent fields; the first bad field named', async (t) => {
  const clock = new SacctClock();
  const j = jobRecord(JOB, 'sbtest', 'COMPLETED', clock) as JobRecord;
  t.same([j.key, j.cpus, j.req_mem_bytes, j.max_rss_bytes, j.steps], ['sbtest/db/16', 2, GiB, null, 0], 'a job row alone: no steps yet');
  t.same(Object.keys(j), JOB_FIELDS, 'fields in JOB_FIELDS order');
  t.equal(jobRecord({ ...JOB, End: 'Unknown' }, 'sbtest', 'COMPLETED', clock), undefined, 'no End yet');
  const least = jobRecord({ JobID: '9', User: 'bob', End: '2024-01-01T00:00:00', Elapsed: '01:00' }, 'h', 'FAILED', clock) as JobRecord;
  t.same(least, {
    kind: 'job', cluster: 'h', key: 'h/id/9/unknown', job_id: '9', job_id_raw: '9', db_index: null, user: 'bob', uid: null,
    account: '', partition: '', qos: '', state: 'FAILED', exit_code: '', failed: true, submit: null, start: null,
    end: '2024-01-01T00:00:00Z', elapsed_s: 60, timelimit_s: null, cpus: 0, nodes: 0, gpus: 0, req_mem_bytes: 0, max_rss_bytes: null, steps: 0,
  }, 'fields not in the input: empty strings, zeros, nulls');
  t.same([jobRecord({ JobID: '9', User: 'b', End: '2024-01-01T00:00:00', ElapsedRaw: '1', NCPUS: '3', TimelimitRaw: '90' }, 'h', 'COMPLETED', clock)?.cpus, jobRecord({ JobID: '9', User: 'b', End: '2024-01-01T00:00:00', ElapsedRaw: '1', TimelimitRaw: '90' }, 'h', 'COMPLETED', clock)?.timelimit_s], [3, 5400], 'NCPUS; TimelimitRaw in minutes');
  // several bad fields: the first in the order End, ids, User, Elapsed, counts, DBIndex, UID, times, Timelimit, AllocTRES, ReqMem, MaxRSS
  const bad = { ...JOB, AllocCPUS: 'x', UID: 'y', Submit: 'z', ReqMem: '1Q', MaxRSS: 'm' };
  const reasons: string[] = [];
  for (const fix of [{}, { AllocCPUS: '1' }, { UID: '1' }, { Submit: '' }, { ReqMem: '' }, { MaxRSS: '' }]) {
    Object.assign(bad, fix);
    try {
      jobRecord(bad, 'sbtest', 'COMPLETED', clock);
      reasons.push('ok');
    } catch (err) {
      reasons.push((err as Error).message);
    }
  }
  t.same(reasons, ["AllocCPUS 'x' is not a number", "UID 'y' is not a number", "Submit 'z' is not a time like 2024-01-01T00:00:00", "ReqMem '1Q' has an unknown unit", "MaxRSS 'm' is not a size", 'ok']);
  t.throws(() => jobRecord({ ...JOB, NNodes: '' }, 'sbtest', 'COMPLETED', clock), { name: 'BadInput', message: "NNodes '' is not a number" });
  for (const user of ['al\u001bice', 'al\u0000ice', 'b\ufffdb', 'x\u009by', '\u001f', 'a\u007f', '\u0080b', 'c\u009f']) {
    t.throws(() => jobRecord({ ...JOB, User: user }, 'sbtest', 'COMPLETED', clock), { name: 'BadInput', message: /is not a user name \(control characters or invalid UTF-8\)/ }, JSON.stringify(user));
  }
  for (const user of ['a b', '~', 'a\u00a0b', 'zoë', '\ufffc', '\ufffe', '\u{1f600}']) t.equal(jobRecord({ ...JOB, User: user }, 'sbtest', 'COMPLETED', clock)?.user, user, JSON.stringify(user));
  t.throws(() => jobRecord({ ...JOB, AllocCPUS: '99999999999' }, 'sbtest', 'COMPLETED', clock), { message: /'cpus' 99999999999 is above its limit 16777216: its totals could not stay exact/ });
  t.throws(() => jobRecord({ ...JOB, AllocCPUS: '16777216', ElapsedRaw: '99999999' }, 'sbtest', 'COMPLETED', clock), { message: /cpus × elapsed_s .* is above its limit 2\^47/ });
  // the serializer: JSON whatever the values hold
  const odd = jobRecord({ ...JOB, User: 'a"b\\c', Account: 'zoë \ud800\u0007\n', ExitCode: '</script>' }, 'sbtest', 'COMPLETED', clock) as JobRecord;
  const line = jobLine(odd);
  t.notMatch(line, /\n/, 'one line');
  t.same(JSON.parse(line), odd, 'reads back as the record');
});

t.test('folding: MaxRSS is the max over steps in any unit; steps counted; no steps → null', async (t) => {
  t.equal(one([JOB, stepOf(JOB, 'batch', '3388K'), stepOf(JOB, 'extern', '3.50M'), stepOf(JOB, '0', '3670015')]).max_rss_bytes, 3.5 * MiB, '3388K < 3670015 < 3.50M');
  t.equal(one([JOB, stepOf(JOB, 'batch', ''), stepOf(JOB, 'extern', '')]).max_rss_bytes, null, 'empty MaxRSS everywhere');
  t.equal(one([JOB, stepOf(JOB, 'batch', '0')]).max_rss_bytes, 0, 'a measured 0 is 0');
  t.equal(one([JOB, stepOf(JOB, 'batch', '16?')]).max_rss_bytes, null);
  const alone = one([JOB]);
  t.equal(alone.steps, 0);
  t.equal(alone.max_rss_bytes, null, 'sacct -X: no steps, no peak');
});

t.test('job fields: ExitCode raw, Timelimit, Elapsed, absent times, ReqMem forms, GPUs', async (t) => {
  t.equal(one([{ ...JOB, State: 'OUT_OF_MEMORY', ExitCode: '0:125' }]).exit_code, '0:125');
  t.equal(one([{ ...JOB, Timelimit: '1-12:00:00' }]).timelimit_s, 129600);
  t.equal(one([{ ...JOB, Timelimit: 'Partition_Limit' }]).timelimit_s, null);
  const never = one([{ ...JOB, State: 'CANCELLED by 1001', Start: 'None', ElapsedRaw: '0', AllocTRES: '', Timelimit: 'Partition_Limit' }]);
  t.same([never.start, never.elapsed_s, never.gpus, never.state], [null, 0, 0, 'CANCELLED'], 'a job cancelled before it started');
  t.equal(one([{ ...JOB, ReqMem: '4000Mc', AllocCPUS: '4' }]).req_mem_bytes, 16000 * MiB);
  t.equal(one([{ ...JOB, ReqMem: '64Gn', NNodes: '2' }]).req_mem_bytes, 128 * GiB);
  t.equal(one([{ ...JOB, ReqMem: '16?' }]).req_mem_bytes, 0, 'unknown ReqMem counts as 0');
  t.equal(one([{ ...JOB, AllocTRES: 'billing=1,cpu=1,gres/gpu:a100=2,gres/gpu=2,mem=256M,node=1' }]).gpus, 2);
  const elapsed = parse(['JobID|User|State|End|Elapsed|AllocCPUS', '9|bob|COMPLETED|2024-01-01T00:00:00|1-02:03:04|4'], { cluster: () => 'h' });
  t.same([elapsed.jobs[0]?.elapsed_s, elapsed.jobs[0]?.submit, elapsed.jobs[0]?.db_index, elapsed.jobs[0]?.key], [93784, null, null, 'h/id/9/unknown']);
  const ms = parse(['JobID|User|State|End|ElapsedRaw|TimelimitRaw|NCPUS', '9|bob|COMPLETED|2024-01-01T00:00:00|60|90|3'], { cluster: () => 'h' });
  t.same([ms.jobs[0]?.timelimit_s, ms.jobs[0]?.cpus], [5400, 3], 'TimelimitRaw is minutes; NCPUS is AllocCPUS');
});

t.test('ids and keys: arrays, het jobs, steps, DBIndex or JobIDRaw+Submit, recycled ids', async (t) => {
  const task = { ...JOB, DBIndex: '7', JobID: '7_0', JobIDRaw: '13' };
  const a = parse(text([task, stepOf(task, 'batch', '401408'), stepOf(task, 'extern', '0')]));
  t.same(a.jobs.map((j) => [j.job_id, j.job_id_raw, j.key, j.steps]), [['7_0', '13', 'sbtest/db/7', 2]], 'array task: steps by JobIDRaw 13.batch');
  const het0 = { ...JOB, DBIndex: '40', JobID: '123+0', JobIDRaw: '123' };
  const het1 = { ...JOB, DBIndex: '41', JobID: '123+1', JobIDRaw: '124' };
  const het = parse(text([het0, stepOf(het0, '0', '100'), het1, stepOf(het1, '0', '200')]));
  t.same(het.jobs.map((j) => [j.job_id, j.job_id_raw, j.max_rss_bytes]), [['123+0', '123', 100], ['123+1', '124', 200]], 'each het component is its own record');
  const noDb = { ...JOB, DBIndex: '' };
  const first = one([noDb]);
  t.equal(first.key, `sbtest/id/8/${Date.UTC(2026, 10, 21, 5, 10, 42) / 1000}`);
  const recycled = parse(text([noDb, stepOf(noDb, 'batch', '1'), { ...noDb, Submit: '2027-03-01T00:00:00', End: '2027-03-01T01:00:00' }, stepOf(noDb, 'batch', '2')]));
  t.equal(recycled.jobs.length, 2);
  t.not(recycled.jobs[0]?.key, recycled.jobs[1]?.key, 'a recycled job id with another Submit is another record');
  t.same(recycled.jobs.map((j) => j.max_rss_bytes), [1, 2]);
  const otherCluster = parse(text([{ ...JOB, Cluster: 'anvil' }, JOB]));
  t.same(otherCluster.jobs.map((j) => j.key), ['anvil/db/16', 'sbtest/db/16'], 'the cluster is part of the key');
  const bad = parse(text([{ ...JOB, JobID: '8x', JobIDRaw: '' }, { ...JOB, JobIDRaw: '8a' }]));
  t.same(bad.bad, ["1: JobID '8x' is not a job id", "2: JobIDRaw '8a' is not a job id"]);
});

t.test('requeue with --duplicates: two records of one job id, each with its own steps', async (t) => {
  const first = { ...JOB, DBIndex: '26', JobID: '18', JobIDRaw: '18', State: 'REQUEUED', ElapsedRaw: '3' };
  const second = { ...first, DBIndex: '29', State: 'COMPLETED', Submit: '2026-11-21T05:10:58', ElapsedRaw: '2' };
  const r = parse(text([first, stepOf(first, 'batch', '405504'), stepOf(first, 'extern', '110592'), second, stepOf(second, 'batch', '5'), stepOf(second, 'extern', '', { ExitCode: '', State: 'CANCELLED' })]));
  t.same(r.jobs.map((j) => [j.key, j.state, j.elapsed_s, j.steps, j.max_rss_bytes]), [
    ['sbtest/db/26', 'REQUEUED', 3, 2, 405504],
    ['sbtest/db/29', 'COMPLETED', 2, 2, 5],
  ]);
  t.same([r.bad, r.warn], [[], []]);
});

t.test('unfinished jobs: the placeholder row, RUNNING, PENDING arrays are skipped, not bad', async (t) => {
  const placeholder = { ...JOB, DBIndex: '30', JobID: '20', JobIDRaw: '20', State: 'PENDING', UID: '0', AllocCPUS: '0', ReqMem: '16?', Start: 'Unknown', End: 'Unknown', ElapsedRaw: '0', AllocTRES: '' };
  const running = { ...JOB, DBIndex: '31', JobID: '21', JobIDRaw: '21', State: 'RUNNING', End: 'Unknown' };
  const pendingArray = { ...JOB, DBIndex: '32', JobID: '9_[1-3]', JobIDRaw: '9', State: 'PENDING', Start: 'Unknown', End: 'Unknown' };
  const cancelledArray = { ...JOB, DBIndex: '33', JobID: '9_[4-5]', JobIDRaw: '9', State: 'CANCELLED by 1001', Start: 'None' };
  const r = parse(text([placeholder, running, stepOf(running, 'batch', '123'), stepOf(running, 'extern', '0'), pendingArray, cancelledArray, JOB]));
  t.same(r.jobs.map((j) => j.job_id), ['9_[4-5]', '8']);
  t.same([r.bad, r.warn], [[], []]);
  t.same(r.counts, { cut: 0, rows: 7, jobs: 2, steps: 0, skipped: 5, orphans: 0, passed: 0 });
  const noEnd = parse(text([{ ...JOB, End: 'Unknown' }, stepOf(JOB, 'batch', '1')]));
  t.same([noEnd.jobs.length, noEnd.bad, noEnd.warn, noEnd.counts.skipped], [0, [], ['1: COMPLETED job 8 has no End yet; skipped'], 2]);
});

t.test('steps without their job row are reported and counted, not fatal', async (t) => {
  const other = { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9' };
  const r = parse(text([stepOf(JOB, 'batch', '5'), other, stepOf(JOB, 'extern', '7'), stepOf(other, 'batch', '3'), stepOf({ ...other, DBIndex: '99' }, '0', '4')]));
  t.same(r.jobs.map((j) => [j.job_id, j.steps, j.max_rss_bytes]), [['9', 1, 3]]);
  t.same(r.warn, [
    "1: step 8.batch does not follow its job's row; not counted",
    "3: step 8.extern does not follow its job's row; not counted",
    "5: step 9.0 does not follow its job's row; not counted",
  ], 'a step of another DBIndex (a recycled id) is not this job\'s');
  t.same([r.bad, r.counts.orphans, r.counts.steps], [[], 3, 1]);
});

t.test('bad rows: a bad step keeps its job; a bad job row drops only that job and its steps', async (t) => {
  const next = { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9' };
  const lines = text([
    JOB,
    stepOf(JOB, 'batch', 'lots'),
    stepOf(JOB, 'extern', '110592'),
    { ...next, ElapsedRaw: 'abc' },
    stepOf(next, 'batch', '1'),
    { ...next, DBIndex: '18', JobID: '10', JobIDRaw: '10', AllocCPUS: 'x' },
    { ...next, DBIndex: '19', JobID: '11', JobIDRaw: '11', Submit: 'yesterday' },
    { ...next, DBIndex: '20', JobID: '12', JobIDRaw: '12' },
  ]);
  lines.splice(5, 0, '10|cut|short');
  lines.splice(6, 0, '10|10|10|sbtest|bob|1|physics|debug|normal|COMPLETED');
  const r = parse(lines);
  t.same(r.jobs.map((j) => [j.job_id, j.steps, j.max_rss_bytes]), [['8', 1, 110592], ['12', 0, null]]);
  t.same(r.bad, [
    "2: MaxRSS 'lots' is not a size",
    "4: ElapsedRaw 'abc' is not a number",
    '6: expected 21 fields, found 3',
    '7: expected 21 fields, found 10',
    "8: AllocCPUS 'x' is not a number",
    "9: Submit 'yesterday' is not a time like 2024-01-01T00:00:00",
  ]);
  t.same(r.warn, [], 'steps of a dropped job are dropped with it, not orphans');
  t.same(r.counts, { cut: 0, rows: 10, jobs: 2, steps: 1, skipped: 1, orphans: 0, passed: 0 });
  const user = parse(text([{ ...JOB, User: '' }]));
  t.same(user.bad, ["1: User is empty in job 8's row"]);
});

t.test('text: header line, -p and -P, the unit separator, a repeated header, CRLF-free strings', async (t) => {
  const P = [SB_SACCT_FIELDS.join('|'), ...text([JOB, stepOf(JOB, 'batch', '5')]).map((l) => l.slice(0, -1))];
  const rP = parse(P, {});
  t.same([rP.jobs.length, rP.jobs[0]?.steps, rP.bad], [1, 1, []], '-P with its header');
  const p = [SB_SACCT_FIELDS.join('|') + '|', ...text([JOB]), SB_SACCT_FIELDS.join('|') + '|', ...text([{ ...JOB, DBIndex: '17' }])];
  t.same(parse(p, {}).jobs.map((j) => j.db_index), [16, 17], '-p with its header; a header repeated by cat is skipped');
  const us = text([JOB, stepOf(JOB, 'batch', '5')], '\x1f');
  t.same(parse(us).jobs.map((j) => j.steps), [1], 'the unit separator is found without --delimiter');
  t.same(parse(text([JOB], ';;'), { fields: SB_SACCT_FIELDS, delimiter: ';;' }).jobs.length, 1, 'a several-character delimiter');
  t.throws(() => parse(text([JOB]), {}), { name: 'UsageError', message: /no header line/ });
  t.throws(() => parse(['JobID|User|State', '1|a|COMPLETED'], {}), { message: /lack End, ElapsedRaw \(or Elapsed\)/ });
  t.throws(() => parse(['JobID|User'], { fields: ['JobID', 'User'] }), { name: 'UsageError', message: /^--fields lack State, End, ElapsedRaw/ });
  t.throws(() => parse(['JobID|User|State|End|ElapsedRaw'], { fields: ['JobID', 'State', 'User', 'End', 'ElapsedRaw'] }), { message: /header line names JobID,User,State,End,ElapsedRaw, but --fields says/ });
  const quoted = one([{ ...JOB, Account: 'we "quote"\\', User: 'zoë' }]);
  t.same([quoted.account, quoted.user], ['we "quote"\\', 'zoë'], 'values JSON must escape are escaped');
  const noCluster = ['JobID|User|State|End|ElapsedRaw', '9|bob|COMPLETED|2024-01-01T00:00:00|60'];
  t.throws(() => parse(noCluster, {}), { message: /give --cluster/ });
  t.equal(parse(noCluster, { cluster: () => 'forge' }).jobs[0]?.cluster, 'forge');
  t.equal(parse(text([JOB]), { fields: SB_SACCT_FIELDS, cluster: () => 'forge' }).jobs[0]?.cluster, 'sbtest', 'a Cluster field wins');
  const badCluster = parse(text([{ ...JOB, Cluster: 'bad name' }, stepOf({ ...JOB, Cluster: 'bad name' }, 'batch', '5')]));
  t.same([badCluster.bad, badCluster.warn, badCluster.counts.skipped], [["1: Cluster 'bad name' is not a cluster name"], [], 1], 'its steps go with it, not orphans');
});

const rowRec = (f: Record<string, string>, cluster = 'hammer'): string =>
  JSON.stringify({ kind: 'row', cluster, chunk: '2026-11-21T05:00:00Z/2026-11-21T05:59:59Z', f });
const done = '{"kind":"chunk-done","cluster":"hammer","start":"2026-11-21T05:00:00Z","end":"2026-11-21T05:59:59Z","rows":3,"settled":true}';

t.test('row NDJSON: jobs folded, other records passed through after the jobs before them', async (t) => {
  const next = { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9' };
  const r = parse([rowRec(JOB), rowRec(stepOf(JOB, 'batch', '77')), done, rowRec(next), '{"kind":"chunk-done","x":1}', '{"no":"kind"}'], {});
  t.same(r.lines.map((l) => (JSON.parse(l) as { kind?: string }).kind ?? 'none'), ['job', 'chunk-done', 'job', 'chunk-done', 'none']);
  t.equal(r.lines[1], done, 'passed through byte for byte');
  t.same([r.jobs[0]?.cluster, r.jobs[0]?.key, r.jobs[0]?.max_rss_bytes], ['hammer', 'hammer/db/16', 77], "the record's cluster is the job's");
  const bad = parse([rowRec(JOB), '{"kind":"row",', rowRec(stepOf(JOB, 'batch', '5')), '[1]', '{"kind":"row"}', rowRec({ ...JOB, ElapsedRaw: 7 as unknown as string }), JSON.stringify({ kind: 'row', cluster: 'no way', f: JOB }), rowRec({ JobID: '5' })], {});
  t.same(bad.jobs.map((j) => j.steps), [1], 'a broken line between a job and its step loses nothing');
  t.match(bad.bad, [/^2: not JSON/, '4: not a JSON object', "5: 'f' is missing or not an object", "6: field 'ElapsedRaw' is not a string", `7: 'cluster' "no way" is not a cluster name`, '8: row has no State']);
  const esc = parse([rowRec({ ...JOB, Account: 'a\\b "c"\u0001' })], {});
  t.equal(esc.jobs[0]?.account, 'a\\b "c"\u0001');
  const noCluster = parse([JSON.stringify({ kind: 'row', f: JOB })], {});
  t.equal(noCluster.jobs[0]?.cluster, 'sbtest', 'a row without cluster takes its Cluster field');
});

// sb-sacct's batched form: the field list once, each line raw (without its final delimiter,
// DEL between fields).
const rowsRec = (rows: Array<Record<Field, string> | string | number>, extra: Record<string, unknown> = {}, d = '\x7f'): string =>
  JSON.stringify({ kind: 'rows', cluster: 'hammer', chunk: '2026-11-21T05:00:00Z/2026-11-21T05:59:59Z', fields: SB_SACCT_FIELDS, delimiter: d,
    lines: rows.map((r) => (typeof r === 'object' ? SB_SACCT_FIELDS.map((f) => r[f]).join(d) : r)), ...extra });

t.test('rows NDJSON: the same jobs as row NDJSON and as text; bad lines reported by record line and line in it', async (t) => {
  const next = { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9' };
  const rows = [JOB, stepOf(JOB, 'batch', '77'), stepOf(JOB, 'extern', '1M'), next, stepOf(next, '0', '5')];
  const viaRows = parse([rowsRec(rows.slice(0, 2)), rowsRec(rows.slice(2)), done], {});
  const viaRow = parse([...rows.map((r) => rowRec(r)), done], {});
  t.same(viaRows.lines, viaRow.lines, 'the same output as one row record a line');
  t.same(viaRows.counts, viaRow.counts);
  t.same([viaRows.jobs.length, viaRows.jobs[0]?.max_rss_bytes, viaRows.jobs[0]?.steps, viaRows.jobs[0]?.cluster], [2, 1 * MiB, 2, 'hammer'], "steps fold across records; the record's cluster is the job's");
  const trailing = parse([rowsRec(text(rows, '\x7f'))], {});
  t.same(trailing.lines, viaRow.lines.slice(0, 2), 'lines may keep their final delimiter');
  const pipe = parse([rowsRec(rows, {}, '|'), rowsRec(rows, {}, '\x1f')], {});
  t.same(pipe.lines, [...viaRow.lines.slice(0, 2), ...viaRow.lines.slice(0, 2)], 'any delimiter the record names');
  const bad = parse([
    rowsRec([JOB, 'a\x7fb', stepOf(JOB, 'batch', '7'), { ...next, ElapsedRaw: 'abc' }, stepOf(next, '0', '5'), 42, { ...next, DBIndex: '18', JobID: '10', JobIDRaw: '10' }]),
    '{"kind":"rows","lines":[]}',
    rowsRec([JOB], { fields: ['JobID'] }),
    rowsRec([JOB], { cluster: 'no way' }),
    rowsRec([JOB], { lines: 'x' }),
  ], {});
  t.same(bad.jobs.map((j) => [j.job_id, j.steps]), [['8', 1], ['10', 0]], 'a bad line loses nothing around it; a bad job row only its own steps');
  t.same(bad.bad, [
    '1: rows line 2: expected 21 fields, found 2',
    "1: rows line 4: ElapsedRaw 'abc' is not a number",
    '1: rows line 6: not a string',
    "2: 'fields' is missing or not a list of field names",
    "3: 'fields' lack State, End, User, ElapsedRaw (or Elapsed) (sb-parse needs JobID or JobIDRaw, State, End, User, and ElapsedRaw or Elapsed)",
    `4: 'cluster' "no way" is not a cluster name`,
    "5: 'lines' is missing or not a list",
  ]);
  t.same(bad.warn, [], "the bad job row's step goes with it, unreported");
  const orphan = parse([rowsRec([stepOf(JOB, 'batch', '7')])], {});
  t.same(orphan.warn, ["1: rows line 1: step 8.batch does not follow its job's row; not counted"]);
  const noCluster = parse([rowsRec([{ ...JOB, Cluster: 'forge' }], { cluster: undefined })], {});
  t.equal(noCluster.jobs[0]?.cluster, 'forge', 'a record without cluster takes each line\'s Cluster field');
});

t.test('job lines are JSON with every field of JobRecord, in order, of its type', async (t) => {
  const types: Record<string, string> = {
    kind: 'string', cluster: 'string', key: 'string', job_id: 'string', job_id_raw: 'string', db_index: 'number|null',
    user: 'string', uid: 'number|null', account: 'string', partition: 'string', qos: 'string', state: 'string',
    exit_code: 'string', failed: 'boolean', submit: 'string|null', start: 'string|null', end: 'string', elapsed_s: 'number',
    timelimit_s: 'number|null', cpus: 'number', nodes: 'number', gpus: 'number', req_mem_bytes: 'number',
    max_rss_bytes: 'number|null', steps: 'number',
  };
  const odd = { ...JOB, DBIndex: '', UID: '', User: 'a"b\\c', Account: 'zoë\u0007', Start: 'None', ReqMem: '007M', ElapsedRaw: '007', AllocCPUS: '0' };
  const r = parse(text([JOB, stepOf(JOB, 'batch', '5'), odd, { ...JOB, DBIndex: '0042', MaxRSS: '12G' }]));
  t.equal(r.bad.length, 0, r.bad.join('; '));
  t.equal(r.jobs.length, 3);
  for (const line of r.lines) {
    const j = JSON.parse(line) as Record<string, unknown>;
    t.same(Object.keys(j), JOB_FIELDS, 'fields in order');
    for (const [k, v] of Object.entries(j)) t.ok((types[k] as string).split('|').includes(v === null ? 'null' : typeof v), `${k}: ${JSON.stringify(v)}`);
  }
  t.same([r.jobs[1]?.user, r.jobs[1]?.account, r.jobs[1]?.elapsed_s, r.jobs[1]?.req_mem_bytes, r.jobs[1]?.db_index], ['a"b\\c', 'zoë\u0007', 7, 7 * MiB, null]);
  t.same([r.jobs[2]?.db_index, r.jobs[2]?.key, r.jobs[2]?.max_rss_bytes], [42, 'sbtest/db/42', 12 * GiB], 'numbers written with leading zeros are read as numbers');
});

// Real sacct 22.05 output (test/fixtures/real, captured by capture.sh from test/slurm/workload.sh).
const REAL = path.join(ROOT, 'test', 'fixtures', 'real');
const realText = (name: string): string[] => readFileSync(path.join(REAL, name), 'utf8').split('\n').filter((l) => l !== '');

t.test('real sacct 22.05: every job of the workload, with its state, GPUs, memory and steps', { skip: !existsSync(path.join(REAL, 'sacct-noconvert.txt')) && 'no real fixtures' }, async (t) => {
  const r = parse(realText('sacct-noconvert.txt'));
  t.same([r.bad, r.warn], [[], []]);
  t.same(r.counts, { cut: 0, rows: 63, jobs: 20, steps: 43, skipped: 0, orphans: 0, passed: 0 });
  const byDb = new Map(r.jobs.map((j) => [j.db_index, j]));
  const expect: Array<[number, string, string, string, boolean, number, number, number | null, number]> = [
    // db, job_id, job_id_raw, state, failed, gpus, req_mem_bytes, max_rss_bytes, steps
    [1, '1', '1', 'TIMEOUT', true, 0, 256 * MiB, 397312, 2],
    [5, '5', '5', 'FAILED', true, 0, 256 * MiB, 401408, 2],
    [6, '6', '6', 'OUT_OF_MEMORY', true, 0, 64 * MiB, 110592, 2],
    [3, '3', '3', 'COMPLETED', false, 0, 600 * MiB, 397312, 2],
    [7, '7_0', '13', 'COMPLETED', false, 0, 256 * MiB, 401408, 2],
    [24, '7_3', '7', 'FAILED', true, 0, 256 * MiB, 401408, 2],
    [16, '8', '8', 'COMPLETED', false, 0, 1024 * MiB, 168259584, 6],
    [17, '9', '9', 'COMPLETED', false, 1, 256 * MiB, 3956736, 3],
    [18, '10', '10', 'COMPLETED', false, 2, 256 * MiB, 409600, 2],
    [19, '11', '11', 'COMPLETED', false, 1, 512 * MiB, 401408, 2],
    [23, '15', '15', 'CANCELLED', false, 0, 256 * MiB, 405504, 2],
    [25, '17', '17', 'CANCELLED', false, 0, 256 * MiB, null, 0],
    [26, '18', '18', 'REQUEUED', false, 0, 256 * MiB, 405504, 2],
    [29, '18', '18', 'COMPLETED', false, 0, 256 * MiB, 405504, 2],
  ];
  for (const [db, id, raw, state, failed, gpus, mem, rss, steps] of expect) {
    const j = byDb.get(db);
    t.same(j && [j.job_id, j.job_id_raw, j.state, j.failed, j.gpus, j.req_mem_bytes, j.max_rss_bytes, j.steps], [id, raw, state, failed, gpus, mem, rss, steps], `DBIndex ${db}`);
  }
  const never = byDb.get(25);
  t.same(never && [never.start, never.elapsed_s, never.timelimit_s], [null, 0, null], 'the job cancelled while pending');
  t.equal(byDb.get(22)?.timelimit_s, 129600);
  // the states the workload meant each job to end in
  const planned = readFileSync(path.join(REAL, 'workload.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
  for (const [label, id, user, account, want] of planned) {
    const got = r.jobs.filter((j) => j.job_id === id || j.job_id.startsWith(`${id}_`));
    t.ok(got.length > 0, `${label}: job ${id} is there`);
    t.ok(got.every((j) => j.user === user && j.account === account), `${label}: ${user}/${account}`);
    t.same([...new Set(got.map((j) => j.state))].sort(), (want as string).split(/[+/]/).sort(), `${label}: ${want}`);
  }
});

t.test('real sacct 22.05: per-user sums agree with the awk truth; convert, -P and -X agree', { skip: !existsSync(path.join(REAL, 'truth-per-user.tsv')) && 'no real fixtures' }, async (t) => {
  const sums = (jobs: JobRecord[]): string[] => {
    const by = new Map<string, bigint[]>();
    for (const j of jobs) {
      const s = by.get(j.user) ?? Array.from({ length: 9 }, () => 0n);
      const e = BigInt(j.elapsed_s);
      const add = [1n, j.failed ? 1n : 0n, j.gpus > 0 ? 1n : 0n, BigInt(j.cpus) * e, e, BigInt(j.gpus) * e, j.gpus > 0 ? e : 0n, BigInt(j.req_mem_bytes) * e, BigInt(j.max_rss_bytes ?? 0) * e];
      by.set(j.user, s.map((v, i) => v + (add[i] as bigint)));
    }
    return [...by].sort().map(([u, v]) => [u, ...v].join('\t'));
  };
  const truth = readFileSync(path.join(REAL, 'truth-per-user.tsv'), 'utf8').trim().split('\n').slice(1);
  const noconvert = parse(realText('sacct-noconvert.txt')).jobs;
  t.same(sums(noconvert), truth);
  const convert = parse(realText('sacct-convert.txt'));
  t.same(convert.bad, []);
  t.same(convert.jobs.map((j) => [j.key, j.max_rss_bytes, j.req_mem_bytes]), noconvert.map((j) => [j.key, j.max_rss_bytes, j.req_mem_bytes]), 'K units (convert) give the bytes --noconvert gives');
  const header = parse(realText('sacct-header-P.txt'), {});
  t.same(header.jobs, noconvert, '-P with a header gives the same jobs');
  const x = parse(realText('sacct-X-noconvert.txt')).jobs;
  t.same(x.map((j) => ({ ...j, max_rss_bytes: null, steps: 0 })), noconvert.map((j) => ({ ...j, max_rss_bytes: null, steps: 0 })), '-X: the same allocations');
});

// The real bin.
const SB = SB_SACCT_FIELDS.join(',');
const jobText = (rows: Array<Record<Field, string>>): string => text(rows).join('\n') + '\n';

t.test('cli: row NDJSON in, jobs and chunk-done out in order', async (t) => {
  const next = { ...JOB, DBIndex: '17', JobID: '9', JobIDRaw: '9' };
  const input = [rowRec(JOB), rowRec(stepOf(JOB, 'batch', '5')), done, rowRec(next), rowRec(stepOf(next, 'batch', '6'))].join('\n') + '\n';
  const r = await runBin('sb-parse', [], { input: input + done + '\n' });
  t.same([r.status, r.stderr], [0, '']);
  const out = records(r.stdout);
  t.same(out.map((x) => [x['kind'], x['key'] ?? x['rows']]), [['job', 'hammer/db/16'], ['chunk-done', 3], ['job', 'hammer/db/17'], ['chunk-done', 3]]);
  // cut after the second window's rows, before its chunk-done: its last job may lack steps
  const cut = await runBin('sb-parse', ['--strict'], { input });
  t.same(records(cut.stdout).map((x) => [x['kind'], x['key'] ?? x['rows']]), [['job', 'hammer/db/16'], ['chunk-done', 3]], 'the job the cut may have left without steps is not printed');
  t.match(cut.stderr, /^sb-parse: stdin:5: the input ends inside a window: job 9 \(hammer\/db\/17\) may lack steps that come after it, so it is not printed/);
  t.equal(cut.status, 65, 'a bad line under --strict');
});

t.test('cli: rows NDJSON of long lines; a bad line is stdin:N: rows line K', async (t) => {
  const many = Array.from({ length: 3000 }, (_, i) => ({ ...JOB, DBIndex: String(100 + i), JobID: String(100 + i), JobIDRaw: String(100 + i) }));
  const rec = rowsRec([...many.slice(0, 10), 'x', ...many.slice(10)]);
  t.ok(rec.length > 256 * 1024, `one record line of ${rec.length} bytes`);
  const r = await runBin('sb-parse', ['-v'], { input: `${done}\r\n${rec}\n${done}` });
  t.equal(r.status, 0);
  t.match(r.stderr, /^sb-parse: stdin:2: rows line 11: expected 21 fields, found 1\n/);
  t.match(r.stderr, /rows 3001, jobs 3000, steps 0, skipped 0, orphan steps 0, bad 1, passed through 2\n$/);
  const out = records(r.stdout);
  t.same([out.length, out[0]?.['kind'], out[1]?.['job_id'], out[3000]?.['job_id'], out[3001]?.['kind']], [3002, 'chunk-done', '100', '3099', 'chunk-done']);
});

t.test('cli: plain text with a header (-P) and with --fields (-p)', async (t) => {
  const withHeader = `${SB_SACCT_FIELDS.join('|')}\n${text([JOB, stepOf(JOB, 'batch', '3388K')]).map((l) => l.slice(0, -1)).join('\n')}\n`;
  const a = await runBin('sb-parse', [], { input: withHeader });
  t.same([a.status, a.stderr], [0, '']);
  t.same(records(a.stdout).map((j) => [j['key'], j['max_rss_bytes']]), [['sbtest/db/16', 3388 * KiB]]);
  const b = await runBin('sb-parse', ['--fields', SB.toLowerCase(), '-c', 'hammer'], { input: jobText([JOB, stepOf(JOB, 'batch', '1')]) });
  t.same([b.status, b.stderr, records(b.stdout).length], [0, '', 1]);
  const us = await runBin('sb-parse', ['-f', 'sb', '--delimiter', '\\x1f'], { input: text([JOB], '\x1f').join('\n') });
  t.same([us.status, records(us.stdout).length], [0, 1], '--delimiter with an escape');
  const small = await runBin('sb-parse', ['-f', 'JobID,User,State,End,Elapsed', '-c', 'hammer', '--tz', 'Europe/Berlin'], { input: '42|zoe|COMPLETED|2024-07-01T12:00:00|01:00:00\n' });
  t.same(records(small.stdout).map((j) => [j['end'], j['elapsed_s'], j['key']]), [['2024-07-01T10:00:00Z', 3600, 'hammer/id/42/unknown']]);
  const env = await runBin('sb-parse', ['-f', 'JobID,User,State,End,ElapsedRaw'], { input: '42|zoe|COMPLETED|2024-07-01T12:00:00|5\n', env: { SB_CLUSTER: 'forge' } });
  t.equal(records(env.stdout)[0]?.['cluster'], 'forge', 'the cluster from $SB_CLUSTER');
  const none = await runBin('sb-parse', ['-f', 'JobID,User,State,End,ElapsedRaw'], { input: '42|zoe|COMPLETED|2024-07-01T12:00:00|5\n', env: { SB_CLUSTER: '', SB_SCONTROL: '/nonexistent/scontrol' } });
  t.equal(none.status, 1);
  t.match(none.stderr, /cannot find the local cluster's name.*give --cluster NAME or set SB_CLUSTER/);
});

t.test('cli: a bad line in the middle is reported with its line and skipped; --strict; --errors=json; -v', async (t) => {
  const input = jobText([JOB, { ...JOB, DBIndex: '17', ElapsedRaw: 'abc' }, { ...JOB, DBIndex: '18' }]);
  const r = await runBin('sb-parse', ['-f', 'sb'], { input });
  t.equal(r.status, 0);
  t.equal(r.stderr, "sb-parse: stdin:2: ElapsedRaw 'abc' is not a number\n");
  t.same(records(r.stdout).map((j) => j['db_index']), [16, 18]);
  const strict = await runBin('sb-parse', ['-f', 'sb', '--strict'], { input });
  t.same([strict.status, records(strict.stdout).length], [65, 2], 'good jobs still printed under --strict');
  const json = await runBin('sb-parse', ['-f', 'sb', '--errors=json'], { input });
  t.same(JSON.parse(json.stderr), { tool: 'sb-parse', level: 'error', source: 'stdin', line: 2, message: "ElapsedRaw 'abc' is not a number" });
  const v = await runBin('sb-parse', ['-f', 'sb', '-v'], { input: jobText([JOB, stepOf(JOB, 'batch', '1'), { ...JOB, State: 'RUNNING' }]) });
  t.equal(v.stderr, 'sb-parse: rows 3, jobs 1, steps 1, skipped 1, orphan steps 0, bad 0, passed through 0\n');
  const strictOk = await runBin('sb-parse', ['-f', 'sb', '--strict'], { input: jobText([JOB, { ...JOB, State: 'PENDING' }]) });
  t.equal(strictOk.status, 0, 'skipped unfinished jobs are not bad');
});

t.test('cli: an empty AllocCPUS or NNodes on a job row is a bad line naming the field; every output line is JSON', async (t) => {
  // sacct prints a count for both on every job record (0 at least; a job that never started
  // shows its request): empty is damaged input, not a zero
  const input = jobText([{ ...JOB, AllocCPUS: '' }, { ...JOB, DBIndex: '17', NNodes: '' }, { ...JOB, DBIndex: '18' }, stepOf({ ...JOB, DBIndex: '18' }, 'batch', '5', { AllocCPUS: '' })]);
  const r = await runBin('sb-parse', ['-f', 'sb', '--strict'], { input });
  t.equal(r.status, 65);
  t.equal(r.stderr, "sb-parse: stdin:1: AllocCPUS '' is not a number\nsb-parse: stdin:2: NNodes '' is not a number\n");
  t.notMatch(r.stdout, /:,/, 'no field without a value');
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  t.ok(lines.every((l) => { try { JSON.parse(l); return true; } catch { return false; } }), 'every line is valid JSON');
  t.same(records(r.stdout).map((j) => [j['db_index'], j['cpus'], j['nodes'], j['steps']]), [[18, 2, 1, 1]], 'a step\'s own AllocCPUS is not read');
});

t.test('cli: empty input, a file argument, a missing file', async (t) => {
  for (const input of ['', '\n\n', '  \n']) {
    const r = await runBin('sb-parse', [], { input });
    t.same([r.status, r.stdout, r.stderr], [0, '', ''], JSON.stringify(input));
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-'));
  const file = path.join(dir, 'sacct.txt');
  writeFileSync(file, jobText([JOB]).replace(/\n/g, '\r\n'));
  const r = await runBin('sb-parse', ['-f', 'sb', file]);
  t.same([r.status, r.stderr, records(r.stdout).length], [0, '', 1], 'CRLF lines read like LF ones');
  const missing = await runBin('sb-parse', [path.join(dir, 'nope.txt')]);
  t.equal(missing.status, 1);
  t.match(missing.stderr, /^sb-parse: cannot open '.*nope\.txt': No such file or directory\n$/);
});

t.test('cli: | head -1 exits 0 with empty stderr', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-'));
  const file = path.join(dir, 'many.txt');
  writeFileSync(file, text(Array.from({ length: 100_000 }, (_, i) => ({ ...JOB, DBIndex: String(i + 1) }))).join('\n') + '\n');
  const r = await runShell(`sb-parse -f sb '${file}' | head -1`);
  t.equal(r.status, 0, 'pipeline status (pipefail) is 0');
  t.equal(r.stderr, '');
  t.equal(records(r.stdout).length, 1);
});

// --version and an unknown flag: test/contract.test.ts
t.test('cli: --help, usage errors', async (t) => {
  const help = await runBin('sb-parse', ['--help']);
  t.same([help.status, help.stderr], [0, '']);
  t.match(help.stdout, /^Usage: sb-parse \[FILE\] \[options\]/);
  const cases: Array<[string[], RegExp]> = [
    [['--fields', 'JobID,Nope'], /option '--fields': 'Nope' is not a sacct field/],
    [['--cluster', 'a b'], /'a b' is not a cluster name/],
    [['--tz', 'Nowhere/Land'], /option '--tz': 'Nowhere\/Land' is not a time zone/],
    [['--delimiter', ''], /option '--delimiter' needs a value/],
    [['a', 'b'], /unexpected argument 'b'/],
  ];
  for (const [args, want] of cases) {
    const r = await runBin('sb-parse', args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, want);
  }
  const noHeader = await runBin('sb-parse', [], { input: jobText([JOB]) });
  t.equal(noHeader.status, 2);
  t.match(noHeader.stderr, /the input has no header line: give its fields with --fields/);
});

t.test('cli: the synthetic sacct end to end', { skip: !existsSync(path.join(ROOT, 'sim', 'sacct')) && 'no sim/sacct' }, async (t) => {
  const q = `TZ=UTC SB_SIM_SEED=7 SB_SIM_RATE=300 sacct -a -n -p --delimiter=$'\\x1f' --duplicates --noconvert -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2024-01-01T00:00:00 -E 2024-01-01T03:59:59 -M demo -o ${SB}`;
  const r = await runShell(`${q} | sb-parse -v -f sb`);
  t.equal(r.status, 0);
  const m = /rows (\d+), jobs (\d+), steps (\d+), skipped (\d+), orphan steps (\d+), bad (\d+)/.exec(r.stderr);
  t.ok(m, r.stderr);
  const [rows, jobs, steps, skipped, orphans, bad] = (m ?? []).slice(1).map(Number);
  t.ok((jobs ?? 0) > 100, `${jobs} jobs`);
  t.equal(rows, (jobs ?? 0) + (steps ?? 0) + (skipped ?? 0), 'every row is a job, a step or skipped');
  t.same([orphans, bad], [0, 0]);
  t.equal(records(r.stdout).length, jobs);
  const awk = await runShell(`${q} | awk -F $'\\x1f' '$2 !~ /\\./ { s += $15 * $17 } END { print s }'`);
  t.equal(records(r.stdout).reduce((s, j) => s + (j['elapsed_s'] as number) * (j['cpus'] as number), 0), Number(awk.stdout.trim()), 'CPU-seconds agree with awk');
});

t.test('the synthetic sacct: every job record agrees with the generator\'s own truth', { skip: !existsSync(path.join(ROOT, 'sim', 'sacct')) && 'no sim/sacct' }, async (t) => {
  // placeholder rows and pre-21.08 ReqMem forms on; the truth is computed from the generator's numbers
  const env = { SB_SIM_SEED: '11', SB_SIM_RATE: '150', SB_SIM_NOW: '2024-03-01T00:00:00Z', SB_SIM_PLACEHOLDER: '1', SB_SIM_REQMEM_LEGACY: '0.3' };
  const [S, E] = ['2024-01-10T00:00:00', '2024-01-10T11:59:59'];
  const truth = await runShell(`sacct --sim-truth-jobs -S ${S} -E ${E} -M demo`, { env });
  t.equal(truth.status, 0, truth.stderr);
  const want = records(truth.stdout);
  t.ok(want.length > 500, `${want.length} job records`);
  for (const noconvert of [true, false]) {
    const r = await runShell(`sacct -a -n -p --delimiter=$'\\x1f' --duplicates ${noconvert ? '--noconvert' : ''} -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S ${S} -E ${E} -M demo -o ${SB} | sb-parse -v -f sb`, { env });
    t.equal(r.status, 0);
    const m = /skipped (\d+), orphan steps (\d+), bad (\d+)/.exec(r.stderr);
    t.ok(m !== null && Number(m[1]) > 0, `placeholder rows are skipped: ${r.stderr.trim()}`);
    t.same([m?.[2], m?.[3]], ['0', '0'], 'no orphan steps, no bad rows');
    const got = new Map(records(r.stdout).filter((j) => (j['end'] as string) >= `${S}Z` && (j['end'] as string) <= `${E}Z`).map((j) => [j['db_index'], j]));
    t.equal(got.size, want.length, noconvert ? '--noconvert: one record each' : 'converted: one record each');
    let same = 0;
    for (const w of want) {
      const j = got.get(w['dbindex']);
      const fields = j && [j['job_id'], j['job_id_raw'], j['user'], j['account'], j['partition'], j['state'], j['failed'], j['submit'], j['start'], j['end'], j['cpus'], j['nodes'], j['gpus'], j['elapsed_s']];
      // a job that never started: sacct prints Start None, the truth its End
      const start = w['elapsed_seconds'] === 0 && j?.['start'] === null && w['start'] === w['end'] ? null : w['start'];
      const expect = [w['jobid'], w['jobidraw'], w['user'], w['account'], w['partition'], (w['state'] as string).split(' ')[0], w['failed'], w['submit'], start, w['end'], w['cpus'], w['nodes'], w['gpus'], w['elapsed_seconds']];
      // sacct without --noconvert rounds sizes to two decimals of a unit
      const close = (a: unknown, b: unknown): boolean => a === b || (noconvert ? false : Math.abs(Number(a) - Number(b)) <= Number(b) * 0.005 + 1024);
      if (JSON.stringify(fields) === JSON.stringify(expect) && close(j?.['req_mem_bytes'], w['req_mem_bytes']) && close(j?.['max_rss_bytes'] ?? 0, w['max_rss_bytes'] ?? 0)) same++;
      else if (same >= 0) {
        t.fail(`DBIndex ${w['dbindex']}: ${JSON.stringify(j)} vs truth ${JSON.stringify(w)}`);
        same = -Infinity;
      }
    }
    t.equal(same, want.length, 'every record as the truth has it');
  }
});

t.test('the synthetic sacct with garbled rows: each is reported, the rest all parse', { skip: !existsSync(path.join(ROOT, 'sim', 'sacct')) && 'no sim/sacct' }, async (t) => {
  const env = { SB_SIM_SEED: '3', SB_SIM_RATE: '150', SB_SIM_NOW: '2024-03-01T00:00:00Z', SB_SIM_GARBLE: '40' };
  const q = `sacct -a -n -p --delimiter=$'\\x1f' --duplicates --noconvert -s CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ -S 2024-01-10T00:00:00 -E 2024-01-10T05:59:59 -M demo -o ${SB}`;
  const rows = Number((await runShell(`${q} | wc -l`, { env })).stdout.trim());
  const r = await runShell(`${q} | sb-parse -f sb --strict --errors=json`, { env });
  t.equal(r.status, 65, '--strict fails at the end');
  const problems = records(r.stderr);
  const bad = problems.filter((p) => p['level'] === 'error');
  t.ok(bad.length >= Math.floor(rows / 40) - 1 && bad.length <= Math.ceil(rows / 40) + 1, `${bad.length} bad of ${rows} rows (every 40th garbled)`);
  t.ok(bad.every((p) => /^expected 21 fields, found \d+$|is not|unknown unit/.test(p['message'] as string)), 'each says what is wrong');
  const jobs = records(r.stdout);
  t.ok(jobs.length > 100 && jobs.every((j) => j['kind'] === 'job'), `${jobs.length} jobs printed`);
});

// Input in pieces: the synthetic cluster's rows, made nasty, read whole and in pieces down to
// a few bytes (lines and UTF-8 characters cut across reads), as text and as rows records,
// must give what they give line by line: the same jobs, diagnostics, line numbers and counts.
const US = '\x1f';
const col = (name: string): number => (SB_SACCT_FIELDS as readonly string[]).indexOf(name);

// Rows of the synthetic cluster as sb-sacct asks for them (unit separator, trailing delimiter).
function simRows(rate: number, hours: number): string[] {
  const end = `2024-01-01T${String(hours).padStart(2, '0')}:00:00`;
  // through env -u: the test runner puts its loaders back into node children's environment
  const out = execFileSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'sim', 'sacct'), '-a', '-n', '-p', `--delimiter=${US}`, '--duplicates', '--noconvert',
    '-S', '2024-01-01T00:00:00', '-E', end, '-M', 'demo', '-o', SB_SACCT_FIELDS.join(',')], {
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

// Times SacctClock reads, or reports.
const ODD_TIMES = ['Unknown', 'None', '', '2023-02-29T00:00:00', '2024-02-29 12:00:00', '2024-13-01T00:00:00', '2024-01-01T24:00:00',
  '2024-01-01T00:60:00', '2024-01-01T00:00:60', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00+01:00', '0000-01-01T00:00:00', '0000-03-01T00:00:00',
  '2100-02-29T00:00:00', '2000-02-29T23:59:59', '2024-04-31T00:00:00', '2024-1-01T00:00:00', '2024-01-01X00:00:00', '2024-01-01T00-00:00',
  '9999-12-31T23:59:59', '1969-12-31T23:59:59', '２024-01-01T00:00:00'];

// What is done to a row: its new text, or undefined to leave it out; `out` takes extra lines.
type Change = (line: string, r: () => number, out: string[]) => string | undefined;
// Changes of step rows and of job rows, each with the share of rows it gets.
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
  [0.01, (l) => setField(l, 'AllocCPUS', '')],
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
  const p = new Parser({ job: (j) => res.out.push(jobLine(j)), line: (l) => res.out.push(l), bad: (n, m) => res.bad.push(`${n}: ${m}`), warn: (n, m) => res.warn.push(`${n}: ${m}`) }, opts);
  res.counts = p.counts;
  return { p, res };
}

// Line by line, each without its line end.
function byLines(lines: string[], opts: ParserOptions): Result {
  const { p, res } = parser(opts);
  lines.forEach((l, i) => p.push(l.endsWith('\r') ? l.slice(0, -1) : l, i + 1));
  closeWindow(p, lines, res.out);
  p.end();
  return res;
}

// Bytes in random pieces of 1 to `most` bytes, through lineBatches as sb-parse reads them.
async function byBytes(text: string, opts: ParserOptions, seed: number, most: number): Promise<Result> {
  const { p, res } = parser(opts);
  let line = 0;
  const all: string[] = [];
  for await (const batch of lineBatches(Readable.from(pieces(Buffer.from(text), seed, most)))) for (const l of batch) p.push(l, ++line), all.push(l);
  closeWindow(p, all, res.out);
  p.end();
  return res;
}

function pieces(bytes: Buffer, seed: number, most: number): Buffer[] {
  const r = random(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(r() * most);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

const SIM = existsSync(path.join(ROOT, 'sim', 'sacct'));
// make test-fast (LONG set) reads a third of the rows and makes records of 5,000 lines, not
// 20,000: what the tests below show needs no more, and cutting them into pieces takes most of
// this file's time
const SIM_RATE = LONG ? 1000 : 3000;
const SCALE = SIM_RATE / 3000;
const BIG_RECORD = LONG ? 5_000 : 20_000;
const simrows = SIM ? simRows(SIM_RATE, 3) : [];
const nastyLines = nasty(simrows, 1);

t.test('lineBatches: lines across chunks, CRLF, a CR and its LF in two chunks, UTF-8 cut, no last newline', async (t) => {
  const lines = async (chunks: Array<string | Buffer>): Promise<string[]> => {
    const out: string[] = [];
    for await (const batch of lineBatches(Readable.from(chunks))) out.push(...batch);
    return out;
  };
  t.same(await lines([]), []);
  t.same(await lines(['']), []);
  t.same(await lines(['\n\n']), ['', '']);
  t.same(await lines(['a\r\nb\r', '\nc']), ['a', 'b', 'c']);
  t.same(await lines(['a', 'b', 'c\nd', 'e', '', 'f\n']), ['abc', 'def']);
  const zoe = Buffer.from('zoë|x\n');
  t.same(await lines([zoe.subarray(0, 3), zoe.subarray(3, 4), zoe.subarray(4)]), ['zoë|x'], 'a character cut in two');
  const long = 'x'.repeat(1 << 20);
  const text = Buffer.from(`${long}\n${long}y`);
  const got = await lines(pieces(text, 3, 65536));
  t.same([got.length, got[0] === long, got[1] === long + 'y'], [2, true, true], 'lines longer than many chunks');
});

t.test('input in pieces: text, CRLF, lines and characters cut across reads, lines longer than a read', { skip: !SIM && 'no sim/sacct' }, async (t) => {
  t.ok(simrows.length > 20_000 * SCALE, `${simrows.length} rows from the synthetic cluster`);
  const opts = { fields: SB_SACCT_FIELDS, cluster: () => 'demo' };
  const want = byLines(nastyLines, opts);
  t.ok(want.bad.length > 100 * SCALE && want.warn.length > 100 * SCALE, `the input has bad rows (${want.bad.length}) and orphans (${want.warn.length})`);
  t.ok(want.counts.jobs > 5000 * SCALE, `${want.counts.jobs} jobs`);
  t.ok(nastyLines.some((l) => l.length > 1 << 18), 'some lines span many pieces (over 256 KiB)');
  t.ok(want.out.every((l) => typeof JSON.parse(l) === 'object'), 'every line out is JSON');
  // the last line without its newline
  const whole = nastyLines.join('\n');
  for (const [seed, most] of [[1, 1 << 20], [2, 4096], [3, 300]] as const) {
    t.same(await byBytes(whole, opts, seed, most), want, `pieces of up to ${most} bytes`);
  }
  // pieces of a few bytes cut every line and character many times over: the first 3,000 lines
  // show it as well as all of them (which take some 11 s of CPU in pieces this small)
  const part = nastyLines.slice(0, 3000);
  const wantPart = byLines(part, opts);
  t.ok(wantPart.bad.length > 10 && wantPart.warn.length > 10, `the first 3,000 lines have bad rows (${wantPart.bad.length}) and orphans (${wantPart.warn.length})`);
  t.same(await byBytes(part.join('\n'), opts, 4, 17), wantPart, 'pieces of up to 17 bytes');
});

t.test('input in pieces: a header line, | as the delimiter, -P, the header repeated', { skip: !SIM && 'no sim/sacct' }, async (t) => {
  const piped = simrows.slice(0, 4000).map((l) => l.replaceAll(US, '|'));
  const withHeader = [SB_SACCT_FIELDS.join('|') + '|', ...piped];
  const want = byLines(withHeader, {});
  t.ok(want.counts.jobs > 500);
  t.same(await byBytes(withHeader.join('\n') + '\n', {}, 6, 10_000), want, 'header: same');
  // sacct -P: no delimiter after the last field
  const bare = nastyLines.slice(0, 6000).map((l) => (l.endsWith(US) ? l.slice(0, -1) : l).replaceAll(US, '|'));
  t.same(await byBytes(bare.join('\n'), { fields: SB_SACCT_FIELDS, cluster: () => 'demo' }, 12, 50_000), byLines(bare, { fields: SB_SACCT_FIELDS, cluster: () => 'demo' }), '-P: same');
  // the header again in the middle (two sacct runs' output concatenated) is skipped
  const twice = [...withHeader, ...withHeader];
  const again = await byBytes(twice.join('\n') + '\n', {}, 7, 10_000);
  t.same(again, byLines(twice, {}), 'header twice: same');
  t.equal(again.counts.rows, 2 * piped.length, 'the second header is no row');
});

// sb-sacct's rows records of the lines, `per` lines each, with a chunk-done now and then
// (which ends the job before it, as a window's end does) unless `done` is false.
function rowsRecords(lines: string[], per: number, cluster?: string, done = true): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += per) {
    out.push(JSON.stringify({ kind: 'rows', ...(cluster !== undefined ? { cluster } : {}), chunk: 'c', fields: [...SB_SACCT_FIELDS], delimiter: '\x7f', lines: lines.slice(i, i + per).map((l) => l.replaceAll(US, '\x7f')) }));
    if (done && i % (per * 3) === 0) out.push(JSON.stringify({ kind: 'chunk-done', cluster: 'demo', start: 'a', end: 'b' }));
  }
  return out;
}

t.test(`input in pieces: rows records split across reads, records of ${BIG_RECORD.toLocaleString('en')} lines, odd lines`, { skip: !SIM && 'no sim/sacct' }, async (t) => {
  for (const cluster of [undefined, 'demo', 'other']) {
    const recs = rowsRecords(nastyLines, 1000, cluster);
    const opts = { cluster: () => 'demo' };
    const want = byLines(recs, opts);
    t.ok(want.counts.jobs > (cluster === 'other' ? 0 : 5000 * SCALE), `${want.counts.jobs} jobs (cluster ${cluster})`);
    t.same(await byBytes(recs.join('\n') + '\n', opts, 8, 1 << 18), want, `cluster ${cluster}: same`);
  }
  const big = rowsRecords(nastyLines, BIG_RECORD, 'demo');
  t.same(await byBytes(big.join('\n') + '\n', { cluster: () => 'demo' }, 11, 1 << 20), byLines(big, { cluster: () => 'demo' }), `${BIG_RECORD.toLocaleString('en')} lines a record: same`);
  // a line holding a newline, and one that is no string
  const odd = [JSON.stringify({ kind: 'rows', fields: [...SB_SACCT_FIELDS], delimiter: US, lines: [...simrows.slice(0, 50), simrows[50] + '\n' + simrows[51], 7, ...simrows.slice(52, 99)] })];
  const got = await byBytes(odd.join('\n'), { cluster: () => 'demo' }, 9, 1 << 16);
  t.same(got, byLines(odd, { cluster: () => 'demo' }), 'odd lines: same');
  t.same(got.bad, ['1: rows line 51: expected 21 fields, found 43', '1: rows line 52: not a string']);
});

t.test('the three input forms give the same jobs: text, rows records, row records', { skip: !SIM && 'no sim/sacct' }, async (t) => {
  const opts = { cluster: () => 'demo' };
  const fromText = byLines(simrows, { ...opts, fields: SB_SACCT_FIELDS });
  t.ok(fromText.counts.jobs > 5000 * SCALE && fromText.bad.length === 0 && fromText.warn.length === 0, `${fromText.counts.jobs} jobs, nothing bad`);
  const fromRows = byLines(rowsRecords(simrows, 4096, 'demo', false), opts);
  const fromRow = byLines(simrows.map((l) => {
    const v = l.split(US);
    return JSON.stringify({ kind: 'row', cluster: 'demo', chunk: 'c', f: Object.fromEntries(SB_SACCT_FIELDS.map((name, i) => [name, v[i]])) });
  }), opts);
  const jobs = (r: Result): string[] => r.out.filter((l) => l.startsWith('{"kind":"job"'));
  t.same(jobs(fromRows), fromText.out, 'rows records: the same job lines');
  t.same(jobs(fromRow), fromText.out, 'row records: the same job lines');
  t.same(fromRows.counts, fromText.counts, 'rows records: the same counts');
  t.same(fromRow.counts, fromText.counts, 'row records: the same counts');
  // the nasty rows as text and as rows records (their CRs stay in a record's lines: left out)
  const noCr = nastyLines.filter((l) => !l.endsWith('\r'));
  const text2 = byLines(noCr, { ...opts, fields: SB_SACCT_FIELDS });
  const rows2 = byLines(rowsRecords(noCr, 1000, undefined, false), opts);
  t.same(jobs(rows2), text2.out, 'nasty rows: the same job lines');
  t.same(rows2.counts, text2.counts, 'nasty rows: the same counts');
  t.equal(rows2.bad.length, text2.bad.length, 'as many bad lines');
});

// A non-blocking stdin (a FIFO opened O_NONBLOCK, the writer slow): nothing is lost.
t.test('a non-blocking stdin with nothing to read yet', { skip: !SIM && 'no sim/sacct' }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-parse-fifo-'));
  const fifo = path.join(dir, 'in');
  execFileSync('mkfifo', [fifo]);
  const input = simrows.slice(0, 2000).join('\n') + '\n';
  const rd = openSync(fifo, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  const wr = openSync(fifo, fsConstants.O_WRONLY);
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-parse'), '--fields', 'sb', '-v'], {
    env: { ...cleanEnv(), TZ: 'UTC' },
    stdio: [rd, 'pipe', 'pipe'],
  });
  closeSync(rd);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  await new Promise((resolve) => setTimeout(resolve, 300));
  writeFileSync(wr, input);
  closeSync(wr);
  t.equal(await exited, 0, stderr);
  const want = await runBin('sb-parse', ['--fields', 'sb', '-v'], { input });
  t.ok(want.stdout.length > 100_000, 'jobs printed');
  t.equal(stdout, want.stdout, 'the same jobs as from a blocking pipe');
  t.equal(stderr, want.stderr, 'the same counts');
});

goldenCases('parse');
