// sb-poll (and make poll, which runs it): one cron poll of one cluster against the synthetic sacct.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { BIN, ROOT, cleanEnv, records, runBin, runShell, AS_NOBODY, canRunAsNobody } from './helpers/run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-poll-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const SIM = path.join(ROOT, 'sim', 'sacct');
const store = path.join(dir, 'store');
const env = { SB_SIM_NOW: '2024-01-10T06:00:00Z', XDG_RUNTIME_DIR: dir };
// two windows: a poll's behaviour needs more than one, not more than two
const range = ['-s', '2024-01-10 00:00', '-e', '2024-01-10 01:59:59'];
const poll = (extra: string[] = [], more: NodeJS.ProcessEnv = {}, root = store) =>
  runBin('sb-poll', ['-c', 'hammer', '--root', root, '--sacct', SIM, '--rate', '0', '--retries', '0', ...range, ...extra], { env: { ...env, ...more } });
const state = (root: string, cluster = 'hammer'): string => path.join(root, 'clusters', cluster, 'state');
const heartbeat = (root: string, cluster = 'hammer') => JSON.parse(readFileSync(path.join(state(root, cluster), 'poll.json'), 'utf8')) as Record<string, Record<string, unknown>>;

t.test('slurmdbd down: exit 75, one line, the windows in the store\'s failure ledger, the heartbeat says so', async (t) => {
  const r = await poll([], { SB_SIM_FAIL: 'refused' });
  t.equal(r.status, 75, r.stderr);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^sb-poll: hammer: 2 of 2 window\(s\) could not be fetched for now \(sacct exited 1: sacct: error: Problem talking to the database: Connection refused\); they are in the store's failure ledger and the next poll fetches them\n$/);
  t.equal(records(readFileSync(path.join(state(store), 'failed.ndjson'), 'utf8')).length, 2, 'both windows in the ledger');
  const hb = heartbeat(store);
  t.match(hb['last'], { status: 75, result: 'tempfail', windows: 2, failed_windows: 2, new_jobs: 0, since: '2024-01-10T00:00:00Z', until: '2024-01-10T01:59:59Z' });
  t.notOk('last_ok' in hb, 'no poll has succeeded yet');
});

t.test('the next poll fetches them: silent, exit 0, jobs committed, leaderboards and the page written', async (t) => {
  const page = path.join(dir, 'www', 'scores.html');
  mkdirSync(path.dirname(page));
  const r = await poll(['--html', page]);
  t.same([r.status, r.stdout, r.stderr], [0, '', ''], 'silent: cron mails nothing');
  t.ok(existsSync(path.join(store, 'leaderboards', 'alltime_clock_hours.json')), 'leaderboards written');
  t.ok(existsSync(path.join(store, 'leaderboards', 'accounts', 'alltime_clock_hours.json')), 'and the account board');
  t.match(readFileSync(page, 'utf8'), /^<!doctype html>/i, 'the page');
  const hb = heartbeat(store);
  t.match(hb['last'], { status: 0, result: 'ok', windows: 2, failed_windows: 0, commits: 2 });
  t.ok((hb['last']?.['new_jobs'] as number) > 0, 'new jobs');
  t.same(hb['last_ok'], hb['last']);
  t.equal(readFileSync(path.join(state(store), 'failed.ndjson'), 'utf8'), '', 'the failure ledger emptied (sb-reduce drops what is done)');
  const status = await runBin('sb-probe', ['--status', '--root', store, '-c', 'hammer']);
  t.match(status.stdout, /^hammer: ok\n  poll     last \S+Z \([^)]*\): ok \(exit 0\), 2 window\(s\), \d+ new job\(s\)\n  ledger   done 2024-01-10T00:00:00Z \.\. 2024-01-10T01:59:59Z, no gaps;/);
  t.equal(status.status, 0, 'ok: polled just now, no gaps, nothing failed');
});

t.test('a poll with nothing new adds nothing; --commits prints what sb-reduce committed', async (t) => {
  const before = readFileSync(path.join(store, 'clusters', 'hammer', 'agg', 'rollups', 'monthly', '2024-01.json'), 'utf8');
  const r = await poll(['--commits']);
  t.same([r.status, r.stderr], [0, '']);
  t.equal(r.stdout, '', 'every window done and settled: nothing fetched, nothing committed');
  const again = await poll(['--commits', '-s', '2024-01-10 01:00'], {}, store);
  t.equal(again.stdout, '');
  t.equal(readFileSync(path.join(store, 'clusters', 'hammer', 'agg', 'rollups', 'monthly', '2024-01.json'), 'utf8'), before, 'the rollups unchanged');
  const fresh = await poll(['--commits'], {}, path.join(dir, 'fresh'));
  t.equal(fresh.status, 0, fresh.stderr);
  t.match(records(fresh.stdout), Array.from({ length: 2 }, () => ({ kind: 'commit', cluster: 'hammer', chunks_done: 1 })), 'one commit a window');
});

t.test('another poll of the cluster holds the lock: exit 3 at once, one line, its heartbeat untouched', async (t) => {
  const root = path.join(dir, 'locked');
  const first = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-poll'), '-c', 'hammer', '--root', root, '--sacct', SIM, '--rate', '0', ...range], {
    env: { ...cleanEnv(), ...env, TZ: 'UTC', SB_SIM_DELAY: '1.5' },
    stdio: 'ignore',
  });
  const done = new Promise<number | null>((resolve) => first.on('close', resolve));
  const lock = path.join(state(root), 'poll.lock', 'owner');
  for (let i = 0; i < 600 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(lock), 'the first poll holds the poll lock');
  const second = await poll([], {}, root);
  t.equal(second.status, 3);
  t.match(second.stderr, /^sb-poll: hammer: another poll is running: the poll lock of cluster hammer is held by sb-poll \(pid \d+ on .*, since .*\); this one did nothing\n$/);
  t.notOk(existsSync(path.join(state(root), 'poll.json')), 'no heartbeat from the poll that did nothing');
  t.equal(await done, 0, 'the first poll finishes');
  t.match(heartbeat(root)['last'], { status: 0, windows: 2 });
});

t.test('broken: an unknown cluster exits 1 with one line naming the program and why', async (t) => {
  const r = await runBin('sb-poll', ['-c', 'nosuch', '--root', path.join(dir, 'unknown'), '--sacct', SIM, '--rate', '0', ...range], { env });
  t.equal(r.status, 1);
  t.match(r.stderr, /^sb-poll: nosuch: sb-sacct failed \(exit 1\): nosuch \S+: failed for good after 1 attempt: cluster 'nosuch' is not known to slurmdbd .*; stopping: 1 window left undone$/m);
  t.equal(r.stderr.split('\n').length, 2, 'one line');
  t.match(heartbeat(path.join(dir, 'unknown'), 'nosuch')['last'], { status: 1, result: 'failed', failed_windows: 1 });
});

t.test('usage: no store, an empty SB_ROOT, a bad --since', async (t) => {
  const none = await runBin('sb-poll', ['-c', 'hammer'], { env: { ...env, SB_ROOT: '' } });
  t.same([none.status, none.stderr], [2, "sb-poll: sb-poll needs the store: give --root DIR or set SB_ROOT\nTry 'sb-poll --help'.\n"]);
  const bad = await runBin('sb-poll', ['-c', 'hammer', '--root', store, '-s', 'yesterday-ish'], { env });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /invalid time 'yesterday-ish'/);
  const rate = await runBin('sb-poll', ['-c', 'hammer', '--root', store, '--rate', 'fast'], { env });
  t.equal(rate.status, 2);
});

t.test('make poll runs sb-poll, and make turns its 75 into 2 (why cron runs sb-poll itself)', async (t) => {
  const root = path.join(dir, 'make');
  const r = await runShell(`make -s -C '${ROOT}' poll SB_ROOT='${root}' CLUSTER=hammer SINCE='2024-01-10 00:00' UNTIL='2024-01-10 01:59:59' SACCT_ARGS='--sacct ${SIM} --rate 0 --retries 0'`, { env: { ...env, SB_SIM_FAIL: 'refused' } });
  t.equal(r.status, 2, 'make: 2');
  t.match(r.stderr, /^sb-poll: hammer: 2 of 2 window\(s\) could not be fetched for now/);
  t.equal(heartbeat(root)['last']?.['status'], 75, 'sb-poll itself said 75');
  const ok = await runShell(`make -s -C '${ROOT}' poll SB_ROOT='${root}' CLUSTER=hammer SINCE='2024-01-10 00:00' UNTIL='2024-01-10 01:59:59' SACCT_ARGS='--sacct ${SIM} --rate 0'`, { env });
  t.same([ok.status, ok.stdout, ok.stderr], [0, '', '']);
});

t.test('SIGTERM stops the programs; what was committed stays, the heartbeat says why', async (t) => {
  const root = path.join(dir, 'term');
  const child = spawn('/usr/bin/env', ['-u', 'NODE_OPTIONS', process.execPath, path.join(BIN, 'sb-poll'), '-c', 'hammer', '--root', root, '--sacct', SIM, '--rate', '0', ...range], {
    env: { ...cleanEnv(), ...env, TZ: 'UTC', SB_SIM_DELAY: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ledger = path.join(state(root), 'chunks', 'ledger.json');
  for (let i = 0; i < 600 && !existsSync(ledger); i++) await new Promise((r) => setTimeout(r, 50));
  child.kill('SIGTERM');
  t.equal(await done, 143);
  t.match(stderr, /^sb-poll: hammer: stopped by SIGTERM; what was committed stays, the next poll goes on from there\n$/);
  t.match(heartbeat(root)['last'], { status: 143, result: 'failed' });
  const again = await poll([], {}, root);
  t.equal(again.status, 0, again.stderr);
});

// An ordinary user, where slurmdbd.conf sets PrivateData=jobs: a stand-in sacctmgr that says so.
t.test('PrivateData=jobs: a poll by an ordinary user warns, one line, and goes on', { skip: canRunAsNobody ? false : 'needs root and setpriv(1) to run as nobody' }, async (t) => {
  chmodSync(dir, 0o755);
  const fake = mkdtempSync(path.join(dir, 'fake-'));
  chmodSync(fake, 0o755);
  writeFileSync(
    path.join(fake, 'sacctmgr'),
    `#!/bin/sh
case "$*" in
  *"show config"*) printf 'PrivateData            = none\\n\\nSlurmDBD configuration:\\nPrivateData            = jobs\\nSlurmUser              = slurm(64030)\\n' ;;
  *"show user"*) echo None ;;
  *"show cluster"*) echo hammer ;;
esac
`,
    { mode: 0o755 },
  );
  const root = path.join(dir, 'private');
  mkdirSync(root);
  chownSync(root, 65534, 65534);
  const r = await runShell(
    `${AS_NOBODY} ${process.execPath} ${BIN}/sb-poll -c hammer --root '${root}' --sacct ${SIM} --sacctmgr ${fake}/sacctmgr --rate 0 -s '2024-01-10 00:00' -e '2024-01-10 01:59:59'`,
    { env },
  );
  t.equal(r.status, 0, 'the poll still runs');
  t.match(r.stderr, /^sb-poll: warning: hammer: slurmdbd has PrivateData=jobs: sacct -a shows nobody only nobody's own jobs, so the store would count nobody alone and take every window as done; run sb as root, as SlurmUser, or as an operator \(sacctmgr modify user nobody set adminlevel=operator\)\n$/);
  t.match(heartbeat(root)['last'], { status: 0, warnings: 1, message: /PrivateData=jobs/ });
});
