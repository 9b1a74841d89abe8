import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parseTime } from '../lib/core/records/time.js';
import { blockers, type GroupView, type MemberView } from '../lib/tools/rendezvous/barrier.js';
import { newState, stateFromJson, stateToJson, Tracker, type MemberState } from '../lib/tools/rendezvous/member.js';
import { committedWindow, defaultStateFile, Needs } from '../lib/tools/rendezvous/main.js';
import {
  CLUSTERS,
  commits,
  END,
  events,
  failedEntries,
  killPipeline,
  lockstepViolations,
  START,
  startPipeline,
  truthDifferences,
} from './helpers/rendezvous.js';
import { records, runBin } from './helpers/run.js';

const T = (s: string): number => parseTime(s) as number;
const dirs: string[] = [];
t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sb-rendezvous-'));
  dirs.push(d);
  return d;
};

const H = (h: number): number => T('2024-01-01T00:00:00Z') + h * 3600;
const hour = (h: number): { start: number; end: number } => ({ start: H(h), end: H(h + 1) - 1 });
const state = (member: string, patch: Partial<MemberState> = {}): MemberState => ({ ...newState(member, 'host', 1, H(0)), ...patch });
const view = (members: MemberView[], unmet = 0): GroupView => ({ members, unmet });
const live = (s: MemberState): MemberView => ({ name: s.member, state: s, live: true });

t.test('Tracker: announcements and commits → the done watermark', async (t) => {
  const tr = new Tracker(state('hammer'));
  t.equal(tr.state.done, null, 'nothing yet');
  tr.announce({ ...hour(0), need: H(0) - 1 });
  t.equal(tr.state.done, H(0) - 1, 'announced: done through the second before its first window');
  tr.commit(hour(0));
  t.equal(tr.state.done, H(1) - 1, 'committed: done through its end');
  t.equal(tr.state.next, null);
  tr.announce({ ...hour(3), need: H(3) - 1 });
  t.equal(tr.state.done, H(3) - 1, 'a gap (windows done before, skipped by sb-chunk todo): done up to the next window');
  const ev = tr.announce({ ...hour(4), need: H(4) - 1 });
  t.same(ev.map((e) => e.event), ['failed', 'announce'], 'the next announcement before a commit: the window failed');
  t.same(tr.state.failed, hour(3));
  tr.commit(hour(4));
  t.equal(tr.state.done, H(3) - 1, 'later commits do not move the watermark past a failed window');
  tr.announce({ ...hour(3), need: H(3) - 1 });
  tr.commit(hour(3));
  t.equal(tr.state.failed, null, 'the failed window committed after all: cleared');

  const bare = new Tracker(state('anvil'));
  bare.commit(hour(1));
  bare.commit(hour(0));
  t.equal(bare.state.done, H(2) - 1, 'commits nobody announced (no gate upstream) raise the watermark to their end');
});

t.test('blockers: who holds a window back', async (t) => {
  const need = H(2) - 1;
  const a = state('a', { done: H(2) - 1 });
  const b = state('b', { done: H(1) - 1, next: { ...hour(1), need: H(1) - 1 } });
  t.same(blockers(view([live(a)]), need), [], 'everyone there: pass');
  t.same(blockers(view([live(a), live(b)]), need).map((x) => [x.member, x.failed]), [['b', false]], 'b is a window behind');
  t.match(blockers(view([live(a), live(b)]), need)[0]?.why, /done through 2024-01-01T00:59:59Z, at 2024-01-01T01:00:00Z/);
  t.same(blockers(view([live(a), { name: 'c', state: undefined, live: false }]), need).map((x) => x.member), ['c'], 'a member with no state is waited for');
  t.same(blockers(view([live(a), live(state('b', { ...b, left: H(0) }))]), need), [], 'a member that left is not');
  const f = blockers(view([live(state('b', { done: H(1) - 1, failed: hour(1) }))]), need);
  t.same(f.map((x) => x.failed), [true], 'behind a failed window: fail at once');
  t.same(blockers(view([{ ...live(b), live: false }]), H(1) - 1), [], 'a dead member that is far enough does not block');
  t.match(blockers(view([{ ...live(b), live: false }]), need)[0]?.why, /its ack is not running/);
  t.same(blockers(view([live(a)], 2), need).map((x) => x.member), ['?'], 'serve --nprocs: members not met yet are waited for');
});

t.test('Needs: --ahead counts windows of this member\'s own grid', async (t) => {
  const lock = new Needs(0);
  t.same([0, 1, 2].map((h) => lock.next(H(h))), [H(0) - 1, H(1) - 1, H(2) - 1], 'lockstep: everyone done before this window');
  const slack = new Needs(1);
  t.same([0, 1, 2, 3].map((h) => slack.next(H(h))), [H(0) - 1, H(0) - 1, H(1) - 1, H(2) - 1], '--ahead 1: done before the window before');
  const month = new Needs(0);
  t.same([T('2024-01-01T00:00:00Z'), T('2024-02-01T00:00:00Z')].map((s) => month.next(s)), [T('2023-12-31T23:59:59Z'), T('2024-01-31T23:59:59Z')], 'calendar months: no step arithmetic');
});

t.test('member states: round trip, and what a file or a peer cannot make us believe', async (t) => {
  const s = state('hammer', { done: H(3) - 1, next: { ...hour(3), need: H(3) - 1 }, failed: hour(2), left: H(5) });
  t.same(stateFromJson(JSON.parse(JSON.stringify(stateToJson(s)))), s, 'round trip');
  const good = stateToJson(s);
  const bad: Array<[string, unknown]> = [
    ['not an object', []],
    ['a member that is no cluster name', { ...good, member: '../etc' }],
    ['a bad time', { ...good, done: '2024-13-01T00:00:00Z' }],
    ['a window backwards', { ...good, failed: { start: '2024-01-02T00:00:00Z', end: '2024-01-01T00:00:00Z' } }],
    ['a next without need', { ...good, next: { start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:59:59Z' } }],
    ['a pid that is no number', { ...good, pid: '1; rm -rf /' }],
    ['a huge host', { ...good, host: 'x'.repeat(300) }],
  ];
  for (const [why, v] of bad) t.throws(() => stateFromJson(v), { name: 'BadState' }, why);
});

t.test('committedWindow and the default state file', async (t) => {
  t.same(committedWindow({ chunk: '2024-01-01T00:00:00Z/2024-01-01T00:59:59Z' }), hour(0));
  t.equal(committedWindow({ processed: 3 }), undefined, 'a commit of jobs alone (sb-reduce --batch)');
  for (const bad of ['2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z/2024-01-01T00:00:00Z', 'a/b/c', 7]) t.throws(() => committedWindow({ chunk: bad }), `'chunk' ${JSON.stringify(bad)}`);
  t.equal(defaultStateFile({ XDG_STATE_HOME: '/x' }, 50000), '/x/sb/rendezvous-50000.json');
  t.equal(defaultStateFile({ HOME: '/home/u' }, 1), '/home/u/.local/state/sb/rendezvous-1.json');
});

const STORE = (root: string): string[] => ['--root', root, '--members', CLUSTERS.join(',')];

t.test('the command line', async (t) => {
  const root = tmp();
  const cases: Array<[string[], RegExp]> = [
    [[], /missing command: gate, ack, status, leave, join, serve/],
    [['bogus'], /unknown command 'bogus'/],
    [['gate', '--name', 'hammer', '--root', root], /needs the group's members: give --members/],
    [['gate', '--name', 'hammer', '--members', 'a'], /no meeting place/],
    [['gate', '--name', 'all', ...STORE(root)], /'all' is not a cluster name/],
    [['ack', '--name', 'hammer', '--root', root, '--ahead', '1'], /'--ahead' belongs to sb-rendezvous gate/],
    [['status', '--rendezvous-host', 'localhost', '--root', root], /'--root' belongs to the store/],
    [['status', '--root', root, '--members', 'a', '--authkey-file', 'k'], /'--authkey-file' needs --rendezvous-host/],
    [['status', '--rendezvous-host', 'localhost'], /no key: give --authkey-file FILE or set SB_RENDEZVOUS_KEY/],
    [['serve', '--port', '0'], /needs --members A,B,C or --nprocs N/],
    [['serve', '--members', 'a', '--nprocs', '2'], /needs --members A,B,C or --nprocs N \(one of them\)/],
    [['gate', '--name', 'hammer', ...STORE(root), '--ahead', '-1'], /'--ahead'/],
  ];
  for (const [args, err] of cases) {
    const r = await runBin('sb-rendezvous', args, { env: { SB_ROOT: '', SB_RENDEZVOUS_KEY: '' } });
    t.equal(r.status, 2, `${args.join(' ')}: usage error`);
    t.match(r.stderr, err);
  }
  const short = await runBin('sb-rendezvous', ['status', '--rendezvous-host', 'localhost'], { env: { SB_RENDEZVOUS_KEY: 'short' } });
  t.same([short.status, short.stderr], [1, "sb-rendezvous: the key is 5 characters long; at least 16 are needed (a short key can be guessed)\n"]);
  const inline = await runBin('sb-rendezvous', ['status', '--rendezvous-host', '127.0.0.1', '--rendezvous-port', '1', '--authkey', 'x'.repeat(20), '--timeout', '0.2']);
  t.match(inline.stderr, /warning: --authkey shows the key to every user of this host/, '--authkey is accepted with a warning');
  t.equal(inline.status, 75, 'no server: 75, retry later');
});

t.test('status, leave and join on the store', async (t) => {
  const root = tmp();
  const fresh = await runBin('sb-rendezvous', ['status', ...STORE(root)]);
  t.equal(fresh.status, 0, fresh.stderr);
  t.same(records(fresh.stdout).map((r) => [r['member'], r['state']]), CLUSTERS.map((c) => [c, null]), 'one record a member, none has a state yet');
  t.match(fresh.stderr, /demo: no state yet/);
  const commit = (h: number): string => JSON.stringify({ kind: 'commit', cluster: 'anvil', processed: 0, chunk: `2024-01-01T0${h}:00:00Z/2024-01-01T0${h}:59:59Z`, settled: true });
  const ack = await runBin('sb-rendezvous', ['ack', '--name', 'anvil', '--root', root], { input: [commit(0), commit(1)].join('\n') + '\n' });
  t.equal(ack.status, 0, ack.stderr);
  t.equal(records(ack.stdout).length, 2, 'commits pass through');
  const file = JSON.parse(readFileSync(path.join(root, 'rendezvous', 'default', 'anvil.json'), 'utf8')) as Record<string, unknown>;
  t.match(file, { member: 'anvil', done: '2024-01-01T01:59:59Z', next: null, ended: String }, "the member's own file");
  const left = await runBin('sb-rendezvous', ['leave', '--name', 'anvil', '--root', root]);
  t.equal(left.status, 0, left.stderr);
  t.match(left.stderr, /anvil left group 'default'/);
  const st = await runBin('sb-rendezvous', ['status', ...STORE(root)]);
  t.match(records(st.stdout)[2], { member: 'anvil', active: false, done: '2024-01-01T01:59:59Z' });
  const gated = await runBin('sb-rendezvous', ['gate', '--name', 'anvil', ...STORE(root), '--timeout', '5'], { input: JSON.stringify({ kind: 'chunk', cluster: 'anvil', start: '2024-01-01T00:00:00Z', end: '2024-01-01T00:59:59Z' }) + '\n' });
  t.equal(gated.status, 1, 'a member that left does not gate');
  t.match(gated.stderr, /anvil left the group at .*'sb-rendezvous join --name anvil' takes it back in/);
  const joined = await runBin('sb-rendezvous', ['join', '--name', 'anvil', '--root', root]);
  t.equal(joined.status, 0, joined.stderr);
  t.match(records((await runBin('sb-rendezvous', ['status', ...STORE(root)])).stdout)[2], { member: 'anvil', active: true });
  writeFileSync(path.join(root, 'rendezvous', 'default', 'hammer.json'), '{"member":"hammer","done":"nonsense"');
  const broken = await runBin('sb-rendezvous', ['status', ...STORE(root)]);
  t.match(records(broken.stdout)[1], { member: 'hammer', state: null, problem: /unreadable \(not JSON\)/ }, 'a damaged file is shown, never trusted');
});

t.test('a gate with no ack downstream, and its members away: 75 after --timeout, every window in the ledger', async (t) => {
  const root = tmp();
  const failed = path.join(root, 'failed.ndjson');
  const chunks = [0, 1, 2].map((h) => JSON.stringify({ kind: 'chunk', cluster: 'hammer', start: `2024-01-01T0${h}:00:00Z`, end: `2024-01-01T0${h}:59:59Z` }));
  const r = await runBin('sb-rendezvous', ['gate', '--name', 'hammer', ...STORE(root), '--timeout', '1', '--failed', failed], { input: chunks.join('\n') + '\n' });
  t.equal(r.status, 75);
  t.match(r.stderr, /hammer: window 2024-01-01T00:00:00Z\/2024-01-01T00:59:59Z failed at the barrier: waited 1 s \(--timeout\) for demo \(has not joined yet \(no state\)\), hammer \(has not joined yet/);
  const out = records(r.stdout);
  t.same(out.map((x) => x['kind']), ['rendezvous'], 'the first window was announced, none passed');
  const ledger = records(readFileSync(failed, 'utf8'));
  t.same(ledger.map((x) => [x['start'], x['reason']]), chunks.map((c) => [JSON.parse(c).start, 'rendezvous']), 'the window and every one after it');
  t.same(ledger[0]?.['missing'], ['demo', 'hammer', 'anvil']);
});

const meet = (root: string): string[] => ['--root', root, '--members', CLUSTERS.join(',')];

t.test('three members at different speeds through the store: lockstep, proven from their logs', async (t) => {
  const root = tmp();
  const delays = { demo: '0', hammer: '0.4', anvil: '0.15' };
  const runs = CLUSTERS.map((m) => startPipeline(root, { member: m, delay: delays[m], meet: meet(root), gate: ['--timeout', '120'] }));
  for (const p of runs) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member}: ${r.stderr}`);
  }
  t.same(lockstepViolations(root, CLUSTERS), [], 'no member started window k+1 before every member had committed window k');
  for (const m of CLUSTERS) {
    t.equal(events(root, m, 'ack').filter((e) => e.event === 'commit').length, 6, `${m}: six windows committed`);
    t.same(await truthDifferences(root, m), [], `${m}: totals equal the truth`);
  }
  const slowest = events(root, 'demo', 'gate').filter((e) => e.event === 'wait');
  t.ok(slowest.length > 0, 'the fastest member did wait for the others');
});

t.test('the check can fail: the same pipelines without the gate break lockstep', async (t) => {
  const root = tmp();
  const runs = [startPipeline(root, { member: 'demo', delay: '0', meet: ['--root', root], ungated: true }), startPipeline(root, { member: 'hammer', delay: '0.5', meet: ['--root', root], ungated: true })];
  for (const p of runs) t.equal((await p.done).status, 0);
  t.ok(lockstepViolations(root, ['demo', 'hammer']).length > 0, 'violations found');
});

t.test('--ahead 1: a member runs at most one window ahead', async (t) => {
  const root = tmp();
  const members = ['demo', 'hammer'];
  const runs = [
    startPipeline(root, { member: 'demo', delay: '0', meet: ['--root', root, '--members', members.join(',')], gate: ['--ahead', '1', '--timeout', '120'] }),
    startPipeline(root, { member: 'hammer', delay: '0.5', meet: ['--root', root, '--members', members.join(',')], gate: ['--ahead', '1', '--timeout', '120'] }),
  ];
  for (const p of runs) t.equal((await p.done).status, 0);
  t.same(lockstepViolations(root, members, 1), [], 'window k+2 never before k was committed everywhere');
  t.ok(lockstepViolations(root, members, 0).length > 0, 'but window k+1 did start before k was committed everywhere');
});

t.test('a member killed mid-run: the others fail that window with 75 and a ledger entry; all finish once it is back', async (t) => {
  const root = tmp();
  const first = [
    startPipeline(root, { member: 'demo', delay: '0', meet: meet(root), gate: ['--timeout', '10'] }),
    startPipeline(root, { member: 'hammer', delay: '0.5', meet: meet(root), gate: ['--timeout', '120'] }),
    startPipeline(root, { member: 'anvil', delay: '0.1', meet: meet(root), gate: ['--timeout', '10'] }),
  ];
  const hammer = first[1] as (typeof first)[number];
  await commits(root, 'hammer', 2);
  killPipeline(hammer);
  t.equal((await hammer.done).signal, 'SIGKILL', 'hammer killed');
  for (const p of [first[0], first[2]]) {
    const r = await (p as (typeof first)[number]).done;
    t.equal(r.status, 75, `${p?.member}: exit 75`);
    t.match(r.stderr, /failed at the barrier: waited 10 s \(--timeout\) for hammer \(done through .*its ack is not running\)/, `${p?.member}: says whom it waited for`);
    const ledger = failedEntries(root, p?.member as string);
    t.ok(ledger.length > 0, `${p?.member}: ledger entries`);
    t.match(ledger[0], { reason: 'rendezvous', missing: ['hammer'], permanent: false }, `${p?.member}: the first names hammer as missing`);
  }
  const st = await runBin('sb-rendezvous', ['status', ...meet(root)]);
  t.match(records(st.stdout).find((r) => r['member'] === 'demo'), { waits_for: ['hammer'] }, 'status: demo waits for hammer');
  // hammer comes back; the others run again: nothing restarted, no barrier to repair
  const again = CLUSTERS.map((m) => startPipeline(root, { member: m, delay: m === 'hammer' ? '0.3' : '0', meet: meet(root), gate: ['--timeout', '120'] }));
  for (const p of again) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member} again: ${r.stderr}`);
  }
  t.same(lockstepViolations(root, CLUSTERS), [], 'lockstep held across the kill and the second runs');
  for (const m of CLUSTERS) {
    t.same(await truthDifferences(root, m), [], `${m}: totals equal the truth (every job once)`);
    const todo = await runBin('sb-chunk', ['todo', '-c', m, '--root', root, '-s', START, '-e', END, '--by', 'hour']);
    t.equal(todo.stdout, '', `${m}: nothing left to do`);
  }
});
