import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
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
  private loading = new Map<string, Promise<void>>();
  private failed = new Map<string, string>();
  private generation = 0;
  // SB_RENDER_DELAY, a test hook: load() waits this long before reading.
  delayMs = 0;

  constructor(readonly root: string) {}

  reload(): void {
    this.generation++;
    this.files = undefined;
    this.totalsCache.clear();
    this.parsed.clear();
    this.loading.clear();
    this.failed.clear();
  }

  // Whether series() would answer without reading a file.
  hasSeries(user: string, cluster: string, months: readonly string[]): boolean {
    return months.every((m) => this.totalsCache.has(`${user}\u0000${cluster}\u0000${m}`));
  }

  // Why load() could not read the user's months, if it could not.
  problem(user: string, cluster: string): string | undefined {
    return this.failed.get(`${user}\u0000${cluster}`);
  }

  // Reads the user's months without blocking (the screen's keys), a file at a time, so that
  // hasSeries() is true afterwards, unless reload() came first or problem() says why. Never rejects.
  load(user: string, cluster: string, months: readonly string[]): Promise<void> {
    const who = `${user}\u0000${cluster}`;
    if (this.failed.has(who) || this.hasSeries(user, cluster, months)) return Promise.resolve();
    let p = this.loading.get(who);
    if (p !== undefined) return p;
    const generation = this.generation;
    const files = this.clusters();
    p = (async () => {
      try {
        if (this.delayMs > 0) await sleep(this.delayMs);
        for (const month of months) {
          const key = `${who}\u0000${month}`;
          if (this.totalsCache.has(key)) continue;
          const sum = zeroTotals();
          for (const f of files) {
            if (cluster !== ALL && f.cluster !== cluster) continue;
            if (!f.months.has(month)) continue;
            const file = path.join(f.dir, 'monthly', `${month}.json`);
            let t: Totals | undefined | null;
            const full = this.parsed.get(file);
            if (full !== undefined) t = full.get(user);
            else {
              const text = await readTextLater(file);
              if (generation !== this.generation) return;
              t = text === undefined ? undefined : userLine(text, user);
              if (t === null) {
                const users = parsePeriod(text as string, file).users;
                this.parsed.set(file, users);
                t = users.get(user);
              }
            }
            if (t !== undefined) addTotals(sum, t);
          }
          if (this.totalsCache.size > 4096) this.totalsCache.clear();
          this.totalsCache.set(key, sum);
        }
      } catch (err) {
        if (generation === this.generation) this.failed.set(who, (err as Error).message);
      } finally {
        if (generation === this.generation) this.loading.delete(who);
      }
    })();
    this.loading.set(who, p);
    return p;
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

async function readTextLater(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
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
