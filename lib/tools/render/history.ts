import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../../core/cli/errors.js';
import { addTotals, metricValues, totalsFromJson, zeroTotals, type MetricId, type Totals } from '../../core/scores/metrics.js';
import { clusterFiles, listClusters, type ClusterFiles } from '../../core/store/rollup-read.js';
import { parsePeriod } from '../../core/store/rollup-files.js';
import { ALL } from './boards.js';

// One user's usage per month, read from the store's monthly rollups
// (clusters/<c>/agg/rollups/monthly/YYYY-MM.json): what the user page charts.
export interface MonthValue {
  month: string;
  value: number;
}

// The months from `first` to `last` (YYYY-MM), both included.
export function monthsBetween(first: string, last: string): string[] {
  const out: string[] = [];
  let y = Number(first.slice(0, 4));
  let m = Number(first.slice(5, 7));
  for (let guard = 0; guard < 1200; guard++) {
    const id = `${y}-${String(m).padStart(2, '0')}`;
    if (id > last) break;
    out.push(id);
    if (++m > 12) {
      m = 1;
      y++;
    }
  }
  return out;
}

// One user's totals from a rollup file's text, without parsing the other users' rows (a month
// of 10,000 users is ~5 MB): the row object that starts `{"username":<the name as JSON>,`, cut
// out by matching its braces. undefined: the user has no row; null: cannot tell this way
// (the row does not parse, or a non-ASCII name another writer may have escaped).
export function userLine(text: string, user: string): Totals | undefined | null {
  const head = `{"username":${JSON.stringify(user)},`;
  const at = text.indexOf(head);
  if (at < 0) return /^[\x20-\x7e]*$/.test(user) ? undefined : null;
  let depth = 0;
  let inString = false;
  let end = -1;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) {
      end = i + 1;
      break;
    }
  }
  if (end < 0) return null;
  try {
    const row = JSON.parse(text.slice(at, end)) as Record<string, unknown>;
    return row['username'] === user ? totalsFromJson(row['totals']) : null;
  } catch {
    return null;
  }
}

// Per-user monthly totals of every cluster of a store, read on demand and kept.
export class History {
  private files: ClusterFiles[] | undefined;
  private totalsCache = new Map<string, Totals>();
  private parsed = new Map<string, Map<string, Totals>>();

  constructor(readonly root: string) {}

  reload(): void {
    this.files = undefined;
    this.totalsCache.clear();
    this.parsed.clear();
  }

  private clusters(): ClusterFiles[] {
    this.files ??= listClusters(this.root).map((c) => clusterFiles(this.root, c));
    return this.files;
  }

  // The last month any cluster has a monthly file for.
  lastMonth(): string | undefined {
    let last: string | undefined;
    for (const f of this.clusters()) for (const m of f.months) if (last === undefined || m > last) last = m;
    return last;
  }

  firstMonth(): string | undefined {
    let first: string | undefined;
    for (const f of this.clusters()) for (const m of f.months) if (first === undefined || m < first) first = m;
    return first;
  }

  // The user's totals in one month of one cluster, or of all clusters summed.
  totals(user: string, cluster: string, month: string): Totals {
    const sum = zeroTotals();
    for (const f of this.clusters()) {
      if (cluster !== ALL && f.cluster !== cluster) continue;
      if (!f.months.has(month)) continue;
      const t = this.userIn(path.join(f.dir, 'monthly', `${month}.json`), user);
      if (t !== undefined) addTotals(sum, t);
    }
    return sum;
  }

  // A metric per month, `months` long, ending with `last`.
  series(user: string, cluster: string, metric: MetricId, months: readonly string[]): MonthValue[] {
    return months.map((month) => {
      const key = `${user}\u0000${cluster}\u0000${month}`;
      let t = this.totalsCache.get(key);
      if (t === undefined) {
        t = this.totals(user, cluster, month);
        if (this.totalsCache.size > 4096) this.totalsCache.clear();
        this.totalsCache.set(key, t);
      }
      return { month, value: metricValues(t)[metric] };
    });
  }

  private userIn(file: string, user: string): Totals | undefined {
    const full = this.parsed.get(file);
    if (full !== undefined) return full.get(user);
    const text = readText(file);
    if (text === undefined) return undefined;
    const t = userLine(text, user);
    if (t !== null) return t;
    // Not found the quick way: read the whole file, strictly (and keep it).
    const users = parsePeriod(text, file).users;
    this.parsed.set(file, users);
    return users.get(user);
  }

  // Every user's totals of a month (the page generator wants them all).
  allUsers(cluster: string, month: string): Map<string, Totals> {
    const out = new Map<string, Totals>();
    for (const f of this.clusters()) {
      if (cluster !== ALL && f.cluster !== cluster) continue;
      if (!f.months.has(month)) continue;
      const file = path.join(f.dir, 'monthly', `${month}.json`);
      let users = this.parsed.get(file);
      if (users === undefined) {
        const text = readText(file);
        if (text === undefined) continue;
        users = parsePeriod(text, file).users;
        this.parsed.set(file, users);
      }
      for (const [u, t] of users) {
        let mine = out.get(u);
        if (mine === undefined) out.set(u, (mine = zeroTotals()));
        addTotals(mine, t);
      }
    }
    return out;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
  }
}
