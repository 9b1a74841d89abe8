// sb-rendezvous over TCP (sb-rendezvous serve on loopback): the same barrier as through the
// store, a member killed, and the server itself killed and started again mid-run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  CLUSTERS,
  commits,
  events,
  END,
  failedEntries,
  killPipeline,
  lockstepViolations,
  START,
  startPipeline,
  startServer,
  truthDifferences,
  type Server,
} from './helpers/rendezvous.js';
import { records, runBin } from './helpers/run.js';

const dirs: string[] = [];
const servers: Server[] = [];
t.teardown(() => {
  for (const s of servers) s.child.kill('SIGKILL');
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'sb-rendezvous-tcp-'));
  dirs.push(d);
  return d;
};

interface Setup {
  root: string;
  key: string;
  state: string;
  server: Server;
  meet: string[];
}

async function setup(): Promise<Setup> {
  const root = tmp();
  const key = path.join(root, 'key');
  writeFileSync(key, 'a-key-of-this-test-0123456789abcdef\n', { mode: 0o600 });
  const state = path.join(root, 'server-state.json');
  const server = await startServer(['--members', CLUSTERS.join(','), '--authkey-file', key, '--state', state]);
  servers.push(server);
  // a host name, not an address: the seed took only IPs
  return { root, key, state, server, meet: ['--rendezvous-host', 'localhost', '--rendezvous-port', String(server.port), '--authkey-file', key] };
}

async function finish(t: Tap.Test, s: Setup): Promise<void> {
  t.same(lockstepViolations(s.root, CLUSTERS), [], 'no member started window k+1 before every member had committed window k');
  for (const m of CLUSTERS) {
    t.same(await truthDifferences(s.root, m), [], `${m}: totals equal the truth`);
    const todo = await runBin('sb-chunk', ['todo', '-c', m, '--root', s.root, '-s', START, '-e', END, '--by', 'hour']);
    t.equal(todo.stdout, '', `${m}: nothing left to do`);
  }
}

t.test('three members at different speeds over TCP: lockstep', async (t) => {
  const s = await setup();
  const delays = { demo: '0.3', hammer: '0', anvil: '0.1' };
  const runs = CLUSTERS.map((m) => startPipeline(s.root, { member: m, delay: delays[m], meet: s.meet, gate: ['--timeout', '120'] }));
  for (const p of runs) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member}: ${r.stderr}`);
  }
  await finish(t, s);
  const st = await runBin('sb-rendezvous', ['status', ...s.meet]);
  t.equal(st.status, 0, st.stderr);
  t.same(records(st.stdout).map((r) => [r['member'], r['done'], r['running']]), CLUSTERS.map((m) => [m, END, false]), 'status: all done, none running');
});

t.test('a member killed mid-run over TCP: 75 and a ledger entry for the others; all finish once it is back', async (t) => {
  const s = await setup();
  const first = CLUSTERS.map((m) => startPipeline(s.root, { member: m, delay: m === 'anvil' ? '0.5' : '0', meet: s.meet, gate: ['--timeout', m === 'anvil' ? '120' : '10'] }));
  await commits(s.root, 'anvil', 2);
  killPipeline(first[2] as (typeof first)[number]);
  for (const p of first.slice(0, 2)) {
    const r = await p.done;
    t.equal(r.status, 75, `${p.member}: exit 75`);
    t.match(r.stderr, /failed at the barrier: waited 10 s \(--timeout\) for anvil \(done through .*its ack is not running\)/);
    t.match(failedEntries(s.root, p.member)[0], { reason: 'rendezvous', missing: ['anvil'] }, `${p.member}: the ledger names anvil`);
  }
  const again = CLUSTERS.map((m) => startPipeline(s.root, { member: m, delay: '0', meet: s.meet, gate: ['--timeout', '120'] }));
  for (const p of again) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member} again: ${r.stderr}`);
  }
  await finish(t, s);
});

t.test('the server killed mid-run and started again: members reconnect, no progress lost', async (t) => {
  const s = await setup();
  const runs = CLUSTERS.map((m) => startPipeline(s.root, { member: m, delay: '0.3', meet: s.meet, gate: ['--timeout', '120'] }));
  await commits(s.root, 'demo', 2);
  s.server.child.kill('SIGKILL');
  await s.server.done;
  const killedAt = Date.now();
  const before = await runBin('sb-rendezvous', ['status', ...s.meet, '--timeout', '0.5']);
  t.equal(before.status, 75, 'while it is down, status says retry later');
  const again = await startServer(['--members', CLUSTERS.join(','), '--authkey-file', s.key, '--state', s.state], s.server.port);
  servers.push(again);
  for (const p of runs) {
    const r = await p.done;
    t.equal(r.status, 0, `${p.member}: ${r.stderr}`);
  }
  await finish(t, s);
  const after = CLUSTERS.flatMap((m) => events(s.root, m, 'ack')).filter((e) => e.event === 'commit' && e.ms > killedAt);
  t.ok(after.length > 0, `windows were committed after the restart (${after.length})`);
  // and once more: what the members published is in the state file, not only in memory
  again.child.kill('SIGKILL');
  await again.done;
  const third = await startServer(['--members', CLUSTERS.join(','), '--authkey-file', s.key, '--state', s.state], s.server.port);
  servers.push(third);
  const st = await runBin('sb-rendezvous', ['status', ...s.meet]);
  t.same(records(st.stdout).map((r) => [r['member'], r['done']]), CLUSTERS.map((m) => [m, END]), 'a restarted server knows how far everyone is');
});

t.test('serve --nprocs: the first N names are the group, the next is refused', async (t) => {
  const root = tmp();
  const key = path.join(root, 'key');
  const server = await startServer(['--nprocs', '2', '--authkey-file', key, '--state', path.join(root, 'state.json')]);
  servers.push(server);
  t.match(server.stderr(), /wrote a new key to '.*key' \(mode 600\)/, 'serve made the key file');
  const meet = ['--rendezvous-host', '127.0.0.1', '--rendezvous-port', String(server.port), '--authkey-file', key];
  const commit = JSON.stringify({ kind: 'commit', cluster: 'x', chunk: '2024-01-01T00:00:00Z/2024-01-01T00:59:59Z' }) + '\n';
  for (const m of ['demo', 'hammer']) t.equal((await runBin('sb-rendezvous', ['ack', '--name', m, ...meet], { input: commit })).status, 0, `${m} admitted`);
  const third = await runBin('sb-rendezvous', ['ack', '--name', 'anvil', ...meet], { input: commit });
  t.equal(third.status, 1);
  t.match(third.stderr, /refused anvil: 'anvil' is not a member: the group is full \(demo, hammer\)/);
  const st = await runBin('sb-rendezvous', ['status', ...meet]);
  t.same(records(st.stdout).map((r) => r['member']), ['demo', 'hammer']);
});
