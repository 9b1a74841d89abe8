import { readFileSync } from 'node:fs';
import path from 'node:path';
import { levelForXp, SKILLS, skillXp } from '../../lib/core/scores/xp.js';
import { totalsFromJson, type Totals } from '../../lib/core/scores/metrics.js';
import { records, ROOT, runBin, runShell } from './run.js';

// The synthetic cluster's truth by account, and what in a store and on sb-rank's account boards
// differs from it.

const NAMES: Record<string, string> = {
  jobs: 'jobs', failed_jobs: 'failed_jobs', gpu_jobs: 'gpu_jobs', cpu_seconds: 'cpu_s', elapsed_seconds: 'elapsed_s', gpu_seconds: 'gpu_s',
  gpu_elapsed_seconds: 'gpu_elapsed_s', mem_req_byte_seconds: 'mem_req_byte_s', mem_used_byte_seconds: 'mem_used_byte_s',
};

// account → user → totals (store field names), from `sim/sacct --sim-truth-accounts`.
export async function accountTruth(simEnv: string, cluster: string, start: string, end: string): Promise<Map<string, Map<string, Totals>>> {
  const r = await runShell(`${simEnv} '${path.join(ROOT, 'sim', 'sacct')}' --sim-truth-accounts -S ${start} -E ${end} -M ${cluster}`);
  if (r.status !== 0) throw new Error(r.stderr);
  const out = new Map<string, Map<string, Totals>>();
  for (const row of records(r.stdout)) {
    const t: Record<string, unknown> = {};
    for (const [from, to] of Object.entries(NAMES)) t[to] = to.startsWith('mem_') ? String(row[from]) : row[from];
    const a = row['account'] as string;
    if (!out.has(a)) out.set(a, new Map());
    out.get(a)?.set(row['user'] as string, totalsFromJson(t));
  }
  return out;
}

function sum(us: Map<string, Totals>): Totals {
  const all = totalsFromJson({ jobs: 0, failed_jobs: 0, gpu_jobs: 0, cpu_s: 0, elapsed_s: 0, gpu_s: 0, gpu_elapsed_s: 0, mem_req_byte_s: '0', mem_used_byte_s: '0' });
  for (const t of us.values()) for (const k of Object.keys(all) as Array<keyof Totals>) (all[k] as number | bigint) = ((all[k] as number) + (t[k] as number)) as number | bigint;
  return all;
}

const text = (t: Totals | undefined): string => (t === undefined ? 'none' : JSON.stringify(t, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

// Every (account, user) of a month's monthly rollup and every account × skill of sb-rank's
// --by account board of that month against the truth: the list of what differs.
export async function accountDifferences(root: string, cluster: string, month: string, truth: Map<string, Map<string, Totals>>): Promise<string[]> {
  const diffs: string[] = [];
  const file = path.join(root, 'clusters', cluster, 'agg', 'rollups', 'monthly', `${month}.json`);
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { accounts?: Record<string, Record<string, unknown>> };
  const stored = new Map(Object.entries(doc.accounts ?? {}).map(([a, us]) => [a, new Map(Object.entries(us).map(([u, t]) => [u, totalsFromJson(t)]))]));
  for (const a of new Set([...truth.keys(), ...stored.keys()])) {
    for (const u of new Set([...(truth.get(a)?.keys() ?? []), ...(stored.get(a)?.keys() ?? [])])) {
      const want = text(truth.get(a)?.get(u));
      const got = text(stored.get(a)?.get(u));
      if (want !== got) diffs.push(`monthly ${a}/${u}: store ${got}, truth ${want}`);
    }
  }
  const r = await runBin('sb-rank', ['--root', root, '--by', 'account', '-w', `month-${month}`, '-c', cluster, '--min-jobs', '0', '--now', `${month}-15T00:00:00Z`], { env: { SB_HOME_ROOT: path.join(root, 'no-homes') } });
  if (r.status !== 0) return [...diffs, `sb-rank: ${r.stderr}`];
  const rows = records(r.stdout);
  for (const [a, us] of truth) {
    const t = sum(us);
    for (const s of SKILLS) {
      const row = rows.find((x) => x['metric'] === s.metric && x['account'] === a);
      const xp = skillXp(s, t);
      const want = xp === 0 && Number(t[s.field]) === 0 ? 'absent' : `${xp}/${levelForXp(xp)}/${us.size}`;
      const got = row === undefined ? 'absent' : `${String(row['xp'])}/${String(row['level'])}/${String(row['users'])}`;
      if (want !== got) diffs.push(`board ${a} ${s.metric}: sb-rank ${got}, truth ${want}`);
    }
  }
  const extra = rows.filter((x) => !truth.has(x['account'] as string));
  if (extra.length > 0) diffs.push(`sb-rank ranks accounts the truth lacks: ${[...new Set(extra.map((x) => x['account']))].join(', ')}`);
  return diffs;
}
