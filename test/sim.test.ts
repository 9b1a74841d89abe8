// The synthetic cluster (sim/sacct): sacct's options and row shapes, determinism across windows,
// the truth it prints, and each failure knob. CLI tests run the compiled stand-in
// (npx tsc -p tsconfig.json first), as sb-sacct will.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { getopt } from '../sim/src/parse-args.js';
import { parseSlurmTime } from '../sim/src/parse-time.js';
import { resolveFields, Units, UNIT_MEGA, UNIT_NONE } from '../sim/src/row-format.js';
import { LocalZone, strftime } from '../sim/src/time-format.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'sim', 'sacct');
const US = '\x1f';
const FIELDS =
  'DBIndex,JobID,JobIDRaw,Cluster,User,UID,Account,Partition,QOS,State,ExitCode,Submit,Start,End,ElapsedRaw,Timelimit,AllocCPUS,NNodes,ReqMem,MaxRSS,AllocTRES';
const NAMES = FIELDS.split(',');
const STATES = 'CD,F,CA,TO,OOM,NF,PR,BF,DL,RQ';
const NOW = '2024-03-01T00:00:00Z';

// Exactly the query sb-sacct(1) says it runs.
function toolkitArgs(start: string, end: string, cluster = 'demo', extra: string[] = []): string[] {
  return ['-a', '-n', '-p', `--delimiter=${US}`, '--duplicates', '--noconvert', '-s', STATES, '-S', start, '-E', end, '-M', cluster, '-o', FIELDS, ...extra];
}

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', TZ: 'UTC', SB_SIM_NOW: NOW, ...extra };
}

// tap injects its loaders into node children through NODE_OPTIONS; the stand-in must run as
// sb-sacct runs it, so every spawn goes through `env -u NODE_OPTIONS`.
const NODE = ['-u', 'NODE_OPTIONS', process.execPath, BIN];

function sacct(args: string[], extra: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync('/usr/bin/env', [...NODE, ...args], { env: env(extra), encoding: 'utf8', maxBuffer: 1 << 30 });
}

type Row = Record<string, string>;

// Rows by field name; a line without its trailing delimiter (-p) or of the wrong width throws.
function parse(text: string, delimiter = US, trailing = true, names = NAMES): Row[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const parts = line.split(delimiter);
      if (trailing && parts.pop() !== '') throw new Error(`no trailing delimiter: ${line}`);
      if (parts.length !== names.length) throw new Error(`${parts.length} fields, not ${names.length}: ${line}`);
      return Object.fromEntries(names.map((n, i) => [n, parts[i]!]));
    });
}

const isStep = (r: Row): boolean => (r['JobID'] ?? '').includes('.');

// What sb-sacct does with a window: keep a job's rows when the job's End is inside [start, end].
function keepByEnd(rows: Row[], start: string, end: string): Row[] {
  const out: Row[] = [];
  let keep = false;
  for (const r of rows) {
    if (!isStep(r)) keep = (r['End'] ?? '') >= start && (r['End'] ?? '') <= end;
    if (keep) out.push(r);
  }
  return out;
}

const lines = (rows: Row[]): string[] => rows.map((r) => NAMES.map((n) => r[n]).join('|')).sort();

const UNITS: Record<string, bigint> = { '': 1n, K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n, P: 1n << 50n };

function bytes(v: string): bigint {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/.exec(v);
  if (!m) throw new Error(`not a size: ${v}`);
  const [whole, frac = ''] = (m[1] ?? '0').split('.');
  const unit = UNITS[m[2] ?? '']!;
  return BigInt(whole ?? '0') * unit + (BigInt(frac || '0') * unit) / 10n ** BigInt(frac.length);
}

function gpus(tres: string): number {
  let generic = -1;
  let typed = 0;
  for (const kv of tres.split(',')) {
    const [k, v] = kv.split('=');
    if (k === 'gres/gpu') generic = Number(v);
    else if (k?.startsWith('gres/gpu:')) typed += Number(v);
  }
  return generic >= 0 ? generic : typed;
}

const FAILED = new Set(['FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'TIMEOUT']);

// Per-user totals from printed rows, by sb(7)'s definitions, knowing nothing of the generator.
function totalsFromRows(rows: Row[], cluster: string): Map<string, Record<string, string | number>> {
  const jobs = new Map<string, { job: Row; peak: bigint }>();
  for (const r of rows) {
    const key = r['DBIndex']!;
    if (!isStep(r)) jobs.set(key, { job: r, peak: 0n });
    else if (r['MaxRSS'] !== '') {
      const j = jobs.get(key)!;
      const b = bytes(r['MaxRSS']!);
      if (b > j.peak) j.peak = b;
    }
  }
  const out = new Map<string, Record<string, string | number>>();
  for (const { job, peak } of jobs.values()) {
    const user = job['User']!;
    const t0 = out.get(user) ?? {
      cluster, user, jobs: 0, failed_jobs: 0, gpu_jobs: 0, cpu_seconds: 0, elapsed_seconds: 0, gpu_seconds: 0,
      gpu_elapsed_seconds: 0, mem_req_byte_seconds: '0', mem_used_byte_seconds: '0',
    };
    const el = Number(job['ElapsedRaw']);
    const cpus = Number(job['AllocCPUS']);
    const g = gpus(job['AllocTRES']!);
    const m = /^(.*?)([cn]?)$/.exec(job['ReqMem']!)!;
    let req = bytes(m[1]!);
    if (m[2] === 'c') req *= BigInt(cpus);
    if (m[2] === 'n') req *= BigInt(job['NNodes']!);
    const add = (k: string, v: number): void => void (t0[k] = (t0[k] as number) + v);
    add('jobs', 1);
    if (FAILED.has(job['State']!.split(' ')[0]!)) add('failed_jobs', 1);
    add('cpu_seconds', cpus * el);
    add('elapsed_seconds', el);
    if (g > 0) {
      add('gpu_jobs', 1);
      add('gpu_seconds', g * el);
      add('gpu_elapsed_seconds', el);
    }
    t0['mem_req_byte_seconds'] = String(BigInt(t0['mem_req_byte_seconds'] as string) + req * BigInt(el));
    t0['mem_used_byte_seconds'] = String(BigInt(t0['mem_used_byte_seconds'] as string) + peak * BigInt(el));
    out.set(user, t0);
  }
  return out;
}

const ndjson = (text: string): Array<Record<string, unknown>> =>
  text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

t.test('units: Slurm convert_num_unit, exact by default, untouched with --noconvert', async (t) => {
  const exact = new Units(false, -1);
  const raw = new Units(true, -1);
  const cases: Array<[number, number, string, string]> = [
    [16384, UNIT_MEGA, '16G', '16384M'],
    [4000, UNIT_MEGA, '4000M', '4000M'],
    [64000, UNIT_MEGA, '62.50G', '64000M'],
    [1024, UNIT_MEGA, '1G', '1024M'],
    [3469312, UNIT_NONE, '3388K', '3469312'],
    [2621440, UNIT_NONE, '2.50M', '2621440'],
    [401408, UNIT_NONE, '392K', '401408'],
    [168259584, UNIT_NONE, '164316K', '168259584'],
    [0, UNIT_NONE, '0', '0'],
    [1000, UNIT_NONE, '1000', '1000'],
  ];
  for (const [n, unit, conv, noconv] of cases) {
    t.equal(exact.conv(n, unit), conv, `${n} converted`);
    t.equal(raw.conv(n, unit), noconv, `${n} with --noconvert`);
  }
  t.equal(new Units(false, 3).conv(4000, UNIT_MEGA), '3.91G', '--units=G forces the unit');
});

t.test('parse_time: sacct time syntax, local to $TZ', async (t) => {
  const zone = new LocalZone();
  const now = Date.parse('2024-03-01T12:00:00Z') / 1000;
  const ok: Array<[string, string]> = [
    ['2024-01-01T00:12:34', '2024-01-01T00:12:34Z'],
    ['2024-01-01', '2024-01-01T00:00:00Z'],
    ['2024-01-01T05:06', '2024-01-01T05:06:00Z'],
    ['now', '2024-03-01T12:00:00Z'],
    ['now-1hours', '2024-03-01T11:00:00Z'],
    ['now-2days', '2024-02-28T12:00:00Z'],
    ['today', '2024-03-01T00:00:00Z'],
    ['02/15', '2024-02-15T00:00:00Z'],
    ['02/15/23-10:00', '2023-02-15T10:00:00Z'],
    ['0215', '2024-02-15T00:00:00Z'],
    ['12/31', '2023-12-31T00:00:00Z'],
    ['13:30', '2024-03-01T13:30:00Z'],
  ];
  for (const [text, want] of ok) t.equal(parseSlurmTime(text, zone, now), Date.parse(want) / 1000, text);
  const bad: Array<[string, string]> = [
    ['2026-11-21T05:10:39Z', 'Invalid time specification (pos=19): 2026-11-21T05:10:39Z'],
    ['2024-13-01', 'Invalid time specification (pos=5): 2024-13-01'],
    ['yesterdayish', 'Invalid time specification (pos=0): yesterdayish'],
    ['2024-02-30', 'Invalid time specification (pos=5): 2024-02-30'],
  ];
  for (const [text, msg] of bad) t.throws(() => parseSlurmTime(text, zone, now), { message: msg }, text);
  t.equal(strftime(zone, '%s %F %T %b %a %j %%', 1704067200), '1704067200 2024-01-01 00:00:00 Jan Mon 001 %');
});

t.test('fields: sacct matches a prefix, case-insensitively, first hit wins', async (t) => {
  t.same(resolveFields('jobid,JOBIDRAW, user,alloc,elapsed,end%20').map((f) => f.name), ['JobID', 'JobIDRaw', 'User', 'AllocCPUS', 'Elapsed', 'End']);
  t.equal(resolveFields('ALL').length, resolveFields('all').length);
  t.throws(() => resolveFields('JobID,Foo'), { message: 'sacct: error: Invalid field requested: "Foo"' });
  t.throws(() => resolveFields('JobIDRawX'), { message: 'sacct: error: Invalid field requested: "JobIDRawX"' });
});

t.test('getopt: glibc rules and messages', async (t) => {
  t.same(getopt(['-anpX', '-S2024-01-01', '-E', 'now', '--clust=a', '--format', 'x', 'rest']), {
    opts: [['a', ''], ['n', ''], ['p', ''], ['X', ''], ['S', '2024-01-01'], ['E', 'now'], ['M', 'a'], ['o', 'x']],
    rest: ['rest'],
  });
  t.throws(() => getopt(['--bogus']), { message: "sacct: unrecognized option '--bogus'" });
  t.throws(() => getopt(['-Z']), { message: "sacct: invalid option -- 'Z'" });
  t.throws(() => getopt(['-S']), { message: "sacct: option requires an argument -- 'S'" });
  t.throws(() => getopt(['--noheader=1']), { message: "sacct: option '--noheader' doesn't allow an argument" });
  t.throws(() => getopt(['--c', 'x']), /is ambiguous; possibilities: '--completion'/);
});

t.test('the compiled stand-in exists', async (t) => {
  t.ok(existsSync(path.join(ROOT, 'sim', 'dist', 'sacct.js')), 'run make build before these tests');
});

t.test('the toolkit query: determinism, row shapes, steps and DBIndex', async (t) => {
  const args = toolkitArgs('2024-01-10T00:00:00', '2024-01-10T05:59:59');
  const a = sacct(args);
  const b = sacct(args);
  t.equal(a.status, 0);
  t.equal(a.stderr, '');
  t.equal(a.stdout, b.stdout, 'two runs print the same bytes');
  const rows = parse(a.stdout);
  t.ok(rows.length > 500, `a busy six hours (${rows.length} rows)`);
  // Each rule names the rows that break it; every list must stay empty.
  const broken: Record<string, string[]> = {};
  const check = (ok: boolean, rule: string, r: Row): void => {
    if (!ok) (broken[rule] ??= []).push(Object.values(r).join('|'));
  };
  let job: Row | null = null;
  for (const r of rows) {
    if (!isStep(r)) {
      job = r;
      check(r['MaxRSS'] === '', 'no MaxRSS on a job row', r);
      check(/^\d+$/.test(r['UID']!) && r['User'] !== '', 'a job row names its user', r);
      const el = r['Start'] === 'None' ? 0 : (Date.parse(r['End'] + 'Z') - Date.parse(r['Start'] + 'Z')) / 1000;
      check(Number(r['ElapsedRaw']) === el, 'ElapsedRaw = End - Start', r);
      continue;
    }
    if (!job) throw new Error('a step before any job');
    check(r['DBIndex'] === job['DBIndex'], "a step carries its job's DBIndex", r);
    check(r['JobID']!.startsWith(job['JobID'] + '.') && r['JobIDRaw']!.startsWith(job['JobIDRaw'] + '.'), 'steps follow their job', r);
    check(r['User'] + r['UID'] + r['Partition'] + r['QOS'] + r['Timelimit'] + r['ReqMem'] === '', 'steps leave job-only fields empty', r);
    check(r['Account'] === job['Account'], 'steps keep the account', r);
  }
  t.same(broken, {}, 'every row keeps the rules of job and step rows');
  t.ok(rows.some((r) => r['JobID']!.endsWith('.batch')) && rows.some((r) => r['JobID']!.endsWith('.extern')) && rows.some((r) => /\.\d+$/.test(r['JobID']!)));
  t.ok(rows.some((r) => /^gres\/gpu:\w+=(\d+),gres\/gpu=\1,/.test(r['AllocTRES']!.replace(/^billing=\d+,cpu=\d+,/, ''))), 'typed and generic GPUs together');
  t.ok(rows.some((r) => /^CANCELLED by \d+$/.test(r['State']!)), 'CANCELLED by <uid>');
  const arrays = rows.filter((r) => /^\d+_\d+$/.test(r['JobID']!));
  t.ok(arrays.length > 0, 'array tasks');
  t.ok(arrays.some((r) => r['JobIDRaw'] !== r['JobID']!.split('_')[0]), 'array tasks have their own JobIDRaw');
  t.ok(rows.some((r) => /^\d+_\d+\.batch$/.test(r['JobID']!) && /^\d+\.batch$/.test(r['JobIDRaw']!)), '123_4.batch with JobIDRaw 127.batch');
});

t.test('row shapes stay within those of a real Slurm 22.05 (test/fixtures/real)', async (t) => {
  const shapes: Record<string, RegExp> = {
    DBIndex: /^\d+$/,
    JobID: /^\d+(_\d+)?(\.(batch|extern|\d+))?$/,
    JobIDRaw: /^\d+(\.(batch|extern|\d+))?$/,
    User: /^([a-z][a-z0-9]*)?$/,
    UID: /^(\d+)?$/,
    State: /^(COMPLETED|FAILED|CANCELLED( by \d+)?|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE|REQUEUED)$/,
    ExitCode: /^(\d+:\d+)?$/,
    Submit: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/,
    Start: /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d|None)$/,
    End: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/,
    ElapsedRaw: /^\d+$/,
    Timelimit: /^((\d+-)?\d\d:\d\d:\d\d|UNLIMITED|Partition_Limit)?$/,
    AllocCPUS: /^\d+$/,
    NNodes: /^\d+$/,
    ReqMem: /^(\d+[KMGT])?$/,
    MaxRSS: /^\d*$/,
    AllocTRES: /^((billing=\d+,)?cpu=\d+,(gres\/gpu:\w+=\d+,)?(gres\/gpu=\d+,)?mem=\d+[KMGT],node=\d+)?$/,
  };
  const real = parse(readFileSync(path.join(ROOT, 'test/fixtures/real/sacct-noconvert.txt'), 'utf8'));
  const sim = parse(sacct(toolkitArgs('2024-01-10T00:00:00', '2024-01-11T23:59:59', 'hammer'), { SB_SIM_RATE: '200' }).stdout);
  for (const [name, re] of Object.entries(shapes)) {
    t.ok(real.every((r) => re.test(r[name]!)), `the pattern for ${name} fits the real capture`);
    const bad = sim.filter((r) => !re.test(r[name]!));
    t.same(bad.slice(0, 3).map((r) => r[name]), [], `every simulated ${name} has a real shape`);
  }
});

t.test('touching windows print the jobs of their union, once', async (t) => {
  const big = keepByEnd(parse(sacct(toolkitArgs('2024-01-10T00:00:00', '2024-01-10T03:59:59')).stdout), '2024-01-10T00:00:00', '2024-01-10T03:59:59');
  const cuts = [
    ['2024-01-10T00:00:00', '2024-01-10T01:29:59'],
    ['2024-01-10T01:30:00', '2024-01-10T01:30:00'],
    ['2024-01-10T01:30:01', '2024-01-10T02:59:59'],
    ['2024-01-10T03:00:00', '2024-01-10T03:59:59'],
  ];
  const parts = cuts.flatMap(([s, e]) => keepByEnd(parse(sacct(toolkitArgs(s!, e!)).stdout), s!, e!));
  t.ok(big.length > 100);
  t.same(lines(parts), lines(big), 'same rows, nothing lost or doubled');
  const dbi = big.filter((r) => !isStep(r)).map((r) => r['DBIndex']);
  t.equal(new Set(dbi).size, dbi.length, 'each job record once');
});

t.test('End drifts outside -S/-E (the toolkit must filter on End itself)', async (t) => {
  const S = '2024-01-10T12:00:00';
  const E = '2024-01-10T12:59:59';
  const busy = { SB_SIM_RATE: '600' };
  const jobs = parse(sacct(toolkitArgs(S, E), busy).stdout).filter((r) => !isStep(r));
  const before = jobs.filter((r) => r['End']! < S);
  const after = jobs.filter((r) => r['End']! > E);
  t.ok(before.length > 0 && after.length > 0, `jobs ending before (${before.length}) and after (${after.length}) the window`);
  const gaps = [...before, ...after].map((r) => {
    const end = Date.parse(r['End'] + 'Z') / 1000;
    return Math.max(Date.parse(S + 'Z') / 1000 - end, end - Date.parse(E + 'Z') / 1000);
  });
  t.same(gaps.filter((g) => g <= 0 || g > 600), [], 'at most 10 minutes out');
  const exact = parse(sacct(toolkitArgs(S, E), { ...busy, SB_SIM_DRIFT: '0' }).stdout).filter((r) => !isStep(r));
  t.ok(exact.every((r) => r['End']! >= S && r['End']! <= E), 'SB_SIM_DRIFT=0 makes the window exact');
});

t.test('display knobs change what shows, never the jobs', async (t) => {
  const jobs = ['--sim-truth-jobs', '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T05:59:59', '-M', 'demo'];
  const world = sacct(jobs).stdout;
  t.ok(world.length > 1000);
  for (const knob of [{ SB_SIM_DRIFT: '0' }, { SB_SIM_LATE: '900' }, { SB_SIM_REQMEM_LEGACY: '1' }, { SB_SIM_PLACEHOLDER: '1' }, { SB_SIM_GARBLE: '3' }]) {
    t.equal(sacct(jobs, knob).stdout, world, JSON.stringify(knob));
  }
  t.not(sacct(jobs, { SB_SIM_SEED: '2' }).stdout, world, 'another seed, another world');
});

t.test('SB_SIM_LATE: records of the last minutes may not have reached slurmdbd yet', async (t) => {
  const args = toolkitArgs('2024-02-29T23:00:00', '2024-02-29T23:59:59');
  const now = { SB_SIM_NOW: '2024-03-01T00:00:00Z', SB_SIM_LATE: '900' };
  const early = parse(sacct(args, now).stdout).filter((r) => !isStep(r)).map((r) => r['DBIndex']);
  const later = parse(sacct(args, { ...now, SB_SIM_NOW: '2024-03-01T00:20:00Z' }).stdout).filter((r) => !isStep(r) && r['End']! < '2024-03-01');
  t.ok(later.length > early.length, `more records once they arrive (${early.length} then ${later.length})`);
  t.ok(early.every((d) => later.some((r) => r['DBIndex'] === d)), 'nothing seen early disappears');
});

t.test('no job ends after "now" (SB_SIM_NOW)', async (t) => {
  const rows = parse(sacct(toolkitArgs('2024-02-29T22:00:00', '2024-03-02T00:00:00')).stdout);
  t.ok(rows.length > 0);
  t.ok(rows.filter((r) => !isStep(r)).every((r) => r['End']! <= '2024-03-01T00:00:00'));
});

t.test('truth: per-user totals equal the sum over --sim-truth-jobs and over the printed rows', async (t) => {
  for (const [label, extra] of [
    ['default', {}],
    ['legacy ReqMem c/n forms', { SB_SIM_REQMEM_LEGACY: '0.5', SB_SIM_REQUEUE: '0.05' }],
  ] as Array<[string, Record<string, string>]>) {
    const S = '2024-01-10T00:00:00';
    const E = '2024-01-10T11:59:59';
    const truth = ndjson(sacct(['--sim-truth', '-S', S, '-E', E, '-M', 'hammer'], extra).stdout);
    const perJob = ndjson(sacct(['--sim-truth-jobs', '-S', S, '-E', E, '-M', 'hammer'], extra).stdout);
    t.ok(truth.length > 20, `${label}: many users`);
    const sum = new Map<string, Record<string, unknown>>();
    for (const j of perJob) {
      const u = j['user'] as string;
      const s = sum.get(u) ?? { jobs: 0, failed_jobs: 0, cpu_seconds: 0, gpu_seconds: 0, mem_req: 0n, mem_used: 0n };
      const el = j['elapsed_seconds'] as number;
      s['jobs'] = (s['jobs'] as number) + 1;
      if (j['failed']) s['failed_jobs'] = (s['failed_jobs'] as number) + 1;
      s['cpu_seconds'] = (s['cpu_seconds'] as number) + (j['cpus'] as number) * el;
      s['gpu_seconds'] = (s['gpu_seconds'] as number) + (j['gpus'] as number) * el;
      s['mem_req'] = (s['mem_req'] as bigint) + BigInt(j['req_mem_bytes'] as number) * BigInt(el);
      s['mem_used'] = (s['mem_used'] as bigint) + BigInt(j['max_rss_bytes'] as number) * BigInt(el);
      sum.set(u, s);
    }
    t.equal(sum.size, truth.length, `${label}: same users`);
    for (const row of truth) {
      const s = sum.get(row['user'] as string)!;
      t.same(
        [row['jobs'], row['failed_jobs'], row['cpu_seconds'], row['gpu_seconds'], row['mem_req_byte_seconds'], row['mem_used_byte_seconds']],
        [s['jobs'], s['failed_jobs'], s['cpu_seconds'], s['gpu_seconds'], String(s['mem_req']), String(s['mem_used'])],
        `${label}: ${row['user']}`,
      );
    }
    const printed = totalsFromRows(keepByEnd(parse(sacct(toolkitArgs(S, E, 'hammer'), extra).stdout), S, E), 'hammer');
    t.same(
      [...printed.values()].sort((a, b) => String(a['user']).localeCompare(String(b['user']))),
      [...truth].sort((a, b) => String(a['user']).localeCompare(String(b['user']))),
      `${label}: the truth is what the printed rows add up to`,
    );
    for (const k of ['mem_req_byte_seconds', 'mem_used_byte_seconds']) t.match(truth[0]![k], /^\d+$/, `${k} is a decimal string`);
  }
});

t.test('truth by account: per (account, user) totals add up to the per-user truth; accounts as the printed rows have them', async (t) => {
  const S = '2024-01-10T00:00:00';
  const E = '2024-01-10T23:59:59';
  const users = ndjson(sacct(['--sim-truth', '-S', S, '-E', E, '-M', 'hammer']).stdout);
  const byAccount = ndjson(sacct(['--sim-truth-accounts', '-S', S, '-E', E, '-M', 'hammer']).stdout);
  const perJob = ndjson(sacct(['--sim-truth-jobs', '-S', S, '-E', E, '-M', 'hammer']).stdout);
  const accounts = new Set(byAccount.map((r) => r['account']));
  t.ok(accounts.size >= 8, `many accounts (${accounts.size})`);
  const multi = new Set(byAccount.map((r) => r['user'])).size < byAccount.length;
  t.ok(multi, 'some users work under more than one account');
  const fields = ['jobs', 'failed_jobs', 'gpu_jobs', 'cpu_seconds', 'elapsed_seconds', 'gpu_seconds', 'gpu_elapsed_seconds'];
  const sum = new Map<string, Record<string, number | bigint>>();
  for (const r of byAccount) {
    const s = sum.get(r['user'] as string) ?? { mem_req_byte_seconds: 0n, mem_used_byte_seconds: 0n };
    for (const f of fields) s[f] = ((s[f] as number | undefined) ?? 0) + (r[f] as number);
    s['mem_req_byte_seconds'] = (s['mem_req_byte_seconds'] as bigint) + BigInt(r['mem_req_byte_seconds'] as string);
    s['mem_used_byte_seconds'] = (s['mem_used_byte_seconds'] as bigint) + BigInt(r['mem_used_byte_seconds'] as string);
    sum.set(r['user'] as string, s);
  }
  t.equal(sum.size, users.length, 'the same users');
  for (const u of users) {
    const s = sum.get(u['user'] as string)!;
    t.same([...fields.map((f) => s[f]), String(s['mem_req_byte_seconds']), String(s['mem_used_byte_seconds'])], [...fields.map((f) => u[f]), u['mem_req_byte_seconds'], u['mem_used_byte_seconds']], `${u['user']}: the sum over accounts`);
  }
  const jobsOf = new Map<string, number>();
  for (const j of perJob) jobsOf.set(`${j['account']}/${j['user']}`, (jobsOf.get(`${j['account']}/${j['user']}`) ?? 0) + 1);
  t.same(new Map(byAccount.map((r) => [`${r['account']}/${r['user']}`, r['jobs']])), jobsOf, 'each (account, user) counts the records charged to that account');
  const printed = keepByEnd(parse(sacct(toolkitArgs(S, E, 'hammer')).stdout), S, E).filter((r) => !isStep(r));
  t.same(new Set(printed.map((r) => r['Account'])), accounts, 'the accounts sacct prints');
});

t.test('recycled job ids and requeued jobs: one JobIDRaw, several records', async (t) => {
  const rows = parse(sacct(toolkitArgs('2024-01-01T00:00:00', '2024-01-31T23:59:59', 'demo', ['-X']), { SB_SIM_MAX_JOB_ID: '40000' }).stdout);
  const byRaw = new Map<string, Row[]>();
  for (const r of rows) byRaw.set(r['JobIDRaw']!, [...(byRaw.get(r['JobIDRaw']!) ?? []), r]);
  const recycled = [...byRaw.values()].filter((rs) => rs.length > 1 && !rs.some((r) => r['State'] === 'REQUEUED'));
  t.ok(recycled.length > 100, `ids recycled within a month (${recycled.length})`);
  t.ok(recycled.every((rs) => new Set(rs.map((r) => r['DBIndex'])).size === rs.length), 'different DBIndex');
  t.ok(recycled.every((rs) => new Set(rs.map((r) => r['Submit'])).size === rs.length), 'different Submit');
  const plain = parse(sacct(toolkitArgs('2024-01-01T00:00:00', '2024-01-31T23:59:59', 'demo', ['-X'])).stdout);
  const runs = new Map<string, Row[]>();
  for (const r of plain) runs.set(r['JobIDRaw']!, [...(runs.get(r['JobIDRaw']!) ?? []), r]);
  const requeued = plain.filter((r) => r['State'] === 'REQUEUED');
  t.ok(requeued.length > 5, `REQUEUED records (${requeued.length})`);
  const lone = requeued.filter((rq) => {
    if (rq['End']! >= '2024-01-30') return false;
    const next = runs.get(rq['JobIDRaw']!)!.filter((r) => r !== rq);
    const n = next[0];
    return !(next.length === 1 && n && Number(n['DBIndex']) > Number(rq['DBIndex']) && n['Submit']! >= rq['End']! && n['User'] === rq['User']);
  });
  t.same(lone.map((r) => r['JobIDRaw']), [], 'each requeued run is followed by one record of the next run: later DBIndex and Submit, same user');
  const shared = [...runs.values()].filter((rs) => rs.length > 1);
  t.ok(shared.length > 0 && shared.every((rs) => rs.length === 2 && rs[0]!['State'] === 'REQUEUED'), 'otherwise one record per id: the default id space does not wrap in a month');
});

t.test('-p, -P, headers, -X, default delimiter', async (t) => {
  const base = ['-a', '--noconvert', '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T00:59:59', '-M', 'demo', '-o', 'JobID,State,End'];
  const p = sacct([...base, '-p']).stdout.split('\n');
  t.equal(p[0], 'JobID|State|End|', '-p header ends with the delimiter');
  t.match(p[1], /^\d+(_\d+)?\|[A-Z_ 0-9by]+\|\d{4}-[^|]+\|$/);
  const P = sacct([...base, '-P']).stdout.split('\n');
  t.equal(P[0], 'JobID|State|End', '-P: no trailing delimiter');
  t.notMatch(P[1], /\|$/);
  t.equal(sacct([...base, '-P', '-n']).stdout.split('\n')[0], P[1], '-n drops the header');
  const fixed = sacct(base).stdout.split('\n');
  t.match(fixed[0], /^JobID +State +End +$/);
  t.match(fixed[1], /^-{12} -{10} -{19} $/);
  const X = parse(sacct([...base, '-P', '-n', '-X']).stdout, '|', false, ['JobID', 'State', 'End']);
  t.ok(X.length > 0 && X.every((r) => !isStep(r)), '-X: allocations only');
  const long = sacct(['--allusers', '--parsable2', '--noheader', '--starttime=2024-01-10T00:00:00', '--endtime', '2024-01-10T00:59:59', '--clusters=demo', '--format=JobID,State,End', '--state=CD']).stdout;
  t.equal(long, sacct([...base, '-P', '-n', '-s', 'COMPLETED']).stdout, 'long options and full state names');
  t.ok(long.split('\n').filter((l) => l && !l.includes('.')).every((l) => l.includes('|COMPLETED|')), '-s filters jobs by state');
});

t.test('MaxRSS and ReqMem: plain with --noconvert, mixed units without', async (t) => {
  const args = (conv: boolean): string[] => ['-a', '-n', '-P', ...(conv ? [] : ['--noconvert']), '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T05:59:59', '-M', 'demo', '-o', 'JobID,ReqMem,MaxRSS,AllocTRES'];
  const names = ['JobID', 'ReqMem', 'MaxRSS', 'AllocTRES'];
  const raw = parse(sacct(args(false)).stdout, '|', false, names);
  const conv = parse(sacct(args(true)).stdout, '|', false, names);
  t.equal(raw.length, conv.length);
  t.ok(raw.filter(isStep).every((r) => /^\d*$/.test(r['MaxRSS']!)), '--noconvert: MaxRSS in bytes, no unit');
  t.ok(raw.filter((r) => !isStep(r)).every((r) => /^\d+M$/.test(r['ReqMem']!)), '--noconvert: ReqMem in M');
  const units = new Set(conv.filter(isStep).map((r) => r['MaxRSS']!.replace(/[\d.]/g, '')));
  t.ok(units.has('K') && units.has(''), `MaxRSS mixes units (${[...units].join(' ')})`);
  t.ok(conv.some((r) => /^\d+G$/.test(r['ReqMem']!)) && conv.some((r) => /^\d+M$/.test(r['ReqMem']!)), 'ReqMem like 16G and 4000M');
  t.ok(conv.some((r) => r['AllocTRES']!.includes('mem=') && /mem=\d+(\.\d\d)?G/.test(r['AllocTRES']!)));
  const differ = raw.filter((r, i) => {
    const c = conv[i]!;
    return (r['MaxRSS'] !== '' && bytes(c['MaxRSS']!) !== BigInt(r['MaxRSS']!)) || (r['ReqMem'] !== '' && bytes(c['ReqMem']!) !== bytes(r['ReqMem']!));
  });
  t.same(differ, [], 'converted and plain forms are the same amounts');
  const legacy = parse(sacct(args(false), { SB_SIM_REQMEM_LEGACY: '1' }).stdout, '|', false, names).filter((r) => !isStep(r));
  t.ok(legacy.every((r) => /^\d+M[cn]$/.test(r['ReqMem']!)), 'SB_SIM_REQMEM_LEGACY=1: 4000Mc, 65536Mn');
});

t.test('time: naive local times in $TZ, SLURM_TIME_FORMAT and SACCT_FORMAT honoured', async (t) => {
  const base = ['-a', '-n', '-P', '-X', '-M', 'anvil', '-o', 'DBIndex,Submit,Start,End'];
  const utc = sacct([...base, '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T05:59:59'], { SLURM_TIME_FORMAT: '%s' });
  const tokyo = spawnSync('/usr/bin/env', [...NODE, ...base, '-S', '2024-01-10T09:00:00', '-E', '2024-01-10T14:59:59'], {
    env: env({ TZ: 'Asia/Tokyo', SLURM_TIME_FORMAT: '%s' }), encoding: 'utf8',
  });
  t.equal(tokyo.stdout, utc.stdout, 'the same jobs at the same instants whatever TZ');
  t.match(utc.stdout, /^\d+\|\d+\|(\d+|None)\|\d+$/m, '%s prints epoch seconds');
  const iso = sacct([...base, '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T05:59:59']);
  const first = (s: string): string[] => s.split('\n')[0]!.split('|');
  t.equal(Date.parse(first(iso.stdout)[3] + 'Z') / 1000, Number(first(utc.stdout)[3]), 'standard format is the same instant');
  const tk = spawnSync('/usr/bin/env', [...NODE, ...base, '-S', '2024-01-10T09:00:00', '-E', '2024-01-10T14:59:59'], { env: env({ TZ: 'Asia/Tokyo' }), encoding: 'utf8' });
  t.equal(Date.parse(first(tk.stdout)[3] + '+09:00'), Date.parse(first(iso.stdout)[3] + 'Z'), 'naive times are local');
  const bad = sacct([...base, '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T00:59:59'], { SLURM_TIME_FORMAT: 'nonsense' });
  t.equal(bad.stderr, 'sacct: error: invalid SLURM_TIME_FORMAT = nonsense\n');
  const fmt = sacct(['-a', '-P', '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T00:59:59'], { SACCT_FORMAT: 'JobID,User,Elapsed' });
  t.equal(fmt.stdout.split('\n')[0], 'JobID|User|Elapsed', 'SACCT_FORMAT when there is no -o');
  const o = sacct(['-a', '-P', '-S', '2024-01-10T00:00:00', '-E', '2024-01-10T00:59:59', '-o', 'JobID'], { SACCT_FORMAT: 'JobID,User,Elapsed' });
  t.equal(o.stdout.split('\n')[0], 'JobID', '-o wins over SACCT_FORMAT');
});

t.test('errors exit like sacct', async (t) => {
  const cases: Array<[string[], number, string]> = [
    [['-a', '-o', 'DBIndex,NoSuchField,JobID'], 1, 'sacct: error: Invalid field requested: "NoSuchField"\n'],
    [['-S', '2026-11-21T05:10:39Z'], 1, 'Invalid time specification (pos=19): 2026-11-21T05:10:39Z\n'],
    [['--bogus'], 1, "sacct: unrecognized option '--bogus'\n"],
    [['-s', 'CD,NOPE'], 1, "sacct: fatal: unrecognized job state value 'NOPE'\n"],
    [['-S', '2024-01-02', '-E', '2024-01-01'], 1, 'sacct: error: Start time (2024-01-02T00:00:00) requested is after end time (2024-01-01T00:00:00).\n'],
  ];
  for (const [args, status, stderr] of cases) {
    const r = sacct(args);
    t.equal(r.status, status, args.join(' '));
    t.equal(r.stderr, stderr);
    t.equal(r.stdout, '');
  }
  const unknown = sacct(toolkitArgs('2024-01-10T00:00:00', '2024-01-10T05:59:59', 'nosuchcluster'));
  t.same([unknown.status, unknown.stdout, unknown.stderr], [0, '', ''], 'unknown cluster: exit 0, nothing printed');
  const clusters = sacct(toolkitArgs('2024-01-10T00:00:00', '2024-01-10T00:59:59', 'hammer'), { SB_SIM_CLUSTERS: 'hammer' });
  t.ok(clusters.stdout.length > 0, 'SB_SIM_CLUSTERS names the clusters that exist');
  t.same([sacct(toolkitArgs('2024-01-10T00:00:00', '2024-01-10T00:59:59', 'demo'), { SB_SIM_CLUSTERS: 'hammer' }).stdout], [''], 'others do not');
  t.match(sacct(['-V']).stdout, /^slurm 22\.05/);
  t.match(sacct(['--help']).stdout, /--sim-truth/);
});

t.test('a reader that goes away ends the run quietly (| head -1)', async (t) => {
  const args = toolkitArgs('2024-01-01T00:00:00', '2024-01-31T23:59:59').map((a) => `'${a}'`).join(' ');
  const r = spawnSync('/bin/sh', ['-c', `unset NODE_OPTIONS; (node ${BIN} ${args}; echo "status=$?" >&2) | head -1`], {
    env: env({ SB_SIM_RATE: '2000' }), encoding: 'utf8',
  });
  t.equal(r.stdout.split('\n').length, 2, 'one line');
  t.equal(r.stderr, 'status=0\n', 'exit 0 and no stack trace');
});

t.test('failure knobs', async (t) => {
  const args = toolkitArgs('2024-01-10T00:00:00', '2024-01-10T00:59:59');
  const refusedText = readFileSync(path.join(ROOT, 'test/fixtures/real/errors/slurmdbd-stopped.stderr'), 'utf8').replace('127.0.0.1', 'slurmdbd');
  const frozenText = readFileSync(path.join(ROOT, 'test/fixtures/real/errors/slurmdbd-frozen.stderr'), 'utf8');

  t.test('refused: exit 1 at once with slurmdbd\'s message', async (t) => {
    const r = sacct(args, { SB_SIM_FAIL: 'refused' });
    t.same([r.status, r.stdout, r.stderr], [1, '', refusedText]);
  });

  t.test('frozen: waits, then exit 1 with the message of an unanswered sacct', async (t) => {
    const t0 = Date.now();
    const r = sacct(args, { SB_SIM_FAIL: 'frozen', SB_SIM_FROZEN_SECONDS: '1' });
    t.ok(Date.now() - t0 >= 1000, 'took the frozen seconds');
    t.same([r.status, r.stdout, r.stderr], [1, '', frozenText]);
  });

  t.test('hang: never answers; only killing the process group ends its child too', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-hang-'));
    const log = path.join(dir, 'log');
    const child = spawn('/usr/bin/env', [...NODE, ...args], { env: env({ SB_SIM_FAIL: 'hang', SB_SIM_LOG: log }), detached: true, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    let sleeper = 0;
    for (let i = 0; i < 100 && sleeper === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const line = existsSync(log) ? ndjson(readFileSync(log, 'utf8')).find((l) => l['hang_child']) : undefined;
      if (line) sleeper = line['hang_child'] as number;
    }
    t.ok(sleeper > 0, 'the log names the sleeping child');
    t.ok(alive(sleeper), 'the child sleeps');
    process.kill(-child.pid!, 'SIGKILL');
    t.equal(await exited, 'SIGKILL');
    for (let i = 0; i < 40 && alive(sleeper); i++) await new Promise((r) => setTimeout(r, 50));
    t.notOk(alive(sleeper), 'the whole tree is gone');
  });

  t.test('SB_SIM_FAIL_EVERY: every Nth call fails, counted across concurrent processes', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-every-'));
    const runs = await Promise.all(
      Array.from({ length: 9 }, () => run(args, { SB_SIM_FAIL_EVERY: '3', SB_SIM_STATE: dir })),
    );
    t.equal(runs.filter((r) => r.status === 1).length, 3, 'three of nine calls failed');
    t.ok(runs.filter((r) => r.status === 1).every((r) => r.stderr === refusedText));
    t.equal(runs.filter((r) => r.status === 0 && r.stdout.length > 0).length, 6);
    const serial = [1, 2, 3, 4, 5, 6].map(() => sacct(args, { SB_SIM_FAIL_EVERY: '2', SB_SIM_STATE: mkdtempSync(path.join(tmpdir(), 'x')) }).status);
    t.same(serial, [0, 0, 0, 0, 0, 0], 'a fresh state directory per call: always call 1');
    const d2 = mkdtempSync(path.join(tmpdir(), 'sim-every2-'));
    t.same([1, 2, 3, 4].map(() => sacct(args, { SB_SIM_FAIL_EVERY: '2', SB_SIM_STATE: d2 }).status), [0, 1, 0, 1]);
    t.equal(sacct(args, { SB_SIM_FAIL_EVERY: '2' }).status, 2, 'needs SB_SIM_STATE');
  });

  t.test('SB_SIM_FAIL_FIRST: the first N calls fail, then it answers', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-first-'));
    const statuses = [1, 2, 3, 4].map(() => sacct(args, { SB_SIM_FAIL_FIRST: '2', SB_SIM_STATE: dir }).status);
    t.same(statuses, [1, 1, 0, 0]);
    const d2 = mkdtempSync(path.join(tmpdir(), 'sim-first2-'));
    const frozen = sacct(args, { SB_SIM_FAIL_FIRST: '1', SB_SIM_FAIL_AS: 'frozen', SB_SIM_FROZEN_SECONDS: '0', SB_SIM_STATE: d2 });
    t.same([frozen.status, frozen.stderr], [1, frozenText], 'SB_SIM_FAIL_AS picks the failure');
  });

  t.test('SB_SIM_GARBLE: every Nth line is cut short or garbled', async (t) => {
    const clean = sacct(args).stdout.split('\n');
    const garbled = sacct(args, { SB_SIM_GARBLE: '5' }).stdout.split('\n');
    t.equal(garbled.length, clean.length);
    const count = (l: string): number => l.split(US).length;
    const wrong = clean.flatMap((l, i) => {
      if (l === '') return [];
      const bad = (i + 1) % 5 === 0;
      return bad === (count(garbled[i]!) !== count(l)) && (bad || garbled[i] === l) ? [] : [i + 1];
    });
    t.same(wrong, [], 'lines 5, 10, 15… have the wrong number of fields; the others are untouched');
  });

  t.test('SB_SIM_TRUNCATE: the stream dies mid-line, exit 1', async (t) => {
    const full = sacct(args).stdout;
    const r = sacct(args, { SB_SIM_TRUNCATE: '1' });
    t.equal(r.status, 1);
    t.ok(r.stdout.length > 0 && r.stdout.length < full.length && full.startsWith(r.stdout), 'a prefix of the real output');
    t.not(r.stdout.at(-1), '\n', 'ends mid-line');
    t.match(r.stderr, /^sacct: error: /);
  });

  t.test('SB_SIM_LOG: one line per call with time, pid and argv', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sim-log-'));
    const log = path.join(dir, 'calls.ndjson');
    sacct(args, { SB_SIM_LOG: log });
    sacct(args, { SB_SIM_LOG: log, SB_SIM_FAIL: 'refused' });
    const calls = ndjson(readFileSync(log, 'utf8'));
    t.equal(calls.length, 2);
    t.same(calls[0]!['argv'], args);
    t.equal(calls[0]!['tz'], 'UTC');
    t.ok(typeof calls[0]!['ms'] === 'number' && typeof calls[0]!['pid'] === 'number' && (calls[1]!['ms'] as number) >= (calls[0]!['ms'] as number));
  });

  t.test('SB_SIM_PLACEHOLDER: PENDING rows that are not finished jobs', async (t) => {
    const wide = toolkitArgs('2024-01-10T00:00:00', '2024-01-10T23:59:59');
    const rows = parse(sacct(wide, { SB_SIM_PLACEHOLDER: '1' }).stdout);
    const ph = rows.filter((r) => r['State'] === 'PENDING');
    t.ok(ph.length > 0, 'placeholders appear although -s asks for finished states');
    for (const r of ph) t.same([r['UID'], r['AllocCPUS'], r['ReqMem'], r['End']], ['0', '0', '16?', 'Unknown']);
    t.same(rows.filter((r) => r['State'] !== 'PENDING'), parse(sacct(wide).stdout), 'everything else unchanged');
  });
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function run(args: string[], extra: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn('/usr/bin/env', [...NODE, ...args], { env: env(extra) });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
