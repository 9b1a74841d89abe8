import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseTime } from '../lib/core/records/time.js';
import { parseWindow, windowParts } from '../lib/tools/rank/windows.js';
import { MAX_XP, SKILLS, XP_TABLE, levelForXp, skillXp } from '../lib/core/scores/xp.js';
import { parseOptoutList } from '../lib/core/scores/optout.js';
import { competitionRank, rankUsers } from '../lib/tools/rank/main.js';
import { goldenCases } from './helpers/golden.js';
import { LONG, records, ROOT, runBin, runShell } from './helpers/run.js';
import { accountDifferences, accountTruth } from './helpers/account-truth.js';
import { totals, writeOptout, writeStore, type Entry } from './helpers/store-fixture.js';
import type { JobRecord } from '../lib/core/records/job.js';
import { jobTotals } from '../lib/core/scores/metrics.js';

const NOW = '2024-03-15T12:00:00Z';
const NOW_SEC = parseTime(NOW) as number;
const HOUR = 3600;
const GIB = 2 ** 30;

function tempRoot(t: Tap.Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sb-rank-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function store(t: Tap.Test, entries: Entry[], opts: { yearly?: boolean } = {}): string {
  const root = tempRoot(t);
  writeStore(root, entries, opts);
  return root;
}

function rank(root: string, args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runBin> {
  return runBin('sb-rank', ['--root', root, '--now', NOW, ...args], { env: { SB_HOME_ROOT: path.join(root, 'no-homes'), ...env } });
}

type Rec = Record<string, unknown>;

function board(recs: Rec[], window: string, metric: string, cluster = 'all'): Rec[] {
  return recs.filter((r) => r['window'] === window && r['metric'] === metric && r['cluster'] === cluster);
}

function users(recs: Rec[], window: string, metric: string, cluster = 'all'): string[] {
  return board(recs, window, metric, cluster).map((r) => r['user'] as string);
}

// Every file under dir, recursively.
function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

const job = (n = 3, extra: Parameters<typeof totals>[0] = {}): Parameters<typeof totals>[0] => ({ jobs: n, elapsed_s: n * HOUR, cpu_s: n * HOUR, ...extra });

t.test('XP table: the OSRS formula and its known values', async (t) => {
  t.equal(XP_TABLE[1], 0);
  t.equal(XP_TABLE[2], 83, 'level 2 at 83 XP');
  t.equal(XP_TABLE[10], 1154, 'level 10 at 1,154 XP');
  t.equal(XP_TABLE[50], 101333, 'level 50 at 101,333 XP');
  t.equal(XP_TABLE[92], 6517253, 'level 92 at 6,517,253 XP');
  t.equal(XP_TABLE[99], 13034431, 'level 99 at 13,034,431 XP');
  t.equal(XP_TABLE.length, 100, 'levels 1..99');
  for (let l = 2; l <= 99; l++) t.ok((XP_TABLE[l] as number) > (XP_TABLE[l - 1] as number), `level ${l} needs more than ${l - 1}`);
});

t.test('levelForXp: boundaries on both sides of every level', async (t) => {
  t.equal(levelForXp(0), 1);
  t.equal(levelForXp(82), 1);
  t.equal(levelForXp(83), 2);
  for (let l = 2; l <= 99; l++) {
    const xp = XP_TABLE[l] as number;
    t.equal(levelForXp(xp - 1), l - 1, `${xp - 1} XP is level ${l - 1}`);
    t.equal(levelForXp(xp), l, `${xp} XP is level ${l}`);
  }
  t.equal(levelForXp(MAX_XP), 99, '200M XP is still level 99');
});

t.test('skill XP: documented rates, floored, exact on byte-seconds, capped at 200M', async (t) => {
  const xp = (metric: string, p: Parameters<typeof totals>[0]): number => skillXp(SKILLS.find((s) => s.metric === metric)!, totals(p));
  t.equal(xp('clock_hours', { cpu_s: HOUR }), 10, '10 XP per core-hour');
  t.equal(xp('clock_hours', { cpu_s: 359 }), 0, 'floored');
  t.equal(xp('elapsed_hours', { elapsed_s: HOUR }), 100);
  t.equal(xp('gpu_clock_hours', { gpu_s: HOUR }), 200);
  t.equal(xp('gpu_elapsed_hours', { gpu_elapsed_s: HOUR }), 200);
  t.equal(xp('jobs', { jobs: 1 }), 50);
  t.equal(xp('gpu_jobs', { gpu_jobs: 1 }), 500);
  t.equal(xp('failed_jobs', { failed_jobs: 1 }), 500);
  t.equal(xp('mem_req_gb_hours', { mem_req_byte_s: 2n * BigInt(GIB) * 3600n }), 5, '2.5 XP per requested GiB-hour');
  t.equal(xp('mem_used_gb_hours', { mem_used_byte_s: BigInt(GIB) * 3600n }), 5, '5 XP per used GiB-hour');
  t.equal(xp('mem_used_gb_hours', { mem_used_byte_s: 10n ** 30n }), MAX_XP, 'byte-seconds beyond 2^53 cap, exactly');
  t.equal(xp('jobs', { jobs: 5_000_000 }), MAX_XP, 'capped');
  // The calibration the man page promises: a heavy user-year high, a thousandth of it low.
  const heavy = totals({ cpu_s: 500_000 * HOUR, elapsed_s: 70_000 * HOUR, gpu_s: 20_000 * HOUR, gpu_elapsed_s: 20_000 * HOUR, jobs: 100_000, gpu_jobs: 10_000, failed_jobs: 10_000, mem_req_byte_s: 2_000_000n * BigInt(GIB) * 3600n, mem_used_byte_s: 1_000_000n * BigInt(GIB) * 3600n });
  for (const s of SKILLS) {
    const level = levelForXp(skillXp(s, heavy));
    t.ok(level >= 87 && level <= 92, `heavy ${s.metric}: level ${level}`);
  }
  const light = totals({ cpu_s: 500 * HOUR, elapsed_s: 70 * HOUR, gpu_s: 20 * HOUR, gpu_elapsed_s: 20 * HOUR, jobs: 100, gpu_jobs: 10, failed_jobs: 10, mem_req_byte_s: 2_000n * BigInt(GIB) * 3600n, mem_used_byte_s: 1_000n * BigInt(GIB) * 3600n });
  for (const s of SKILLS) {
    const level = levelForXp(skillXp(s, light));
    t.ok(level >= 19 && level <= 24, `light ${s.metric}: level ${level}`);
  }
});

t.test('windows: exact day ranges, whole months from monthly files, edges from daily bins', async (t) => {
  const parts = (w: string, now = NOW): unknown => windowParts(parseWindow(w, parseTime(now) as number), []);
  t.same(parts('rolling-30d'), [
    { kind: 'days', month: '2024-02', first: 15, last: 29 },
    { kind: 'days', month: '2024-03', first: 1, last: 15 },
  ], '30 days ending 2024-03-15: Feb 15 (leap Feb) .. Mar 15');
  const year = parts('rolling-365d') as Array<Record<string, unknown>>;
  t.same(year[0], { kind: 'days', month: '2023-03', first: 17, last: 31 }, '365 days ending 2024-03-15 start 2023-03-17');
  t.same(year.slice(1, -1).map((p) => p['month']), ['2023-04', '2023-05', '2023-06', '2023-07', '2023-08', '2023-09', '2023-10', '2023-11', '2023-12', '2024-01', '2024-02']);
  t.ok(year.slice(1, -1).every((p) => p['kind'] === 'month'), 'the months in between are whole');
  t.same(year[year.length - 1], { kind: 'days', month: '2024-03', first: 1, last: 15 });
  t.same(parts('rolling-30d', '2024-04-30T23:59:59Z'), [{ kind: 'month', month: '2024-04' }], 'a window that is exactly a month reads the monthly file');
  t.same(parts('rolling-30d', '2024-03-31T00:00:00Z'), [{ kind: 'days', month: '2024-03', first: 2, last: 31 }]);
  t.same(parts('rolling-365d', '2023-12-31T00:00:00Z'), Array.from({ length: 12 }, (_, i) => ({ kind: 'month', month: `2023-${String(i + 1).padStart(2, '0')}` })));
  t.same(parts('rolling-1d'), [{ kind: 'days', month: '2024-03', first: 15, last: 15 }]);
  t.same(parts('month'), [{ kind: 'month', month: '2024-03' }], "'month' is the month holding now");
  t.same(parts('year'), [{ kind: 'year', year: '2024' }]);
  t.same(windowParts(parseWindow('alltime', NOW_SEC), ['2019', '2024']), [{ kind: 'year', year: '2019' }, { kind: 'year', year: '2024' }]);
  for (const bad of ['rolling-0d', 'rolling-30', 'month-2024-13', 'year-24', 'weekly', 'month-1969-12']) {
    t.throws(() => parseWindow(bad, NOW_SEC), { name: 'UsageError' }, bad);
  }
});

t.test('competition ranking: ties share a rank, the next skips', async (t) => {
  const rows = competitionRank([10, 5, 5, 3, 3, 3, 1], (a, b) => a === b, (v, rank) => [v, rank]);
  t.same(rows.map((r) => r[1]), [1, 2, 2, 4, 4, 4, 7]);
  t.same(competitionRank([], () => true, (v, r) => r), []);
});

t.test('rankUsers: exact order beyond 2^53, any input order, ties in name order', async (t) => {
  const big = 2n ** 70n;
  const users = new Map([
    ['zed', totals({ jobs: 1, mem_used_byte_s: big })],
    ['abe', totals({ jobs: 1, mem_used_byte_s: big + 1n })],
    ['kim', totals({ jobs: 1, mem_used_byte_s: big })],
  ]);
  t.equal(Number(big), Number(big + 1n), 'the floats are equal');
  const boards = rankUsers(users, new Set(['mem_used_gb_hours', 'jobs', 'overall']));
  t.same([...boards.keys()], ['jobs', 'mem_used_gb_hours', 'overall'], 'METRICS order, overall last');
  t.same(boards.get('mem_used_gb_hours')?.map((r) => [r.rank, r.user]), [[1, 'abe'], [2, 'kim'], [2, 'zed']]);
  t.same(boards.get('jobs')?.map((r) => [r.rank, r.user]), [[1, 'abe'], [1, 'kim'], [1, 'zed']]);
  const overall = boards.get('overall') ?? [];
  t.same(overall.map((r) => [r.rank, r.user]), [[1, 'abe'], [1, 'kim'], [1, 'zed']], 'capped XP: all equal');
  t.equal(overall[0]?.xp, MAX_XP + 50);
  t.equal(overall[0]?.level, 7 + 99 + levelForXp(50));
});

t.test('opt-out list: one user a line, comments and blanks ignored', async (t) => {
  t.same([...parseOptoutList('alice\n# a comment\n\n  bob  # asked 2024-01\r\ncarol')], ['alice', 'bob', 'carol']);
});

t.test('rolling edges: the 30th day back is in, the 31st out; same at 365', async (t) => {
  const root = store(t, [
    { cluster: 'hammer', user: 'in30', day: '2024-02-15', t: job() },
    { cluster: 'hammer', user: 'out30', day: '2024-02-14', t: job() },
    { cluster: 'hammer', user: 'today', day: '2024-03-15', t: job() },
    { cluster: 'hammer', user: 'tomorrow', day: '2024-03-16', t: job() },
    { cluster: 'hammer', user: 'in365', day: '2023-03-17', t: job() },
    { cluster: 'hammer', user: 'out365', day: '2023-03-16', t: job() },
  ]);
  const r = await rank(root, ['-w', 'rolling-30d,rolling-365d', '-m', 'jobs', '-c', 'all']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const recs = records(r.stdout);
  t.same(users(recs, 'rolling-30d', 'jobs'), ['in30', 'today']);
  t.same(users(recs, 'rolling-365d', 'jobs'), ['in30', 'in365', 'out30', 'today']);
  // Same at the other side of midnight: --now's time of day does not move the window.
  const late = records((await rank(root, ['-w', 'rolling-30d', '-m', 'jobs', '-c', 'all', '--now', '2024-03-15T23:59:59Z'])).stdout);
  t.same(users(late, 'rolling-30d', 'jobs'), ['in30', 'today']);
  const next = records((await rank(root, ['-w', 'rolling-30d', '-m', 'jobs', '-c', 'all', '--now', '2024-03-16T00:00:00Z'])).stdout);
  t.same(users(next, 'rolling-30d', 'jobs'), ['today', 'tomorrow'], 'a day later, Feb 15 falls out');
});

t.test('month and year windows, and the default windows', async (t) => {
  const root = store(t, [
    { cluster: 'hammer', user: 'feb', day: '2024-02-29', t: job() },
    { cluster: 'hammer', user: 'mar', day: '2024-03-01', t: job() },
    { cluster: 'hammer', user: 'old', day: '2023-12-31', t: job() },
  ]);
  const recs = records((await rank(root, ['-w', 'month-2024-02', '-w', 'year-2023', '-m', 'jobs'])).stdout);
  t.same(users(recs, 'month-2024-02', 'jobs'), ['feb']);
  t.same(users(recs, 'year-2023', 'jobs'), ['old']);
  t.same(users(recs, 'month-2024-02', 'jobs', 'hammer'), ['feb'], 'each cluster alone too');
  const def = records((await rank(root, ['-m', 'jobs', '-c', 'all'])).stdout);
  t.same([...new Set(def.map((r) => r['window']))], ['alltime', 'rolling-30d', 'rolling-365d', 'month-2024-03', 'year-2024']);
  t.same(users(def, 'alltime', 'jobs'), ['feb', 'mar', 'old']);
  t.same(users(def, 'month-2024-03', 'jobs'), ['mar']);
  t.same(users(def, 'year-2024', 'jobs'), ['feb', 'mar']);
});

t.test('without yearly files, years are summed from monthly files', async (t) => {
  const entries: Entry[] = [
    { cluster: 'hammer', user: 'a', day: '2022-01-10', t: job(3) },
    { cluster: 'hammer', user: 'a', day: '2022-07-10', t: job(4) },
    { cluster: 'hammer', user: 'b', day: '2023-05-01', t: job(5) },
  ];
  const withYearly = records((await rank(store(t, entries), ['-w', 'alltime,year-2022', '-m', 'jobs'])).stdout);
  const without = records((await rank(store(t, entries, { yearly: false }), ['-w', 'alltime,year-2022', '-m', 'jobs'])).stdout);
  t.same(without, withYearly);
  t.same(board(without, 'alltime', 'jobs').map((r) => [r['user'], r['value']]), [['a', 7], ['b', 5]]);
});

t.test('reads only the files a window needs, each once; one thread or two give the same output', async (t) => {
  const entries: Entry[] = [];
  for (let y = 2021; y <= 2024; y++) {
    for (let m = 1; m <= (y === 2024 ? 3 : 12); m++) {
      for (const d of ['10', '20']) entries.push({ cluster: 'hammer', user: `u${m}`, day: `${y}-${String(m).padStart(2, '0')}-${d}`, t: job(3, { cpu_s: m * HOUR }) });
    }
  }
  const root = store(t, entries);
  const read = async (w: string): Promise<string> => (await rank(root, ['-v', '-w', w])).stderr.replace(/ rollup file.*/s, '');
  t.equal(await read('rolling-30d'), 'sb-rank: read 2', 'rolling-30d: the daily files of February and March');
  t.equal(await read('rolling-365d'), 'sb-rank: read 13', 'rolling-365d: 2 daily files at the edges, 11 monthly in between');
  t.equal(await read('alltime'), 'sb-rank: read 4', 'alltime: the 4 yearly files');
  t.equal(await read('month'), 'sb-rank: read 1');
  t.equal(await read('alltime,rolling-30d,rolling-365d,month,year'), 'sb-rank: read 19', 'shared files are read once');
});

t.test('several clusters: each alone and summed; min-jobs per window and cluster', async (t) => {
  const root = store(t, [
    { cluster: 'hammer', user: 'alice', day: '2024-03-01', t: job(2) },
    { cluster: 'gilbreth', user: 'alice', day: '2024-03-02', t: job(3, { gpu_s: 7200, gpu_elapsed_s: 3600, gpu_jobs: 1 }) },
    { cluster: 'gilbreth', user: 'bob', day: '2024-03-03', t: job(4) },
  ]);
  const recs = records((await rank(root, ['-w', 'month', '-m', 'jobs,gpu_clock_hours'])).stdout);
  t.same(board(recs, 'month-2024-03', 'jobs').map((r) => [r['rank'], r['user'], r['value']]), [[1, 'alice', 5], [2, 'bob', 4]]);
  t.same(board(recs, 'month-2024-03', 'jobs', 'gilbreth').map((r) => [r['user'], r['value']]), [['bob', 4], ['alice', 3]]);
  t.same(users(recs, 'month-2024-03', 'jobs', 'hammer'), [], 'alice has 2 jobs on hammer: under --min-jobs 3');
  t.same(board(recs, 'month-2024-03', 'gpu_clock_hours').map((r) => [r['user'], r['value']]), [['alice', 2]]);
  t.same([...new Set(recs.map((r) => r['cluster']))], ['all', 'gilbreth'], "'all' first, then clusters by name (hammer's boards are empty)");
  const shown = records((await rank(root, ['-w', 'month', '-m', 'jobs', '--min-jobs', '0', '-c', 'hammer'])).stdout);
  t.same(shown.map((r) => [r['cluster'], r['user'], r['value']]), [['hammer', 'alice', 2]]);
  const strict = records((await rank(root, ['-w', 'month', '-m', 'jobs', '--min-jobs', '5'])).stdout);
  t.same(strict.map((r) => [r['cluster'], r['user']]), [['all', 'alice']]);
});

t.test('ties share a rank and are in name order; zero values are left out; --top', async (t) => {
  const root = store(t, [
    { cluster: 'c1', user: 'zed', day: '2024-03-01', t: job(3, { cpu_s: 10 * HOUR }) },
    { cluster: 'c1', user: 'may', day: '2024-03-01', t: job(3, { cpu_s: 5 * HOUR }) },
    { cluster: 'c1', user: 'abe', day: '2024-03-01', t: job(3, { cpu_s: 5 * HOUR }) },
    { cluster: 'c1', user: 'kim', day: '2024-03-01', t: job(3, { cpu_s: 3 * HOUR }) },
    { cluster: 'c1', user: 'idle', day: '2024-03-01', t: job(3, { cpu_s: 0 }) },
  ]);
  const recs = records((await rank(root, ['-w', 'month', '-m', 'clock_hours', '-c', 'all'])).stdout);
  t.same(recs.map((r) => [r['rank'], r['user'], r['value']]), [[1, 'zed', 10], [2, 'abe', 5], [2, 'may', 5], [4, 'kim', 3]]);
  t.same(recs[0], { kind: 'rank', window: 'month-2024-03', metric: 'clock_hours', cluster: 'all', rank: 1, user: 'zed', value: 10, level: levelForXp(100), xp: 100 });
  t.same(Object.keys(recs[0] ?? {}).slice(0, 1), ['kind'], 'kind first');
  const top2 = records((await rank(root, ['-w', 'month', '-m', 'clock_hours', '-c', 'all', '--top', '2'])).stdout);
  t.same(top2.map((r) => r['user']), ['zed', 'abe', 'may'], 'ties at the cut all stay');
  const top1 = records((await rank(root, ['-w', 'month', '-m', 'clock_hours', '-c', 'all', '-n', '1'])).stdout);
  t.same(top1.map((r) => r['user']), ['zed']);
  const jobs = records((await rank(root, ['-w', 'month', '-m', 'jobs', '-c', 'all'])).stdout);
  t.same(jobs.map((r) => r['rank']), [1, 1, 1, 1, 1], 'five-way tie');
  t.same(jobs.map((r) => r['user']), ['abe', 'idle', 'kim', 'may', 'zed']);
});

t.test('ties are exact: values equal only after rounding are not tied', async (t) => {
  const root = store(t, [
    { cluster: 'c1', user: 'a', day: '2024-03-01', t: job(3, { cpu_s: 36_000_000_001 }) },
    { cluster: 'c1', user: 'b', day: '2024-03-01', t: job(3, { cpu_s: 36_000_000_000 }) },
  ]);
  const recs = records((await rank(root, ['-w', 'month', '-m', 'clock_hours', '-c', 'all'])).stdout);
  t.same(recs.map((r) => [r['rank'], r['user']]), [[1, 'a'], [2, 'b']]);
});

t.test('overall: total level over nine skills (level 1 where no XP), total XP, ranked by level then XP', async (t) => {
  const root = store(t, [
    // ana: 1000 core-hours (10,000 XP), 3 jobs (150 XP), 3000 job-hours (300,000 XP)
    { cluster: 'c1', user: 'ana', day: '2024-03-01', t: { jobs: 3, cpu_s: 1000 * HOUR, elapsed_s: 3000 * HOUR } },
    // ben: the same levels as cid, less XP
    { cluster: 'c1', user: 'ben', day: '2024-03-01', t: { jobs: 3, cpu_s: 8 * HOUR } },
    { cluster: 'c1', user: 'cid', day: '2024-03-01', t: { jobs: 3, cpu_s: 9 * HOUR } },
  ]);
  const recs = records((await rank(root, ['-w', 'month', '-m', 'overall', '-c', 'all'])).stdout);
  const ana = 6 + levelForXp(10_000) + levelForXp(150) + levelForXp(300_000);
  t.same(recs.map((r) => [r['rank'], r['user'], r['level'], r['xp'], r['value']]), [
    [1, 'ana', ana, 310_150, ana],
    [2, 'cid', 7 + levelForXp(90) + levelForXp(150), 240, 7 + levelForXp(90) + levelForXp(150)],
    [3, 'ben', 7 + levelForXp(80) + levelForXp(150), 230, 7 + levelForXp(80) + levelForXp(150)],
  ]);
  t.equal(levelForXp(80), 1);
  t.equal(levelForXp(90), 2);
  t.equal(recs[0]?.['metric'], 'overall');
});

t.test('opt-out: never in any output, stdout or files, any cluster', async (t) => {
  const root = store(t, [
    { cluster: 'hammer', user: 'alice', day: '2024-03-01', t: job(5) },
    { cluster: 'hammer', user: 'carol', day: '2024-03-01', t: job(9) },
    { cluster: 'gilbreth', user: 'dave', day: '2024-03-02', t: job(7) },
    { cluster: 'gilbreth', user: 'erin', day: '2024-03-02', t: job(6) },
  ]);
  writeOptout(root, ['# people who asked', 'carol   # 2024-02-01']);
  const homes = path.join(root, 'homes');
  mkdirSync(path.join(homes, 'dave'), { recursive: true });
  writeFileSync(path.join(homes, 'dave', '.slurm_scoreboard_optout'), '');
  mkdirSync(path.join(homes, 'erin'), { recursive: true });
  const env = { SB_HOME_ROOT: homes };
  const r = await rank(root, [], env);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.notMatch(r.stdout, /carol|dave/);
  t.match(r.stdout, /"user":"alice"/);
  t.match(r.stdout, /"user":"erin"/);
  const w = await rank(root, ['--write'], env);
  t.equal(w.status, 0);
  const files = walk(path.join(root, 'leaderboards'));
  t.ok(files.length > 0);
  for (const f of files) t.notMatch(readFileSync(f, 'utf8'), /carol|dave/, path.relative(root, f));
  t.ok(files.some((f) => readFileSync(f, 'utf8').includes('"erin"')), 'others are still there');
  t.ok(readFileSync(path.join(root, 'leaderboards', 'alltime_overall.json'), 'utf8').includes('"alice"'));
});

t.test('--write: the seed schema, per-cluster boards, aliases, no temp files, summary records', async (t) => {
  const root = store(t, [
    { cluster: 'hammer', user: 'alice', day: '2024-03-01', t: job(5, { cpu_s: 100 * HOUR }) },
    { cluster: 'gilbreth', user: 'bob', day: '2024-03-10', t: job(4, { cpu_s: 50 * HOUR }) },
  ]);
  const r = await rank(root, ['--write']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  const summary = records(r.stdout);
  t.ok(summary.every((s) => s['kind'] === 'leaderboard'));
  // 5 windows × 10 boards × 3 scopes, and the seed's three clock_hours aliases.
  t.equal(summary.length, 5 * 10 * 3 + 3);
  const lb = path.join(root, 'leaderboards');
  const doc = JSON.parse(readFileSync(path.join(lb, 'rolling-30d_clock_hours.json'), 'utf8')) as Rec;
  t.same(Object.keys(doc), ['asof', 'cluster', 'end', 'metric', 'min_jobs', 'rows', 'schema_version', 'start', 'title', 'unit', 'window']);
  t.match(doc, { asof: NOW, window: 'rolling-30d', metric: 'clock_hours', cluster: 'all', start: '2024-02-15T00:00:00Z', end: '2024-03-15T23:59:59Z', min_jobs: 3, schema_version: 2 });
  t.same(doc['rows'], [
    { rank: 1, user: 'alice', value: 100, level: levelForXp(1000), xp: 1000 },
    { rank: 2, user: 'bob', value: 50, level: levelForXp(500), xp: 500 },
  ]);
  // What the seed's readers rely on: asof, window, metric, rows of rank/user/value.
  const seed = JSON.parse(readFileSync(path.join(lb, 'alltime_failed_jobs.json'), 'utf8')) as Rec;
  t.type(seed['asof'], 'string');
  t.same(seed['rows'], []);
  t.same(readFileSync(path.join(lb, 'alltime.json'), 'utf8'), readFileSync(path.join(lb, 'alltime_clock_hours.json'), 'utf8'), 'alltime.json as the seed wrote it');
  t.ok(existsSync(path.join(lb, 'rolling-30d.json')) && existsSync(path.join(lb, 'rolling-365d.json')));
  const alltime = JSON.parse(readFileSync(path.join(lb, 'alltime_clock_hours.json'), 'utf8')) as Rec;
  t.notOk('start' in alltime, 'alltime has no start/end');
  const hammer = JSON.parse(readFileSync(path.join(lb, 'by-cluster', 'hammer', 'month-2024-03_jobs.json'), 'utf8')) as Rec;
  t.match(hammer, { cluster: 'hammer', window: 'month-2024-03', metric: 'jobs', rows: [{ rank: 1, user: 'alice', value: 5 }] });
  const files = walk(lb).map((f) => path.relative(lb, f));
  t.same(files.filter((f) => !f.endsWith('.json')), [], 'no temporary files, no lock left');
  t.equal(files.length, 5 * 10 * 3 + 3);
  t.same(summary[0], { kind: 'leaderboard', window: 'alltime', metric: 'clock_hours', cluster: 'all', rows: 2, file: path.join(lb, 'alltime_clock_hours.json') });
  // A temporary file a crashed writer left is cleaned up by the next writer.
  const stale = path.join(lb, '.alltime_jobs.json.0123456789ab.tmp');
  writeFileSync(stale, '{"partial');
  t.equal((await rank(root, ['--write', '-w', 'alltime'])).status, 0);
  t.notOk(existsSync(stale));
});

t.test('--write is atomic: concurrent writers all finish, a concurrent reader never sees a partial file', { skip: LONG }, async (t) => {
  const entries: Entry[] = [];
  for (let i = 0; i < 400; i++) entries.push({ cluster: i % 2 ? 'hammer' : 'gilbreth', user: `user${String(i).padStart(4, '0')}`, day: `2024-03-${String((i % 14) + 1).padStart(2, '0')}`, t: job(3 + (i % 7), { cpu_s: (i + 1) * HOUR }) });
  const root = store(t, entries);
  const file = path.join(root, 'leaderboards', 'rolling-30d_clock_hours.json');
  let reading = true;
  let reads = 0;
  const bad: string[] = [];
  const reader = (async () => {
    while (reading) {
      try {
        const text = await readFile(file, 'utf8');
        const doc = JSON.parse(text) as Rec;
        if ((doc['rows'] as unknown[]).length !== 400) bad.push(`${(doc['rows'] as unknown[]).length} rows`);
        reads++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') bad.push((err as Error).message);
      }
    }
  })();
  const runs = await Promise.all(Array.from({ length: 6 }, () => rank(root, ['--write', '--min-jobs', '0', '-w', 'rolling-30d,alltime'])));
  reading = false;
  await reader;
  t.same(runs.map((r) => r.status), [0, 0, 0, 0, 0, 0], 'every writer waited for the lock and wrote');
  t.same(runs.map((r) => r.stderr).filter((s) => s !== ''), []);
  t.same(bad, [], 'every read was a whole file');
  t.ok(reads > 0, `the reader read ${reads} times`);
  t.same(walk(path.join(root, 'leaderboards')).filter((f) => !f.endsWith('.json')), [], 'no temp files, no lock left');
});

t.test('the leaderboard lock: held → exit 3 after --wait; stale → broken', async (t) => {
  const root = store(t, [{ cluster: 'hammer', user: 'alice', day: '2024-03-01', t: job() }]);
  const lock = path.join(root, 'leaderboards', '.lock');
  mkdirSync(lock, { recursive: true });
  writeFileSync(path.join(lock, 'owner'), JSON.stringify({ host: hostname(), pid: process.pid, since: NOW, tool: 'sb-rank', token: 'x' }));
  const r = await rank(root, ['--write', '--wait', '0']);
  t.equal(r.status, 3);
  t.match(r.stderr, new RegExp(`^sb-rank: the leaderboard lock \\(.*/leaderboards/\\.lock\\) is held by sb-rank \\(pid ${process.pid} on `));
  t.equal(r.stdout, '');
  t.notOk(existsSync(path.join(root, 'leaderboards', 'alltime_jobs.json')), 'nothing written');
  // The holder died: its pid is gone on this host.
  writeFileSync(path.join(lock, 'owner'), JSON.stringify({ host: hostname(), pid: 2 ** 22 + 12345, since: NOW, tool: 'sb-rank', token: 'x' }));
  const s = await rank(root, ['--write', '--wait', '0']);
  t.equal(s.status, 0, s.stderr);
  t.ok(existsSync(path.join(root, 'leaderboards', 'alltime_jobs.json')));
  t.notOk(existsSync(lock), 'released');
});

t.test('a store written by the real sb-reduce ranks exactly like the documented format', async (t) => {
  const jobs: JobRecord[] = [];
  const add = (cluster: string, user: string, end: string, over: Partial<JobRecord> = {}): void => {
    const n = jobs.length + 1;
    jobs.push({
      kind: 'job', cluster, key: `${cluster}/db/${n}`, job_id: String(n), job_id_raw: String(n), db_index: n, user, uid: 1000 + n,
      account: 'acct', partition: 'cpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
      submit: end, start: end, end, elapsed_s: 3600, timelimit_s: 7200, cpus: 4, nodes: 1, gpus: 0,
      req_mem_bytes: 8 * GIB, max_rss_bytes: 3 * GIB, steps: 1, ...over,
    });
  };
  for (let i = 0; i < 3; i++) add('hammer', 'alice', '2024-03-10T10:00:00Z', { cpus: 8 + i });
  add('gilbreth', 'alice', '2024-02-15T00:00:00Z', { gpus: 2, elapsed_s: 1800 });
  for (let i = 0; i < 4; i++) add('gilbreth', 'bob', '2024-02-14T23:59:59Z', { state: i === 0 ? 'FAILED' : 'COMPLETED', failed: i === 0 });
  for (let i = 0; i < 3; i++) add('hammer', 'carol', '2023-12-31T12:00:00Z', { max_rss_bytes: null });
  const reduced = tempRoot(t);
  const r = await runBin('sb-reduce', ['--root', reduced], { input: jobs.map((j) => JSON.stringify(j)).join('\n') + '\n' });
  t.equal(r.status, 0, r.stderr);
  const documented = store(t, jobs.map((j) => ({ cluster: j.cluster, user: j.user, day: j.end.slice(0, 10), t: jobTotals(j) })));
  const a = await rank(reduced, []);
  const b = await rank(documented, []);
  t.equal(a.status, 0, a.stderr);
  t.ok(records(a.stdout).length > 50);
  t.equal(a.stdout, b.stdout, 'the same boards from both stores');
  const recs = records(a.stdout);
  t.same(board(recs, 'rolling-30d', 'clock_hours').map((x) => [x['user'], x['value']]), [['alice', 27 + 4 * 0.5]]);
  t.same(board(recs, 'alltime', 'failed_jobs').map((x) => [x['user'], x['value']]), [['bob', 1]]);
  t.same(board(recs, 'year-2024', 'jobs', 'hammer').map((x) => [x['user'], x['value']]), [['alice', 3]]);
  t.same(board(recs, 'alltime', 'mem_used_gb_hours').map((x) => [x['user'], x['value']]), [['bob', 12], ['alice', 10.5]], 'carol had no MaxRSS: no used memory');
});

// A job record as sb-parse prints it, for stores the real sb-reduce writes.
function jobRec(n: number, over: Record<string, unknown>): Record<string, unknown> {
  return {
    kind: 'job', cluster: 'hammer', key: `${String(over['cluster'] ?? 'hammer')}/db/${n}`, job_id: String(n), job_id_raw: String(n), db_index: n, user: 'alice', uid: null,
    account: 'lab', partition: 'cpu', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
    submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: null,
    cpus: 4, nodes: 1, gpus: 0, req_mem_bytes: GIB, max_rss_bytes: GIB / 2, steps: 1, ...over,
  };
}

async function reduceInto(root: string, jobs: Array<Record<string, unknown>>): Promise<void> {
  const r = await runBin('sb-reduce', ['--root', root], { input: jobs.map((j) => JSON.stringify(j)).join('\n') + '\n' });
  if (r.status !== 0) throw new Error(r.stderr);
}

// The sum of jobs' totals, for expected XP.
function sumOf(jobs: Array<Record<string, unknown>>): ReturnType<typeof jobTotals> {
  const all = jobs.map((j) => jobTotals(j as unknown as JobRecord));
  const acc = { ...all[0]! };
  for (const x of all.slice(1)) for (const k of Object.keys(acc) as Array<keyof typeof acc>) (acc[k] as number | bigint) = ((acc[k] as number | bigint) as number) + ((x[k] as number | bigint) as number);
  return acc;
}

// alice: 3 jobs in lab, 1 in other; bob: 2 in lab (gpus); carol: 4 in other on gilbreth; dan: 1 job in lab.
function teamJobs(): Array<Record<string, unknown>> {
  return [
    ...[1, 2, 3].map((n) => jobRec(n, { cpus: 8 })),
    jobRec(4, { account: 'other', end: '2024-03-06T11:00:00Z' }),
    ...[5, 6].map((n) => jobRec(n, { user: 'bob', gpus: 2, cpus: 16, end: '2024-03-10T11:00:00Z' })),
    ...[7, 8, 9, 10].map((n) => jobRec(n, { cluster: 'gilbreth', user: 'carol', account: 'other', cpus: 2 })),
    jobRec(11, { user: 'dan', cpus: 1 }),
  ];
}

t.test('--by account: accounts ranked by the sum of their users, levels from the same XP table, overall, per cluster and all; --min-jobs', async (t) => {
  const root = tempRoot(t);
  const jobs = teamJobs();
  await reduceInto(root, jobs);
  const r = await rank(root, ['--by', 'account', '-w', 'month-2024-03', '--min-jobs', '0']);
  t.same([r.status, r.stderr], [0, '']);
  const recs = records(r.stdout);
  t.ok(recs.every((x) => x['by'] === 'account' && typeof x['account'] === 'string' && !('user' in x)), 'account rows name accounts, never users');
  const lab = sumOf(jobs.filter((j) => j['account'] === 'lab'));
  const other = sumOf(jobs.filter((j) => j['account'] === 'other'));
  const cpu = board(recs, 'month-2024-03', 'clock_hours');
  t.same(cpu.map((x) => [x['rank'], x['account'], x['value'], x['xp'], x['level'], x['users']]), [
    [1, 'lab', lab.cpu_s / HOUR, skillXp(SKILLS[0]!, lab), levelForXp(skillXp(SKILLS[0]!, lab)), 3],
    [2, 'other', other.cpu_s / HOUR, skillXp(SKILLS[0]!, other), levelForXp(skillXp(SKILLS[0]!, other)), 2],
  ]);
  t.same(board(recs, 'month-2024-03', 'gpu_clock_hours').map((x) => x['account']), ['lab'], 'zero values are left out, as for users');
  const overall = board(recs, 'month-2024-03', 'overall');
  const total = (x: typeof lab): number => SKILLS.reduce((n, s) => n + levelForXp(skillXp(s, x)), 0);
  t.same(overall.map((x) => [x['account'], x['level']]), [['lab', total(lab)], ['other', total(other)]], 'overall: total level');
  t.same(board(recs, 'month-2024-03', 'jobs', 'gilbreth').map((x) => [x['account'], x['value'], x['users']]), [['other', 4, 1]], 'one cluster alone');
  t.same(board(recs, 'month-2024-03', 'jobs', 'hammer').map((x) => [x['account'], x['value']]), [['lab', 6], ['other', 1]]);
  // min-jobs: other has 1 job on hammer
  const m = records((await rank(root, ['--by', 'account', '-w', 'month-2024-03', '-m', 'jobs', '--min-jobs', '2'])).stdout);
  t.same(board(m, 'month-2024-03', 'jobs', 'hammer').map((x) => x['account']), ['lab'], '--min-jobs applies to accounts');
  t.same(board(m, 'month-2024-03', 'jobs', 'all').map((x) => x['account']), ['lab', 'other']);
  const both = records((await rank(root, ['--by', 'user,account', '-w', 'month-2024-03', '-m', 'jobs', '-c', 'all'])).stdout);
  t.same(both.map((x) => x['account'] ?? x['user']), ['alice', 'carol', 'lab', 'other'], '--by user,account: user boards, then account boards');
  t.equal(both.filter((x) => x['accounts_since'] !== undefined).length, 0, 'complete account data: no accounts_since');
});

t.test("--account NAME: one account's users by what they charged to it; '*' for every account; unknown accounts warn", async (t) => {
  const root = tempRoot(t);
  await reduceInto(root, teamJobs());
  let r = await rank(root, ['--account', 'lab', '-w', 'month-2024-03', '-m', 'jobs', '--min-jobs', '0']);
  t.same([r.status, r.stderr], [0, '']);
  const recs = records(r.stdout);
  t.ok(recs.every((x) => x['account'] === 'lab' && !('by' in x)));
  t.same(board(recs, 'month-2024-03', 'jobs').map((x) => [x['user'], x['value']]), [['alice', 3], ['bob', 2], ['dan', 1]], "alice's job in 'other' is not on lab's board");
  t.same(users(recs, 'month-2024-03', 'jobs', 'gilbreth'), []);
  r = await rank(root, ['--account', '*', '-w', 'month-2024-03', '-m', 'jobs', '-c', 'all']);
  t.same(records(r.stdout).map((x) => `${String(x['account'])}:${String(x['user'])}`), ['lab:alice', 'other:carol'], "every account (--min-jobs 3 by default)");
  r = await rank(root, ['--account', 'nope', '-w', 'month-2024-03', '-m', 'jobs']);
  t.same([r.status, r.stdout], [0, '']);
  t.match(r.stderr, /warning: no jobs of account "nope" in any window ranked; its boards are empty/);
  r = await rank(root, ['--by', 'team']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--by 'team': expected user or account/);
});

t.test('opt-out and accounts: the usage counts in the account total, the user is never named on any board, stdout or files', async (t) => {
  const root = tempRoot(t);
  const jobs = teamJobs();
  await reduceInto(root, jobs);
  writeOptout(root, ['bob']);
  const r = await rank(root, ['--by', 'user,account', '--account', '*', '--min-jobs', '0']);
  t.same([r.status, r.stderr], [0, '']);
  t.notMatch(r.stdout, /bob/);
  const lab = board(records(r.stdout).filter((x) => x['by'] === 'account'), 'month-2024-03', 'jobs').find((x) => x['account'] === 'lab');
  t.match(lab, { value: 6, users: 3 }, "bob's two jobs are in lab's total");
  const gpu = board(records(r.stdout).filter((x) => x['by'] === 'account'), 'month-2024-03', 'gpu_clock_hours');
  t.same(gpu.map((x) => [x['account'], x['value']]), [['lab', 2 * 2]], 'and his GPU-hours (the only ones)');
  const w = await rank(root, ['--write', '--by', 'user,account', '--account', '*', '--min-jobs', '0']);
  t.same([w.status, w.stderr], [0, '']);
  const files = walk(path.join(root, 'leaderboards'));
  t.ok(files.some((f) => f.includes(`${path.sep}account${path.sep}lab${path.sep}`)));
  for (const f of files) t.notMatch(readFileSync(f, 'utf8'), /bob/, path.relative(root, f));
});

t.test('--write: account boards next to the user boards; file names; the account "" as "%"', async (t) => {
  const root = tempRoot(t);
  await reduceInto(root, [...teamJobs(), ...[12, 13, 14].map((n) => jobRec(n, { account: '', user: 'erin' })), ...[15, 16, 17].map((n) => jobRec(n, { account: 'a/b c', user: 'erin' }))]);
  const r = await rank(root, ['--write', '--by', 'account', '--account', 'lab,(none),a/b c', '-w', 'alltime,month-2024-03']);
  t.same([r.status, r.stderr], [0, '']);
  const lb = path.join(root, 'leaderboards');
  const files = walk(lb).map((f) => path.relative(lb, f)).sort();
  t.equal(files.length, 2 * 10 * 3 * 4, '2 windows × 10 boards × 3 scopes × (accounts + 3 accounts)');
  t.ok(files.includes(path.join('accounts', 'alltime_overall.json')));
  t.ok(files.includes(path.join('by-cluster', 'gilbreth', 'accounts', 'month-2024-03_jobs.json')));
  t.ok(files.includes(path.join('account', 'lab', 'alltime_jobs.json')));
  t.ok(files.includes(path.join('account', '%', 'alltime_jobs.json')), "'(none)' is the account '', in '%'");
  t.ok(files.includes(path.join('account', 'a%2Fb%20c', 'alltime_jobs.json')), 'names percent-encoded as agg/users file names');
  t.ok(files.includes(path.join('by-cluster', 'hammer', 'account', 'lab', 'month-2024-03_clock_hours.json')));
  t.notOk(files.includes('alltime.json'), 'the seed aliases are user boards only');
  const doc = JSON.parse(readFileSync(path.join(lb, 'accounts', 'month-2024-03_jobs.json'), 'utf8')) as Rec;
  t.same(Object.keys(doc), ['asof', 'by', 'cluster', 'end', 'metric', 'min_jobs', 'rows', 'schema_version', 'start', 'title', 'unit', 'window']);
  t.same(doc['rows'], [
    { rank: 1, account: 'lab', value: 6, level: levelForXp(300), xp: 300, users: 3 },
    { rank: 2, account: 'other', value: 5, level: levelForXp(250), xp: 250, users: 2 },
    { rank: 3, account: '', value: 3, level: levelForXp(150), xp: 150, users: 1 },
    { rank: 3, account: 'a/b c', value: 3, level: levelForXp(150), xp: 150, users: 1 },
  ]);
  const one = JSON.parse(readFileSync(path.join(lb, 'account', 'lab', 'month-2024-03_jobs.json'), 'utf8')) as Rec;
  t.match(one, { account: 'lab', cluster: 'all', metric: 'jobs', rows: [{ rank: 1, user: 'alice', value: 3 }] });
  t.same(Object.keys(one).slice(0, 2), ['account', 'asof']);
  const summary = records(r.stdout);
  t.match(summary.find((x) => x['file'] === path.join(lb, 'account', 'lab', 'alltime_jobs.json')), { kind: 'leaderboard', account: 'lab', window: 'alltime', metric: 'jobs', cluster: 'all', rows: 1 });
});

t.test('accounts since: days counted before the store kept accounts are named, not guessed', async (t) => {
  const root = tempRoot(t);
  // February and 2024-03-05 counted by an sb-reduce from before (no accounts member), then more
  await reduceInto(root, [jobRec(1, { end: '2024-02-10T11:00:00Z' }), jobRec(2, {}), jobRec(3, { user: 'bob' })]);
  const agg = path.join(root, 'clusters', 'hammer', 'agg', 'rollups');
  for (const sub of ['daily', 'monthly', 'yearly']) {
    for (const f of readdirSync(path.join(agg, sub))) {
      const doc = JSON.parse(readFileSync(path.join(agg, sub, f), 'utf8')) as Rec;
      delete doc['accounts'];
      writeFileSync(path.join(agg, sub, f), JSON.stringify(doc));
    }
  }
  await reduceInto(root, [jobRec(4, {}), jobRec(5, { end: '2024-03-09T11:00:00Z' }), jobRec(6, { end: '2024-03-12T11:00:00Z', user: 'bob' })]);
  const r = await rank(root, ['--by', 'account', '--account', 'lab', '-m', 'jobs', '-c', 'all', '--min-jobs', '0', '-w', 'alltime,rolling-7d,rolling-11d,month-2024-02']);
  t.same([r.status, r.stderr], [0, '']);
  const recs = records(r.stdout);
  const acct = recs.filter((x) => x['by'] === 'account');
  t.same(board(acct, 'alltime', 'jobs').map((x) => [x['account'], x['value'], x['accounts_since']]), [['lab', 3, '2024-03-06']], 'alltime: only the jobs counted with their account, and since when');
  t.same(board(acct, 'rolling-11d', 'jobs').map((x) => x['accounts_since']), ['2024-03-06'], 'a window reaching back to 2024-03-05');
  t.same(board(acct, 'rolling-7d', 'jobs').map((x) => [x['value'], x['accounts_since']]), [[2, undefined]], 'a window after it: whole, no note');
  t.same(board(acct, 'month-2024-02', 'jobs'), [], 'February has no account data');
  const lab = recs.filter((x) => x['account'] === 'lab' && !('by' in x));
  t.same(board(lab, 'alltime', 'jobs').map((x) => [x['user'], x['value'], x['accounts_since']]), [['alice', 2, '2024-03-06'], ['bob', 1, '2024-03-06']]);
  const w = await rank(root, ['--write', '--by', 'account', '-m', 'jobs', '-c', 'all', '-w', 'alltime,rolling-7d']);
  t.equal(w.status, 0, w.stderr);
  t.match(JSON.parse(readFileSync(path.join(root, 'leaderboards', 'accounts', 'alltime_jobs.json'), 'utf8')), { accounts_since: '2024-03-06', by: 'account' });
  t.notOk('accounts_since' in (JSON.parse(readFileSync(path.join(root, 'leaderboards', 'accounts', 'rolling-7d_jobs.json'), 'utf8')) as Rec));
  const u = await rank(root, ['-m', 'jobs', '-c', 'all', '-w', 'alltime', '--min-jobs', '0']);
  t.same(users(records(u.stdout), 'alltime', 'jobs'), ['alice', 'bob'], 'user boards count every job, as before');
  t.same(board(records(u.stdout), 'alltime', 'jobs').map((x) => x['value']), [4, 2]);
});

t.test('account boards exact against the synthetic cluster\'s truth: every account × user total, every account × skill XP and level', { skip: LONG }, async (t) => {
  const root = tempRoot(t);
  const sim = 'SB_SIM_NOW=2024-03-01T00:00:00Z SB_SIM_RATE=20 SB_SIM_SEED=teams SB_SIM_REQUEUE=0.03';
  const r = await runShell(`sb-chunk new -c hammer -s 2024-01-10T00:00:00Z -e 2024-01-11T23:59:59Z --step 12 | ${sim} sb-sacct --sacct '${path.join(ROOT, 'sim', 'sacct')}' --rate 0 -j 4 | sb-parse | sb-dedupe --root '${root}' | sb-reduce --root '${root}' > /dev/null`, { timeoutMs: 120_000 });
  t.equal(r.status, 0, r.stderr);
  const truth = await accountTruth(sim, 'hammer', '2024-01-10T00:00:00', '2024-01-11T23:59:59');
  t.ok(truth.size >= 8, `${truth.size} accounts`);
  t.same((await accountDifferences(root, 'hammer', '2024-01', truth)).slice(0, 10), []);
});

t.test('counted_to: an all board summing a cluster counted only to an earlier time names it; clusters that agree, or a window both reach, say nothing', async (t) => {
  const root = store(t, [
    { cluster: 'anvil', day: '2024-03-14', user: 'alice', t: job(3) },
    { cluster: 'anvil', day: '2024-02-14', user: 'alice', t: job(3) },
    { cluster: 'hammer', day: '2024-03-01', user: 'bob', t: job(3) },
  ]);
  const ledger = (cluster: string, done: Array<[string, string]>, unsettled: Array<[string, string]> = []): void => {
    const dir = path.join(root, 'clusters', cluster, 'state', 'chunks');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'ledger.json'), JSON.stringify({ schema_version: 1, cluster, done, unsettled }) + '\n');
  };
  ledger('anvil', [['2024-01-01T00:00:00Z', '2024-03-15T10:59:59Z']], [['2024-03-15T11:00:00Z', '2024-03-15T11:50:00Z']]);
  ledger('hammer', [['2024-01-01T00:00:00Z', '2024-03-02T05:59:59Z']]);
  const r = await rank(root, ['-w', 'alltime,month-2024-02,rolling-30d', '-m', 'jobs']);
  t.equal(r.status, 0, r.stderr);
  const recs = records(r.stdout);
  t.same(board(recs, 'alltime', 'jobs').map((x) => [x['user'], x['counted_to']]), [['alice', { hammer: '2024-03-02T05:59:59Z' }], ['bob', { hammer: '2024-03-02T05:59:59Z' }]], 'every rank record of the all board names the cluster behind, with its watermark');
  t.same(board(recs, 'month-2024-02', 'jobs').map((x) => [x['user'], x['counted_to']]), [['alice', undefined]], 'a month both clusters reach past: no note');
  t.notOk(recs.some((x) => x['cluster'] !== 'all' && x['counted_to'] !== undefined), "a cluster's own board: no note");
  // both clusters counted to within an hour of each other: nothing to say
  ledger('hammer', [['2024-01-01T00:00:00Z', '2024-03-15T11:00:00Z']]);
  const agree = records((await rank(root, ['-w', 'alltime', '-m', 'jobs'])).stdout);
  t.ok(agree.length > 0 && agree.every((x) => x['counted_to'] === undefined), 'watermarks within the hour: no counted_to');
  // February: hammer counted to Feb 10 only, anvil past the month's end
  ledger('hammer', [['2024-01-01T00:00:00Z', '2024-02-10T00:00:00Z']]);
  const w = await rank(root, ['-w', 'month-2024-02,month-2024-01', '-m', 'jobs', '--write', '--min-jobs', '0']);
  t.equal(w.status, 0, w.stderr);
  const feb = JSON.parse(readFileSync(path.join(root, 'leaderboards', 'month-2024-02_jobs.json'), 'utf8')) as Rec;
  t.same(feb['counted_to'], { hammer: '2024-02-10T00:00:00Z' }, 'the board file says it too');
  t.same(Object.keys(feb).slice(0, 4), ['asof', 'cluster', 'counted_to', 'end'], 'in the file\'s sorted key order');
  const jan = JSON.parse(readFileSync(path.join(root, 'leaderboards', 'month-2024-01_jobs.json'), 'utf8')) as Rec;
  t.notOk('counted_to' in jan, 'January, which both reach past: no note');
  const by = JSON.parse(readFileSync(path.join(root, 'leaderboards', 'by-cluster', 'hammer', 'month-2024-02_jobs.json'), 'utf8')) as Rec;
  t.notOk('counted_to' in by, "hammer's own board: no note");
  // a ledger that cannot be read is sb-probe's to report: the boards come, without the note
  writeFileSync(path.join(root, 'clusters', 'hammer', 'state', 'chunks', 'ledger.json'), '{"trunc');
  const bad = await rank(root, ['-w', 'alltime', '-m', 'jobs']);
  t.equal(bad.status, 0, bad.stderr);
  t.ok(records(bad.stdout).every((x) => x['counted_to'] === undefined), 'an unreadable ledger: no note, no failure');
});

t.test('| head -1: exit 0, nothing on stderr', async (t) => {
  const entries: Entry[] = [];
  for (let i = 0; i < 3000; i++) entries.push({ cluster: 'hammer', user: `u${i}`, day: '2024-03-01', t: job(3 + (i % 5), { cpu_s: i * 60 }) });
  const root = store(t, entries);
  const r = await runShell(`sb-rank --root '${root}' --now ${NOW} | head -1`, { env: { SB_HOME_ROOT: path.join(root, 'none') } });
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(records(r.stdout).length, 1);
});

t.test('an empty store prints nothing; --write writes empty boards', async (t) => {
  const root = tempRoot(t);
  let r = await rank(root, []);
  t.same([r.status, r.stdout, r.stderr], [0, '', '']);
  r = await rank(root, ['--write', '-w', 'alltime', '-m', 'jobs']);
  t.equal(r.status, 0);
  const doc = JSON.parse(readFileSync(path.join(root, 'leaderboards', 'alltime_jobs.json'), 'utf8')) as Rec;
  t.same(doc['rows'], []);
  r = await rank(path.join(root, 'missing'), []);
  t.equal(r.status, 1);
  t.match(r.stderr, /^sb-rank: store '.*missing' does not exist\n$/);
});

t.test('a corrupt rollup file: exit 1, the file named, nothing written', async (t) => {
  const root = store(t, [{ cluster: 'hammer', user: 'alice', day: '2024-03-01', t: job() }]);
  const monthly = path.join(root, 'clusters', 'hammer', 'agg', 'rollups', 'daily', '2024-03.json');
  writeFileSync(monthly, '{"users":{"alice":{"01":{"jobs":');
  let r = await rank(root, ['--write']);
  t.equal(r.status, 1);
  t.match(r.stderr, /^sb-rank: .*clusters\/hammer\/agg\/rollups\/daily\/2024-03\.json: not JSON/);
  t.equal(r.stdout, '');
  t.same(walk(path.join(root, 'leaderboards')), [], 'no leaderboard written from a half-read store');
  const yearly = path.join(root, 'clusters', 'hammer', 'agg', 'rollups', 'yearly', '2024.json');
  writeFileSync(yearly, JSON.stringify({ users: [{ username: 'alice', totals: { jobs: -1 } }] }));
  r = await rank(root, ['-w', 'alltime']);
  t.equal(r.status, 1);
  t.match(r.stderr, /yearly\/2024\.json: users\[0\]: totals\.jobs is not a whole number/);
  r = await rank(root, ['-w', 'rolling-30d']);
  t.equal(r.status, 1, 'the daily file is read by the rolling window');
  r = await rank(root, ['-w', 'month']);
  t.equal(r.status, 0, 'windows that do not read the bad files still work');
});

t.test('usage: bad values (the rest of the checklist: test/contract.test.ts)', async (t) => {
  let r: Awaited<ReturnType<typeof runBin>>;
  const root = tempRoot(t);
  const cases: Array<[string[], RegExp]> = [
    [['-w', 'weekly'], /unknown window 'weekly'/],
    [['-m', 'karma'], /unknown metric 'karma'/],
    [['--top', '0'], /option '--top': '0'/],
    [['-c', '../x'], /'..\/x' is not a cluster name/],
    [['--now', 'the day after never'], /invalid time/],
    [['extra'], /unexpected argument 'extra'/],
    [['-w', 'alltime,'], /empty item/],
  ];
  for (const [args, re] of cases) {
    r = await rank(root, args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, re);
  }
  r = await runBin('sb-rank', [], { env: { SB_ROOT: '' } });
  t.equal(r.status, 2);
  t.match(r.stderr, /no store: give --root DIR or set SB_ROOT/);
  r = await rank(root, ['-c', 'nosuch']);
  t.equal(r.status, 1);
  t.match(r.stderr, /no cluster 'nosuch'/);
  r = await runBin('sb-rank', ['--now', NOW, '-w', 'alltime'], { env: { SB_ROOT: root } });
  t.equal(r.status, 0, '$SB_ROOT is the default store');
});

goldenCases('rank');
