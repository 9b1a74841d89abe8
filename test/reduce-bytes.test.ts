// sb-reduce reads sb-parse's usual job line (a db key, plain names) in its bytes: its user and
// account looked up by their bytes, its failed state told from the state's bytes. Whatever it
// reads so, it must add as the full parse of the same records does.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { records, runBin } from './helpers/run.js';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'sb-reduce-bytes-'));

function job(over: Record<string, unknown>): Record<string, unknown> {
  return {
    kind: 'job', cluster: 'c', key: 'c/db/100', job_id: '4242', job_id_raw: '4242', db_index: 100, user: 'alice', uid: 1001,
    account: 'a', partition: 'p', qos: 'normal', state: 'COMPLETED', exit_code: '0:0', failed: false,
    submit: '2024-03-05T09:00:00Z', start: '2024-03-05T10:00:00Z', end: '2024-03-05T11:00:00Z', elapsed_s: 3600, timelimit_s: 7200,
    cpus: 4, nodes: 1, gpus: 0, req_mem_bytes: 4 * 1024 ** 3, max_rss_bytes: 1024 ** 3, steps: 2, ...over,
  };
}

// The store's rollup files (daily, monthly, yearly, users), `asof` and txn ids taken out.
function rollups(root: string): Map<string, string> {
  const files = new Map<string, string>();
  let agg = '';
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(path.relative(agg, p), readFileSync(p, 'utf8').replace(/"(asof|txn)":"[^"]*"/g, '"$1":""'));
    }
  };
  agg = path.join(root, 'clusters', 'c', 'agg');
  walk(agg);
  return files;
}

// Runs sb-reduce on the records as sb-parse prints them (the bytes path) and with a space after
// each `{` (valid JSON, not sb-parse's form: the full parse).
async function bothWays(t: Tap.Test, recs: Array<Record<string, unknown>>): Promise<Map<string, string>> {
  const exact = recs.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const spaced = recs.map((r) => `{ ${JSON.stringify(r).slice(1)}`).join('\n') + '\n';
  const a = tmp();
  const b = tmp();
  // (no home directories: no user has opted out)
  const env = { SB_HOME_ROOT: tmp() };
  const ra = await runBin('sb-reduce', ['--root', a], { input: exact, env });
  const rb = await runBin('sb-reduce', ['--root', b], { input: spaced, env });
  t.equal(ra.status, 0, ra.stderr);
  t.equal(rb.status, 0, rb.stderr);
  const newJobs = (s: string): number => records(s).reduce((n, c) => n + ((c['new_jobs'] as number | undefined) ?? 0), 0);
  t.equal(newJobs(ra.stdout), newJobs(rb.stdout), 'as many new jobs either way');
  const fa = rollups(a);
  t.same([...fa.keys()].sort(), [...rollups(b).keys()].sort(), 'the same files');
  for (const [f, text] of rollups(b)) if (fa.get(f) !== text) t.fail(`${f} differs`);
  return fa;
}

t.test("failed told from the state's bytes, as FAILED_STATES of the decoded state", async (t) => {
  const states = ['COMPLETED', 'FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'TIMEOUT', 'CANCELLED', 'CANCELLED by 1001', 'FAILEDX', 'FAILE', 'F', 'T', 'N', 'TIMEOUTS', 'NODE_FAIL ', '', 'RUNNING', 'Ťimeout'];
  const recs = states.flatMap((state, i) => [
    job({ key: `c/db/${100 + 2 * i}`, db_index: 100 + 2 * i, user: `u${i}`, state, failed: false }),
    job({ key: `c/db/${101 + 2 * i}`, db_index: 101 + 2 * i, user: `u${i}`, state, failed: true }),
  ]);
  const files = await bothWays(t, recs);
  const monthly = JSON.parse(files.get(path.join('rollups', 'monthly', '2024-03.json')) as string) as { users: Array<{ username: string; totals: { jobs: number; failed_jobs: number } }> };
  const failed = new Map(monthly.users.map((u) => [u.username, u.totals.failed_jobs]));
  const FAILED = new Set(['FAILED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'TIMEOUT']);
  states.forEach((state, i) => t.equal(failed.get(`u${i}`), FAILED.has(state) ? 2 : 1, `'${state}': ${FAILED.has(state) ? 'both' : 'only the one marked'} failed`));
});

t.test('names looked up by their bytes: many users and accounts, alike and not, as the full parse adds them', async (t) => {
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const letters = ['a', 'b', 'z', '0', '9', '_', '.', '-', 'é', 'ß', '名'];
  const name = (): string => `u${Array.from({ length: rand(12) }, () => letters[rand(letters.length)] as string).join('')}`;
  const users = Array.from({ length: 400 }, name);
  const accounts = ['', 'a', 'b', ...Array.from({ length: 30 }, name)];
  const recs = Array.from({ length: 6000 }, (_, i) =>
    job({ key: `c/db/${1000 + i}`, db_index: 1000 + i, user: users[rand(users.length)], account: accounts[rand(accounts.length)], end: `2024-03-${String(1 + rand(28)).padStart(2, '0')}T11:00:00Z`, elapsed_s: rand(100000), cpus: 1 + rand(64) }),
  );
  const files = await bothWays(t, recs);
  const monthly = JSON.parse(files.get(path.join('rollups', 'monthly', '2024-03.json')) as string) as { users: Array<{ username: string; totals: { jobs: number } }> };
  t.equal(monthly.users.reduce((n, u) => n + u.totals.jobs, 0), 6000, 'every job counted once');
  t.equal(monthly.users.length, new Set(recs.map((r) => r['user'])).size, 'each user once');
});

t.test('two names of the same hash (FNV-1a, 32 bits) stay two users and two accounts', async (t) => {
  const fnv = (s: string): number => {
    let h = 0x811c9dc5;
    for (const c of Buffer.from(s)) h = Math.imul(h ^ c, 16777619);
    return h;
  };
  const [x, y] = ['user449599', 'user612382'];
  t.equal(fnv(x), fnv(y), 'the names share their hash');
  const recs = Array.from({ length: 40 }, (_, i) => job({ key: `c/db/${100 + i}`, db_index: 100 + i, user: i % 3 === 0 ? x : y, account: i % 2 === 0 ? x : y, elapsed_s: 100 + i }));
  const files = await bothWays(t, recs);
  const monthly = JSON.parse(files.get(path.join('rollups', 'monthly', '2024-03.json')) as string) as { users: Array<{ username: string; totals: { jobs: number } }> };
  t.same(Object.fromEntries(monthly.users.map((u) => [u.username, u.totals.jobs])), { [x]: 14, [y]: 26 }, 'each its own jobs');
});
