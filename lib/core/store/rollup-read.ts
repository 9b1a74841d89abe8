import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isClusterName } from '../records/cluster.js';
import { SbError } from '../cli/errors.js';
import { addTotals, zeroTotals, type Totals } from '../scores/metrics.js';
import { parseDaily, parsePeriod, type DailyBins, type UserSums } from './rollup-files.js';

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
  private periods = new Map<string, UserSums>();
  private days = new Map<string, DailyBins>();
  private sums = new Map<string, UserSums>();
  filesRead = 0;
  bytesRead = 0;

  // The totals of one part. The map and its totals belong to the reader: do not change them.
  totals(files: ClusterFiles, part: Part): UserSums {
    switch (part.kind) {
      case 'year': {
        if (files.years.has(part.year)) return this.period(path.join(files.dir, 'yearly', `${part.year}.json`));
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
        return this.period(path.join(files.dir, 'monthly', `${part.month}.json`));
      case 'days':
        if (!files.dailyMonths.has(part.month)) return new Map();
        return daysBetween(this.daily(path.join(files.dir, 'daily', `${part.month}.json`)), part.first, part.last);
    }
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

  private period(file: string): UserSums {
    let users = this.periods.get(file);
    if (users === undefined) {
      const text = this.read(file);
      users = text === undefined ? new Map() : parsePeriod(text, file).users;
      this.periods.set(file, users);
    }
    return users;
  }

  private daily(file: string): DailyBins {
    let bins = this.days.get(file);
    if (bins === undefined) {
      const text = this.read(file);
      bins = text === undefined ? new Map() : parseDaily(text, file);
      this.days.set(file, bins);
    }
    return bins;
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
