// Polite polling: polls of the synthetic cluster every few minutes over simulated hours (the clock
// moved with libfaketime), every sacct call kept; the store's totals must equal the truth, and each
// finished job is handed down by at most two windows: once soon after it ends, once when its
// window settles. The driver is bench/poll-sim.mjs (bench/poll.sh prints its table).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readFileSync } from 'node:fs';
import { ROOT, records, runBin, runCommand } from './helpers/run.js';

let faketime = true;
try {
  execFileSync('faketime', ['-f', '@2024-01-10 00:00:00', 'true'], { stdio: 'ignore' });
} catch {
  faketime = false;
}
if (!faketime && process.env['CI'] === 'true') t.fail('faketime is missing (scripts/ensure-faketime.sh installs it)');
const needsClock = faketime ? {} : { skip: 'faketime is missing: apt-get install faketime (scripts/ensure-faketime.sh)' };

const dir = mkdtempSync(path.join(tmpdir(), 'sb-polite-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Stats {
  error?: string;
  jobs: number;
  ticks: number;
  runs: number;
  locked: number;
  calls: number;
  calls_per_poll: { mean: number; max: number };
  fetches: { mean: number; max: number; min: number };
  step_calls: number;
  step_calls_per_poll: { mean: number; max: number };
  step_fetches: { mean: number; max: number };
  kept: { mean: number; max: number; min: number } | null;
  rows_per_job: number;
  exact: boolean;
  diffs: string[];
}

async function polls(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Stats> {
  const r = await runCommand(process.execPath, [path.join(ROOT, 'bench', 'poll-sim.mjs'), '--dir', path.join(dir, name), ...args], { env, timeoutMs: 280_000 });
  if (r.stdout.trim() === '') throw new Error(`poll-sim ${name}: no output (exit ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  const s = JSON.parse(line) as Stats;
  if (s.error !== undefined || r.status !== 0) throw new Error(`poll-sim ${name}: exit ${r.status}: ${s.error ?? r.stderr}`);
  return s;
}

// The load every scenario keeps: each job handed down by one or two windows (never zero: the
// truth is reached), at most two sacct calls a poll (after an outage, one per hour missed). The
// synthetic cluster, as the real sacct, shows jobs up to 10 minutes outside -S/-E: such a job is
// also in a neighbour's answer (and may be kept by the next tile as well, a third window): at
// most twice more. With an exact sacct (SB_SIM_DRIFT=0), every job is in at most two answers and
// kept by at most two windows: when first seen, and when its tile settles. Apart from those: the
// queries by job id for the steps of the jobs a window keeps that started before its -S (all of
// a job's steps, which the window's own query need not show): at most one per window query here
// (fewer than 1,000 such jobs a window), so a job's steps are asked for at most twice, three
// times for a job an inexact sacct showed to two tiles.
function polite(t: Tap.Test, s: Stats, maxCalls = 2, exactSacct = false): void {
  t.ok(s.exact, `totals equal the truth${s.diffs.length > 0 ? `: ${s.diffs.join('; ')}` : ''}`);
  t.ok(s.jobs > 50, `${s.jobs} finished jobs`);
  if (s.kept !== null) {
    t.ok(s.kept.max <= (exactSacct ? 2 : 3), `no job handed down by more than ${exactSacct ? 'two' : 'three'} windows (max ${s.kept.max})`);
    t.equal(s.kept.min, 1, 'every job handed down');
  }
  const answers = exactSacct ? 2 : 4;
  t.ok(s.fetches.max <= answers, `no job in more than ${answers} sacct answers (max ${s.fetches.max}, mean ${s.fetches.mean.toFixed(2)})`);
  t.ok(s.calls_per_poll.max <= maxCalls, `at most ${maxCalls} sacct calls a poll (max ${s.calls_per_poll.max}, mean ${s.calls_per_poll.mean.toFixed(2)})`);
  t.ok(s.step_calls > 0, `${s.step_calls} queries for long jobs' steps`);
  t.ok(s.step_calls_per_poll.max <= maxCalls, `at most ${maxCalls} queries for steps a poll (max ${s.step_calls_per_poll.max})`);
  const steps = exactSacct ? 2 : 3;
  t.ok(s.step_fetches.max <= steps, `no job's steps asked for more than ${steps} times (max ${s.step_fetches.max}, mean ${s.step_fetches.mean.toFixed(2)})`);
}

t.test('sb-sacct asks exactly for a window that cannot settle yet, widened by the slack for one that can', async (t) => {
  const iso = (sec: number): string => new Date(sec * 1000).toISOString().replace('.000', '');
  const naive = (sec: number): string => iso(sec).slice(0, 19);
  const now = Math.floor(Date.now() / 1000);
  const chunks = [
    { kind: 'chunk', cluster: 'demo', start: '2024-01-10T00:00:00Z', end: '2024-01-10T00:59:59Z' },
    { kind: 'chunk', cluster: 'demo', start: iso(now - 600), end: iso(now - 60) },
  ];
  const log = path.join(dir, 'argv.ndjson');
  const r = await runBin('sb-sacct', ['--sacct', path.join(ROOT, 'sim', 'sacct'), '--rate', '0'], { input: chunks.map((c) => JSON.stringify(c)).join('\n') + '\n', env: { SB_SIM_LOG: log, XDG_RUNTIME_DIR: dir } });
  t.equal(r.status, 0, r.stderr);
  t.same(records(r.stdout).filter((x) => x['kind'] === 'chunk-done').map((x) => x['settled']), [true, false]);
  const range = (argv: string[]): string[] => [argv[argv.indexOf('-S') + 1] as string, argv[argv.indexOf('-E') + 1] as string];
  // the windows' own queries (after each, one by job id for the steps of its long jobs)
  const calls = records(readFileSync(log, 'utf8')).filter((c) => !(c['argv'] as string[]).includes('-j')).map((c) => range(c['argv'] as string[]));
  t.same(calls, [['2024-01-09T23:45:00', '2024-01-10T01:14:59'], [naive(now - 600), naive(now - 60)]], 'the slack only where the window can settle');
  // a tile: its query exactly, its jobs those that ended within its slack of it
  const tile = { kind: 'chunk', cluster: 'demo', start: '2024-01-10T00:00:00Z', end: '2024-01-10T01:29:59Z', query_start: '2024-01-10T00:15:00Z', query_end: '2024-01-10T01:14:59Z', slack: 900 };
  const tlog = path.join(dir, 'argv-tile.ndjson');
  const tr = await runBin('sb-sacct', ['--sacct', path.join(ROOT, 'sim', 'sacct'), '--rate', '0'], { input: JSON.stringify(tile) + '\n', env: { SB_SIM_LOG: tlog, XDG_RUNTIME_DIR: dir } });
  t.equal(tr.status, 0, tr.stderr);
  const all = records(readFileSync(tlog, 'utf8')).map((c) => c['argv'] as string[]);
  t.same(all.filter((a) => !a.includes('-j')).map(range), [['2024-01-10T00:15:00', '2024-01-10T01:14:59']], 'a tile: exactly its query, no slack');
  t.ok(all.filter((a) => a.includes('-j')).every((a) => range(a)[1] === '2024-01-10T01:29:59'), 'the queries for steps reach the last End it keeps');
  const out = records(tr.stdout);
  const done = out.filter((x) => x['kind'] === 'chunk-done');
  t.same(done.map((x) => [x['start'], x['end'], x['query_start'], x['query_end'], x['slack'], x['settled']]), [[tile.start, tile.end, tile.query_start, tile.query_end, 900, true]], 'its chunk-done says what it asked for');
  const ends = out.filter((x) => x['kind'] === 'rows').flatMap((x) => (x['lines'] as string[]).filter((l) => !l.split('\x7f')[2]?.includes('.')).map((l) => l.split('\x7f')[13] as string));
  t.ok(ends.length > 0 && ends.every((e) => e >= '2024-01-10T00:00:00' && e <= '2024-01-10T01:29:59'), `every job it keeps ended within its slack of the query (${ends.length} jobs)`);
  t.ok(ends.some((e) => e > '2024-01-10T01:14:59' || e < '2024-01-10T00:15:00'), 'including some sacct showed outside the query');
  const bad = await runBin('sb-sacct', ['--sacct', path.join(ROOT, 'sim', 'sacct'), '--rate', '0'], { input: JSON.stringify({ ...tile, slack: 60 }) + '\n', env: { XDG_RUNTIME_DIR: dir } });
  t.match(bad.stderr, /is not within 60 s of its query/, 'a tile keeping more than its slack allows is a bad line');
});

t.test('polls every 10 minutes over three hours: exact, each job fetched by at most two windows', needsClock, async (t) => {
  const s = await polls('steady', ['--hours', '3', '--every', '10']);
  polite(t, s);
  t.ok(s.calls_per_poll.mean < 1.5, `mostly one sacct call a poll (mean ${s.calls_per_poll.mean.toFixed(2)})`);
  t.ok(s.fetches.mean < 2.3, `${s.fetches.mean.toFixed(2)} answers per job on average`);
});

t.test('an exact sacct (no job shown outside -S/-E): every finished job in at most two answers, kept by at most two windows', needsClock, async (t) => {
  const s = await polls('exact', ['--hours', '3', '--every', '10'], { SB_SIM_DRIFT: '0' });
  polite(t, s, 2, true);
  t.ok(s.fetches.mean < 2, `${s.fetches.mean.toFixed(2)} answers per job on average`);
});

t.test('polls every 3 minutes, more often than the 15-minute settle time: still exact and polite', needsClock, async (t) => {
  const s = await polls('often', ['--hours', '1', '--every', '3']);
  polite(t, s);
});

t.test('an outage: no poll for 2h40m, then the backlog in whole windows fetched once, exact', needsClock, async (t) => {
  const s = await polls('outage', ['--hours', '4', '--every', '10', '--outage', '40-200']);
  // the first poll after it: the hours since the last one that can settle, one call each, and
  // the rest of the span in one
  polite(t, s, 5);
});

t.test('two pollers started together each tick: the poll lock keeps one, exact, no extra load', needsClock, async (t) => {
  const s = await polls('two', ['--hours', '1.5', '--every', '10', '--pollers', '2', '--mode', 'poll']);
  polite(t, s);
  t.ok(s.locked > 0, `the second poller found the lock (${s.locked} of ${s.runs} runs)`);
});
