// make poll (scripts/poll.sh): one cron poll of one cluster against the synthetic sacct.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT, records, runShell } from './helpers/run.js';

const root = mkdtempSync(path.join(tmpdir(), 'sb-poll-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

const env = {
  SB_ROOT: path.join(root, 'store'),
  CLUSTER: 'hammer',
  SINCE: '2024-01-10 00:00',
  UNTIL: '2024-01-10 05:59:59',
  SB_SACCT: path.join(ROOT, 'sim', 'sacct'),
  SACCT_ARGS: '--rate 0 --retries 0',
  SB_SIM_NOW: '2024-01-10T06:00:00Z',
  XDG_RUNTIME_DIR: root,
};
const poll = (extra: NodeJS.ProcessEnv = {}) => runShell('bash scripts/poll.sh', { env: { ...env, ...extra } });
const ledger = path.join(env.SB_ROOT, 'clusters', 'hammer', 'state', 'failed.ndjson');

t.test('a poll with slurmdbd down records its windows as failed and exits 75', async (t) => {
  const r = await poll({ SB_SIM_FAIL: 'refused' });
  t.equal(r.status, 75, r.stderr);
  t.match(r.stdout, /^hammer: 0 commit\(s\), 0 new job\(s\)\n$/);
  t.ok(records(readFileSync(ledger, 'utf8')).length > 0, 'failed windows are in the ledger');
});

t.test('the next poll fetches them, commits the jobs and writes the leaderboards', async (t) => {
  const r = await poll();
  t.equal(r.status, 0, r.stderr);
  const m = /^hammer: (\d+) commit\(s\), (\d+) new job\(s\)\n$/.exec(r.stdout);
  t.ok(m, r.stdout);
  t.ok(Number(m?.[2]) > 0, 'new jobs committed');
  t.ok(existsSync(path.join(env.SB_ROOT, 'leaderboards', 'alltime_clock_hours.json')), 'leaderboards written');
});

t.test('a poll with nothing new adds nothing', async (t) => {
  const r = await poll();
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /, 0 new job\(s\)\n$/);
});

t.test('a poll without SB_ROOT or CLUSTER says what is missing', async (t) => {
  const r = await poll({ CLUSTER: '', SB_CLUSTER: '' });
  t.not(r.status, 0);
  t.match(r.stderr, /set CLUSTER/);
});
