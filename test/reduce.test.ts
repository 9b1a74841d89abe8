import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BadInput } from '../lib/core/cli/errors.js';
import { acquireLock } from '../lib/core/store/lock.js';
import { SeenSet } from '../lib/core/store/seen.js';
import { computeDelta, pendingChunk, pendingJob, pendingTotals, type Delta } from '../lib/tools/reduce/main.js';
import { HeldJobs, Names } from '../lib/tools/reduce/held.js';
import { byteLines } from './helpers/byte-lines.js';
import { goldenCases } from './helpers/golden.js';
import { records, ROOT, runBin, runShell } from './helpers/run.js';
import { snapshot } from './helpers/snapshot.js';
import { forgetAccounts } from './helpers/team-store.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'sb-reduce-'));
const GEN = path.join(ROOT, 'bench', 'gen-jobs.mjs');

// A job record as sb-parse prints it; fields overridable.
function job(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'job', cluster: 'c', key: 'c/db/100', job_id: '4242', job_id_raw: '4242', db_index: 100, user: 'alice', uid: 1001,
    account: 'a', partition: 'p', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
    submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
    cpus: 4, nodes: 1, gpus: 0, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2, ...over,
  };
}
const done = (start: string, end: string, settled = true): Record<string, unknown> => ({ kind: 'chunk-done', cluster: 'c', start, end, rows: 1, settled });
const ndjson = (recs: Array<Record<string, unknown>>): string => recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
const newJobsOf = (stdout: string): number => records(stdout).filter((r) => r['kind'] === 'commit').reduce((n, c) => n + (c['new_jobs'] as number), 0);

function gen(args: string[]): string {
  return execFileSync(process.execPath, [GEN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

// Per user, the all-time totals in the store (agg/users) and the sum of the monthly files.
function storeTotals(root: string, cluster: string): { users: Map<string, Record<string, unknown>>; monthly: Map<string, Record<string, bigint>> } {
  const users = new Map<string, Record<string, unknown>>();
  const udir = path.join(root, 'clusters', cluster, 'agg', 'users');
  for (const f of existsSync(udir) ? readdirSync(udir) : []) {
    const doc = JSON.parse(readFileSync(path.join(udir, f), 'utf8')) as { username: string; clusters: Record<string, { totals: Record<string, unknown> }> };
    users.set(doc.username, doc.clusters[cluster]?.totals ?? {});
  }
  const monthly = new Map<string, Record<string, bigint>>();
  const mdir = path.join(root, 'clusters', cluster, 'agg', 'rollups', 'monthly');
  for (const f of existsSync(mdir) ? readdirSync(mdir) : []) {
    const doc = JSON.parse(readFileSync(path.join(mdir, f), 'utf8')) as { users: Array<{ username: string; totals: Record<string, number | string> }> };
    for (const u of doc.users) {
      const acc = monthly.get(u.username) ?? {};
      for (const [k, v] of Object.entries(u.totals)) acc[k] = (acc[k] ?? 0n) + BigInt(v);
      monthly.set(u.username, acc);
    }
  }
  return { users, monthly };
}

// The generator's truth TSV → user → field → decimal string.
function truthOf(tsv: string): Map<string, Record<string, string>> {
  const [head, ...rows] = tsv.trim().split('\n');
  const fields = (head ?? '').split('\t').slice(1);
  return new Map(rows.map((r) => {
    const [u, ...v] = r.split('\t');
    return [u as string, Object.fromEntries(fields.map((f, i) => [f, v[i] as string]))];
  }));
}

function assertTruth(t: Tap.Test, root: string, cluster: string, truth: Map<string, Record<string, string>>): void {
  const { users, monthly } = storeTotals(root, cluster);
  t.same([...users.keys()].sort(), [...truth.keys()].sort(), 'the same users');
  let wrong = 0;
  for (const [u, want] of truth) {
    for (const [f, v] of Object.entries(want)) {
      if (String(users.get(u)?.[f]) !== v || String(monthly.get(u)?.[f]) !== v) wrong++;
    }
  }
  t.equal(wrong, 0, 'every user and metric equals the truth, in agg/users and in the monthly files');
}


t.test('pendingJob: what a transaction keeps; bad fields are BadInput naming them', async (t) => {
  const { cluster, job: j } = pendingJob(job());
  t.equal(cluster, 'c');
  t.same(j.code, { kind: 'db', n: 100 });
  t.equal(j.month, '2024-03');
  t.equal(j.day, '05');
  t.equal(pendingTotals(j).cpu_s, 4 * 3600);
  t.equal(pendingTotals(j).mem_req_byte_s, 4n * 1024n ** 3n * 3600n);
  const huge = pendingJob(job({ req_mem_bytes: 2 ** 40 + 1, max_rss_bytes: 2 ** 40 + 3, elapsed_s: 2 ** 31 })).job;
  t.equal(pendingTotals(huge).mem_req_byte_s, (2n ** 40n + 1n) * 2n ** 31n, 'a product past 2^53 stays exact');
  t.equal(pendingTotals(huge).mem_used_byte_s, (2n ** 40n + 3n) * 2n ** 31n);
  const odd = pendingJob(job({ req_mem_bytes: 1000.5, max_rss_bytes: 10.4, elapsed_s: 3 })).job;
  t.same([pendingTotals(odd).mem_req_byte_s, pendingTotals(odd).mem_used_byte_s], [3003n, 30n], 'bytes rounded as before');
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ key: 'd/db/1' }, /key 'd\/db\/1' does not start with the job's cluster 'c\/'/],
    [{ cluster: 'bad name' }, /'cluster' "bad name" is not a cluster name/],
    [{ user: '' }, /'user' is missing/],
    [{ end: '2024-03-05 11:00' }, /'end' '2024-03-05 11:00' is not a UTC time/],
    [{ elapsed_s: -1 }, /'elapsed_s' -1 is not a whole number/],
    [{ cpus: 1.5 }, /'cpus' 1.5/],
    [{ gpus: '2' }, /'gpus' "2"/],
    [{ req_mem_bytes: null }, /'req_mem_bytes' null/],
    [{ max_rss_bytes: 'x' }, /'max_rss_bytes' "x"/],
    [{ failed: 'yes' }, /'failed' is not true or false/],
  ];
  for (const [over, msg] of bad) t.throws(() => pendingJob(job(over)), new BadInput(''), JSON.stringify(over)) && t.throws(() => pendingJob(job(over)), msg);
  t.same(pendingTotals(pendingJob(job({ max_rss_bytes: null })).job).mem_used_byte_s, 0n);
  t.same(pendingChunk(done('2024-03-05T00:00:00Z', '2024-03-05T05:59:59Z', false)).chunk.settled, false);
  t.same(pendingChunk({ kind: 'chunk-done', cluster: 'c', start: '2024-03-05T00:00:00Z', end: '2024-03-05T05:59:59Z' }).chunk.settled, true);
  t.throws(() => pendingChunk({ ...done('2024-03-05T00:00:00Z', '2024-03-05T05:59:59Z'), settled: 'no' }), /'settled' is not true or false/);
});

// The jobs a delta adds to a user's day of a month, over all accounts.
function userJobs(d: Delta, month: string, user: string, day?: number): number {
  let n = 0;
  for (const bins of d.bins.get(month)?.values() ?? []) {
    for (let dd = 1; dd <= 31; dd++) if (day === undefined || dd === day) n += bins.get(user, dd)?.jobs ?? 0;
  }
  return n;
}

t.test('computeDelta: the same record twice counts once; requeued runs and recycled ids count apart', async (t) => {
  const jobs = [
    job({ key: 'c/db/2', state: 'REQUEUED' }),
    job({ key: 'c/db/19' }), // the requeued job's next run: same job id, new DBIndex
    job({ key: 'c/db/19' }), // the same record again
    job({ key: 'c/id/77/1709600000', db_index: null }),
    job({ key: 'c/id/77/1709700000', db_index: null }), // job id 77 recycled
    job({ key: 'c/db/5', end: '2024-04-01T00:00:00Z' }),
    job({ key: 'c/db/6' }), // already in the store
  ].map((r) => pendingJob(r).job);
  const held = new HeldJobs(new Names());
  for (const j of jobs) held.push(j);
  const stored = new Map([['2024-03', new SeenSet(Float64Array.from([6]))]]);
  const d = computeDelta(held, (m) => stored.get(m) ?? new SeenSet());
  t.equal(d.newJobs, 5);
  t.equal(d.duplicates, 2);
  t.same([...d.bins.keys()].sort(), ['2024-03', '2024-04']);
  t.equal(userJobs(d, '2024-03', 'alice', 5), 4);
  t.equal(userJobs(d, '2024-04', 'alice', 1), 1);
});

t.test('held jobs: every kind of key, past the columns\' first size, each job given back as it was held', async (t) => {
  // db keys, JobIDRaw+Submit keys, and the other kind (no Submit, a job id past 32 bits), 300 of them
  const keys = (i: number): string => (i % 3 === 0 ? `c/db/${1000 + i}` : i % 3 === 1 ? `c/id/${77 + i}/1709600000` : i % 2 === 0 ? `c/id/${88 + i}/unknown` : `c/id/${2 ** 33 + i}/1709600000`);
  const jobs = Array.from({ length: 300 }, (_, i) =>
    pendingJob(job({ key: keys(i), db_index: i % 3 === 0 ? 1000 + i : null, user: `u${i % 7}`, account: `a${i % 3}`, elapsed_s: 60 + i, cpus: 1 + (i % 5), end: `2024-03-${String(1 + (i % 28)).padStart(2, '0')}T11:00:00Z` })).job);
  const held = new HeldJobs(new Names());
  for (const j of jobs) held.push(j);
  for (const j of jobs) held.push(j); // each again: a duplicate
  t.equal(held.length, 600);
  let differ = 0;
  for (let i = 0; i < held.length; i++) {
    const { code, ...rest } = held.job(i);
    const { code: want, ...wantRest } = jobs[i % 300] as (typeof jobs)[number];
    if (JSON.stringify({ ...code }, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) !== JSON.stringify({ ...want }, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) || JSON.stringify(rest) !== JSON.stringify(wantRest)) differ++;
  }
  t.equal(differ, 0, 'every held job comes back as it went in');
  const d = computeDelta(held, () => new SeenSet());
  t.equal(d.newJobs, 300);
  t.equal(d.duplicates, 300);
  const batch = d.keys.get('2024-03');
  t.same([batch?.db.size, batch?.id.size, batch?.other.size], [100, 100, 100]);
  let all = 0;
  for (let u = 0; u < 7; u++) all += userJobs(d, '2024-03', `u${u}`);
  t.equal(all, 300);
});

t.test('sb-reduce counts jobs keyed without a Submit or past 32 bits once, in the run and in the next', async (t) => {
  const root = tmp();
  const jobs = [job({ key: 'c/id/77/unknown', db_index: null }), job({ key: `c/id/${2 ** 33}/1709600000`, db_index: null }), job({ key: 'c/id/78/unknown', db_index: null })];
  const input = ndjson([...jobs, ...jobs, done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z')]);
  const first = records((await runBin('sb-reduce', ['--root', root], { input })).stdout)[0] as Record<string, unknown>;
  t.match(first, { processed: 6, new_jobs: 3, duplicates: 3 });
  const again = records((await runBin('sb-reduce', ['--root', root], { input })).stdout)[0] as Record<string, unknown>;
  t.match(again, { processed: 6, new_jobs: 0, duplicates: 6 });
});

t.test('a transaction: rollups, daily bins, yearly, all-time, dedupe state, ledger, commit record', async (t) => {
  const root = tmp();
  const input = ndjson([
    job(),
    job({ key: 'c/db/101', user: 'bob', gpus: 2, state: 'TIMEOUT', failed: true, end: '2024-03-05T12:00:00Z' }),
    { kind: 'note', text: 'passes through' },
    job({ key: 'c/db/102', end: '2024-03-06T01:00:00Z' }),
    done('2024-03-05T00:00:00Z', '2024-03-06T23:59:59Z'),
  ]);
  const r = await runBin('sb-reduce', ['--root', root], { input });
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
  const out = records(r.stdout);
  t.same(out[0], { kind: 'note', text: 'passes through' });
  const c = out[1] as Record<string, unknown>;
  t.same(Object.keys(c).slice(0, 8), ['kind', 'cluster', 'processed', 'new_jobs', 'duplicates', 'months_changed', 'users_changed', 'chunks_done']);
  t.match(c, { kind: 'commit', cluster: 'c', processed: 3, new_jobs: 3, duplicates: 0, months_changed: ['2024-03'], users_changed: ['alice', 'bob'], chunks_done: 1, users_hidden: 0, chunk: '2024-03-05T00:00:00Z/2024-03-06T23:59:59Z', settled: true });
  t.match(c['txn'], /^[0-9a-z]+-[0-9a-f]{12}$/);
  const dir = path.join(root, 'clusters', 'c');
  const monthly = JSON.parse(readFileSync(path.join(dir, 'agg/rollups/monthly/2024-03.json'), 'utf8')) as Record<string, unknown>;
  t.match(monthly, { cluster: 'c', month: '2024-03', schema_version: 2 });
  t.match(monthly['asof'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const users = monthly['users'] as Array<Record<string, unknown>>;
  t.same(users.map((u) => u['username']), ['alice', 'bob']);
  t.match(users[0], { total_clock_hours: 8, clock_hours: 8, elapsed_hours: 2, jobs: 2, mem_req_gb_hours: 8, mem_used_gb_hours: 2, totals: { jobs: 2, cpu_s: 28800, mem_req_byte_s: String(2n * 4n * 1024n ** 3n * 3600n) } });
  t.match(users[1], { count_gpu_jobs: 1, gpu_jobs: 1, gpu_clock_hours: 2, total_gpu_clock_hours: 2, gpu_elapsed_hours: 1, failed_jobs: 1, count_failed_jobs: 1 });
  t.match(monthly['cluster_totals'], { jobs: 3 });
  const daily = JSON.parse(readFileSync(path.join(dir, 'agg/rollups/daily/2024-03.json'), 'utf8')) as { users: Record<string, Record<string, { jobs: number }>> };
  t.same(Object.keys(daily.users['alice'] ?? {}), ['05', '06']);
  const yearly = JSON.parse(readFileSync(path.join(dir, 'agg/rollups/yearly/2024.json'), 'utf8')) as Record<string, unknown>;
  t.match(yearly, { year: '2024', users: [{ username: 'alice', jobs: 2 }, { username: 'bob', jobs: 1 }] });
  const alice = JSON.parse(readFileSync(path.join(dir, 'agg/users/alice.json'), 'utf8')) as Record<string, unknown>;
  t.match(alice, { schema_version: 2, username: 'alice', clusters: { c: { jobs: 2, clock_hours: 8, totals: { jobs: 2 } } } });
  t.same(JSON.parse(readFileSync(path.join(dir, 'state/chunks/ledger.json'), 'utf8')), {
    schema_version: 1, cluster: 'c', done: [['2024-03-05T00:00:00Z', '2024-03-06T23:59:59Z']], unsettled: [],
  });
  t.ok(statSync(path.join(dir, 'state/seen/2024-03.seen')).size < 32 + 3 * 8);
  t.same(readdirSync(path.join(dir, 'state/seen')), ['2024-03.seen'], 'no state for months without jobs');
  t.same(readdirSync(path.join(dir, 'state/tmp')), []);
  t.notOk(existsSync(path.join(dir, 'state/lock')), 'the lock is released');
  t.notOk(existsSync(path.join(dir, 'state/journal')));
  const check = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(check.status, 0);
  t.equal(check.stderr, 'sb-reduce: c: ok: 3 jobs in 1 year\n');
});

t.test('exactly once: repeats in a stream, requeued runs, recycled ids, and jobs already stored', async (t) => {
  const root = tmp();
  const first = ndjson([job({ key: 'c/db/2', state: 'REQUEUED' }), job({ key: 'c/db/19' }), job({ key: 'c/db/19' })]);
  let r = await runBin('sb-reduce', ['--root', root], { input: first });
  t.match(records(r.stdout)[0], { processed: 3, new_jobs: 2, duplicates: 1 });
  const second = ndjson([job({ key: 'c/db/19' }), job({ key: 'c/id/77/1709600000' }), job({ key: 'c/id/77/1709700000' }), job({ key: 'c/id/77/1709600000' })]);
  r = await runBin('sb-reduce', ['--root', root], { input: second });
  t.match(records(r.stdout)[0], { processed: 4, new_jobs: 2, duplicates: 2 });
  t.equal(storeTotals(root, 'c').users.get('alice')?.['jobs'], 4);
});

t.test('idempotent: the same input twice → new_jobs 0 everywhere, no file changes (bytes and mtimes)', async (t) => {
  const root = tmp();
  const input = gen(['--cluster', 'c', '--start', '2024-03-30T00:00:00Z', '--end', '2024-04-01T23:59:59Z', '--step', '43200', '--per-window', '30', '--noise']);
  const truth = truthOf(gen(['--cluster', 'c', '--start', '2024-03-30T00:00:00Z', '--end', '2024-04-01T23:59:59Z', '--step', '43200', '--per-window', '30', '--truth']));
  const one = await runBin('sb-reduce', ['--root', root], { input });
  t.equal(one.status, 0);
  assertTruth(t, root, 'c', truth);
  const before = snapshot(root);
  await new Promise((r) => setTimeout(r, 20));
  const two = await runBin('sb-reduce', ['--root', root], { input });
  t.equal(two.status, 0);
  t.equal(two.stderr, '');
  const commits = records(two.stdout).filter((x) => x['kind'] === 'commit');
  t.equal(commits.length, 6);
  t.ok(commits.every((c) => c['new_jobs'] === 0 && c['txn'] === null), 'second run: new_jobs 0, no transaction written');
  t.same(records(two.stdout).filter((x) => x['kind'] === 'note'), records(one.stdout).filter((x) => x['kind'] === 'note'), 'other records pass through, in order');
  t.same(snapshot(root), before, 'not a byte nor an mtime changed');
});

// Six days of March, a job a day (alice on odd days, bob on even), a note after each job and
// each day's window after its note; on day 4, day 1's job again.
const march = (d: number): string => `2024-03-${String(d).padStart(2, '0')}`;
function sixDays(): Array<Record<string, unknown>> {
  const recs: Array<Record<string, unknown>> = [];
  for (let d = 1; d <= 6; d++) {
    recs.push(job({ key: `c/db/${100 + d}`, end: `${march(d)}T11:00:00Z`, user: d % 2 === 0 ? 'bob' : 'alice' }));
    if (d === 4) recs.push(job({ key: 'c/db/101', end: `${march(1)}T11:00:00Z` }));
    recs.push({ kind: 'note', text: `after day ${d}'s job` });
    recs.push(done(`${march(d)}T00:00:00Z`, `${march(d)}T23:59:59Z`));
  }
  return recs;
}

t.test('windows back to back share one transaction; each prints its own record, in order with what passes through', async (t) => {
  const root = tmp();
  const recs = sixDays();
  const r = await runBin('sb-reduce', ['--root', root], { input: ndjson(recs) });
  t.equal(r.status, 0, r.stderr);
  const out = records(r.stdout);
  t.same(out.map((x) => (x['kind'] === 'commit' ? `commit ${String(x['chunk']).slice(0, 10)} +${x['new_jobs']} =${x['duplicates']} ${(x['users_changed'] as string[]).join(',')}` : x['text'])), [
    "after day 1's job", 'commit 2024-03-01 +1 =0 alice',
    "after day 2's job", 'commit 2024-03-02 +1 =0 bob',
    "after day 3's job", 'commit 2024-03-03 +1 =0 alice',
    "after day 4's job", 'commit 2024-03-04 +1 =1 bob',
    "after day 5's job", 'commit 2024-03-05 +1 =0 alice',
    "after day 6's job", 'commit 2024-03-06 +1 =0 bob',
  ]);
  const txns = new Set(out.filter((x) => x['kind'] === 'commit').map((x) => x['txn']));
  t.ok(txns.size >= 1 && txns.size < 6 && !txns.has(null), `six windows, ${txns.size} transaction(s)`);
  const ledger = JSON.parse(readFileSync(path.join(root, 'clusters/c/state/chunks/ledger.json'), 'utf8')) as Record<string, unknown>;
  t.same(ledger['done'], [['2024-03-01T00:00:00Z', '2024-03-06T23:59:59Z']]);
  const again = await runBin('sb-reduce', ['--root', root], { input: ndjson(recs) });
  t.ok(records(again.stdout).filter((x) => x['kind'] === 'commit').every((x) => x['txn'] === null && x['new_jobs'] === 0), 'again: nothing new, nothing written');
});

t.test('--batch 1: each commit is synced while the next lines are read; records and passed lines still in input order, a job again in a later group counted once', async (t) => {
  const root = tmp();
  const recs = sixDays();
  const r = await runBin('sb-reduce', ['--root', root, '--batch', '1'], { input: ndjson(recs) });
  t.equal(r.status, 0, r.stderr);
  const out = records(r.stdout).map((x) => (x['kind'] === 'commit' ? `+${x['new_jobs']} =${x['duplicates']}${x['chunk'] === undefined ? '' : ` ${String(x['chunk']).slice(0, 10)}`}` : x['text']));
  const want: string[] = [];
  for (let d = 1; d <= 6; d++) {
    want.push('+1 =0');
    if (d === 4) want.push('+0 =1');
    want.push(`after day ${d}'s job`, `+0 =0 ${march(d)}`);
  }
  t.same(out, want);
  const users = storeTotals(root, 'c').users;
  t.same([users.get('alice')?.['jobs'], users.get('bob')?.['jobs']], [3, 3], 'six jobs, the one seen again not counted twice');
});

t.test('a window is committed while the input stays open (quiet input), not only at its end', async (t) => {
  const root = tmp();
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(ROOT, 'bin', 'sb-reduce'), '--root', root], { env: { ...process.env, TZ: 'UTC' }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.write(ndjson([job(), done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z')]));
  const first = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('no commit record within 20 s while stdin is open')), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
  t.match(JSON.parse(first) as Record<string, unknown>, { kind: 'commit', new_jobs: 1, chunk: '2024-03-05T00:00:00Z/2024-03-05T23:59:59Z' });
  t.ok(existsSync(path.join(root, 'clusters/c/state/chunks/ledger.json')), 'durable before the record');
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
});

t.test('--batch commits a long stream without chunk-done in parts; the rest at the end', async (t) => {
  const root = tmp();
  const input = ndjson(Array.from({ length: 25 }, (_, i) => job({ key: `c/db/${1000 + i}` })));
  const r = await runBin('sb-reduce', ['--root', root, '--batch', '10'], { input });
  t.same(records(r.stdout).map((c) => [c['processed'], c['new_jobs'], c['chunks_done']]), [[10, 10, 0], [10, 10, 0], [5, 5, 0]]);
  t.notOk(existsSync(path.join(root, 'clusters/c/state/chunks/ledger.json')), 'no window is done without its chunk-done');
});

t.test('settled: false records the window as counted, not done: fetched again, its jobs dropped', async (t) => {
  const root = tmp();
  const input = ndjson([job(), done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z', false)]);
  let r = await runBin('sb-reduce', ['--root', root], { input });
  t.match(records(r.stdout)[0], { new_jobs: 1, chunks_done: 1, settled: false });
  const ledger = JSON.parse(readFileSync(path.join(root, 'clusters/c/state/chunks/ledger.json'), 'utf8')) as Record<string, unknown>;
  t.same(ledger['done'], []);
  t.same(ledger['unsettled'], [['2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z']]);
  const todo = await runBin('sb-chunk', ['todo', '-c', 'c', '--root', root, '-s', '2024-03-05T00:00:00Z', '-e', '2024-03-05T23:59:59Z', '--by', 'day']);
  t.equal(records(todo.stdout).length, 1, 'todo fetches it again');
  // Later: the window again, now settled, with a late job.
  r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ key: 'c/db/555' }), done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z')]) });
  t.match(records(r.stdout)[0], { processed: 2, new_jobs: 1, duplicates: 1, settled: true });
  const todo2 = await runBin('sb-chunk', ['todo', '-c', 'c', '--root', root, '-s', '2024-03-05T00:00:00Z', '-e', '2024-03-05T23:59:59Z', '--by', 'day']);
  t.equal(todo2.stdout, '');
});

t.test('corrupt or truncated dedupe state: exit 1 with a clear message, nothing counted', async (t) => {
  const root = tmp();
  await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ key: 'c/db/101' })]) });
  const seen = path.join(root, 'clusters/c/state/seen/2024-03.seen');
  const good = readFileSync(seen);
  for (const [name, bytes] of [['truncated', good.subarray(0, good.length - 2)], ['flipped', Buffer.concat([good.subarray(0, 33), Buffer.from([good[33]! ^ 1]), good.subarray(34)])]] as const) {
    writeFileSync(seen, bytes);
    const before = snapshot(root);
    const r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ key: 'c/db/102' })]) });
    t.equal(r.status, 1, name);
    t.match(r.stderr, /^sb-reduce: .*state\/seen\/2024-03\.seen: dedupe state is corrupt \((truncated|payload checksum mismatch)[^)]*\); refusing to go on/, name);
    t.equal(r.stdout, '');
    t.same(snapshot(root), before, `${name}: nothing changed`);
    const d = await runBin('sb-dedupe', ['--root', root], { input: ndjson([job()]) });
    t.equal(d.status, 1, `sb-dedupe fails too (${name})`);
    const check = await runBin('sb-reduce', ['--root', root, '--check']);
    t.equal(check.status, 1);
  }
  writeFileSync(seen, good);
  mkdirSync(path.join(root, 'clusters/c/state/chunks'));
  writeFileSync(path.join(root, 'clusters/c/state/chunks/ledger.json'), '{"schema_version":1,"cluster":"c","do');
  const r = await runBin('sb-reduce', ['--root', root], { input: ndjson([done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z')]) });
  t.equal(r.status, 1);
  t.match(r.stderr, /ledger\.json: the chunk ledger is not JSON .*corrupt or truncated/);
});

t.test('lock: a run that cannot get the lock within --wait exits 3; a dead holder\'s lock is taken over', async (t) => {
  const root = tmp();
  const lockPath = path.join(root, 'clusters/c/state/lock');
  const held = await acquireLock(lockPath, { tool: 'test', what: 'x', waitMs: 0, staleMs: 60_000 });
  const t0 = Date.now();
  const r = await runBin('sb-reduce', ['--root', root, '--wait', '0.5'], { input: ndjson([job()]) });
  t.equal(r.status, 3);
  t.ok(Date.now() - t0 >= 500);
  t.match(r.stderr, /^sb-reduce: the lock of cluster c \(.*state\/lock\) is held by test \(pid \d+ on .*\); gave up after 0.5 s \(--wait\)\n$/);
  t.equal(r.stdout, '');
  held.release();
  // A holder killed with -9 leaves its lock; the next run takes it over at once.
  mkdirSync(lockPath);
  const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(path.join(lockPath, 'owner'), JSON.stringify({ host: hostname(), pid: Number(dead), pstart: null, boot: null, pidns: readlinkSync('/proc/self/ns/pid'), token: 'gone', tool: 'sb-reduce', since: '2024-01-01T00:00:00Z' }));
  const r2 = await runBin('sb-reduce', ['--root', root, '--wait', '0'], { input: ndjson([job()]) });
  t.equal(r2.status, 0);
  t.match(r2.stderr, /^sb-reduce: warning: c: broke the lock of sb-reduce \(pid \d+ on .*\): process \d+ is gone\n$/);
  t.match(records(r2.stdout)[0], { new_jobs: 1 });
});

t.test('opt-out: counted in the rollups and cluster totals, never named in what sb-reduce prints', async (t) => {
  const root = tmp();
  const homes = tmp();
  mkdirSync(path.join(root, 'config'), { recursive: true });
  writeFileSync(path.join(root, 'config/optout.txt'), '# opted out\ncarol\n');
  mkdirSync(path.join(homes, 'dave'));
  writeFileSync(path.join(homes, 'dave/.slurm_scoreboard_optout'), '');
  const input = ndjson([job(), job({ key: 'c/db/2', user: 'carol' }), job({ key: 'c/db/3', user: 'dave' }), job({ key: 'c/db/4', user: 'erin' })]);
  const r = await runBin('sb-reduce', ['--root', root, '-v'], { input, env: { SB_HOME_ROOT: homes } });
  t.equal(r.status, 0);
  const c = records(r.stdout)[0] as Record<string, unknown>;
  t.same(c['users_changed'], ['alice', 'erin']);
  t.equal(c['users_hidden'], 2);
  t.notMatch(r.stdout + r.stderr, /carol|dave/, 'neither stdout nor stderr names them');
  const monthly = JSON.parse(readFileSync(path.join(root, 'clusters/c/agg/rollups/monthly/2024-03.json'), 'utf8')) as Record<string, unknown>;
  t.same((monthly['users'] as Array<{ username: string }>).map((u) => u.username), ['alice', 'carol', 'dave', 'erin'], 'the store, the admins\', keeps them');
  t.match(monthly['cluster_totals'], { jobs: 4 });
});

t.test("opt-out from the passwd database: a user named like an option ('-x') is looked up as a name, and the commit goes through", async (t) => {
  const root = tmp();
  const input = ndjson([job({ user: 'root' }), job({ key: 'c/db/2', user: '-x' }), done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z')]);
  const r = await runBin('sb-reduce', ['--root', root], { input, env: { SB_HOME_ROOT: '' } });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr, '');
  t.match(records(r.stdout)[0], { kind: 'commit', new_jobs: 2, users_changed: ['-x', 'root'], users_hidden: 0 });
});

t.test('bad lines in the middle are reported with their line and skipped; --strict exits 65', async (t) => {
  const root = tmp();
  const input = [JSON.stringify(job()), '{"kind":"job",', JSON.stringify(job({ key: 'c/db/7', elapsed_s: 'abc' })), JSON.stringify(job({ key: 'c/db/8' })), ''].join('\n');
  const r = await runBin('sb-reduce', ['--root', root], { input });
  t.equal(r.status, 0);
  const err = r.stderr.trim().split('\n');
  t.equal(err.length, 2);
  t.match(err[0], /^sb-reduce: stdin:2: not JSON/);
  t.equal(err[1], 'sb-reduce: stdin:3: \'elapsed_s\' "abc" is not a whole number');
  t.match(records(r.stdout)[0], { processed: 2, new_jobs: 2 });
  const strict = await runBin('sb-reduce', ['--root', tmp(), '--strict'], { input });
  t.equal(strict.status, 65);
  t.match(records(strict.stdout)[0], { new_jobs: 2 }, 'good lines still committed under --strict');
});

t.test('empty input: no output, nothing written', async (t) => {
  const root = path.join(tmp(), 'store');
  const r = await runBin('sb-reduce', ['--root', root], { input: '' });
  t.same([r.status, r.stdout, r.stderr], [0, '', '']);
  t.notOk(existsSync(root));
});

t.test('| head -1 exits 0 with empty stderr; what was committed stays committed', async (t) => {
  const root = tmp();
  const file = path.join(root, 'in.ndjson');
  writeFileSync(file, gen(['--cluster', 'c', '--start', '2024-03-01T00:00:00Z', '--end', '2024-03-03T23:59:59Z', '--step', '3600', '--per-window', '3']));
  const r = await runShell(`sb-reduce --root '${root}/s' '${file}' | head -1`);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(records(r.stdout).length, 1);
  const check = await runBin('sb-reduce', ['--check', '--root', `${root}/s`]);
  t.equal(check.status, 0, check.stderr);
});

t.test('several clusters in one stream: one store directory and one commit each', async (t) => {
  const root = tmp();
  const r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ cluster: 'd', key: 'd/db/100' }), { ...done('2024-03-05T00:00:00Z', '2024-03-05T23:59:59Z'), cluster: 'd' }]) });
  const out = records(r.stdout);
  t.same(out.map((c) => [c['cluster'], c['new_jobs'], c['chunks_done']]), [['d', 1, 1], ['c', 1, 0]]);
  t.same(readdirSync(path.join(root, 'clusters')).sort(), ['c', 'd']);
});

t.test('--check finds a rollup that disagrees with its daily bins', async (t) => {
  const root = tmp();
  await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ key: 'c/db/101', user: 'bob' })]) });
  const file = path.join(root, 'clusters/c/agg/rollups/monthly/2024-03.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"cpu_s":14400', '"cpu_s":14401'));
  const r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(r.status, 1);
  t.match(r.stderr, /sb-reduce: c: monthly\/2024-03\.json: the totals of one user differ/);
});

t.test('accounts: each job also counted under its account, by user and day; monthly and yearly sums; --check and --rebuild cover them', async (t) => {
  const root = tmp();
  const input = ndjson([
    job(),
    job({ key: 'c/db/101', account: 'b', end: '2024-03-05T12:00:00Z' }),
    job({ key: 'c/db/102', user: 'bob', account: '', end: '2024-03-06T12:00:00Z' }),
    job({ key: 'c/db/103', user: 'bob', account: 'b', end: '2024-04-01T12:00:00Z', cpus: 1 }),
    done('2024-03-05T00:00:00Z', '2024-04-01T23:59:59Z'),
  ]);
  let r = await runBin('sb-reduce', ['--root', root], { input });
  t.same([r.status, r.stderr], [0, '']);
  const agg = path.join(root, 'clusters/c/agg/rollups');
  const read = (f: string): Record<string, any> => JSON.parse(readFileSync(path.join(agg, f), 'utf8')) as Record<string, any>;
  const daily = read('daily/2024-03.json');
  t.same(Object.keys(daily['accounts']), ['', 'a', 'b'], 'accounts by name; the empty account too');
  t.same(daily['accounts']['a'], { alice: { '05': daily['users']['alice']['05'] && { ...daily['users']['alice']['05'], jobs: 1, cpu_s: 14400, elapsed_s: 3600, mem_req_byte_s: String(4n * 1024n ** 3n * 3600n), mem_used_byte_s: String(1024n ** 3n * 3600n) } } });
  t.same(daily['accounts']['']['bob'], daily['users']['bob'], "bob's day under the account ''");
  t.same(Object.keys(daily).slice(-1), ['accounts'], 'accounts after users');
  const monthly = read('monthly/2024-03.json');
  t.same(Object.keys(monthly['accounts']), ['', 'a', 'b']);
  t.equal(monthly['accounts']['b']['alice']['jobs'], 1);
  t.same(Object.keys(read('yearly/2024.json')['accounts']['b']).sort(), ['alice', 'bob'], 'the year sums both months');
  t.equal(read('yearly/2024.json')['accounts']['b']['bob']['cpu_s'], 3600);
  r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.same([r.status, r.stderr], [0, 'sb-reduce: c: ok: 4 jobs in 1 year\n']);
  // bit rot in a derived account sum: found, healed
  const mfile = path.join(agg, 'monthly/2024-03.json');
  const good = readFileSync(mfile, 'utf8');
  writeFileSync(mfile, good.replace(/("b":\{"alice":\{"jobs":1,"failed_jobs":0,"gpu_jobs":0,"cpu_s":)14400/, '$114401'));
  t.not(readFileSync(mfile, 'utf8'), good);
  r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(r.status, 1);
  t.match(r.stderr, /c: monthly\/2024-03\.json: the totals by account differ from what the daily bins sum to/);
  r = await runBin('sb-reduce', ['--rebuild', '--root', root]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stderr, /\(1 differed\)/);
  t.same(JSON.parse(readFileSync(mfile, 'utf8'))['accounts'], JSON.parse(good)['accounts'], 'rebuilt from the daily bins');
  r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(r.status, 0, r.stderr);
  // a daily account bin that is not the user's own jobs
  const dfile = path.join(agg, 'daily/2024-03.json');
  writeFileSync(dfile, readFileSync(dfile, 'utf8').replace(/("b":\{"alice":\{"05":\{"jobs":)1/, '$12'));
  r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(r.status, 1);
  t.match(r.stderr, /daily\/2024-03\.json: day 05: a user's totals by account do not add up/);
});

t.test('accounts: many transactions in one run (kept row text) write the files one transaction writes', async (t) => {
  // users in two accounts, accounts and users coming back in later transactions, two months
  // of two years: each cached line of a user or of an account's user must follow its totals
  const users = ['alice', 'bob', 'carol'];
  const accounts = ['a', 'b', ''];
  const jobs = Array.from({ length: 30 }, (_, i) => job({
    key: `c/db/${2000 + i}`,
    user: users[(i * 7) % 3],
    account: accounts[(i * 5 + Math.floor(i / 4)) % 3],
    end: ['2024-03-05T11:00:00Z', '2024-03-20T11:00:00Z', '2024-04-02T11:00:00Z', '2023-12-31T11:00:00Z'][i % 4],
    cpus: 1 + (i % 5),
    elapsed_s: 60 * (i + 1),
  }));
  const input = ndjson(jobs);
  const one = tmp();
  const many = tmp();
  let r = await runBin('sb-reduce', ['--root', one], { input });
  t.same([r.status, r.stderr], [0, '']);
  r = await runBin('sb-reduce', ['--root', many, '--batch', '1'], { input });
  t.same([r.status, r.stderr], [0, '']);
  t.equal(records(r.stdout).filter((c) => c['kind'] === 'commit').length, 30, 'a transaction a job');
  const strip = (f: string): string => f.replace(/"asof":"[^"]*"/, '"asof":""');
  for (const sub of ['daily', 'monthly', 'yearly']) {
    const dir = path.join(one, 'clusters/c/agg/rollups', sub);
    const files = readdirSync(dir).sort();
    t.same(readdirSync(path.join(many, 'clusters/c/agg/rollups', sub)).sort(), files, `${sub}: the same files`);
    for (const f of files) {
      t.equal(strip(readFileSync(path.join(many, 'clusters/c/agg/rollups', sub, f), 'utf8')), strip(readFileSync(path.join(dir, f), 'utf8')), `${sub}/${f}: the same text`);
    }
  }
  r = await runBin('sb-reduce', ['--check', '--root', many]);
  t.same([r.status, r.stderr], [0, 'sb-reduce: c: ok: 30 jobs in 2 years\n']);
});

t.test('accounts: a store from before (no accounts member) takes new jobs; --check and --rebuild accept it; old days stay without accounts', async (t) => {
  const root = tmp();
  await runBin('sb-reduce', ['--root', root], { input: ndjson([job(), job({ key: 'c/db/101', user: 'bob', end: '2024-03-20T12:00:00Z' })]) });
  forgetAccounts(root, 'c');
  let r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(r.status, 0, r.stderr);
  r = await runBin('sb-reduce', ['--rebuild', '--root', root]);
  t.equal(r.status, 0, r.stderr);
  const agg = path.join(root, 'clusters/c/agg/rollups');
  t.notOk('accounts' in JSON.parse(readFileSync(path.join(agg, 'monthly/2024-03.json'), 'utf8')), 'rebuild invents no accounts');
  r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ key: 'c/db/102', end: '2024-03-21T12:00:00Z' })]) });
  t.equal(r.status, 0, r.stderr);
  const daily = JSON.parse(readFileSync(path.join(agg, 'daily/2024-03.json'), 'utf8')) as Record<string, any>;
  t.same(daily['accounts'], { a: { alice: { '21': daily['users']['alice']['21'] } } }, 'only the new job has an account');
  t.same(Object.keys(daily['users']['alice']).sort(), ['05', '21']);
  const yearly = JSON.parse(readFileSync(path.join(agg, 'yearly/2024.json'), 'utf8')) as Record<string, any>;
  t.same(Object.keys(yearly['accounts']['a']), ['alice']);
  t.equal(yearly['accounts']['a']['alice']['jobs'], 1);
  r = await runBin('sb-reduce', ['--check', '--root', root]);
  t.same([r.status, r.stderr], [0, 'sb-reduce: c: ok: 3 jobs in 1 year\n']);
});

t.test("accounts: an account with control characters is bad input; a missing one is the account ''", async (t) => {
  const root = tmp();
  const r = await runBin('sb-reduce', ['--root', root], { input: ndjson([job({ account: 'x\u0007y' }), job({ key: 'c/db/101', account: 7 }), { ...job({ key: 'c/db/102' }), account: undefined }]) });
  t.match(r.stderr, /stdin:1: 'account' "x\\u0007y" is not an account name/);
  t.match(r.stderr, /stdin:2: 'account' 7 is not a string/);
  t.equal(newJobsOf(r.stdout), 1);
  const daily = JSON.parse(readFileSync(path.join(root, 'clusters/c/agg/rollups/daily/2024-03.json'), 'utf8')) as Record<string, any>;
  t.same(Object.keys(daily['accounts']), ['']);
});

t.test('usage: no store, $SB_ROOT, a bad --batch (the rest: test/contract.test.ts)', async (t) => {
  const none = await runBin('sb-reduce', [], { env: { SB_ROOT: '' } });
  t.equal(none.status, 2);
  t.match(none.stderr, /no store: give --root DIR or set SB_ROOT/);
  const env = await runBin('sb-reduce', [], { env: { SB_ROOT: tmp() }, input: ndjson([job()]) });
  t.equal(env.status, 0, '$SB_ROOT names the store');
  const batch = await runBin('sb-reduce', ['--root', tmp(), '--batch', '0']);
  t.equal(batch.status, 2);
});

goldenCases('reduce');

t.test('--verbose counts commit records and transactions apart: windows held together are one group commit', async (t) => {
  const root = tmp();
  const days = ['01', '02', '03'];
  const input = ndjson(days.flatMap((d, i) => [
    job({ key: `c/db/${i + 1}`, db_index: i + 1, end: `2024-03-${d}T11:00:00Z` }),
    done(`2024-03-${d}T00:00:00Z`, `2024-03-${d}T23:59:59Z`),
  ]));
  let r = await runBin('sb-reduce', ['--verbose', '--root', root], { input });
  t.equal(r.status, 0);
  // three windows, one transaction for them and one for the all-time user file
  t.match(r.stderr, /c: 3 jobs read, 3 new, 0 duplicates; 3 commit records, 2 transactions, \d+ files written \(1 all-time user files\)/);
  r = await runBin('sb-reduce', ['--verbose', '--root', root], { input });
  t.match(r.stderr, /c: 3 jobs read, 0 new, 3 duplicates; 3 commit records, 0 transactions, 0 files written/, 'nothing new: nothing written');
});

t.test('the byte path: jobs read in their bytes are counted as the string path counts them, bad lines reported alike, fresh and again', async (t) => {
  const dir = tmp();
  const { a, b, at } = byteLines('c');
  writeFileSync(path.join(dir, 'a'), a);
  writeFileSync(path.join(dir, 'b'), b);
  // the store's files, but for the times and transaction ids they name
  const contents = (root: string): Map<string, string> =>
    new Map([...snapshot(root)].filter(([f]) => !f.endsWith('.lock')).map(([f, v]) => [f, Buffer.from(v.split(' ')[1] as string, 'base64').toString('utf8').replace(/"(asof|txn)":"[^"]*"/g, '')]));
  const run = async (root: string, file: string): Promise<{ out: string; err: string[] }> => {
    const r = await runBin('sb-reduce', ['--root', root, file]);
    t.equal(r.status, 0, r.stderr);
    return { out: r.stdout.replace(/"txn":"[^"]*"/g, ''), err: r.stderr.split('\n').filter((l) => l !== '').map((l) => l.replace(file, 'FILE')) };
  };
  const expected = [
    `sb-reduce: FILE:${at['bad utf-8 user']}: 'user' "b\ufffdb" is not a user name (control characters or invalid UTF-8)`,
    `sb-reduce: FILE:${at['not json']}: not JSON: Unexpected end of JSON input`,
    `sb-reduce: FILE:${at['DEL in user']}: 'user' "a\\x7fb" is not a user name (control characters or invalid UTF-8)`,
    `sb-reduce: FILE:${at['too many cpus']}: 'cpus' 16777217 is above its limit 16777216: its totals could not stay exact`,
    `sb-reduce: FILE:${at['non-canonical key']}: key 'c/db/0100' is not canonical (expected c/db/DBINDEX or c/id/JOBIDRAW/SUBMIT, numbers without leading zeros)`,
    `sb-reduce: FILE:${at['bad end']}: 'end' '2024-02-30T12:00:00Z' is not a UTC time like 2024-01-01T00:00:00Z`,
    `sb-reduce: FILE:${at['empty user']}: 'user' is missing or not a string`,
  ];
  const [ra, rb] = [path.join(dir, 'store-a'), path.join(dir, 'store-b')];
  for (const pass of ['fresh', 'again (all counted)']) {
    const fromA = await run(ra, path.join(dir, 'a'));
    const fromB = await run(rb, path.join(dir, 'b'));
    t.same(fromA.err, fromB.err, `${pass}: the same diagnostics, at the same line numbers`);
    t.same(fromA.err, expected, pass);
    t.equal(fromA.out, fromB.out, `${pass}: the same commit records`);
    t.same(contents(ra), contents(rb), `${pass}: the same store`);
  }
  const commits = records((await runBin('sb-reduce', ['--root', ra, path.join(dir, 'a')])).stdout).filter((r) => r['kind'] === 'commit');
  t.same([commits.reduce((n, c) => n + (c['new_jobs'] as number), 0), commits.reduce((n, c) => n + (c['duplicates'] as number), 0)], [0, 3000 + 13], 'a third run: every good job a duplicate (the 3000, 13 more of other forms)');
  const check = await runBin('sb-reduce', ['--root', ra, '--check']);
  t.equal(check.status, 0, check.stderr);
});
