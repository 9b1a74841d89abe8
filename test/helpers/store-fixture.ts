import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addTotals, metricValues, totalsToJson, zeroTotals, type Totals } from '../../lib/core/scores/metrics.js';

// Totals with byte-seconds given as plain numbers or BigInt; unnamed fields are zero.
export type TotalsInput = Partial<Omit<Totals, 'mem_req_byte_s' | 'mem_used_byte_s'>> & {
  mem_req_byte_s?: number | bigint;
  mem_used_byte_s?: number | bigint;
};

export function totals(p: TotalsInput): Totals {
  const t = zeroTotals();
  for (const [k, v] of Object.entries(p)) {
    if (k === 'mem_req_byte_s' || k === 'mem_used_byte_s') t[k] = BigInt(v as number | bigint);
    else (t as unknown as Record<string, number>)[k] = v as number;
  }
  return t;
}

// One user's usage on one UTC day (`YYYY-MM-DD`) of one cluster.
export interface Entry {
  cluster: string;
  user: string;
  day: string;
  t: TotalsInput;
}

export interface StoreOptions {
  // Write yearly/YYYY.json (default true): the store documents them as derived, for speed.
  yearly?: boolean;
}

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

// A monthly/yearly user row exactly as docs/store.md shows it: the seed's float fields, the
// metric values, and the exact totals.
function userRow(username: string, t: Totals): Record<string, unknown> {
  const v = metricValues(t);
  return {
    username,
    total_clock_hours: round6(v.clock_hours),
    total_elapsed_hours: round6(v.elapsed_hours),
    total_gpu_clock_hours: round6(v.gpu_clock_hours),
    gpu_elapsed_hours: round6(v.gpu_elapsed_hours),
    count_gpu_jobs: t.gpu_jobs,
    count_failed_jobs: t.failed_jobs,
    clock_hours: round6(v.clock_hours),
    elapsed_hours: round6(v.elapsed_hours),
    gpu_clock_hours: round6(v.gpu_clock_hours),
    jobs: t.jobs,
    gpu_jobs: t.gpu_jobs,
    failed_jobs: t.failed_jobs,
    mem_req_gb_hours: round6(v.mem_req_gb_hours),
    mem_used_gb_hours: round6(v.mem_used_gb_hours),
    totals: totalsToJson(t),
  };
}

function usersList(byUser: Map<string, Totals>): Array<Record<string, unknown>> {
  return [...byUser.keys()].sort().map((u) => userRow(u, byUser.get(u) as Totals));
}

function add(map: Map<string, Totals>, user: string, t: Totals): void {
  let mine = map.get(user);
  if (mine === undefined) map.set(user, (mine = zeroTotals()));
  addTotals(mine, t);
}

// Writes the rollups of entries under root as sb-reduce would (docs/store.md): per cluster
// monthly/YYYY-MM.json, daily/YYYY-MM.json and yearly/YYYY.json.
export function writeStore(root: string, entries: readonly Entry[], opts: StoreOptions = {}): void {
  mkdirSync(path.join(root, 'clusters'), { recursive: true });
  const clusters = new Map<string, Entry[]>();
  for (const e of entries) clusters.set(e.cluster, [...(clusters.get(e.cluster) ?? []), e]);
  for (const [cluster, list] of clusters) {
    const dir = path.join(root, 'clusters', cluster, 'agg', 'rollups');
    const monthly = new Map<string, Map<string, Totals>>();
    const yearly = new Map<string, Map<string, Totals>>();
    const daily = new Map<string, Map<string, Map<string, Totals>>>();
    for (const e of list) {
      const t = totals(e.t);
      const month = e.day.slice(0, 7);
      const dd = e.day.slice(8, 10);
      add(monthly.get(month) ?? monthly.set(month, new Map()).get(month)!, e.user, t);
      add(yearly.get(e.day.slice(0, 4)) ?? yearly.set(e.day.slice(0, 4), new Map()).get(e.day.slice(0, 4))!, e.user, t);
      const days = daily.get(month) ?? daily.set(month, new Map()).get(month)!;
      add(days.get(e.user) ?? days.set(e.user, new Map()).get(e.user)!, dd, t);
    }
    for (const sub of ['monthly', 'daily', 'yearly']) mkdirSync(path.join(dir, sub), { recursive: true });
    for (const [month, byUser] of monthly) {
      const doc = { asof: '2030-01-01T00:00:00Z', cluster, month, schema_version: 2, users: usersList(byUser) };
      writeFileSync(path.join(dir, 'monthly', `${month}.json`), JSON.stringify(doc));
    }
    for (const [month, byUser] of daily) {
      const users: Record<string, Record<string, unknown>> = {};
      for (const u of [...byUser.keys()].sort()) {
        const days = byUser.get(u) as Map<string, Totals>;
        users[u] = Object.fromEntries([...days.keys()].sort().map((d) => [d, totalsToJson(days.get(d) as Totals)]));
      }
      writeFileSync(path.join(dir, 'daily', `${month}.json`), JSON.stringify({ cluster, month, schema_version: 2, users }));
    }
    if (opts.yearly !== false) {
      for (const [year, byUser] of yearly) {
        const doc = { asof: '2030-01-01T00:00:00Z', cluster, year, schema_version: 2, users: usersList(byUser) };
        writeFileSync(path.join(dir, 'yearly', `${year}.json`), JSON.stringify(doc));
      }
    }
  }
}

// <root>/config/optout.txt with these lines.
export function writeOptout(root: string, lines: readonly string[]): void {
  mkdirSync(path.join(root, 'config'), { recursive: true });
  writeFileSync(path.join(root, 'config', 'optout.txt'), lines.join('\n') + '\n');
}
