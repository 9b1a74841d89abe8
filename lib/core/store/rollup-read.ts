import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isClusterName } from '../records/cluster.js';
import { SbError } from '../cli/errors.js';
import { addTotals, zeroTotals, type Totals } from '../scores/metrics.js';
import type { DailyBins } from './rollup-files.js';
import { incompleteDays, parseDailyFile, parsePeriod, periodComplete, type AccountSums, type DailyFile, type PeriodFile, type UserSums } from './rollup-files.js';

// What a window reads from one cluster's rollups: whole years, whole months, or a range of
// days (first..last, days of the month, 1-based) of one month's daily bins.
export type Part =
  | { kind: 'year'; year: string }
  | { kind: 'month'; month: string }
  | { kind: 'days'; month: string; first: number; last: number };

// Which rollup files one cluster has (docs/store.md): yearly/YYYY, monthly/YYYY-MM, daily/YYYY-MM.
export interface ClusterFiles {
  cluster: string;
  dir: string;
  years: Set<string>;
  months: Set<string>;
  dailyMonths: Set<string>;
}

// The clusters of a store: the directories under <root>/clusters with a cluster's name.
export function listClusters(root: string): string[] {
  let st;
  try {
    st = statSync(root);
  } catch {
    throw new SbError(`store '${root}' does not exist`);
  }
  if (!st.isDirectory()) throw new SbError(`store '${root}' is not a directory`);
  return names(path.join(root, 'clusters'))
    .filter((c) => isClusterName(c) && statSync(path.join(root, 'clusters', c)).isDirectory())
    .sort();
}

export function clusterFiles(root: string, cluster: string): ClusterFiles {
  const dir = path.join(root, 'clusters', cluster, 'agg', 'rollups');
  const pick = (sub: string, re: RegExp): Set<string> =>
    new Set(names(path.join(dir, sub)).flatMap((f) => re.exec(f)?.slice(1, 2) ?? []));
  return {
    cluster,
    dir,
    years: pick('yearly', /^(\d{4})\.json$/),
    months: pick('monthly', /^(\d{4}-\d{2})\.json$/),
    dailyMonths: pick('daily', /^(\d{4}-\d{2})\.json$/),
  };
}

// The years a cluster has data for: those of its yearly and of its monthly files.
export function dataYears(files: ClusterFiles): string[] {
  return [...new Set([...files.years, ...[...files.months].map((m) => m.slice(0, 4))])].sort();
}

function names(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new SbError(`cannot list '${dir}': ${(err as Error).message}`);
  }
}

// Reads rollups for window parts; parses each file at most once (with the store's own
// parsers, which name the file and place of anything malformed). A missing file is empty.
export class RollupReader {
  private periods = new Map<string, PeriodFile>();
  private days = new Map<string, DailyFile>();
  private sums = new Map<string, UserSums>();
  private accountSums = new Map<string, AccountSums>();
  filesRead = 0;
  bytesRead = 0;

  // The totals of one part. The map and its totals belong to the reader: do not change them.
  totals(files: ClusterFiles, part: Part): UserSums {
    switch (part.kind) {
      case 'year': {
        if (files.years.has(part.year)) return this.period(path.join(files.dir, 'yearly', `${part.year}.json`)).users;
        // No yearly file (yet): the sum of the year's monthly files.
        const key = `${files.dir}\u0000${part.year}`;
        let sum = this.sums.get(key);
        if (sum === undefined) {
          sum = new Map();
          for (const month of [...files.months].filter((m) => m.startsWith(part.year + '-')).sort()) {
            addInto(sum, this.totals(files, { kind: 'month', month }));
          }
          this.sums.set(key, sum);
        }
        return sum;
      }
      case 'month':
        if (!files.months.has(part.month)) return new Map();
        return this.period(path.join(files.dir, 'monthly', `${part.month}.json`)).users;
      case 'days':
        if (!files.dailyMonths.has(part.month)) return new Map();
        return daysBetween(this.daily(path.join(files.dir, 'daily', `${part.month}.json`)).users, part.first, part.last);
    }
  }

  // The totals of one part per account and user (the jobs counted with their account). The
  // maps belong to the reader: do not change them.
  accounts(files: ClusterFiles, part: Part): AccountSums {
    switch (part.kind) {
      case 'year': {
        if (files.years.has(part.year)) return this.period(path.join(files.dir, 'yearly', `${part.year}.json`)).accounts ?? new Map();
        const key = `${files.dir}\u0000${part.year}`;
        let sum = this.accountSums.get(key);
        if (sum === undefined) {
          sum = new Map();
          for (const month of [...files.months].filter((m) => m.startsWith(part.year + '-')).sort()) {
            addAccountsInto(sum, this.accounts(files, { kind: 'month', month }));
          }
          this.accountSums.set(key, sum);
        }
        return sum;
      }
      case 'month':
        if (!files.months.has(part.month)) return new Map();
        return this.period(path.join(files.dir, 'monthly', `${part.month}.json`)).accounts ?? new Map();
      case 'days': {
        if (!files.dailyMonths.has(part.month)) return new Map();
        const out: AccountSums = new Map();
        for (const [a, bins] of this.daily(path.join(files.dir, 'daily', `${part.month}.json`)).accounts ?? []) {
          const us = daysBetween(bins, part.first, part.last);
          if (us.size > 0) out.set(a, us);
        }
        return out;
      }
    }
  }

  // The last day (YYYY-MM-DD) whose account data are incomplete (docs/store.md: jobs counted
  // before sb-reduce kept accounts), undefined if there is none. Reads the yearly files, and
  // monthly and daily files only below an incomplete year.
  lastIncompleteDay(files: ClusterFiles): string | undefined {
    for (const year of dataYears(files).reverse()) {
      if (files.years.has(year) && periodComplete(this.period(path.join(files.dir, 'yearly', `${year}.json`)))) continue;
      const months = [...new Set([...files.months, ...files.dailyMonths])].filter((m) => m.startsWith(year + '-')).sort().reverse();
      for (const month of months) {
        if (files.months.has(month) && periodComplete(this.period(path.join(files.dir, 'monthly', `${month}.json`)))) continue;
        if (!files.dailyMonths.has(month)) continue;
        const days = incompleteDays(this.daily(path.join(files.dir, 'daily', `${month}.json`)));
        const last = days[days.length - 1];
        if (last !== undefined) return `${month}-${last}`;
      }
    }
    return undefined;
  }

  private read(file: string): string | undefined {
    try {
      const text = readFileSync(file, 'utf8');
      this.filesRead++;
      this.bytesRead += text.length;
      return text;
    } catch (err) {
      // Listed a moment ago and gone now: nothing to count.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
    }
  }

  private period(file: string): PeriodFile {
    let p = this.periods.get(file);
    if (p === undefined) {
      const text = this.read(file);
      p = text === undefined ? { asof: '', users: new Map(), accounts: undefined } : parsePeriod(text, file);
      this.periods.set(file, p);
    }
    return p;
  }

  private daily(file: string): DailyFile {
    let bins = this.days.get(file);
    if (bins === undefined) {
      const text = this.read(file);
      bins = text === undefined ? { users: new Map(), accounts: undefined } : parseDailyFile(text, file);
      this.days.set(file, bins);
    }
    return bins;
  }
}

// acc += part, account by account (copies, never aliases).
export function addAccountsInto(acc: AccountSums, part: AccountSums): void {
  for (const [a, us] of part) {
    let mine = acc.get(a);
    if (mine === undefined) acc.set(a, (mine = new Map()));
    addInto(mine, us);
  }
}

// Per user, the sum of days first..last (days of the month, 1-based) of a month's bins.
export function daysBetween(bins: DailyBins, first: number, last: number): UserSums {
  const out: UserSums = new Map();
  for (const [user, days] of bins) {
    let sum: Totals | undefined;
    for (const [day, t] of days) {
      const d = Number(day);
      if (d < first || d > last) continue;
      if (sum === undefined) sum = zeroTotals();
      addTotals(sum, t);
    }
    if (sum !== undefined) out.set(user, sum);
  }
  return out;
}

// acc += part, user by user (acc's totals are its own: part's are copied, never aliased).
export function addInto(acc: UserSums, part: UserSums): void {
  for (const [user, t] of part) {
    const mine = acc.get(user);
    if (mine === undefined) {
      const copy = zeroTotals();
      addTotals(copy, t);
      acc.set(user, copy);
    } else addTotals(mine, t);
  }
}
