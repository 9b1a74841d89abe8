import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, runBin } from './run.js';

// A store with account boards (sb-rank --write --by user,account --account '*'), its first
// days counted as by an sb-reduce from before accounts were kept: hammer, 2024-03-01..20, 25
// accounts of 12 users (bench/gen-jobs.mjs), boards as of NOW.
export const TEAM_NOW = '2024-03-20T12:00:00Z';
// the first day whose account data are complete
export const TEAM_SINCE = '2024-03-05';

export async function teamStore(root: string): Promise<string> {
  const all = execFileSync(process.execPath, [path.join(ROOT, 'bench', 'gen-jobs.mjs'), '--cluster', 'hammer', '--start', '2024-03-01T00:00:00Z', '--end', '2024-03-20T23:59:59Z', '--step', '86400', '--per-window', '12', '--users', '12', '--dup', '0', '--seed', '3'], { encoding: 'utf8' });
  const lines = all.split('\n').filter((l) => l !== '');
  // after the window of the day before TEAM_SINCE
  const cut = lines.findIndex((l) => l.includes('"kind":"chunk-done"') && l.includes('"start":"2024-03-04T')) + 1;
  const reduce = async (part: string[]): Promise<void> => {
    const r = await runBin('sb-reduce', ['--root', root], { input: part.join('\n') + '\n' });
    if (r.status !== 0) throw new Error(r.stderr);
  };
  await reduce(lines.slice(0, cut));
  forgetAccounts(root, 'hammer');
  await reduce(lines.slice(cut));
  const r = await runBin('sb-rank', ['--root', root, '--write', '--by', 'user,account', '--account', '*', '--now', TEAM_NOW, '--min-jobs', '0'], { env: { SB_HOME_ROOT: path.join(root, 'no-homes') } });
  if (r.status !== 0) throw new Error(r.stderr);
  return root;
}

// A store as sb-reduce wrote it before it kept accounts: the accounts members taken out.
export function forgetAccounts(root: string, cluster: string): void {
  const agg = path.join(root, 'clusters', cluster, 'agg', 'rollups');
  for (const sub of ['daily', 'monthly', 'yearly']) {
    for (const f of readdirSync(path.join(agg, sub))) {
      const file = path.join(agg, sub, f);
      const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      delete doc['accounts'];
      writeFileSync(file, JSON.stringify(doc) + '\n');
    }
  }
}
