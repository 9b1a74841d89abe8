import { rmSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../../core/cli/errors.js';
import type { Reporter } from '../../core/cli/report.js';
import { isClusterName } from '../../core/records/cluster.js';
import { formatTime } from '../../core/records/time.js';
import { addTotals, zeroTotals, type Totals } from '../../core/scores/metrics.js';
import { acquireLock } from '../../core/store/lock.js';
import { accountsFromDaily, formatPeriod, formatUserFile, monthFromDaily, userFileName, type AccountSums, type UserSums } from '../../core/store/rollup-files.js';
import { ClusterStore, formatDirty, newTxnId, type FileWrite } from '../../core/store/store.js';
import { names, same, sameAccounts } from './check.js';
import { addAccountsInto } from '../../core/store/rollup-read.js';

export interface RebuildOptions {
  waitMs: number;
  staleMs: number;
}

function addUser(into: UserSums, user: string, t: Totals): void {
  const cur = into.get(user) ?? zeroTotals();
  addTotals(cur, t);
  into.set(user, cur);
}

// Rewrites every derived file of each cluster (monthly, yearly, all-time per user) from the
// sources of truth (the daily bins, checked against the dedupe state), in one transaction
// under the cluster's lock, and removes derived files that nothing backs. The recovery from
// bit rot or a hand edit that --check reports. Returns the exit status.
export async function rebuildStore(root: string, report: Reporter, opts: RebuildOptions): Promise<number> {
  const clusters = names(path.join(root, 'clusters'), /^(.+)$/).filter(isClusterName);
  if (clusters.length === 0) throw new SbError(`no cluster in '${path.join(root, 'clusters')}' to rebuild`);
  let bad = 0;
  for (const cluster of clusters) {
    const store = new ClusterStore(root, cluster);
    const lock = await acquireLock(store.lockPath, { tool: 'sb-reduce --rebuild', what: `the lock of cluster ${cluster}`, waitMs: opts.waitMs, staleMs: opts.staleMs });
    try {
      store.recover();
      const agg = path.join(store.dir, 'agg', 'rollups');
      const months = new Set([...names(path.join(store.stateDir, 'seen'), /^(\d{4}-\d{2})\.seen$/), ...names(path.join(agg, 'daily'), /^(\d{4}-\d{2})\.json$/)]);
      const asof = formatTime(Math.floor(Date.now() / 1000));
      const writes: FileWrite[] = [];
      let differ = 0;
      const years = new Map<string, UserSums>();
      // per year, the sum of its months' accounts; absent for a year no month of which has any
      const yearAccounts = new Map<string, AccountSums>();
      for (const month of [...months].sort()) {
        const daily = store.readDailyFile(month);
        const bins = monthFromDaily(daily.users);
        const accounts = daily.accounts === undefined ? undefined : accountsFromDaily(daily.accounts);
        let jobs = 0;
        for (const t of bins.values()) jobs += t.jobs;
        const keys = store.readSeen(month).size;
        // the two sources of truth must agree, or there is nothing sound to rebuild from
        if (keys !== jobs) throw new SbError(`${month}: the dedupe state holds ${keys} job keys but the daily bins count ${jobs} jobs; rebuild cannot tell which is right (restore one from a backup)`);
        const old = store.readPeriod(store.monthlyPath(month))?.users ?? new Map<string, Totals>();
        const oldAccounts = store.readPeriod(store.monthlyPath(month))?.accounts;
        if ([...new Set([...old.keys(), ...bins.keys()])].some((u) => !same(old.get(u), bins.get(u))) || !sameAccounts(oldAccounts, accounts)) differ++;
        writes.push({ file: store.monthlyPath(month), data: formatPeriod(cluster, 'month', month, asof, bins, accounts) });
        if (accounts !== undefined) {
          const ya = yearAccounts.get(month.slice(0, 4)) ?? new Map<string, UserSums>();
          yearAccounts.set(month.slice(0, 4), ya);
          addAccountsInto(ya, accounts);
        }
        const year = years.get(month.slice(0, 4)) ?? new Map<string, Totals>();
        years.set(month.slice(0, 4), year);
        for (const [u, t] of bins) addUser(year, u, t);
      }
      const all: UserSums = new Map();
      for (const [year, sums] of [...years].sort()) {
        const file = store.readPeriod(store.yearlyPath(year));
        const old = file?.users ?? new Map<string, Totals>();
        if ([...new Set([...old.keys(), ...sums.keys()])].some((u) => !same(old.get(u), sums.get(u))) || !sameAccounts(file?.accounts, yearAccounts.get(year))) differ++;
        writes.push({ file: store.yearlyPath(year), data: formatPeriod(cluster, 'year', year, asof, sums, yearAccounts.get(year)) });
        for (const [u, t] of sums) addUser(all, u, t);
      }
      for (const [u, t] of [...all].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (!same(store.readUser(u), t)) differ++;
        writes.push({ file: store.userPath(u), data: formatUserFile(u, cluster, asof, t) });
      }
      writes.push({ file: store.dirtyPath, data: formatDirty([]) });
      const txn = newTxnId();
      writes.push({ file: store.txnPath, data: JSON.stringify({ txn, asof }) + '\n' });
      await store.commit(txn, writes, () => {
        if (!lock.holds()) throw new SbError(`${cluster}: lost the store's lock (broken by another run that took this one for dead); nothing was rebuilt`);
        lock.beat();
      });
      // derived files nothing backs any more (a month or year without daily bins, a user without jobs)
      const stale = [
        ...names(path.join(agg, 'monthly'), /^(\d{4}-\d{2})\.json$/).filter((m) => !months.has(m)).map((m) => store.monthlyPath(m)),
        ...names(path.join(agg, 'yearly'), /^(\d{4})\.json$/).filter((y) => !years.has(y)).map((y) => store.yearlyPath(y)),
        ...names(path.join(store.dir, 'agg', 'users'), /^(.+\.json)$/)
          .filter((f) => ![...all.keys()].some((u) => userFileName(u) === f))
          .map((f) => path.join(store.dir, 'agg', 'users', f)),
      ];
      for (const f of stale) rmSync(f, { force: true });
      report.info(`${cluster}: rebuilt ${writes.length - 2} derived files from ${months.size} months of daily bins (${differ} differed), removed ${stale.length}`);
    } catch (err) {
      if (!(err instanceof SbError)) throw err;
      report.error(`${cluster}: ${err.message}`);
      bad++;
    } finally {
      lock.release();
    }
  }
  return bad > 0 ? 1 : 0;
}
