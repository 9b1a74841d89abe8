import { readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { SbError } from '../cli/errors.js';
import { fsyncDir, writeDurable } from './atomic.js';
import { formatTime, parseTime } from '../records/time.js';
import type { Tile } from '../records/chunk.js';

// A closed interval of epoch seconds, [start, end].
export type Interval = [number, number];

// The chunk ledger of one cluster (docs/store.md, state/chunks/ledger.json): the windows whose
// jobs are all counted, as sorted, disjoint, non-touching intervals. `done` windows are settled
// (never fetched again); `unsettled` ones were counted while slurmdbd could still receive late
// records, so `sb-chunk todo` fetches them again. `queried` holds the spans a poll asked for
// exactly, once they could settle, keeping every job that ended within a slack of them (tiles,
// see sb-chunk todo): what lies a slack inside them is done.
export interface ChunkLedger {
  done: Interval[];
  unsettled: Interval[];
  queried: Interval[];
}

export const LEDGER_SCHEMA = 1;

export function ledgerPath(root: string, cluster: string): string {
  return path.join(root, 'clusters', cluster, 'state', 'chunks', 'ledger.json');
}

export function emptyLedger(): ChunkLedger {
  return { done: [], unsettled: [], queried: [] };
}

// list ∪ iv, merging overlapping and touching (end + 1 = start) intervals.
export function addInterval(list: readonly Interval[], iv: Interval): Interval[] {
  const out: Interval[] = [];
  let [s, e] = iv;
  let placed = false;
  for (const [a, b] of list) {
    if (b + 1 < s) out.push([a, b]);
    else if (a > e + 1) {
      if (!placed) out.push([s, e]);
      placed = true;
      out.push([a, b]);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

// The parts of iv that no interval of list covers, in order.
export function subtractIntervals(iv: Interval, list: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let s = iv[0];
  const e = iv[1];
  for (const [a, b] of list) {
    if (b < s) continue;
    if (a > e) break;
    if (a > s) out.push([s, a - 1]);
    s = Math.max(s, b + 1);
    if (s > e) return out;
  }
  if (s <= e) out.push([s, e]);
  return out;
}

function sameIntervals(a: readonly Interval[], b: readonly Interval[]): boolean {
  return a.length === b.length && a.every((x, i) => x[0] === b[i]?.[0] && x[1] === b[i]?.[1]);
}

// The ledger after a window's chunk-done; undefined when it records nothing new. A tile (its
// query, the span asked for exactly; iv, the jobs kept: the span widened by its slack) that
// settled adds its span to `queried`; what lies a slack inside each queried span is done: a job
// whose End is there was shown by the tile whose span holds the time sacct filters it by (at most
// a slack from its End), and kept by it.
export function recordChunk(l: ChunkLedger, iv: Interval, settled: boolean, tile?: Tile): ChunkLedger | undefined {
  const query = tile?.query;
  let done = l.done;
  let queried = l.queried;
  if (settled && query === undefined) done = addInterval(done, iv);
  if (settled && query !== undefined) {
    queried = addInterval(queried, query);
    const slack = (tile as Tile).slack;
    for (const [a, b] of queried) if (a + slack <= b - slack) done = addInterval(done, [a + slack, b - slack]);
  }
  let unsettled = l.unsettled;
  if (!settled || query !== undefined) for (const piece of subtractIntervals(iv, done)) unsettled = addInterval(unsettled, piece);
  unsettled = unsettled.flatMap((u) => subtractIntervals(u, done));
  const next = { done, unsettled, queried };
  return sameIntervals(next.done, l.done) && sameIntervals(next.unsettled, l.unsettled) && sameIntervals(next.queried, l.queried) ? undefined : next;
}

export function formatLedger(cluster: string, l: ChunkLedger): string {
  const fmt = (list: Interval[]): string[][] => list.map(([s, e]) => [formatTime(s), formatTime(e)]);
  return JSON.stringify({ schema_version: LEDGER_SCHEMA, cluster, done: fmt(l.done), unsettled: fmt(l.unsettled), ...(l.queried.length > 0 ? { queried: fmt(l.queried) } : {}) }) + '\n';
}

// Parses a ledger file's text; anything malformed is an error naming the file.
export function parseLedger(text: string, file: string): ChunkLedger {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new SbError(`${file}: the chunk ledger is not JSON (${(err as Error).message}); it is corrupt or truncated`);
  }
  const o = doc as Record<string, unknown>;
  if (doc === null || typeof doc !== 'object' || o['schema_version'] !== LEDGER_SCHEMA) {
    throw new SbError(`${file}: not a chunk ledger of schema_version ${LEDGER_SCHEMA}`);
  }
  const list = (name: string): Interval[] => {
    const v = o[name];
    if (!Array.isArray(v)) throw new SbError(`${file}: '${name}' is not a list`);
    let prev = -Infinity;
    return v.map((pair: unknown, i): Interval => {
      const s = Array.isArray(pair) && typeof pair[0] === 'string' ? parseTime(pair[0]) : undefined;
      const e = Array.isArray(pair) && typeof pair[1] === 'string' ? parseTime(pair[1]) : undefined;
      if (s === undefined || e === undefined || s > e || s <= prev + 1) throw new SbError(`${file}: ${name}[${i}] is not a window in order`);
      prev = e;
      return [s, e];
    });
  };
  return { done: list('done'), unsettled: list('unsettled'), queried: o['queried'] === undefined ? [] : list('queried') };
}

// The ledger of a cluster; an empty one if the cluster has none yet.
export function readLedger(file: string): ChunkLedger {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyLedger();
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
  }
  return parseLedger(text, file);
}

// The store's failure ledger of a cluster: the windows sb-sacct could not fetch, with why.
export function failedPath(root: string, cluster: string): string {
  return path.join(root, 'clusters', cluster, 'state', 'failed.ndjson');
}

// Is a window wholly inside the done intervals?
export function isDone(done: readonly Interval[], iv: Interval): boolean {
  return subtractIntervals(iv, done).length === 0;
}

// Drops the entries of a failure ledger whose windows are done by now, replacing the file
// atomically (only when something goes); lines it cannot read stay, and so do sb-sacct's
// 'skipped-line' records (a line left out of a done window: they stay for an administrator to
// read, and go only when removed by hand). The ledger is advisory
// (`sb-chunk todo` finds every window not done), so an entry appended while this runs and
// lost with the rename costs a retry list line, never a job. Returns how many were dropped.
export function compactFailed(file: string, cluster: string, done: readonly Interval[]): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new SbError(`cannot read '${file}': ${(err as Error).message}`);
  }
  const kept: string[] = [];
  let dropped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let rec: Record<string, unknown> | undefined;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      rec = undefined;
    }
    const s = typeof rec?.['start'] === 'string' ? parseTime(rec['start']) : undefined;
    const e = typeof rec?.['end'] === 'string' ? parseTime(rec['end']) : undefined;
    if (rec?.['cluster'] === cluster && s !== undefined && e !== undefined && s <= e && isDone(done, [s, e])) dropped++;
    else kept.push(line);
  }
  if (dropped === 0) return 0;
  const tmp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
  writeDurable(tmp, kept.length > 0 ? kept.join('\n') + '\n' : '');
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
  return dropped;
}
