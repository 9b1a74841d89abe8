import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { LONG, ROOT, records, runBin, runShell } from './helpers/run.js';

// Exact under every input: each test is one way a job was lost, doubled or mis-measured, or
// the store wedged, tried through the real bins.

const dirs: string[] = [];
t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sb-exact-'));
  dirs.push(d);
  return d;
};
const job = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: 'job', cluster: 'demo', key: 'demo/db/100', job_id: '4242', job_id_raw: '4242', db_index: 100, user: 'alice', uid: 1001,
  account: 'a', partition: 'p', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
  submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
  cpus: 4, nodes: 1, gpus: 0, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2, ...over,
});
const ndjson = (recs: Array<Record<string, unknown>>): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const commits = (stdout: string): Array<Record<string, unknown>> => records(stdout).filter((r) => r['kind'] === 'commit');
const newJobs = (stdout: string): number => commits(stdout).reduce((n, c) => n + (c['new_jobs'] as number), 0);

t.test('two spellings of one key are one job, or bad input: never counted twice', async (t) => {
  const root = tmp();
  const input = ndjson([job(), job({ key: 'demo/db/0100' }), job({ key: 'demo/id/04242/1709629200', db_index: null })]);
  const r = await runBin('sb-reduce', ['--root', root], { input });
  t.equal(newJobs(r.stdout), 1, 'one job counted');
  t.match(r.stderr, /^sb-reduce: stdin:2: key 'demo\/db\/0100' is not canonical/m);
  t.match(r.stderr, /^sb-reduce: stdin:3: key 'demo\/id\/04242\/1709629200' is not canonical/m);
  const d = await runBin('sb-dedupe', ['--root', tmp()], { input });
  t.equal(records(d.stdout).length, 1, 'sb-dedupe passes one');
  t.match(d.stderr, /stdin:2: key 'demo\/db\/0100' is not canonical/);
});

t.test('a long user name cannot wedge the store: bounded file names, later commits still work', async (t) => {
  const root = tmp();
  const cjk = '漢'.repeat(28);
  const long = 'u'.repeat(300);
  let r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ user: cjk }), job({ key: 'demo/db/101', user: long })]) });
  t.same([r.status, r.stderr, newJobs(r.stdout)], [0, '', 2]);
  const names = readdirSync(path.join(root, 'clusters', 'demo', 'agg', 'users'));
  t.equal(names.length, 2);
  for (const n of names) t.ok(Buffer.byteLength(n) <= 255, `${n.slice(0, 40)}…: ${Buffer.byteLength(n)} bytes`);
  const users = names.map((n) => (JSON.parse(readFileSync(path.join(root, 'clusters', 'demo', 'agg', 'users', n), 'utf8')) as { username: string }).username).sort();
  t.same(users, [cjk, long].sort(), 'each file names its user in full');
  r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ key: 'demo/db/102', user: cjk }), job({ key: 'demo/db/103', user: 'bob' })]) });
  t.same([r.status, r.stderr, newJobs(r.stdout)], [0, '', 2], 'the next commit works');
  const check = await runBin('sb-reduce', ['--root', root, '--check']);
  t.equal(check.status, 0, check.stderr);
});

t.test('a deleted or swapped dedupe state file is refused, naming it, before anything is counted', async (t) => {
  const root = tmp();
  const march = [job(), job({ key: 'demo/db/101' })];
  const april = [job({ key: 'demo/db/200', end: '2024-04-05T11:00:00Z' })];
  let r = await runBin('sb-reduce', ['--root', root], { input: ndjson([...march, ...april]) });
  t.equal(newJobs(r.stdout), 3);
  const seen = path.join(root, 'clusters', 'demo', 'state', 'seen');
  const again = ndjson([...march, ...april]);
  // swapped: March's keys under April's name and the other way round
  const m = readFileSync(path.join(seen, '2024-03.seen'));
  const a = readFileSync(path.join(seen, '2024-04.seen'));
  writeFileSync(path.join(seen, '2024-03.seen'), a);
  writeFileSync(path.join(seen, '2024-04.seen'), m);
  r = await runBin('sb-reduce', ['--root', root], { input: again });
  t.equal(r.status, 1);
  t.equal(newJobs(r.stdout), 0, 'nothing counted');
  t.match(r.stderr, /2024-0[34]\.seen: dedupe state is corrupt \(it holds the keys of demo\/2024-0[34], not of demo\/2024-0[34] \(a file moved or swapped\)\); refusing to go on/);
  const d = await runBin('sb-dedupe', ['--root', root], { input: again });
  t.equal(d.status, 1, 'sb-dedupe refuses too');
  // deleted
  writeFileSync(path.join(seen, '2024-04.seen'), a);
  rmSync(path.join(seen, '2024-03.seen'));
  r = await runBin('sb-reduce', ['--root', root], { input: again });
  t.equal(r.status, 1);
  t.equal(newJobs(r.stdout), 0, 'nothing counted twice');
  t.match(r.stderr, /2024-03\.seen: dedupe state is missing, but agg\/rollups\/daily\/2024-03\.json holds jobs of that month; refusing to go on/);
  writeFileSync(path.join(seen, '2024-03.seen'), m);
  r = await runBin('sb-reduce', ['--root', root], { input: again });
  t.same([r.status, newJobs(r.stdout)], [0, 0], 'restored: every job already counted');
});

t.test("a cluster named 'all' is refused wherever a cluster is named: it is the sum board", async (t) => {
  let r = await runBin('sb-chunk', ['new', '-c', 'all', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:59:59Z']);
  t.same([r.status, r.stdout], [2, '']);
  t.match(r.stderr, /'all' is not a cluster name \('all' names the sum of every cluster\)/);
  r = await runBin('sb-chunk', ['new', '-s', '2024-01-01T00:00:00Z', '-e', '2024-01-01T00:59:59Z'], { env: { SB_CLUSTER: 'ALL' } });
  t.equal(r.status, 1, '$SB_CLUSTER too, in any case');
  const root = tmp();
  r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ cluster: 'all', key: 'all/db/1' }), { kind: 'chunk-done', cluster: 'all', start: '2024-03-05T00:00:00Z', end: '2024-03-05T23:59:59Z', rows: 1, settled: true }]) });
  t.equal(newJobs(r.stdout), 0);
  t.equal(r.stderr.trim().split('\n').length, 2, 'both lines refused');
  t.match(r.stderr, /stdin:1: 'cluster' "all" is not a cluster name/);
  const d = await runBin('sb-dedupe', ['--root', root], { input: ndjson([job({ cluster: 'all', key: 'all/db/1' })]) });
  t.same([d.stdout, d.stderr.includes('is not a cluster name')], ['', true]);
  const p = await runBin('sb-parse', ['-c', 'all', '-f', 'sb']);
  t.equal(p.status, 2, 'sb-parse -c all');
  const s = await runBin('sb-sacct', ['--rate', '0'], { input: JSON.stringify({ kind: 'chunk', cluster: 'all', start: '2024-03-05T00:00:00Z', end: '2024-03-05T00:59:59Z' }) + '\n' });
  t.match(s.stderr, /stdin:1: 'cluster' "all" is not a cluster name/, 'sb-sacct refuses the chunk');
});

t.test('an absurd window (before 1990, in the future, longer than a year) is bad input: it never marks history done', async (t) => {
  const root = tmp();
  const done = (start: string, end: string): Record<string, unknown> => ({ kind: 'chunk-done', cluster: 'demo', start, end, rows: 0, settled: true });
  const r = await runBin('sb-reduce', ['--root', root], {
    input: ndjson([
      done('0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z'),
      done('1989-12-31T00:00:00Z', '1989-12-31T23:59:59Z'),
      done('2099-01-01T00:00:00Z', '2099-01-01T23:59:59Z'),
      done('2020-01-01T00:00:00Z', '2021-01-01T23:59:59Z'),
      done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z'),
    ]),
  });
  const err = r.stderr.trim().split('\n');
  t.equal(err.length, 4, r.stderr);
  t.match(err[0], /stdin:1: the window 0001-01-01T00:00:00Z \.\. 9999-12-31T23:59:59Z starts before 1990/);
  t.match(err[1], /stdin:2: .* starts before 1990/);
  t.match(err[2], /stdin:3: .* ends in the future/);
  t.match(err[3], /stdin:4: .* is longer than a year/);
  t.same(commits(r.stdout).map((c) => c['chunk']), ['2024-03-05T00:00:00Z/2024-03-05T23:59:59Z'], 'only the sane window is done');
  const todo = await runBin('sb-chunk', ['todo', '-c', 'demo', '--root', root, '-s', '2024-03-04T00:00:00Z', '-e', '2024-03-06T23:59:59Z', '--by', 'day']);
  t.equal(records(todo.stdout).length, 2, 'the days around it are still to do');
  const s = await runBin('sb-sacct', ['--rate', '0'], { input: ndjson([{ kind: 'chunk', cluster: 'demo', start: '1970-01-01T00:00:00Z', end: '2024-01-01T00:00:00Z' }]) });
  t.match(s.stderr, /stdin:1: the window .* starts before 1990/, 'sb-sacct refuses it before asking slurmdbd');
  const n = await runBin('sb-chunk', ['new', '-c', 'demo', '-s', '1989-01-01', '-e', '1989-01-02']);
  t.equal(n.status, 2);
  const f = await runBin('sb-chunk', ['new', '-c', 'demo', '-s', '2024-01-01', '-e', '2099-01-02']);
  t.match([f.status, f.stderr], [2, /ends in the future/]);
  const step = await runBin('sb-chunk', ['new', '-c', 'demo', '-s', '2020-01-01', '-e', '2024-01-02', '--step', '9000']);
  t.match([step.status, step.stderr], [2, /longer than a year/]);
});

t.test('diagnostics never send control characters raw, and quote a huge value only in part', async (t) => {
  const evil = '\u001b[2J\u001b[31mPWN\u009b\u007f';
  const huge = 'x'.repeat(10 * 1024 * 1024);
  const input = `${evil},2024-01-01T00:00:00Z\n${huge},2024-01-01T00:00:00Z\n`;
  const r = await runBin('sb-chunk', ['from-file', '-c', 'demo'], { input });
  const err = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(err.length, 2);
  t.equal(err[0], "sb-chunk: stdin:1: '\\x1b[2J\\x1b[31mPWN\\x9b\\x7f' is not a time");
  t.notMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no raw control character on stderr');
  t.ok((err[1] as string).length < 500, `a 10 MB value is cut (${(err[1] as string).length} characters)`);
  t.match(err[1], /^sb-chunk: stdin:2: 'x+\[\.\.\. \d+ characters cut \.\.\.\]x+' is not a time$/);
  const json = await runBin('sb-chunk', ['from-file', '-c', 'demo', '--errors', 'json'], { input });
  t.notMatch(json.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, '--errors json: none either');
  t.equal((JSON.parse(json.stderr.split('\n')[0] as string) as { message: string }).message, `'${evil}' is not a time`, 'the JSON message holds the value exactly');
  const user = await runBin('sb-reduce', ['--root', tmp()], { input: ndjson([job({ user: 'al\u001bice' }), job({ key: 'demo/db/101', user: 'b\ufffdb' })]) });
  t.equal(newJobs(user.stdout), 0, 'user names with control characters or invalid UTF-8 are bad input');
  t.equal(user.stderr.split('\n').filter((l) => l.includes('is not a user name')).length, 2);
});

t.test('bit rot in a derived file is found by --check and healed by --rebuild from the sources of truth', async (t) => {
  const root = tmp();
  const jobs = [job(), job({ key: 'demo/db/101', user: 'bob', end: '2024-04-02T00:00:00Z' }), job({ key: 'demo/db/102', end: '2024-04-03T00:00:00Z' })];
  await runBin('sb-reduce', ['--root', root], { input: ndjson(jobs) });
  const rank = async (): Promise<string> => (await runBin('sb-rank', ['--root', root, '--now', '2024-05-01T00:00:00Z', '--min-jobs', '0', '-w', 'alltime,year-2024', '-m', 'clock_hours'], { env: { SB_HOME_ROOT: root } })).stdout;
  const truth = await rank();
  const yearly = path.join(root, 'clusters', 'demo', 'agg', 'rollups', 'yearly', '2024.json');
  const user = path.join(root, 'clusters', 'demo', 'agg', 'users', 'alice.json');
  writeFileSync(yearly, readFileSync(yearly, 'utf8').replace('"cpu_s":28800', '"cpu_s":28801'));
  writeFileSync(user, readFileSync(user, 'utf8').replace('"totals":{"jobs":2', '"totals":{"jobs":3'));
  const stale = path.join(root, 'clusters', 'demo', 'agg', 'rollups', 'monthly', '2023-01.json');
  writeFileSync(stale, readFileSync(path.join(root, 'clusters', 'demo', 'agg', 'rollups', 'monthly', '2024-03.json')));
  t.not(await rank(), truth, 'the rotten digit is on the board');
  let check = await runBin('sb-reduce', ['--root', root, '--check']);
  t.equal(check.status, 1);
  t.match(check.stderr, /yearly\/2024\.json: the totals of one user differ/);
  const r = await runBin('sb-reduce', ['--root', root, '--rebuild']);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /^sb-reduce: demo: rebuilt 5 derived files from 2 months of daily bins \(2 differed\), removed 1\n$/);
  check = await runBin('sb-reduce', ['--root', root, '--check']);
  t.equal(check.status, 0, check.stderr);
  t.equal(await rank(), truth, 'the boards are right again');
  const more = await runBin('sb-reduce', ['--root', root], { input: ndjson([...jobs, job({ key: 'demo/db/103' })]) });
  t.equal(newJobs(more.stdout), 1, 'later commits go on from the rebuilt files');
  check = await runBin('sb-reduce', ['--root', root, '--check']);
  t.equal(check.status, 0, check.stderr);
});

t.test('numbers past exact sums are bad input: the month stays usable and every total exact', async (t) => {
  const root = tmp();
  const input = ndjson([
    job({ key: 'demo/db/1', cpus: 99999999999, elapsed_s: 99999999 }),
    job({ key: 'demo/db/2', cpus: 2 ** 24, elapsed_s: 2 ** 32 }),
    job({ key: 'demo/db/3', gpus: 2 ** 20, elapsed_s: 2 ** 30 }),
    job({ key: 'demo/db/4', req_mem_bytes: 2 ** 60 }),
    job({ key: 'demo/db/5', cpus: 2 ** 20, elapsed_s: 2 ** 27 }),
  ]);
  const r = await runBin('sb-reduce', ['--root', root], { input });
  const err = r.stderr.trim().split('\n');
  t.equal(err.length, 4, r.stderr);
  t.match(err[0], /stdin:1: 'cpus' 99999999999 is above its limit 16777216: its totals could not stay exact/);
  t.match(err[1], /stdin:2: cpus × elapsed_s \(16777216 × 4294967296\) is above its limit 2\^47/);
  t.match(err[2], /stdin:3: gpus × elapsed_s/);
  t.match(err[3], /stdin:4: 'req_mem_bytes' .* is above its limit/);
  t.equal(newJobs(r.stdout), 1, 'the job at the limit counts');
  const more = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ key: 'demo/db/6' })]) });
  t.same([more.status, newJobs(more.stdout)], [0, 1], 'later commits of the month work');
  const rank = await runBin('sb-rank', ['--root', root, '--now', '2024-04-01T00:00:00Z', '--min-jobs', '0', '-w', 'alltime', '-m', 'clock_hours', '-c', 'all'], { env: { SB_HOME_ROOT: root } });
  t.equal(rank.status, 0, rank.stderr);
  t.equal(records(rank.stdout)[0]?.['value'], (2 ** 20 * 2 ** 27 + 4 * 3600) / 3600, 'exact core-hours');
});

t.test('a retry fetches only what is still missing, and a retry that succeeded leaves an empty failure ledger', async (t) => {
  const root = tmp();
  const done = (start: string, end: string): Record<string, unknown> => ({ kind: 'chunk-done', cluster: 'demo', start, end, rows: 0, settled: true });
  await runBin('sb-reduce', ['--root', root], { input: ndjson([done('2024-03-01T00:00:00Z', '2024-03-01T01:59:59Z')]) });
  const failed = path.join(root, 'clusters', 'demo', 'state', 'failed.ndjson');
  const entry = (start: string, end: string): Record<string, unknown> => ({ kind: 'failed', cluster: 'demo', start, end, attempts: 4, reason: 'timeout', permanent: false });
  writeFileSync(failed, ndjson([entry('2024-03-01T00:00:00Z', '2024-03-01T00:59:59Z'), entry('2024-03-01T01:00:00Z', '2024-03-01T02:59:59Z'), entry('2024-03-01T05:00:00Z', '2024-03-01T05:59:59Z')]) + 'not json, kept\n');
  const retry = await runBin('sb-chunk', ['from-file', failed, '--root', root]);
  t.equal(retry.status, 0);
  t.match(retry.stderr, /failed\.ndjson:4: /, 'the line it cannot read is reported, and skipped');
  t.same(records(retry.stdout).map((c) => [c['start'], c['end']]), [
    ['2024-03-01T02:00:00Z', '2024-03-01T02:59:59Z'],
    ['2024-03-01T05:00:00Z', '2024-03-01T05:59:59Z'],
  ], 'the windows done are not fetched again; a half-done one is cut to its missing part');
  const r = await runBin('sb-reduce', ['--root', root, '-v'], {
    input: ndjson(records(retry.stdout).map((c) => done(c['start'] as string, c['end'] as string))),
  });
  t.match(r.stderr, /demo: 3 window\(s\) of the failure ledger are done now; dropped from it/);
  t.equal(readFileSync(failed, 'utf8'), 'not json, kept\n', 'only what it cannot read stays');
});

t.test('a long job keeps every step, however long before its window a step ended (Slurm filters steps by -S too)', { skip: LONG }, async (t) => {
  // A stand-in for Slurm 22.05's sacct over fixed records: it shows a step only if the step
  // ended at or after -S, as slurmdbd does.
  const dir = path.join(ROOT, 'test', 'cases', 'sacct', 'long-job-steps');
  const db = readFileSync(path.join(dir, 'db.txt'), 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split('\x1f'));
  // the truth, by DBIndex: the peak MaxRSS over the record's steps and their number
  const truth = new Map<string, [number, number]>();
  for (const f of db) {
    if (!(f[2] as string).includes('.')) continue;
    const [rss, n] = truth.get(f[0] as string) ?? [0, 0];
    truth.set(f[0] as string, [Math.max(rss, Number(f[19])), n + 1]);
  }
  const runs: Array<[string, string[], string[]]> = [
    ['36-second windows', ['-s', '2024-03-05T09:55:00Z', '-e', '2024-03-05T10:20:59Z', '--step', '0.01'], []],
    ['36-second windows, --slack 0', ['-s', '2024-03-05T09:55:00Z', '-e', '2024-03-05T10:20:59Z', '--step', '0.01'], ['--slack', '0']],
    ['--by day, a job across midnight', ['-s', '2024-03-04T00:00:00Z', '-e', '2024-03-05T23:59:59Z', '--by', 'day'], []],
    ['a ten-minute poll', ['-s', '2024-03-04T21:00:00Z', '-e', '2024-03-05T10:29:59Z', '--step', '0.1666667'], ['-j', '3']],
  ];
  for (const [label, chunks, opts] of runs) {
    const r = await runShell(`sb-chunk new -c sbtest ${chunks.join(' ')} | sb-sacct --sacct '${dir}/sacct' --rate 0 ${opts.join(' ')} | sb-parse`);
    t.equal(r.status, 0, `${label}: ${r.stderr}`);
    const jobs = records(r.stdout).filter((x) => x['kind'] === 'job');
    t.ok(jobs.length >= 3, `${label}: ${jobs.length} jobs`);
    for (const j of jobs) {
      const [rss, steps] = truth.get(String(j['db_index'])) ?? [0, 0];
      t.same([j['max_rss_bytes'], j['steps']], [rss, steps], `${label}: job ${j['job_id']} (DBIndex ${j['db_index']}): peak ${rss / 2 ** 20} MiB over ${steps} steps`);
    }
  }
});

// A directory with a stand-in sacct running `script` (sh) and a sacctmgr that knows cluster
// demo; sacct's calls are logged to calls.log.
const standIn = (script: string): { dir: string; sacct: string; calls: () => string[] } => {
  const dir = tmp();
  const sacct = path.join(dir, 'sacct');
  writeFileSync(sacct, `#!/bin/sh\necho "$*" >> '${dir}/calls.log'\n${script}\n`, { mode: 0o755 });
  writeFileSync(path.join(dir, 'sacctmgr'), '#!/bin/sh\n[ "$5" = demo ] && echo demo\nexit 0\n', { mode: 0o755 });
  const calls = (): string[] => {
    try {
      return readFileSync(path.join(dir, 'calls.log'), 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  };
  return { dir, sacct, calls };
};
const sacctLine = (v: Record<string, string>): string =>
  ['DBIndex', 'JobID', 'JobIDRaw', 'Cluster', 'User', 'UID', 'Account', 'Partition', 'QOS', 'State', 'ExitCode', 'Submit', 'Start', 'End',
    'ElapsedRaw', 'Timelimit', 'AllocCPUS', 'NNodes', 'ReqMem', 'MaxRSS', 'AllocTRES'].map((f) => (v[f] ?? '') + '\x1f').join('');
const demoJob = (db: string, over: Record<string, string> = {}): string[] => [
  sacctLine({ DBIndex: db, JobID: db, JobIDRaw: db, Cluster: 'demo', User: 'alice', UID: '1001', Account: 'a', Partition: 'p', QOS: 'normal', State: 'COMPLETED', ExitCode: '0:0',
    Submit: '2024-03-05T10:00:00', Start: '2024-03-05T10:00:00', End: '2024-03-05T10:30:00', ElapsedRaw: '1800', Timelimit: '01:00:00', AllocCPUS: '1', NNodes: '1', ReqMem: '1G', AllocTRES: 'cpu=1', ...over }),
  sacctLine({ DBIndex: db, JobID: `${db}.batch`, JobIDRaw: `${db}.batch`, Cluster: 'demo', Account: over['Account'] ?? 'a', State: 'COMPLETED', Start: '2024-03-05T10:00:00', End: '2024-03-05T10:30:00', MaxRSS: '1024' }),
];

t.test('a control character in one line of sacct output skips that line, not the window: the other jobs count, the line is in the ledger, nothing is retried', async (t) => {
  const out = [...demoJob('1'), ...demoJob('2', { Account: 'dev\u001b[2Jteam' }), ...demoJob('3', { User: 'b\u007fb' }), ...demoJob('4')].join('\n') + '\n';
  const s = standIn(`printf '%s' '${out.replace(/'/g, "'\\''")}'`);
  const input = ndjson([{ kind: 'chunk', cluster: 'demo', start: '2024-03-05T00:00:00Z', end: '2024-03-05T23:59:59Z' }]);
  const root = tmp();
  // the store's own ledger (no --failed), which sb-reduce compacts at the end of its run
  const failed = path.join(root, 'clusters', 'demo', 'state', 'failed.ndjson');
  const r = await runShell(`sb-sacct --sacct '${s.sacct}' --rate 0 --backoff 0.01 --root '${root}' | sb-parse | sb-dedupe --root '${root}' | sb-reduce --root '${root}'`, { input });
  t.equal(r.status, 0, 'the window is done: exit 0, not 75');
  t.equal(newJobs(r.stdout), 2, 'jobs 1 and 4 counted');
  t.equal(s.calls().length, 1, 'one call, no retry');
  const err = r.stderr.split('\n').filter((l) => l !== '');
  t.equal(err.length, 2, r.stderr);
  t.match(err[0], /^sb-sacct: demo 2024-03-05T00:00:00Z\/2024-03-05T23:59:59Z: sacct line 3: job 2 has a control character in Account; line skipped \(recorded in .*failed\.ndjson\): 2\|2\|2\|demo\|alice\|1001\|dev\\x1b\[2Jteam\|/);
  t.match(err[1], /sacct line 5: job 3 has a control character in User; line skipped .*\|b\\x7fb\|/, 'a DEL shown as \\x7f');
  t.notMatch(r.stderr, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no raw control character on stderr');
  const entries = records(readFileSync(failed, 'utf8'));
  t.match(entries, [
    { kind: 'skipped-line', cluster: 'demo', chunk: '2024-03-05T00:00:00Z/2024-03-05T23:59:59Z', query: 0, line: 3, job: '2', fields: ['Account'], text: /dev\\x1b\[2Jteam/ },
    { kind: 'skipped-line', line: 5, job: '3', fields: ['User'] },
  ]);
  t.notMatch(readFileSync(failed, 'utf8'), /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'the ledger holds no raw control character either');
  const back = await runBin('sb-chunk', ['from-file', failed, '--root', root, '--strict']);
  t.equal(back.stdout, '', 'sb-chunk from-file finds no window to retry in it');
  t.equal(back.stderr, '', 'and says nothing of the skipped lines: they are not bad input to it');
  t.equal(back.status, 0);
  // The lines stay where an admin sees them: sb-reduce drops the done windows' failures from the
  // ledger, not the lines left out of them.
  appendFileSync(failed, JSON.stringify({ kind: 'failed', cluster: 'demo', start: '2024-03-05T00:00:00Z', end: '2024-03-05T23:59:59Z', attempts: 4, reason: 'exit', permanent: false, error: 'an earlier run' }) + '\n');
  const compact = await runBin('sb-reduce', ['--root', root, '-v'], { input: ndjson([{ kind: 'chunk-done', cluster: 'demo', start: '2024-03-05T00:00:00Z', end: '2024-03-05T23:59:59Z', rows: 0, settled: true }]) });
  t.equal(compact.status, 0, compact.stderr);
  t.match(compact.stderr, /1 window\(s\) of the failure ledger are done now; dropped from it/);
  t.match(records(readFileSync(failed, 'utf8')), [{ kind: 'skipped-line', job: '2' }, { kind: 'skipped-line', job: '3' }], 'both skipped lines kept, the failure gone');
  t.equal(records(readFileSync(failed, 'utf8')).length, 2);
  const strict = await runBin('sb-sacct', ['--sacct', s.sacct, '--rate', '0', '--strict'], { input });
  t.equal(strict.status, 65, '--strict: skipped lines are bad input');
  t.equal(records(strict.stdout).filter((x) => x['kind'] === 'chunk-done').length, 1, 'the window still done');
  // garbage is still garbage: a line with a field too many fails the window (and is retried)
  const junk = standIn(`printf '%s\\n' '${sacctLine({ DBIndex: '9', JobIDRaw: '9' })}extra\x1f'`);
  const g = await runBin('sb-sacct', ['--sacct', junk.sacct, '--rate', '0', '--backoff', '0.01', '--retries', '1'], { input });
  t.equal(g.status, 75);
  t.match(g.stderr, /garbled output: line 1 has 22 fields, expected 21/);
});

// What the Debian (Slurm 22.05) sacct prints without any configuration: no slurm.conf, no
// SLURM_CONF, no DNS SRV record for configless mode (exit 1).
const NO_CONFIG = [
  'sacct: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host',
  'sacct: error: fetch_config: DNS SRV lookup failed',
  'sacct: error: _establish_config_source: failed to fetch config',
  'sacct: fatal: Could not establish a configuration source',
];
// With SLURM_CONF naming a file that is not there (after retrying for 60 s).
const BAD_CONF = [
  'sacct: error: s_p_parse_file: cannot stat file /etc/slurm/nosuch.conf: No such file or directory, retrying in 1sec up to 60sec',
  'sacct: error: ClusterName needs to be specified',
  'sacct: fatal: Unable to process configuration file',
];

t.test('a configuration error stops the run after its first window, exit 1, one line; the windows after it stay to do', async (t) => {
  // 41 days, in a file: read to its end to count what is left undone (a pipe is not)
  const days = async (cluster: string): Promise<string> => {
    const file = path.join(tmp(), 'days.ndjson');
    writeFileSync(file, (await runBin('sb-chunk', ['new', '-c', cluster, '-s', '2024-01-01', '-e', '2024-02-10 23:59:59', '--by', 'day'])).stdout);
    return file;
  };
  const root = tmp();
  for (const [label, lines] of [['no configuration', NO_CONFIG], ['a missing SLURM_CONF', BAD_CONF]] as const) {
    const s = standIn(`printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} >&2; exit 1`);
    const failed = path.join(s.dir, 'failed.ndjson');
    const r = await runShell(`sb-sacct --sacct '${s.sacct}' --rate 0 --backoff 0.01 --failed '${failed}' '${await days('demo')}' | sb-parse | sb-reduce --root '${root}'`);
    t.equal(r.status, 1, `${label}: exit 1, not 75`);
    t.equal(s.calls().length, 1, `${label}: one sacct call for 41 windows`);
    t.equal(r.stderr, `sb-sacct: demo 2024-01-01T00:00:00Z/2024-01-01T23:59:59Z: failed for good after 1 attempt: sacct exited 1: ${lines.at(-1)} (recorded in ${failed}); stopping: 40 windows left undone\n`);
    t.match(records(readFileSync(failed, 'utf8')), [{ kind: 'failed', permanent: true, reason: 'exit', attempts: 1 }]);
  }
  const todo = await runBin('sb-chunk', ['todo', '-c', 'demo', '--root', root, '-s', '2024-01-01', '-e', '2024-02-10 23:59:59', '--by', 'day']);
  t.equal(records(todo.stdout).length, 41, 'every window still to do');
  // a misspelled cluster: sacct prints nothing and exits 0; sacctmgr does not know it
  const quiet = standIn('exit 0');
  const r = await runBin('sb-sacct', ['--sacct', quiet.sacct, '--rate', '0', '--backoff', '0.01', await days('demi')]);
  t.equal(r.status, 1);
  t.equal(quiet.calls().length, 1, 'one sacct call for 41 windows');
  t.match(r.stderr, /^sb-sacct: demi 2024-01-01T00:00:00Z\/2024-01-01T23:59:59Z: failed for good after 1 attempt: cluster 'demi' is not known to slurmdbd .*; stopping: 40 windows left undone\n$/);
});

// Every file of a store with what changes from run to run (times of writing, transaction ids) taken out.
function storeFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/state\/(txn|failed\.ndjson)$/.test(p)) out.set(path.relative(root, p), readFileSync(p, 'latin1').replace(/"asof":"[^"]*"/g, '"asof":-'));
    }
  };
  walk(root);
  return out;
}

t.test('a stream cut inside a window commits no job with missing steps: the resumed store equals a clean run', { skip: LONG }, async (t) => {
  const sim = { SB_SIM_NOW: '2024-03-10T00:00:00', SB_SIM_SEED: 'cut', SB_SIM_RATE: '300', XDG_RUNTIME_DIR: tmp() };
  const day = ['new', '-c', 'demo', '-s', '2024-03-02T00:00:00Z', '-e', '2024-03-02T23:59:59Z', '--by', 'day'];
  const sacct = ['--sacct', path.join(ROOT, 'sim', 'sacct'), '--sacctmgr', path.join(ROOT, 'sim', 'sacctmgr'), '--rate', '0'];
  const chunks = await runBin('sb-chunk', day);
  const fetched = await runBin('sb-sacct', sacct, { input: chunks.stdout, env: sim });
  const recs = fetched.stdout.split('\n').filter((l) => l !== '');
  t.ok(recs.length > 4, `the day is ${recs.length} records (rows records and its chunk-done)`);
  const pipe = async (root: string, input: string): Promise<void> => {
    const parsed = await runBin('sb-parse', [], { input });
    await runBin('sb-reduce', ['--root', root], { input: parsed.stdout });
  };
  const clean = tmp();
  await pipe(clean, fetched.stdout);
  // sb-sacct killed (or the disk full) after its third record
  const cut = tmp();
  const parsed = await runBin('sb-parse', [], { input: recs.slice(0, 3).join('\n') + '\n' });
  t.match(parsed.stderr, /the input ends inside a window/, 'the cut is reported');
  await runBin('sb-reduce', ['--root', cut], { input: parsed.stdout });
  // the resume: what the store does not hold as done, through the whole pipeline
  const todo = await runBin('sb-chunk', ['todo', ...day.slice(1), '--root', cut]);
  t.equal(records(todo.stdout).length, 1, 'the cut window is still to do');
  const again = await runBin('sb-sacct', sacct, { input: todo.stdout, env: sim });
  await pipe(cut, again.stdout);
  t.same(storeFiles(cut), storeFiles(clean), 'the store equals a clean run’s, file for file');
  const check = await runBin('sb-reduce', ['--root', cut, '--check']);
  t.equal(check.status, 0, check.stderr);
});

t.test('sb-parse never guesses a cluster silently; it refuses numbers past exact sums', async (t) => {
  const fields = 'JobID,JobIDRaw,User,State,End,ElapsedRaw,AllocCPUS,NNodes';
  const input = `${fields.split(',').join('|')}\n42|42|alice|COMPLETED|2024-03-05T11:00:00|3600|4|1\n43|43|bob|COMPLETED|2024-03-05T11:00:00|99999999|99999999999|1\n`;
  let r = await runBin('sb-parse', [], { input, env: { SB_CLUSTER: 'bell' } });
  t.equal(records(r.stdout).length, 1);
  t.equal(records(r.stdout)[0]?.['cluster'], 'bell');
  t.match(r.stderr, /sb-parse: warning: the rows name no cluster: counting them as cluster 'bell' \(\$SB_CLUSTER\); give --cluster NAME, or ask sacct for -o Cluster,\.\.\./);
  t.match(r.stderr, /stdin:3: job 43: 'cpus' 99999999999 is above its limit 16777216: its totals could not stay exact/);
  r = await runBin('sb-parse', [], { input, env: { SB_CLUSTER: '', SB_SIM_CLUSTER: 'hammer', SB_SCONTROL: path.join(ROOT, 'sim', 'scontrol') } });
  t.match(r.stderr, /counting them as cluster 'hammer' \(ClusterName in 'scontrol show config'\)/);
  r = await runBin('sb-parse', ['-c', 'bell'], { input });
  t.notMatch(r.stderr, /name no cluster/, 'no warning when told');
});
