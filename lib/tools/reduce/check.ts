import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isClusterName } from '../../core/records/cluster.js';
import { acquireLock } from '../../core/store/lock.js';
import { addTotals, totalsToJson, zeroTotals, type Totals } from '../../core/scores/metrics.js';
import type { Reporter } from '../../core/cli/report.js';
import { accountsFromDaily, monthFromDaily, userFileName, type AccountBins, type AccountSums, type DailyBins, type UserSums } from '../../core/store/rollup-files.js';
import { ClusterStore } from '../../core/store/store.js';
import { addAccountsInto, addInto } from '../../core/store/rollup-read.js';

// The first capture of each name in a directory that matches, sorted ([] when it is missing).
export function names(dir: string, re: RegExp): string[] {
  try {
    return readdirSync(dir).flatMap((f) => re.exec(f)?.slice(1, 2) ?? []).sort();
  } catch {
    return [];
  }
}

// "1 year", "2 years", "0 years".
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export const same = (a: Totals | undefined, b: Totals | undefined): boolean =>
  JSON.stringify(totalsToJson(a ?? zeroTotals())) === JSON.stringify(totalsToJson(b ?? zeroTotals()));

// Whether two per-account sums hold the same totals (a missing member is empty).
export function sameAccounts(a: AccountSums | undefined, b: AccountSums | undefined): boolean {
  const x = a ?? new Map<string, UserSums>();
  const y = b ?? new Map<string, UserSums>();
  for (const acct of new Set([...x.keys(), ...y.keys()])) {
    const xu = x.get(acct) ?? new Map<string, Totals>();
    const yu = y.get(acct) ?? new Map<string, Totals>();
    for (const u of new Set([...xu.keys(), ...yu.keys()])) if (!same(xu.get(u), yu.get(u))) return false;
  }
  return true;
}

// The daily bins by account must be the user's own jobs, split: per user and day, their sum
// over accounts holds at most the user's jobs, and exactly the user's totals when it holds all.
function accountsProblem(users: DailyBins, accounts: AccountBins): string | undefined {
  const sums = new Map<string, Map<string, Totals>>();
  for (const bins of accounts.values()) {
    for (const [u, days] of bins) {
      let mine = sums.get(u);
      if (mine === undefined) sums.set(u, (mine = new Map()));
      addInto(mine, days);
    }
  }
  for (const [u, days] of sums) {
    for (const [d, t] of days) {
      const own = users.get(u)?.get(d);
      if (own === undefined || t.jobs > own.jobs || (t.jobs === own.jobs && !same(t, own))) return `day ${d}: a user's totals by account do not add up to the user's totals`;
    }
  }
  return undefined;
}

function diffUsers(what: string, got: UserSums, want: UserSums, problems: string[]): void {
  for (const u of new Set([...got.keys(), ...want.keys()])) {
    if (!same(got.get(u), want.get(u))) problems.push(`${what}: the totals of one user differ from what the files below it sum to`);
  }
}

// Verifies each cluster directory under the lock: a month's dedupe state holds exactly as many
// keys as its daily bins count jobs (every key was added with its one job), monthly = its daily
// bins, yearly = its months, all-time = the years, and the chunk ledger reads.
export async function checkStore(root: string, report: Reporter): Promise<number> {
  const clusters = names(path.join(root, 'clusters'), /^(.+)$/).filter(isClusterName);
  let bad = 0;
  for (const cluster of clusters) {
    const store = new ClusterStore(root, cluster);
    const lock = await acquireLock(store.lockPath, { tool: 'sb-reduce --check', what: `the lock of cluster ${cluster}`, waitMs: 60_000, staleMs: 60_000 });
    const problems: string[] = [];
    let jobs = 0;
    const yearSums = new Map<string, UserSums>();
    const yearAccounts = new Map<string, AccountSums>();
    try {
      store.recover();
      store.readLedger();
      const agg = path.join(store.dir, 'agg', 'rollups');
      const months = new Set([
        ...names(path.join(store.stateDir, 'seen'), /^(\d{4}-\d{2})\.seen$/),
        ...names(path.join(agg, 'daily'), /^(\d{4}-\d{2})\.json$/),
        ...names(path.join(agg, 'monthly'), /^(\d{4}-\d{2})\.json$/),
      ]);
      for (const month of [...months].sort()) {
        const seen = store.readSeen(month);
        const daily = store.readDailyFile(month);
        const bins = monthFromDaily(daily.users);
        const accounts = accountsFromDaily(daily.accounts ?? new Map());
        const wrong = accountsProblem(daily.users, daily.accounts ?? new Map());
        if (wrong !== undefined) problems.push(`daily/${month}.json: ${wrong}`);
        const monthly = store.readPeriod(store.monthlyPath(month));
        if (!sameAccounts(monthly?.accounts, accounts)) problems.push(`monthly/${month}.json: the totals by account differ from what the daily bins sum to`);
        const ya = yearAccounts.get(month.slice(0, 4)) ?? new Map<string, UserSums>();
        yearAccounts.set(month.slice(0, 4), ya);
        addAccountsInto(ya, accounts);
        let n = 0;
        for (const t of bins.values()) n += t.jobs;
        jobs += n;
        if (n !== seen.size) problems.push(`${month}: the dedupe state holds ${seen.size} job keys but the daily bins count ${n} jobs`);
        diffUsers(`monthly/${month}.json`, monthly?.users ?? new Map(), bins, problems);
        const ys = yearSums.get(month.slice(0, 4)) ?? new Map<string, Totals>();
        yearSums.set(month.slice(0, 4), ys);
        for (const [u, t] of bins) {
          const cur = ys.get(u) ?? zeroTotals();
          addTotals(cur, t);
          ys.set(u, cur);
        }
      }
      const all: UserSums = new Map();
      const years = new Set([...yearSums.keys(), ...names(path.join(agg, 'yearly'), /^(\d{4})\.json$/)]);
      for (const year of [...years].sort()) {
        const want = yearSums.get(year) ?? new Map<string, Totals>();
        const yearly = store.readPeriod(store.yearlyPath(year));
        diffUsers(`yearly/${year}.json`, yearly?.users ?? new Map(), want, problems);
        if (!sameAccounts(yearly?.accounts, yearAccounts.get(year))) problems.push(`yearly/${year}.json: the totals by account differ from what its months sum to`);
        for (const [u, t] of want) {
          const cur = all.get(u) ?? zeroTotals();
          addTotals(cur, t);
          all.set(u, cur);
        }
      }
      // Users on the dirty list have an all-time file still to be brought up to date.
      const dirty = store.readDirty();
      const files = new Set(names(path.join(store.dir, 'agg', 'users'), /^(.+\.json)$/));
      for (const [u, t] of all) {
        files.delete(userFileName(u));
        if (!dirty.has(u) && !same(store.readUser(u), t)) problems.push('agg/users: an all-time file differs from the sum of the yearly files');
      }
      if (files.size > 0) problems.push(`agg/users: ${plural(files.size, 'file', 'files')} of users without jobs`);
      if (dirty.size > 0) report.info(`${cluster}: ${plural(dirty.size, 'all-time user file is', 'all-time user files are')} due to be brought up to date (by the next sb-reduce)`);
    } catch (err) {
      problems.push((err as Error).message);
    } finally {
      lock.release();
    }
    for (const p of new Set(problems)) report.error(`${cluster}: ${p}`);
    if (problems.length > 0) bad++;
    else report.info(`${cluster}: ok: ${plural(jobs, 'job', 'jobs')} in ${plural(yearSums.size, 'year', 'years')}`);
  }
  return bad > 0 ? 1 : 0;
}
