// sb-probe: each failure it reports, against stand-in Slurm commands (and the synthetic sacct),
// and --status against stores in known states.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { hidesJobs, parseSlurmConfig } from '../lib/core/sacct/private-data.js';
import { formatTime } from '../lib/core/records/time.js';
import { BIN, ROOT, records, runBin, runShell, type Result, AS_NOBODY, canRunAsNobody } from './helpers/run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-probe-'));
chmodSync(dir, 0o755);
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const SIM = path.join(ROOT, 'sim', 'sacct');
const env = { XDG_RUNTIME_DIR: dir, SB_SIM_NOW: '2024-03-01T00:00:00Z' };

// Stand-ins for sacct, sacctmgr, squeue and scontrol, told what to say by FAKE_* variables.
const fake = path.join(dir, 'slurm');
mkdirSync(fake, { mode: 0o755 });
const script = (name: string, body: string): void => writeFileSync(path.join(fake, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
script('sacct', `case "$*" in
  *--version*) echo 'slurm 22.05.8' ;;
  *" -j "*) printf '%s' "$FAKE_SACCT_J" ;;
  *"-o End"*) printf '%s' "$FAKE_SACCT_END" ;;
esac`);
script('sacctmgr', `if [ -n "$FAKE_MGR_FAIL" ]; then
  echo 'sacctmgr: error: slurm_persist_conn_open_without_init: failed to open persistent connection to host:slurmdbd:6819: Connection refused' >&2
  echo 'sacctmgr: error: Problem talking to the database: Connection refused' >&2
  exit 1
fi
case "$*" in
  *"show config"*) [ -n "$FAKE_CONFIG_FAIL" ] && { echo 'sacctmgr: error: Invalid user for this operation' >&2; exit 1; }; printf 'Configuration data as of 2024-01-01T00:00:00\\nPrivateData            = none\\n\\nSlurmDBD configuration:\\nPrivateData            = %s\\nSlurmUser              = slurm(64030)\\n' "\${FAKE_DBD_PRIVATE:-none}" ;;
  *"show user"*) echo "\${FAKE_ADMIN:-None}" ;;
  *"show cluster"*) printf '%s\\n' "\${FAKE_CLUSTERS-hammer}" ;;
esac`);
script('squeue', `printf '%s' "$FAKE_SQUEUE"`);
script('scontrol', `echo 'ClusterName = hammer'`);
const SACCT = path.join(fake, 'sacct');

const probe = (args: string[], more: NodeJS.ProcessEnv = {}): Promise<Result> => runBin('sb-probe', args, { env: { ...env, ...more } });
const line = (out: string, check: string): string | undefined => out.split('\n').find((l) => l.slice(6).startsWith(check.padEnd(9)));
const iso = (sec: number): string => formatTime(sec).slice(0, 19);
const now = (): number => Math.floor(Date.now() / 1000);

t.test('all well with the synthetic cluster: every check, one line each, exit 0', async (t) => {
  const root = path.join(dir, 'ok-store');
  const r = await probe(['--root', root, '-c', 'hammer', '--sacct', SIM]);
  t.same([r.status, r.stderr], [0, '']);
  t.same(r.stdout.split('\n').filter(Boolean).map((l) => l.slice(6, 15).trim()), ['node', 'term', 'host', 'user', 'cluster', 'root', 'sacct', 'squeue', 'rate', 'slurmdbd', 'privacy', 'clock']);
  t.match(line(r.stdout, 'root'), new RegExp(`^ok    root      ${root}: writable; made ${root}, config, leaderboards, clusters/hammer/state$`));
  t.match(line(r.stdout, 'sacct'), /^ok    sacct     \S+\/sim\/sacct: slurm 22\.05\.\d+$/);
  t.match(line(r.stdout, 'rate'), /^info  rate      30 calls a minute for all sb-sacct of \S+ on this host together \(0 started in the last 60 s, 0 waiting; .*\); a year of daily windows takes about 12\.2 min, or 24\.3 min when each day also asks for the steps of jobs that started before it$/);
  t.match(line(r.stdout, 'slurmdbd'), /^ok    slurmdbd  answers, and knows cluster hammer$/);
  const again = await probe(['--root', root, '-c', 'hammer', '--sacct', SIM, '--json']);
  t.match(records(again.stdout).find((x) => x['check'] === 'root'), { kind: 'probe', status: 'ok', message: /layout in place$/ }, 'the layout made once');
});

t.test('sacct missing: exit 2', async (t) => {
  const r = await probe(['-c', 'hammer', '--sacct', path.join(dir, 'no-such-sacct')]);
  t.equal(r.status, 2);
  t.match(line(r.stdout, 'sacct'), /^fail  sacct     '.*no-such-sacct' not found: install the Slurm client, or give --sacct PATH \(SB_SACCT\)$/);
  const inPath = await probe(['-c', 'hammer'], { PATH: '/nonexistent', SB_SACCT: '' });
  t.match(line(inPath.stdout, 'sacct'), /'sacct' not found in PATH/);
});

t.test('the store not writable: exit 3 (before the slurmdbd checks count)', async (t) => {
  const file = path.join(dir, 'a-file');
  writeFileSync(file, '');
  const r = await probe(['--root', path.join(file, 'store'), '-c', 'hammer', '--sacct', SIM]);
  t.equal(r.status, 3);
  t.match(line(r.stdout, 'root'), /^fail  root      .*a-file\/store: not writable \(ENOTDIR\)/);
  const none = await probe(['-c', 'hammer', '--sacct', SIM], { SB_ROOT: '' });
  t.equal(none.status, 0, 'no store is a warning');
  t.match(line(none.stdout, 'root'), /^warn  root      no store given/);
});

t.test('slurmdbd unreachable, or without the cluster: exit 4', async (t) => {
  const down = await probe(['-c', 'hammer', '--sacct', SACCT], { FAKE_MGR_FAIL: '1' });
  t.equal(down.status, 4);
  t.match(line(down.stdout, 'slurmdbd'), /^fail  slurmdbd  cannot ask slurmdbd about cluster hammer: sacctmgr exited 1: sacctmgr: error: Problem talking to the database: Connection refused$/);
  const unknown = await probe(['-c', 'hammer', '--sacct', SIM], { SB_SIM_CLUSTERS: 'demo,anvil' });
  t.equal(unknown.status, 4);
  t.match(line(unknown.stdout, 'slurmdbd'), /^fail  slurmdbd  does not know cluster hammer \('sacctmgr show cluster hammer' prints nothing\)/);
});

t.test('the cluster from scontrol; none to be had is a failure', async (t) => {
  const r = await probe(['--sacct', SACCT], { SB_CLUSTER: '' });
  t.match(line(r.stdout, 'cluster'), new RegExp(`^ok    cluster   hammer \\(ClusterName of '${fake}/scontrol show config'\\)$`));
  const none = await probe(['--sacct', SACCT, '--scontrol', path.join(dir, 'no-scontrol')], { SB_CLUSTER: '' });
  t.equal(none.status, 4);
  t.match(line(none.stdout, 'cluster'), /^fail  cluster   cannot find the local cluster's name/);
});

t.test('the clock: a job ending after this host\'s now is a failure; a busy cluster quiet for long, a warning', async (t) => {
  const behind = await probe(['-c', 'hammer', '--sacct', SACCT], { FAKE_SACCT_END: `${iso(now() - 30)}\n${iso(now() + 600)}\n` });
  t.equal(behind.status, 4);
  t.match(line(behind.stdout, 'clock'), /^fail  clock     the newest job ended at \S+, 10(\.\d)? min after this host's now \(\S+\): this host's clock is behind the cluster's$/);
  const quiet = await probe(['-c', 'hammer', '--sacct', SACCT], { FAKE_SACCT_END: Array.from({ length: 150 }, () => iso(now() - 3600)).join('\n') + '\n' });
  t.equal(quiet.status, 0);
  t.match(line(quiet.stdout, 'clock'), /^warn  clock     the newest of 150 job\(s\) of the last day ended 60 min ago .*may be ahead/);
  const fine = await probe(['-c', 'hammer', '--sacct', SACCT], { FAKE_SACCT_END: `Unknown\n${iso(now() - 5)}\n` });
  t.match(line(fine.stdout, 'clock'), /^ok    clock     the newest of 1 job\(s\) of the last day ended \d+(\.\d+)? s ago/);
});

t.test('the rate: no limit is a warning; other forms described', async (t) => {
  const none = await probe(['-c', 'hammer', '--sacct', SIM, '--rate', '0']);
  t.match(line(none.stdout, 'rate'), /^warn  rate      no limit \(--rate 0\)/);
  const other = await probe(['-c', 'hammer', '--sacct', SIM, '--rate', '6/10s']);
  t.match(line(other.stdout, 'rate'), /^info  rate      6 calls per 10 s .*; a year of daily windows takes about 10\.1 min, or 20\.3 min when each day also asks/);
  const bad = await probe(['--rate', 'lots']);
  t.equal(bad.status, 2);
});

t.test('slurmdbd\'s configuration as sacctmgr prints it (Slurm 22.05)', async (t) => {
  const text = `Configuration data as of 2026-12-01T10:37:14
AccountingStorageType  = accounting_storage/slurmdbd
PrivateData            = none
SLURM_VERSION          = 22.05.8

SlurmDBD configuration:
DbdPort                = 6819
PrivateData            = jobs,usage
SlurmUser              = root(0)
TrackSlurmctldDown     = No
`;
  const c = parseSlurmConfig(text);
  t.equal(c.client.get('PrivateData'), 'none');
  t.equal(c.dbd?.get('PrivateData'), 'jobs,usage');
  t.equal(c.dbd?.get('SlurmUser'), 'root(0)');
  t.equal(parseSlurmConfig('PrivateData = jobs\n').dbd, undefined, 'no slurmdbd part');
  for (const [v, hides] of [['jobs', true], ['usage,jobs', true], ['JOBS', true], ['none', false], ['usage', false], ['jobsx', false]] as const) t.equal(hidesJobs(v), hides, v);
});

// An ordinary user: root sees everything and is not asked.
const nobody = (args: string[], more: NodeJS.ProcessEnv): Promise<Result> =>
  runShell(`${AS_NOBODY} ${process.execPath} ${BIN}/sb-probe ${args.map((a) => `'${a}'`).join(' ')}`, { env: { ...env, ...more } });

t.test('PrivateData=jobs in slurmdbd.conf, for an ordinary user: exit 4, what to do', { skip: canRunAsNobody ? false : 'needs root and setpriv(1) to run as nobody' }, async (t) => {
  const base = ['-c', 'hammer', '--sacct', SACCT];
  const hidden = await nobody(base, { FAKE_DBD_PRIVATE: 'jobs' });
  t.equal(hidden.status, 4);
  t.match(line(hidden.stdout, 'privacy'), /^fail  privacy   slurmdbd has PrivateData=jobs: sacct -a shows nobody only nobody's own jobs, so the store would count nobody alone and take every window as done; run sb as root, as SlurmUser, or as an operator \(sacctmgr modify user nobody set adminlevel=operator\)/);
  const operator = await nobody(base, { FAKE_DBD_PRIVATE: 'jobs', FAKE_ADMIN: 'Operator' });
  t.equal(operator.status, 0);
  t.match(line(operator.stdout, 'privacy'), /^ok    privacy   slurmdbd has PrivateData=jobs, but nobody is an Operator/);
  const none = await nobody(base, {});
  t.match(line(none.stdout, 'privacy'), /^ok    privacy   slurmdbd's PrivateData is 'none': no jobs hidden/);
});

t.test('hidden jobs found without the configuration: squeue lists others\' running jobs, sacct -j shows none', { skip: canRunAsNobody ? false : 'needs root and setpriv(1) to run as nobody' }, async (t) => {
  const base = ['-c', 'hammer', '--sacct', SACCT, '--squeue', path.join(fake, 'squeue')];
  const running = `4|bob|${iso(now() - 600)}\n5|carol|${iso(now() - 300)}\n6|bob|${iso(now() - 5)}\n7|nobody|${iso(now() - 900)}\n`;
  const hidden = await nobody(base, { FAKE_MGR_FAIL: '', FAKE_SQUEUE: running, FAKE_SACCT_J: '' });
  t.equal(hidden.status, 4);
  t.match(line(hidden.stdout, 'privacy'), /^fail  privacy   sacct -a shows none of 2 running job\(s\) of bob, carol that squeue lists \(4, 5\): slurmdbd hides other users' jobs from nobody \(PrivateData=jobs\); run sb as root/);
  const shown = await nobody(base, { FAKE_SQUEUE: running, FAKE_SACCT_J: '4|bob\n5|carol\n' });
  t.equal(shown.status, 0);
  t.match(line(shown.stdout, 'privacy'), /^ok    privacy   slurmdbd's PrivateData is 'none': no jobs hidden; sacct shows 2 of 2 running job\(s\) of other users that squeue lists$/);
  const unknown = await nobody(base, { FAKE_SQUEUE: '', FAKE_CONFIG_FAIL: '1' });
  t.equal(unknown.status, 0, 'cannot tell: a warning');
  t.match(line(unknown.stdout, 'privacy'), /^warn  privacy   cannot tell whether slurmdbd hides other users' jobs \(sacctmgr show config: sacctmgr exited 1: sacctmgr: error: Invalid user for this operation; squeue lists no job of another user running for over a minute to look up\)$/);
});

// --status against stores made in known states.
const statusOf = async (root: string, extra: string[] = []): Promise<{ r: Result; rec: Record<string, unknown> }> => {
  const r = await probe(['--status', '--root', root, '--json', ...extra]);
  return { r, rec: records(r.stdout)[0] as Record<string, unknown> };
};

t.test('--status: a cluster never polled, with gaps and failed windows, needs attention', async (t) => {
  const root = path.join(dir, 'status-store');
  const st = path.join(root, 'clusters', 'hammer', 'state');
  mkdirSync(path.join(st, 'chunks'), { recursive: true });
  writeFileSync(path.join(st, 'chunks', 'ledger.json'), JSON.stringify({ schema_version: 1, cluster: 'hammer', done: [['2024-01-01T00:00:00Z', '2024-01-01T23:59:59Z'], ['2024-01-03T00:00:00Z', '2024-01-03T23:59:59Z']], unsettled: [] }));
  const failed = (start: string, end: string, reason: string): string => JSON.stringify({ kind: 'failed', cluster: 'hammer', start, end, attempts: 4, reason, permanent: false, error: `sacct ${reason}` });
  const skipped = (cluster: string): string => JSON.stringify({ kind: 'skipped-line', cluster, chunk: '2024-01-01T00:00:00Z/2024-01-01T23:59:59Z', query: 0, line: 3, job: '2', fields: ['Account'], text: '2|2|2|hammer|alice', time: '2024-01-02T00:00:00Z' });
  writeFileSync(path.join(st, 'failed.ndjson'), [failed('2024-01-02T00:00:00Z', '2024-01-02T23:59:59Z', 'timeout'), failed('2024-01-01T00:00:00Z', '2024-01-01T23:59:59Z', 'exit'), 'not json', skipped('hammer'), skipped('anvil')].join('\n') + '\n');
  const { r, rec } = await statusOf(root);
  t.equal(r.status, 4);
  t.match(rec, {
    kind: 'status',
    cluster: 'hammer',
    state: 'attention',
    poll: null,
    ledger: { first: '2024-01-01T00:00:00Z', last: '2024-01-03T23:59:59Z', gaps: 1, gap_seconds: 86400, unsettled_to: null },
    failed: { windows: 1, reasons: { timeout: 1 }, last_error: 'sacct timeout', skipped_lines: 1 },
    lock: null,
    poll_lock: null,
  });
  t.match(rec['problems'], [/^never polled/, /^the ledger has 1 gap\(s\), 24 h in all/, /^1 failed window\(s\) not done yet \(timeout ×1\)$/, /^1 line\(s\) of sacct output skipped for a control character, .*failed\.ndjson; remove them once seen to\)$/]);
  const text = await probe(['--status', '--root', root]);
  t.match(text.stdout, /^hammer: needs attention: never polled .*\n  poll     never\n  ledger   done 2024-01-01T00:00:00Z \.\. 2024-01-03T23:59:59Z, 1 gap\(s\) \(24 h\);.*\n  failed   1 window\(s\) \(timeout ×1\); last: sacct timeout; 1 skipped line\(s\)\n  lock     free; poll lock free\n  newest   no jobs counted yet\n$/);
});

t.test('--status: a dead poll\'s lock, an old last success', async (t) => {
  const root = path.join(dir, 'status-dead');
  const st = path.join(root, 'clusters', 'anvil', 'state');
  mkdirSync(path.join(st, 'poll.lock'), { recursive: true });
  // a pid that cannot be running: above the kernel's pid_max
  writeFileSync(path.join(st, 'poll.lock', 'owner'), JSON.stringify({ host: hostname(), pid: 4194305, pstart: null, boot: null, token: 'x', tool: 'sb-poll', since: '2024-01-01T00:00:00Z' }));
  const at = formatTime(now() - 7200);
  const last = { started: at, finished: at, status: 0, result: 'ok', since: at, until: at, windows: 1, failed_windows: 0, commits: 1, new_jobs: 5, warnings: 0 };
  writeFileSync(path.join(st, 'poll.json'), JSON.stringify({ schema_version: 1, cluster: 'anvil', host: 'h', user: 'u', pid: 1, last, last_ok: last }));
  const { r, rec } = await statusOf(root);
  t.equal(r.status, 4);
  t.match(rec['poll_lock'], { tool: 'sb-poll', pid: 4194305, alive: false, why: 'process 4194305 is gone' });
  t.match(rec['problems'], [/^the last successful poll was 2(\.0)? h ago \(more than --max-age 60 min\)$/, /^the poll lock is held by a dead sb-poll \(process 4194305 is gone\); the next run breaks it$/]);
  const lenient = await statusOf(root, ['--max-age', '3h']);
  t.match(lenient.rec['problems'], [/dead sb-poll/], '--max-age 3h: only the lock');
  const missing = await probe(['--status'], { SB_ROOT: '' });
  t.same([missing.status, missing.stderr], [1, 'sb-probe: --status reads a store: give --root DIR or set SB_ROOT\n']);
  const empty = await probe(['--status', '--root', path.join(dir, 'nothing')]);
  t.equal(empty.status, 4);
  t.match(empty.stderr, /no cluster in the store yet/);
});

t.test('a probe as an ordinary user of a store it may not write: exit 3', { skip: canRunAsNobody ? false : 'needs root and setpriv(1)' }, async (t) => {
  const root = path.join(dir, 'root-only');
  mkdirSync(root, { mode: 0o755 });
  const r = await nobody(['--root', root, '-c', 'hammer', '--sacct', SACCT], {});
  t.equal(r.status, 3);
  t.match(line(r.stdout, 'root'), /^fail  root      .*root-only: not writable \(EACCES\)/);
  chownSync(root, 65534, 65534);
  const ok = await nobody(['--root', root, '-c', 'hammer', '--sacct', SACCT], {});
  t.equal(ok.status, 0, ok.stdout);
});
