import { SbError } from '../../core/cli/errors.js';
import type { Output } from '../../core/cli/output.js';
import type { Reporter } from '../../core/cli/report.js';
import { formatTime } from '../../core/records/time.js';
import { addTotals, type Totals } from '../../core/scores/metrics.js';
import { addInterval, type Interval } from '../../core/store/chunk-ledger.js';
import { acquireLock } from '../../core/store/lock.js';
import { accountsFromDaily, formatDaily, formatPeriod, incompleteDays, monthFromDaily, type AccountSums } from '../../core/store/rollup-files.js';
import { KeyBatch, type KeyCode } from '../../core/store/seen.js';
import { ClusterStore, newTxnId, type FileWrite } from '../../core/store/store.js';
import { same } from './check.js';
import { addAccountsInto } from '../../core/store/rollup-read.js';

// sb-reduce --fill-accounts: fills in the account data of days counted before sb-reduce kept
// accounts, from the same jobs fetched again (sb-chunk todo --refetch | sb-sacct | sb-parse).
//
// A day is filled only when the refetched jobs of that day are exactly the jobs the store
// counted for it: every key is in the dedupe state, and, user by user, the refetched totals
// equal the stored ones (a subset of the counted jobs with as many jobs is all of them). The
// day's account bins are then replaced, not added to, so running it again changes nothing, and
// the user totals, the dedupe state and the chunk ledger are never written: nothing is counted
// twice. Days a chunk-done does not cover whole, or already complete, are left as they are.

export interface FillJob {
  code: KeyCode;
  month: string;
  day: string;
  user: string;
  account: string;
  totals: Totals;
}

interface DayFill {
  codes: KeyCode[];
  users: Map<string, Totals>;
  accounts: Map<string, Map<string, Totals>>;
}

interface MonthFill {
  keys: KeyBatch;
  days: Map<string, DayFill>;
}

function add(map: Map<string, Totals>, key: string, t: Totals): void {
  const cur = map.get(key);
  if (cur === undefined) map.set(key, { ...t });
  else addTotals(cur, t);
}

// What the stream brings, per cluster: the jobs by month and day, and the windows fetched whole.
export class Refetch {
  readonly months = new Map<string, Map<string, MonthFill>>();
  readonly covered = new Map<string, Interval[]>();

  job(cluster: string, j: FillJob): void {
    let months = this.months.get(cluster);
    if (months === undefined) this.months.set(cluster, (months = new Map()));
    let m = months.get(j.month);
    if (m === undefined) months.set(j.month, (m = { keys: new KeyBatch(), days: new Map() }));
    // the same record twice in the stream: once
    if (m.keys.has(j.code)) return;
    m.keys.add(j.code);
    let d = m.days.get(j.day);
    if (d === undefined) m.days.set(j.day, (d = { codes: [], users: new Map(), accounts: new Map() }));
    d.codes.push(j.code);
    add(d.users, j.user, j.totals);
    let acct = d.accounts.get(j.account);
    if (acct === undefined) d.accounts.set(j.account, (acct = new Map()));
    add(acct, j.user, j.totals);
  }

  window(cluster: string, start: number, end: number): void {
    this.covered.set(cluster, addInterval(this.covered.get(cluster) ?? [], [start, end]));
  }

  // Whether [start, end] lies in one window fetched whole (the list is merged and sorted).
  fetched(cluster: string, start: number, end: number): boolean {
    return (this.covered.get(cluster) ?? []).some(([a, b]) => a <= start && end <= b);
  }
}

export interface FillRecord {
  kind: 'fill';
  cluster: string;
  month: string;
  // days whose account data were filled in
  filled: string[];
  // days refetched whose account data were complete already
  complete: string[];
  // days refetched but not filled (see the warnings)
  left: string[];
  txn: string | null;
}

// Commits, month by month under each cluster's lock, the days the refetch can fill. Returns
// the exit status: 1 when a day fetched whole could not be filled.
export async function commitFills(refetch: Refetch, root: string, out: Output, report: Reporter, opts: { waitMs: number; staleMs: number }): Promise<number> {
  let bad = 0;
  for (const [cluster, months] of [...refetch.months].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const store = new ClusterStore(root, cluster);
    const lock = await acquireLock(store.lockPath, {
      tool: 'sb-reduce --fill-accounts',
      what: `the lock of cluster ${cluster} (${store.lockPath})`,
      waitMs: opts.waitMs,
      staleMs: opts.staleMs,
      onBreak: (_o, why) => report.warn(`${cluster}: broke the lock of a dead run: ${why}`),
    });
    try {
      const r = store.recover();
      if (r.rolledForward > 0) report.warn(`${cluster}: finished an interrupted commit (${r.rolledForward} files)`);
      for (const [month, m] of [...months].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const rec: FillRecord = { kind: 'fill', cluster, month, filled: [], complete: [], left: [], txn: null };
        const seen = store.readSeen(month);
        const file = store.readDailyFile(month);
        const incomplete = new Set(incompleteDays(file));
        const accounts = file.accounts ?? new Map();
        for (const [day, d] of [...m.days].sort(([a], [b]) => (a < b ? -1 : 1))) {
          const start = Date.parse(`${month}-${day}T00:00:00Z`) / 1000;
          const where = `${cluster}: ${month}-${day}`;
          if (!refetch.fetched(cluster, start, start + 86399)) {
            report.warn(`${where}: not fetched whole (no window done covers the day); its account data are left as they are`);
            continue;
          }
          if (!incomplete.has(day)) {
            rec.complete.push(day);
            continue;
          }
          const uncounted = d.codes.filter((c) => !seen.has(c)).length;
          const stored = new Map<string, Totals>();
          for (const [u, days] of file.users) {
            const t = days.get(day);
            if (t !== undefined) stored.set(u, t);
          }
          const differ = [...new Set([...stored.keys(), ...d.users.keys()])].filter((u) => !same(stored.get(u), d.users.get(u)));
          if (uncounted > 0 || differ.length > 0) {
            rec.left.push(day);
            bad++;
            report.warn(
              uncounted > 0
                ? `${where}: ${uncounted} of the ${d.codes.length} jobs fetched are not counted yet (run the pipeline for the day first); its account data are left as they are`
                : `${where}: the jobs fetched are not those counted (${differ.length} user(s) differ); its account data are left as they are`,
            );
            continue;
          }
          // the day's account bins, replaced whole
          for (const bins of accounts.values()) for (const days of bins.values()) days.delete(day);
          for (const [a, us] of d.accounts) {
            let bins = accounts.get(a);
            if (bins === undefined) accounts.set(a, (bins = new Map()));
            for (const [u, t] of us) {
              let days = bins.get(u);
              if (days === undefined) bins.set(u, (days = new Map()));
              days.set(day, { ...t });
            }
          }
          rec.filled.push(day);
        }
        if (rec.filled.length > 0) {
          for (const [a, bins] of accounts) {
            for (const [u, days] of bins) if (days.size === 0) bins.delete(u);
            if (bins.size === 0) accounts.delete(a);
          }
          rec.txn = await commitMonth(store, month, file.users, accounts, () => {
            if (!lock.holds()) throw new SbError(`${cluster}: lost the store's lock (broken by another run that took this one for dead); nothing was filled`);
            lock.beat();
          });
        }
        out.record(rec);
        await out.drain();
      }
    } finally {
      lock.release();
    }
  }
  return bad > 0 ? 1 : 0;
}

// The month's daily and monthly files and its year's file, with the new account bins; the
// user totals as they were.
async function commitMonth(store: ClusterStore, month: string, users: Map<string, Map<string, Totals>>, accounts: Map<string, Map<string, Map<string, Totals>>>, fence: () => void): Promise<string> {
  const asof = formatTime(Math.floor(Date.now() / 1000));
  const writes: FileWrite[] = [
    { file: store.dailyPath(month), data: formatDaily(store.cluster, month, users, accounts) },
    { file: store.monthlyPath(month), data: formatPeriod(store.cluster, 'month', month, asof, monthFromDaily(users), accountsFromDaily(accounts)) },
  ];
  const year = month.slice(0, 4);
  const yearAccounts: AccountSums = new Map();
  for (let i = 1; i <= 12; i++) {
    const m = `${year}-${String(i).padStart(2, '0')}`;
    const monthly = m === month ? accountsFromDaily(accounts) : store.readPeriod(store.monthlyPath(m))?.accounts;
    if (monthly !== undefined) addAccountsInto(yearAccounts, monthly);
  }
  const yearly = store.readPeriod(store.yearlyPath(year));
  if (yearly !== undefined) writes.push({ file: store.yearlyPath(year), data: formatPeriod(store.cluster, 'year', year, asof, yearly.users, yearAccounts) });
  const txn = newTxnId();
  writes.push({ file: store.txnPath, data: JSON.stringify({ txn, asof }) + '\n' });
  // not committed until the promise settles: the fill record names the txn only once it is durable
  await store.commit(txn, writes, fence);
  return txn;
}
