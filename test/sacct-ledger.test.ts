// sb-sacct's failure ledger: the store's own by default, never a path built from an empty variable.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT, records, runBin } from './helpers/run.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sb-sacct-ledger-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const SIM = path.join(ROOT, 'sim', 'sacct');
const chunk = (cluster: string, h: number): string =>
  JSON.stringify({ kind: 'chunk', cluster, start: `2024-01-01T0${h}:00:00Z`, end: `2024-01-01T0${h}:59:59Z` });
const input = [chunk('hammer', 0), chunk('anvil', 1)].join('\n') + '\n';
const env = { XDG_RUNTIME_DIR: dir, SB_SIM_NOW: '2024-03-01T00:00:00Z', SB_SIM_FAIL: 'refused' };
const args = ['--sacct', SIM, '--rate', '0', '--retries', '0'];

t.test('with a store and no --failed, each window goes to its cluster\'s ledger in the store', async (t) => {
  const root = path.join(dir, 'store');
  const r = await runBin('sb-sacct', [...args, '--root', root], { input, env });
  t.equal(r.status, 75, r.stderr);
  for (const [c, h] of [['hammer', 0], ['anvil', 1]] as const) {
    const file = path.join(root, 'clusters', c, 'state', 'failed.ndjson');
    t.match(records(readFileSync(file, 'utf8')), [{ kind: 'failed', cluster: c, start: `2024-01-01T0${h}:00:00Z`, reason: 'exit' }], c);
    t.match(r.stderr, new RegExp(`recorded in ${file.replace(/[/.]/g, '\\$&')}`));
  }
});

t.test('$SB_ROOT is the store when --root is not given; --failed FILE wins', async (t) => {
  const root = path.join(dir, 'env-store');
  const file = path.join(dir, 'own.ndjson');
  const r = await runBin('sb-sacct', [...args], { input, env: { ...env, SB_ROOT: root } });
  t.equal(r.status, 75);
  t.ok(existsSync(path.join(root, 'clusters', 'hammer', 'state', 'failed.ndjson')));
  const own = await runBin('sb-sacct', [...args, '--failed', file], { input, env: { ...env, SB_ROOT: path.join(dir, 'unused') } });
  t.equal(own.status, 75);
  t.equal(records(readFileSync(file, 'utf8')).length, 2);
  t.notOk(existsSync(path.join(dir, 'unused')), 'nothing written into the store');
});

t.test('an empty SB_ROOT is no store: nothing is written anywhere', async (t) => {
  const cwd = mkdtempSync(path.join(dir, 'cwd-'));
  const r = await runBin('sb-sacct', [...args], { input, env: { ...env, SB_ROOT: '' }, cwd });
  t.equal(r.status, 75);
  t.notMatch(r.stderr, /recorded in/);
  t.notOk(existsSync('/clusters'), 'no /clusters');
  const empty = await runBin('sb-sacct', [...args, '--root', ''], { input, env, cwd });
  t.same([empty.status, empty.stderr], [2, "sb-sacct: option '--root' needs a value\nTry 'sb-sacct --help'.\n"]);
});
