// make install into a temporary PREFIX, then only that PREFIX (and the system's directories) on
// PATH: the installed poll for two clusters, its exit statuses, and the installed Makefile
// fragment's backfill (killed midway, run again) and polls, against the synthetic cluster's truth.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT, cleanEnv, records, runShell, type Result } from './helpers/run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-install-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const prefix = path.join(dir, 'prefix');
const SIM = path.join(ROOT, 'sim', 'sacct');
// PREFIX/bin and the system's directories: no checkout, no sim (given as --sacct, SACCT=)
const PATH_ONLY = `${prefix}/bin:/usr/local/bin:/usr/bin:/bin`;
const SIMENV = { SB_SIM_NOW: '2024-02-01T00:00:00Z', SB_SIM_RATE: '20', SB_SIM_SEED: 'install' };
const env = { ...SIMENV, PATH: PATH_ONLY, XDG_RUNTIME_DIR: dir };
const run = (command: string, more: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Result> => runShell(command, { env: { ...env, ...more }, cwd: dir, timeoutMs });

t.before(async () => {
  // npm's cache holds the runtime packages since the checkout's npm ci: no network needed
  const r = await runShell(`make -s -C '${ROOT}' install PREFIX='${prefix}' DESTDIR=`, { env: { npm_config_offline: 'true' }, timeoutMs: 300_000 });
  if (r.status !== 0) throw new Error(`make install: ${r.stderr}`);
});

t.test('the installation: bins into its own lib, runtime packages only, pages, the fragment, the units', async (t) => {
  const bins = readdirSync(path.join(prefix, 'bin')).sort();
  t.same(bins, readdirSync(path.join(ROOT, 'bin')).sort(), 'every bin');
  for (const b of bins) {
    const link = path.join(prefix, 'bin', b);
    t.ok(lstatSync(link).isSymbolicLink(), `${b} is a link`);
    t.equal(readlinkSync(link), `../lib/slurm-scoreboard/bin/${b}`, `${b} points into the installation`);
  }
  const lib = path.join(prefix, 'lib', 'slurm-scoreboard');
  t.same(readdirSync(lib).sort(), ['bin', 'dist', 'node_modules', 'package-lock.json', 'package.json']);
  const modules = readdirSync(path.join(lib, 'node_modules'));
  for (const dev of ['tap', 'typescript', 'c8', 'playwright-core', 'assemblyscript']) t.notOk(modules.includes(dev), `no ${dev} (a development package)`);
  t.ok(modules.includes('minimist'), 'the runtime packages');
  const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'node_modules' ? [] : files(path.join(d, e.name))) : [path.join(d, e.name)]));
  const all = files(prefix);
  t.same(all.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')), [], 'no TypeScript source');
  t.same(all.filter((f) => !f.endsWith('.wasm') && readFileSync(f, 'utf8').includes(ROOT)), [], 'nothing names the checkout');
  for (const page of ['man1/sb-poll.1', 'man1/sb-probe.1', 'man1/sb-sacct.1', 'man7/sb.7']) t.ok(existsSync(path.join(prefix, 'share', 'man', page)), page);
  t.ok(existsSync(path.join(prefix, 'share', 'slurm-scoreboard', 'sb.mk')), 'the Makefile fragment');
  const v = await run('sb-poll --version && sb-probe --version');
  t.same([v.status, v.stdout], [0, 'sb-poll 0.1.0\nsb-probe 0.1.0\n'.replace(/0\.1\.0/g, (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version)]);
});

const hasAnalyze = ((): boolean => {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

t.test('the systemd units verify, with the installed sb-poll in ExecStart', { skip: hasAnalyze ? false : 'no systemd-analyze' }, async (t) => {
  const units = path.join(prefix, 'share', 'slurm-scoreboard', 'systemd');
  t.match(readFileSync(path.join(units, 'sb-poll@.service'), 'utf8'), new RegExp(`^ExecStart=${prefix}/bin/sb-poll -c %i$`, 'm'));
  t.match(readFileSync(path.join(units, 'sb-poll@.timer'), 'utf8'), /^RandomizedDelaySec=/m);
  const here = mkdtempSync(path.join(dir, 'units-'));
  copyFileSync(path.join(units, 'sb-poll@.service'), path.join(here, 'sb-poll@hammer.service'));
  copyFileSync(path.join(units, 'sb-poll@.timer'), path.join(here, 'sb-poll@hammer.timer'));
  const r = await runShell(`cd '${here}' && systemd-analyze verify --man=no ./sb-poll@hammer.service ./sb-poll@hammer.timer`);
  t.same([r.status, r.stderr], [0, ''], 'no error, no warning');
});

const store = path.join(dir, 'store');
const poll = (cluster: string, extra = '', more: NodeJS.ProcessEnv = {}): Promise<Result> =>
  run(`sb-poll -c ${cluster} --root '${store}' --sacct '${SIM}' --rate 0 --retries 0 -s '2024-01-10 00:00' -e '2024-01-10 05:59:59' ${extra}`, more);

t.test('the installed poll, two clusters into one store: 0 and silent, then 0 adding nothing', async (t) => {
  for (const c of ['hammer', 'anvil']) {
    const first = await poll(c, '--commits');
    t.equal(first.status, 0, first.stderr);
    t.equal(first.stderr, '', `${c}: silent`);
    t.ok(records(first.stdout).reduce((n, r) => n + (r['new_jobs'] as number), 0) > 0, `${c}: new jobs`);
  }
  const boards = readFileSync(path.join(store, 'leaderboards', 'alltime_jobs.json'), 'utf8');
  for (const c of ['hammer', 'anvil']) {
    const again = await poll(c, '--commits');
    t.same([again.status, again.stdout, again.stderr], [0, '', ''], `${c}: the second adds nothing`);
    t.match(JSON.parse(readFileSync(path.join(store, 'clusters', c, 'state', 'poll.json'), 'utf8')), { last: { status: 0, new_jobs: 0 }, last_ok: { status: 0 } });
  }
  t.equal(JSON.stringify((JSON.parse(readFileSync(path.join(store, 'leaderboards', 'alltime_jobs.json'), 'utf8')) as { rows: unknown }).rows), JSON.stringify((JSON.parse(boards) as { rows: unknown }).rows), 'the boards the same');
  const status = await run(`sb-probe --status --root '${store}'`);
  t.match(status.stdout, /^anvil: ok\n[\s\S]*\nhammer: ok\n/, 'both clusters ok');
});

t.test('the installed poll: 75 while slurmdbd refuses connections, 3 while another poll holds the lock', async (t) => {
  const down = await poll('demo', '', { SB_SIM_FAIL: 'refused' });
  t.equal(down.status, 75);
  t.match(down.stderr, /^sb-poll: demo: 6 of 6 window\(s\) could not be fetched for now .*Connection refused/);
  const first = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', 'sb-poll', '-c', 'demo', '--root', store, '--sacct', SIM, '--rate', '0', '-s', '2024-01-10 00:00', '-e', '2024-01-10 05:59:59'], {
    env: { ...cleanEnv(), ...env, TZ: 'UTC', SB_SIM_DELAY: '1.5' },
    stdio: 'ignore',
  });
  const done = new Promise<number | null>((resolve) => first.on('close', resolve));
  const owner = path.join(store, 'clusters', 'demo', 'state', 'poll.lock', 'owner');
  for (let i = 0; i < 600 && !existsSync(owner); i++) await new Promise((r) => setTimeout(r, 50));
  const locked = await poll('demo');
  t.equal(locked.status, 3);
  t.match(locked.stderr, /^sb-poll: demo: another poll is running: .*; this one did nothing\n$/);
  t.equal(await done, 0, 'the poll holding the lock finishes, and fetches what failed');
});

// The synthetic cluster's truth for a range, in the store's field names, by user.
async function truth(cluster: string, start: string, end: string): Promise<Map<string, Record<string, string>>> {
  const r = await runShell(`'${SIM}' --sim-truth -S ${start} -E ${end} -M ${cluster}`, { env: SIMENV });
  const names: Record<string, string> = {
    jobs: 'jobs', failed_jobs: 'failed_jobs', gpu_jobs: 'gpu_jobs', cpu_seconds: 'cpu_s', elapsed_seconds: 'elapsed_s', gpu_seconds: 'gpu_s',
    gpu_elapsed_seconds: 'gpu_elapsed_s', mem_req_byte_seconds: 'mem_req_byte_s', mem_used_byte_seconds: 'mem_used_byte_s',
  };
  const out = new Map<string, Record<string, string>>();
  for (const row of records(r.stdout)) out.set(row['user'] as string, Object.fromEntries(Object.entries(names).map(([from, to]) => [to, String(row[from])])));
  return out;
}

// What differs between the store's January and the truth: every user, every total.
function differences(root: string, cluster: string, want: Map<string, Record<string, string>>): string[] {
  const file = path.join(root, 'clusters', cluster, 'agg', 'rollups', 'monthly', '2024-01.json');
  const got = new Map((JSON.parse(readFileSync(file, 'utf8')) as { users: Array<{ username: string; totals: Record<string, unknown> }> }).users.map((u) => [u.username, u.totals]));
  const diffs: string[] = [];
  for (const u of new Set([...want.keys(), ...got.keys()])) {
    for (const f of Object.keys([...want.values()][0] ?? {})) {
      if (String(got.get(u)?.[f]) !== want.get(u)?.[f]) diffs.push(`${u} ${f}: store ${String(got.get(u)?.[f])}, truth ${want.get(u)?.[f]}`);
    }
  }
  return diffs;
}

t.test('the installed fragment: backfill JOBS=4 killed midway and run again, then two polls: the truth, and the second adds nothing', async (t) => {
  const root = path.join(dir, 'fragment');
  const mk = path.join(prefix, 'share', 'slurm-scoreboard', 'sb.mk');
  const vars = `CLUSTER=hammer ROOT='${root}' SACCT='${SIM}' RATE=0`;
  const backfill = `make -s -f '${mk}' backfill ${vars} FROM=2024-01-01 UNTIL='2024-01-15 23:59:59' JOBS=4 BATCH=2`;
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', '/bin/bash', '-c', backfill], {
    env: { ...cleanEnv(), ...env, TZ: 'UTC', SB_SIM_DELAY: '0.4' },
    stdio: 'ignore',
    detached: true,
  });
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ledger = path.join(root, 'clusters', 'hammer', 'state', 'chunks', 'ledger.json');
  for (let i = 0; i < 1200 && !existsSync(ledger); i++) await new Promise((r) => setTimeout(r, 25));
  t.ok(existsSync(ledger), 'some windows done');
  process.kill(-(child.pid as number), 'SIGKILL');
  await done;
  const partial = JSON.parse(readFileSync(ledger, 'utf8')) as { done: string[][] };
  t.not(JSON.stringify(partial.done), JSON.stringify([['2024-01-01T00:00:00Z', '2024-01-15T23:59:59Z']]), 'killed midway: not every window done');

  const rerun = await run(backfill, {}, 300_000);
  t.equal(rerun.status, 0, rerun.stderr);
  // no progress line (not a terminal); only what sb-reduce says of what the kill left
  const said = rerun.stderr.split('\n').filter((l) => l !== '');
  t.same(said.filter((l) => !/^sb-reduce: warning: hammer: (broke the lock of sb-reduce \(pid \d+ .*\): process \d+ is gone|finished an interrupted commit \(\d+ files\))$/.test(l)), [], 'the second backfill says nothing else');
  t.same(differences(root, 'hammer', await truth('hammer', '2024-01-01T00:00:00', '2024-01-15T23:59:59')).slice(0, 10), [], 'the backfill: every user, every total equals the truth');

  const pollMake = `make -s -f '${mk}' poll ${vars} SINCE='2024-01-14 00:00' UNTIL='2024-01-17 23:59:59'`;
  const first = await run(pollMake);
  t.same([first.status, first.stdout, first.stderr], [0, '', ''], 'the first poll: silent');
  const hb = (): Record<string, Record<string, unknown>> => JSON.parse(readFileSync(path.join(root, 'clusters', 'hammer', 'state', 'poll.json'), 'utf8')) as Record<string, Record<string, unknown>>;
  t.ok((hb()['last']?.['new_jobs'] as number) > 0, 'the first poll added the days after the backfill');
  t.same(differences(root, 'hammer', await truth('hammer', '2024-01-01T00:00:00', '2024-01-17T23:59:59')).slice(0, 10), [], 'after the poll: the truth');
  const txn = readFileSync(path.join(root, 'clusters', 'hammer', 'state', 'txn'), 'utf8');
  const second = await run(pollMake);
  t.same([second.status, second.stdout, second.stderr], [0, '', '']);
  t.match(hb()['last'], { status: 0, commits: 0, new_jobs: 0 }, 'the second poll commits nothing');
  t.equal(readFileSync(path.join(root, 'clusters', 'hammer', 'state', 'txn'), 'utf8'), txn, 'no commit at all');
  const status = await run(`make -s -f '${mk}' status ${vars}`);
  t.equal(status.status, 0, status.stdout);
  t.ok(statSync(path.join(root, 'leaderboards', 'alltime_jobs.json')).size > 0, 'leaderboards');
});
