// A month of the synthetic cluster through the pipeline, sb-reduce killed with SIGKILL at random
// points over and over (alone, and five at once on overlapping windows), sb-sacct and sb-parse
// killed upstream of it, then every user's every one of the nine totals must equal the cluster's
// truth exactly, and so must every account's (its users' totals, its boards).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BIN, cleanEnv, records, ROOT, runBin, runShell } from './helpers/run.js';
import { snapshot } from './helpers/snapshot.js';
import { accountDifferences, accountTruth } from './helpers/account-truth.js';
import type { Totals } from '../lib/core/scores/metrics.js';

const CLUSTER = 'demo';
const START = '2024-03-01T00:00:00Z';
const END = '2024-03-31T23:59:59Z';
// A small month: ~4000 job records (requeues and job ids that wrap around included), fetched a day
// a window; sb-reduce also commits every BATCH jobs, so transactions end inside windows too.
const SIM = { SB_SIM_RATE: '5', SB_SIM_SEED: 'torture', SB_SIM_REQUEUE: '0.05', SB_SIM_MAX_JOB_ID: '1500', SB_SIM_NOW: '2024-06-01T00:00:00Z' };
const KILLS = 50;
const BATCH = '100';
const LIVE_KILLS = 4;
// sb-sacct and sb-parse killed, in turn, in the live pipeline
const UPSTREAM_KILLS = 6;

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'sb-torture-'));

// A small deterministic PRNG, so a failing run's kill times can be replayed.
let seed = Number(process.env['SB_TORTURE_SEED'] ?? 20240301);
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

// What the runs after the kills said: locks of killed holders broken, published commits finished.
const seen = { broken: 0, rolled: 0 };
function tally(r: Run): Run {
  seen.broken += (r.stderr.match(/broke the lock/g) ?? []).length;
  seen.rolled += (r.stderr.match(/finished an interrupted commit/g) ?? []).length;
  return r;
}

// Arms the kill: killMs after the child's first commit record (so the kill lands while it works,
// not while node starts), or after FALLBACK_MS if it prints none.
const FALLBACK_MS = 4000;
function armKill(child: ReturnType<typeof spawn>, killMs: number | undefined): () => void {
  if (killMs === undefined) return () => undefined;
  let timer = setTimeout(() => child.kill('SIGKILL'), FALLBACK_MS);
  child.stdout?.once('data', () => {
    clearTimeout(timer);
    timer = setTimeout(() => child.kill('SIGKILL'), killMs);
  });
  child.stdout?.resume();
  return () => clearTimeout(timer);
}

// A real sb-reduce on the store (arguments after the fixed ones in `extra`).
function spawnReduce(root: string, extra: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe'): ChildProcess {
  // `env -u`: the test runner puts its loaders back into every node child's NODE_OPTIONS.
  return spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-reduce'), '--root', root, '--wait', '60', '--batch', BATCH, ...extra], {
    env,
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

// Waits for a spawned sb-reduce (arming the kill), then for `upstream` to end if there is one.
function settle(child: ChildProcess, killMs: number | undefined, upstream?: ChildProcess): Promise<Run> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const disarm = armKill(child, killMs);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      disarm();
      const done = (): void => resolve(tally({ status, signal, stderr }));
      if (upstream === undefined || upstream.exitCode !== null || upstream.signalCode !== null) return done();
      upstream.stdout?.destroy();
      upstream.on('close', done);
    });
  });
}

// sb-reduce on a file, SIGKILLed killMs after its first commit (if it is still running then).
function reduce(root: string, file: string, killMs: number | undefined, env: Record<string, string> = {}): Promise<Run> {
  return settle(spawnReduce(root, [file], { ...cleanEnv(), TZ: 'UTC', ...env }, 'ignore'), killMs);
}

const simEnv = Object.entries(SIM).map(([k, v]) => `${k}=${v}`).join(' ');

const FETCH = `${simEnv} sb-sacct --sacct '${ROOT}/sim/sacct' --rate 0 -j 8 | sb-parse`;

// The month as the pipeline prints it before sb-reduce: job and chunk-done records, one block a
// window, through the real sb-chunk, sb-sacct (on the simulator), sb-parse and sb-dedupe.
async function pipelineOutput(): Promise<string> {
  const r = await runShell(`sb-chunk new -c ${CLUSTER} -s ${START} -e ${END} --by day | ${FETCH} | sb-dedupe --root '${tmp()}'`, { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`pipeline failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// The live resume loop: what the ledger does not hold as done, through the whole pipeline into
// sb-reduce, which is SIGKILLed killMs after its first commit (the upstream tools then end on a
// closed pipe).
function livePipeline(root: string, killMs: number | undefined, limit = ''): Promise<Run> {
  const env = { ...cleanEnv(), TZ: 'UTC', PATH: `${BIN}:${process.env['PATH'] ?? ''}` };
  const up = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', '/bin/bash', '-c', `sb-chunk todo -c ${CLUSTER} --root '${root}' -s ${START} -e ${END} --by day ${limit} | ${FETCH} | sb-dedupe --root '${root}'`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const child = spawnReduce(root, [], env, 'pipe');
  child.stdin?.on('error', () => undefined);
  if (child.stdin) up.stdout.pipe(child.stdin);
  return settle(child, killMs, up);
}

// The live pipeline with one of its upstream stages (sb-sacct or sb-parse) SIGKILLed killMs
// after it starts: the stages after it see their input end inside a window.
function liveKillUpstream(root: string, stage: 'sb-sacct' | 'sb-parse', killMs: number): Promise<Run & { killed: boolean }> {
  const env = { ...cleanEnv(), TZ: 'UTC', PATH: `${BIN}:${process.env['PATH'] ?? ''}` };
  const up = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', '/bin/bash', '-c', `sb-chunk todo -c ${CLUSTER} --root '${root}' -s ${START} -e ${END} --by day --limit 6 | ${FETCH} | sb-dedupe --root '${root}'`], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  const child = spawnReduce(root, [], env, 'pipe');
  child.stdin?.on('error', () => undefined);
  if (child.stdin) up.stdout.pipe(child.stdin);
  let killed = false;
  const timer = setTimeout(() => {
    // the stage is a child of the bash running the pipeline, its command line naming its bin
    const pgrep = spawnSync('pgrep', ['-P', String(up.pid), '-f', `bin/${stage}`], { encoding: 'utf8' });
    for (const pid of pgrep.stdout.split('\n').filter((x) => x !== '')) {
      try {
        process.kill(Number(pid), 'SIGKILL');
        killed = true;
      } catch {
        // gone already
      }
    }
  }, killMs);
  return settle(child, undefined, up).then((r) => {
    clearTimeout(timer);
    return { ...r, killed };
  });
}

// user → the sim's true totals, in the store's field names.
async function simTruth(): Promise<Map<string, Record<string, string>>> {
  const r = await runShell(`${simEnv} sim/sacct --sim-truth -S 2024-03-01T00:00:00 -E 2024-03-31T23:59:59 -M ${CLUSTER}`);
  const names: Record<string, string> = {
    jobs: 'jobs', failed_jobs: 'failed_jobs', gpu_jobs: 'gpu_jobs', cpu_seconds: 'cpu_s', elapsed_seconds: 'elapsed_s', gpu_seconds: 'gpu_s',
    gpu_elapsed_seconds: 'gpu_elapsed_s', mem_req_byte_seconds: 'mem_req_byte_s', mem_used_byte_seconds: 'mem_used_byte_s',
  };
  const out = new Map<string, Record<string, string>>();
  for (const row of records(r.stdout)) {
    const t: Record<string, string> = {};
    for (const [from, to] of Object.entries(names)) t[to] = String(row[from]);
    out.set(row['user'] as string, t);
  }
  return out;
}

// What differs between the store and the truth (empty when every user and metric agrees), read
// from the all-time files and from the monthly rollup.
function differences(root: string, truth: Map<string, Record<string, string>>): string[] {
  const dir = path.join(root, 'clusters', CLUSTER, 'agg');
  const monthly = JSON.parse(readFileSync(path.join(dir, 'rollups/monthly/2024-03.json'), 'utf8')) as { users: Array<{ username: string; totals: Record<string, unknown> }> };
  const byMonth = new Map(monthly.users.map((u) => [u.username, u.totals]));
  const diffs: string[] = [];
  const users = new Set([...truth.keys(), ...byMonth.keys(), ...readdirSync(path.join(dir, 'users')).map((f) => f.replace(/\.json$/, ''))]);
  for (const u of users) {
    const want = truth.get(u);
    const file = path.join(dir, 'users', `${u}.json`);
    const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { clusters: Record<string, { totals: Record<string, unknown> }> }).clusters[CLUSTER]?.totals : undefined;
    for (const f of Object.keys(want ?? { jobs: 0 })) {
      const w = want?.[f];
      if (String(all?.[f]) !== w) diffs.push(`${u} ${f}: all-time ${String(all?.[f])}, truth ${String(w)}`);
      if (String(byMonth.get(u)?.[f]) !== w) diffs.push(`${u} ${f}: monthly ${String(byMonth.get(u)?.[f])}, truth ${String(w)}`);
    }
  }
  return diffs;
}

async function verify(t: Tap.Test, root: string, truth: Map<string, Record<string, string>>): Promise<void> {
  const diffs = differences(root, truth);
  t.same(diffs.slice(0, 10), [], `all ${truth.size} users × 9 totals equal the truth exactly`);
  const accounts = accountsTruth.value;
  t.same((await accountDifferences(root, CLUSTER, '2024-03', accounts)).slice(0, 10), [], `all ${accounts.size} accounts: every account × user total and account board equal the truth exactly`);
  const check = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(check.status, 0, `sb-reduce --check: ${check.stderr.trim()}`);
  const todo = await runBin('sb-chunk', ['todo', '-c', CLUSTER, '--root', root, '-s', START, '-e', END, '--by', 'day']);
  t.equal(todo.stdout, '', 'sb-chunk todo: nothing left to do');
  const state = path.join(root, 'clusters', CLUSTER, 'state');
  t.notOk(existsSync(path.join(state, 'journal')), 'no commit left half done');
  t.notOk(existsSync(path.join(state, 'lock')), 'no lock left');
  t.same(readdirSync(path.join(state, 'tmp')), [], 'no temporary files left');
}

// The input split into windows (each block ends with its chunk-done).
function windows(text: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    cur.push(line);
    if (line.includes('"kind":"chunk-done"')) {
      out.push(cur.join('\n') + '\n');
      cur = [];
    }
  }
  return out;
}

const state = { input: '', truth: new Map<string, Record<string, string>>(), file: '' };
// account → user → the sim's true totals
const accountsTruth = { value: new Map<string, Map<string, Totals>>() };

t.before(async () => {
  state.input = await pipelineOutput();
  state.truth = await simTruth();
  accountsTruth.value = await accountTruth(simEnv, CLUSTER, '2024-03-01T00:00:00', '2024-03-31T23:59:59');
  state.file = path.join(tmp(), 'month.ndjson');
  writeFileSync(state.file, state.input);
});

t.test(`sb-reduce killed at random points ${KILLS} times, resumed until done: totals equal the truth`, async (t) => {
  const root = tmp();
  const t0 = Date.now();
  seen.broken = seen.rolled = 0;
  let kills = 0;
  let runs = 0;
  let early = 0;
  // A few kills on sb-reduce at the end of the live pipeline (it fetches the windows not done)...
  while (kills < LIVE_KILLS && runs < 40) {
    const r = await livePipeline(root, Math.floor(rand() * 400), '--limit 4');
    runs++;
    if (r.signal === 'SIGKILL') kills++;
    else early++;
  }
  // ...some on sb-sacct and sb-parse upstream of it (their window cut short: nothing of it may be
  // counted with missing steps, nor the window recorded done)...
  let upstream = 0;
  while (upstream < UPSTREAM_KILLS && runs < 80) {
    const r = await liveKillUpstream(root, upstream % 2 === 0 ? 'sb-sacct' : 'sb-parse', 300 + Math.floor(rand() * 700));
    runs++;
    if (r.killed) upstream++;
    else early++;
  }
  // ...most on sb-reduce replaying the month's pipeline output (~80 ms of start-up, then commits).
  while (kills < KILLS && runs < 400) {
    const r = await reduce(root, state.file, Math.floor(rand() * 80));
    runs++;
    if (r.signal === 'SIGKILL') kills++;
    else {
      t.equal(r.status, 0, `run ${runs} ended by itself: ${r.stderr}`);
      early++;
    }
  }
  // Whatever instant the last kill hit, the store is consistent (a commit is finished or undone
  // by the next writer, which --check is, under the lock).
  const mid = await runBin('sb-reduce', ['--check', '--root', root]);
  t.equal(mid.status, 0, 'consistent after the last kill');
  const committed = /ok: (\d+) jobs/.exec(mid.stderr)?.[1] ?? '0';
  const todo = await runBin('sb-chunk', ['todo', '-c', CLUSTER, '--root', root, '-s', START, '-e', END, '--by', 'day']);
  const left = records(todo.stdout).length;
  // Resume: the live pipeline on what the ledger does not hold as done, until nothing is left.
  let resumes = 0;
  let last: Run;
  do {
    last = await livePipeline(root, undefined);
    resumes++;
  } while (last.status !== 0 && resumes < 3);
  t.equal(last.status, 0, 'the resumed pipeline finishes the month');
  t.equal(kills, KILLS);
  await verify(t, root, state.truth);
  const jobs = [...state.truth.values()].reduce((n, u) => n + Number(u['jobs']), 0);
  t.comment(`${windows(state.input).length} windows, ${jobs} jobs, ${state.truth.size} users; ${kills} kills of sb-reduce (${LIVE_KILLS} in the live pipeline) and ${upstream} of sb-sacct and sb-parse in ${runs} runs (${early} ended before their kill); ${committed} jobs committed by then, ${left} windows left to the resume; ${seen.broken} locks of killed runs broken, ${seen.rolled} published commits finished by the next run; ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // The same month through the pipeline again: nothing new, not a byte changed.
  const before = snapshot(root);
  const again = await reduceText(root, state.input);
  t.ok(again.length > 0 && again.every((c) => c['new_jobs'] === 0), 'second run: every commit says new_jobs 0');
  const live = await runShell(`sb-chunk new -c ${CLUSTER} -s ${START} -e ${END} --by day --limit 5 | ${FETCH} | sb-dedupe -v --root '${root}' | sb-reduce --root '${root}'`, { timeoutMs: 60_000 });
  t.equal(live.status, 0);
  t.match(live.stderr, /sb-dedupe: \d+ jobs read, 0 passed/, 'the whole pipeline again: sb-dedupe passes nothing');
  t.same(records(live.stdout).map((c) => [c['new_jobs'], c['chunks_done']]), [[0, 1], [0, 1], [0, 1], [0, 1], [0, 1]], 'and sb-reduce commits nothing new');
  t.same(snapshot(root), before, 'second run: no file changed (bytes and mtimes)');
});

t.test(`5 sb-reduce at once on overlapping windows, each killed at random points, ${KILLS} kills in all`, async (t) => {
  const root = tmp();
  const blocks = windows(state.input);
  const n = blocks.length;
  const files = [0, 1, 2, 3, 4].map((i) => {
    // Worker i gets windows [i·n/6, i·n/6 + n/3): neighbours overlap, together they cover the month.
    const from = Math.floor((i * n) / 6);
    const to = i === 4 ? n : Math.min(n, from + Math.ceil(n / 3));
    const file = path.join(tmp(), `worker${i}.ndjson`);
    writeFileSync(file, blocks.slice(from, to).join(''));
    return file;
  });
  const t0 = Date.now();
  seen.broken = seen.rolled = 0;
  let runs = 0;
  const worker = async (file: string, kills: number): Promise<number> => {
    let k = 0;
    while (k < kills) {
      const r = await reduce(root, file, Math.floor(rand() * 150));
      runs++;
      if (r.signal === 'SIGKILL') k++;
      else if (r.status !== 0) throw new Error(`worker run failed (${r.status}): ${r.stderr}`);
    }
    const done = await reduce(root, file, undefined);
    if (done.status !== 0) throw new Error(`final run failed (${done.status}): ${done.stderr}`);
    return k;
  };
  const kills = await Promise.all(files.map((f) => worker(f, KILLS / 5)));
  t.equal(kills.reduce((a, b) => a + b, 0), KILLS);
  await verify(t, root, state.truth);
  t.comment(`5 workers, ${runs} runs, ${KILLS} kills; ${seen.broken} locks of killed runs broken, ${seen.rolled} published commits finished by another run; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

t.test('SIGKILL at each instant of a commit, then a rerun: exactly the totals of one clean run', async (t) => {
  const blocks = windows(state.input).slice(0, 4);
  const file = path.join(tmp(), 'part.ndjson');
  writeFileSync(file, blocks.join(''));
  const clean = tmp();
  t.equal((await reduce(clean, file, undefined)).status, 0);
  const want = readFileSync(path.join(clean, 'clusters', CLUSTER, 'agg/rollups/monthly/2024-03.json'), 'utf8').replace(/"asof":"[^"]*"/, '');
  for (const point of ['locked', 'temps-written', 'before-publish', 'published', 'mid-apply', 'applied']) {
    const root = tmp();
    const crashed = await reduce(root, file, undefined, { SB_CRASH: `${point}:3` });
    t.equal(crashed.signal, 'SIGKILL', `${point}: killed there`);
    const journal = existsSync(path.join(root, 'clusters', CLUSTER, 'state/journal'));
    t.equal(journal, point === 'published' || point === 'mid-apply', `${point}: a journal is left exactly when the commit point was passed and not finished`);
    const rerun = await reduce(root, file, undefined);
    t.equal(rerun.status, 0);
    if (journal) t.match(rerun.stderr, /finished an interrupted commit/);
    const got = readFileSync(path.join(root, 'clusters', CLUSTER, 'agg/rollups/monthly/2024-03.json'), 'utf8').replace(/"asof":"[^"]*"/, '');
    t.equal(got, want, `${point}: the same rollup as one clean run`);
    const check = await runBin('sb-reduce', ['--check', '--root', root]);
    t.equal(check.status, 0, `${point}: --check`);
  }
});

// sb-reduce on text; its commit records.
async function reduceText(root: string, input: string): Promise<Array<Record<string, unknown>>> {
  const r = await runBin('sb-reduce', ['--root', root], { input });
  if (r.status !== 0) throw new Error(r.stderr);
  return records(r.stdout).filter((x) => x['kind'] === 'commit');
}

